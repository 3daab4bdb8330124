"""A deterministic synthetic corpus of channel posts, streamed, for benchmarks and reliability tests.

Benchmarks are only comparable across runs and machines if every run sees the same posts, so all
randomness flows from one seed.  Posts are made of sentences in the style of the channels tgmonitor
watches (ministry statements and their retellings in English, Bulgarian and Russian) because the
costs being measured depend on the text: the boilerplate and keyword regexes, the language counters
and the FTS5 tokenizer all behave differently on Cyrillic than on ASCII, and on real vocabulary than
on random letters.

Shape, per post (shares are of all posts):
  * language: 35% English, 30% Bulgarian, 35% Russian; a channel mostly writes in one of them;
  * 300-3000 characters of body; ~70% end with a hashtag line, some carry hashtags inline;
  * 20% are forwards of a shared origin (one ministry channel's post, the same text every time, with
    the forward header), so digests fold them and the store sees repeated content hashes;
  * 10% carry their body twice (the copy-paste / link-preview case the cleaner collapses);
  * ~8% carry page chrome or site junk the boilerplate rules remove; ~15% have media.

Everything is a generator: a million posts never sit in memory at once.  Forwarded texts are rebuilt
from a per-origin seed instead of being kept in a pool, for the same reason.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.models import ChannelRef, Forward, RawPost

DEFAULT_SEED = 20261120
DEFAULT_START = datetime(2025, 1, 1, 6, 0, tzinfo=UTC)
LANGS = ("en", "bg", "ru")
LANG_WEIGHTS = (35, 30, 35)
FORWARD_SHARE = 0.20
REPEAT_SHARE = 0.10
CHROME_SHARE = 0.08
MIN_CHARS, MAX_CHARS = 300, 3000

ORIGIN = ChannelRef(tg_id=1000000001, username="mfa_russia", title="Russian MFA 🇷🇺")
ORIGINS_PER_DAY = 40  # statements the origin channel posts per day; forwards pick among recent ones

_FLAGS = ("🇷🇺🇷🇸", "🇷🇺🇧🇬", "🇷🇺🇨🇳", "🇷🇺🇮🇷", "🇷🇺🇧🇾", "🇷🇺🇭🇺", "🇷🇺🇺🇳", "🇷🇺🇹🇷", "❗️", "🤝", "📞", "💬", "")

_WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "person": (
            "Foreign Minister Sergey Lavrov",
            "President Aleksandar Vucic",
            "Deputy Foreign Minister Alexander Grushko",
            "Kremlin spokesman Dmitry Peskov",
            "Foreign Ministry spokeswoman Maria Zakharova",
            "EU High Representative Kaja Kallas",
            "NATO Secretary General Mark Rutte",
            "UN Secretary-General Antonio Guterres",
            "Hungarian Foreign Minister Peter Szijjarto",
            "Serbian Foreign Minister Marko Djuric",
            "Bulgarian Foreign Minister Georg Georgiev",
            "Chinese Foreign Minister Wang Yi",
            "Iranian Foreign Minister Abbas Araghchi",
            "President Alexander Lukashenko",
            "US Secretary of State Marco Rubio",
            "Prime Minister Albin Kurti",
            "Republika Srpska leader Milorad Dodik",
            "President Vladimir Putin",
            "Ambassador Botsan-Kharchenko",
        ),
        "country": (
            "Russia",
            "Serbia",
            "Bulgaria",
            "Hungary",
            "China",
            "Iran",
            "Belarus",
            "Turkey",
            "Greece",
            "North Macedonia",
            "Montenegro",
            "Bosnia and Herzegovina",
            "the United States",
            "Ukraine",
            "Kazakhstan",
            "India",
            "the European Union",
        ),
        "city": (
            "Moscow",
            "Belgrade",
            "Sofia",
            "Budapest",
            "Beijing",
            "Tehran",
            "Minsk",
            "Ankara",
            "Brussels",
            "Geneva",
            "New York",
            "Vienna",
            "Istanbul",
            "Skopje",
            "Podgorica",
            "Sarajevo",
            "Pristina",
            "Astana",
        ),
        "topic": (
            "energy cooperation",
            "gas supplies through TurkStream",
            "the Kosovo settlement",
            "the situation in Ukraine",
            "unilateral sanctions",
            "trade and investment",
            "the Dayton Agreement",
            "visa facilitation",
            "humanitarian aid",
            "nuclear power projects",
            "European security architecture",
            "cultural exchanges",
            "the BRICS summit agenda",
            "UN Security Council Resolution 1244",
            "transport corridors",
            "food security",
            "grain exports",
            "oil refining",
            "the Community of Serb Municipalities",
            "the rights of compatriots abroad",
            "the OSCE chairmanship",
            "arms control",
        ),
        "stance": (
            "firmly opposes",
            "fully supports",
            "will not recognise",
            "is ready to discuss",
            "categorically rejects",
            "welcomes",
            "is concerned about",
            "calls for an end to",
        ),
        "when": (
            "next week",
            "in the coming days",
            "before the end of the year",
            "in spring",
            "after the summit",
            "on the sidelines of the UN General Assembly",
            "at the next round of consultations",
        ),
        "basis": (
            "international law",
            "the UN Charter",
            "Resolution 1244",
            "the Dayton Agreement",
            "mutual respect and non-interference",
            "the principle of indivisible security",
        ),
    },
    "bg": {
        "person": (
            "министърът на външните работи Георг Георгиев",
            "президентът Румен Радев",
            "премиерът Росен Желязков",
            "руският външен министър Сергей Лавров",
            "сръбският президент Александър Вучич",
            "говорителят на Кремъл Дмитрий Песков",
            "говорителката на МВнР на Русия Мария Захарова",
            "върховният представител на ЕС Кая Калас",
            "генералният секретар на НАТО Марк Рюте",
            "унгарският външен министър Петер Сиярто",
            "посланикът на Русия Елеонора Митрофанова",
            "лидерът на Република Сръбска Милорад Додик",
            "китайският външен министър Ван И",
        ),
        "country": (
            "България",
            "Русия",
            "Сърбия",
            "Унгария",
            "Китай",
            "Иран",
            "Беларус",
            "Турция",
            "Гърция",
            "Северна Македония",
            "Черна гора",
            "Босна и Херцеговина",
            "САЩ",
            "Украйна",
            "Европейския съюз",
        ),
        "city": (
            "София",
            "Москва",
            "Белград",
            "Будапеща",
            "Пекин",
            "Техеран",
            "Минск",
            "Анкара",
            "Брюксел",
            "Женева",
            "Ню Йорк",
            "Виена",
            "Истанбул",
            "Скопие",
            "Подгорица",
            "Сараево",
            "Прищина",
        ),
        "topic": (
            "енергийното сътрудничество",
            "доставките на газ по Турски поток",
            "косовското урегулиране",
            "ситуацията в Украйна",
            "санкциите срещу Русия",
            "търговията и инвестициите",
            "Дейтънското споразумение",
            "визовия режим",
            "хуманитарната помощ",
            "изграждането на АЕЦ Белене",
            "европейската сигурност",
            "културния обмен",
            "транспортните коридори",
            "цените на електроенергията",
            "присъединяването на Северна Македония",
            "еврозоната",
            "военната помощ за Киев",
        ),
        "stance": (
            "категорично се противопоставя на",
            "подкрепя",
            "няма да признае",
            "е готова да обсъди",
            "отхвърля",
            "приветства",
            "е обезпокоена от",
            "настоява за край на",
        ),
        "when": (
            "следващата седмица",
            "в близките дни",
            "до края на годината",
            "през пролетта",
            "след срещата на върха",
            "в кулоарите на Общото събрание на ООН",
            "на следващия кръг консултации",
        ),
        "basis": (
            "международното право",
            "Устава на ООН",
            "Резолюция 1244",
            "Дейтънското споразумение",
            "взаимното уважение и ненамесата",
            "принципа на неделимата сигурност",
        ),
    },
    "ru": {
        "person": (
            "Министр иностранных дел России Сергей Лавров",
            "Президент Сербии Александр Вучич",
            "заместитель министра иностранных дел Александр Грушко",
            "пресс-секретарь Кремля Дмитрий Песков",
            "официальный представитель МИД Мария Захарова",
            "верховный представитель ЕС Кая Каллас",
            "генсек НАТО Марк Рютте",
            "генеральный секретарь ООН Антониу Гутерриш",
            "министр иностранных дел Венгрии Петер Сийярто",
            "министр иностранных дел Китая Ван И",
            "министр иностранных дел Ирана Аббас Аракчи",
            "Президент Белоруссии Александр Лукашенко",
            "лидер Республики Сербской Милорад Додик",
            "Президент России Владимир Путин",
            "посол России в Сербии Александр Боцан-Харченко",
        ),
        "country": (
            "Россия",
            "Сербия",
            "Болгария",
            "Венгрия",
            "Китай",
            "Иран",
            "Белоруссия",
            "Турция",
            "Греция",
            "Северная Македония",
            "Черногория",
            "Босния и Герцеговина",
            "США",
            "Украина",
            "Казахстан",
            "Индия",
        ),
        "city": (
            "Москве",
            "Белграде",
            "Софии",
            "Будапеште",
            "Пекине",
            "Тегеране",
            "Минске",
            "Анкаре",
            "Брюсселе",
            "Женеве",
            "Нью-Йорке",
            "Вене",
            "Стамбуле",
            "Скопье",
            "Подгорице",
            "Сараеве",
            "Приштине",
            "Астане",
        ),
        "topic": (
            "энергетическое сотрудничество",
            "поставки газа по Турецкому потоку",
            "косовское урегулирование",
            "ситуацию на Украине",
            "односторонние санкции",
            "торговлю и инвестиции",
            "Дейтонское соглашение",
            "упрощение визового режима",
            "гуманитарную помощь",
            "проекты в области атомной энергетики",
            "архитектуру европейской безопасности",
            "культурные обмены",
            "повестку саммита БРИКС",
            "резолюцию СБ ООН 1244",
            "транспортные коридоры",
            "продовольственную безопасность",
            "экспорт зерна",
            "права соотечественников за рубежом",
            "председательство в ОБСЕ",
        ),
        "stance": (
            "решительно выступает против",
            "полностью поддерживает",
            "не признает",
            "готова обсудить",
            "категорически отвергает",
            "приветствует",
            "обеспокоена",
            "призывает прекратить",
        ),
        "when": (
            "на следующей неделе",
            "в ближайшие дни",
            "до конца года",
            "весной",
            "после саммита",
            "на полях Генеральной Ассамблеи ООН",
            "в ходе очередного раунда консультаций",
        ),
        "basis": (
            "международного права",
            "Устава ООН",
            "резолюции 1244",
            "Дейтонского соглашения",
            "взаимного уважения и невмешательства",
            "принципа неделимости безопасности",
        ),
    },
}

_TEMPLATES: dict[str, tuple[str, ...]] = {
    "en": (
        "{flag} On {date}, {person} held talks with {person2} in {city}.",
        "The parties discussed {topic} and {topic2}.",
        "{person} said that {country} {stance} {topic}.",
        "{country} and {country2} agreed to step up cooperation on {topic}.",
        "The ministers reaffirmed their commitment to the strategic partnership between {country} and {country2}.",
        "{person} stressed that any settlement must rest on {basis}.",
        "Consultations on {topic} will continue in {city} {when}.",
        "According to {person}, {country} intends to expand {topic} by {number} percent.",
        "The meeting in {city} focused on {topic}, including {topic2}.",
        "{flag} {person} had a telephone conversation with {person2} at the initiative of the {adjective} side.",
        "Views were exchanged on {topic}; {country} {stance} attempts to politicise it.",
        "{person} will visit {city} {when} to sign {number} agreements on {topic}.",
    ),
    "bg": (
        "{flag} На {date} {person} проведе разговори с {person2} в {city}.",
        "Страните обсъдиха {topic} и {topic2}.",
        "{person} заяви, че {country} {stance} {topic}.",
        "{country} и {country2} се договориха да задълбочат сътрудничеството за {topic}.",
        "Министрите потвърдиха ангажимента си към стратегическото партньорство между {country} и {country2}.",
        "{person} подчерта, че всяко решение трябва да се основава на {basis}.",
        "Консултациите за {topic} ще продължат в {city} {when}.",
        "Според {person} {country} възнамерява да увеличи {topic} с {number} процента.",
        "Срещата в {city} беше посветена на {topic}, включително {topic2}.",
        "{flag} {person} проведе телефонен разговор с {person2} по инициатива на {adjective} страна.",
        "Бяха обменени мнения за {topic}, като {country} {stance} опитите за политизиране.",
        "{person} ще посети {city} {when}, за да подпише {number} споразумения за {topic}.",
    ),
    "ru": (
        "{flag} {date} {person} провёл переговоры с {person2} в {city}.",
        "Стороны обсудили {topic} и {topic2}.",
        "{person} заявил, что {country} {stance} {topic}.",
        "{country} и {country2} договорились расширять сотрудничество, включая {topic}.",
        "Министры подтвердили приверженность стратегическому партнёрству, которое связывает {country} и {country2}.",
        "{person} подчеркнул, что любое урегулирование должно опираться на нормы {basis}.",
        "Консультации, затрагивающие {topic}, продолжатся в {city} {when}.",
        "По словам собеседника, {country} намерена увеличить {topic} на {number} процентов.",
        "В ходе встречи в {city} особое внимание уделили вопросу: {topic}, а также {topic2}.",
        "{flag} {person} провёл телефонный разговор с {person2} по инициативе {adjective} стороны.",
        "Состоялся обмен мнениями: {country} {stance} попытки политизировать {topic}.",
        "{person} посетит город в {city} {when}, чтобы подписать {number} соглашений.",
    ),
}

_ADJECTIVES = {
    "en": ("Serbian", "Russian", "Hungarian", "Chinese", "Bulgarian", "Iranian"),
    "bg": ("сръбската", "руската", "унгарската", "китайската", "българската"),
    "ru": ("сербской", "российской", "венгерской", "китайской", "болгарской", "иранской"),
}
_MONTHS = {
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    "bg": (
        "януари",
        "февруари",
        "март",
        "април",
        "май",
        "юни",
        "юли",
        "август",
        "септември",
        "октомври",
        "ноември",
        "декември",
    ),
    "ru": (
        "января",
        "февраля",
        "марта",
        "апреля",
        "мая",
        "июня",
        "июля",
        "августа",
        "сентября",
        "октября",
        "ноября",
        "декабря",
    ),
}
_HASHTAGS = {
    "en": (
        "#RussiaSerbia",
        "#RussiaChina",
        "#Kosovo",
        "#Lavrov",
        "#UNGA",
        "#BRICS",
        "#Balkans",
        "#Sanctions",
        "#RussiaHungary",
        "#Energy",
        "#MFA",
    ),
    "bg": ("#РусияСърбия", "#България", "#Косово", "#МВнР", "#Енергетика", "#Балканите", "#Санкции", "#НАТО"),
    "ru": ("#РоссияСербия", "#Лавров", "#МИД", "#Косово", "#БРИКС", "#Захарова", "#Санкции", "#ОДКБ", "#РоссияКитай"),
}
# Lines a real scrape or paste carries that the boilerplate rules must remove.
_CHROME = (
    "VIEW IN TELEGRAM",
    "This media is not supported in your browser",
    "Сподели:",
    "РЕКЛАМА",
    "Read more",
    "Подробнее",
    "Коментари (0)",
    "16:59 - 18.04.2025",
    "https://t.me/mfa_russia/1234",
    "spot_img",
)
_MEDIA = ("photo", "photo", "photo", "video", "document", "album")
_SENTENCES_PER_LANG = 3000  # a sentence bank per language: real channels reuse their phrasing too


@dataclass(frozen=True, slots=True)
class Channel:
    ref: ChannelRef
    lang: str


def channels(count: int = 24, seed: int = DEFAULT_SEED) -> tuple[Channel, ...]:
    """Relay and news channels; each writes mostly in one language."""
    rng = random.Random(f"{seed}:channels")
    out = []
    for index in range(count):
        lang = rng.choices(LANGS, LANG_WEIGHTS)[0]
        username = f"{('balkan', 'diplo', 'novini', 'vesti', 'watch', 'east')[index % 6]}_{lang}_{index:02d}"
        out.append(
            Channel(
                ChannelRef(
                    tg_id=1_700_000_000 + index, username=username, title=f"{username.replace('_', ' ').title()}"
                ),
                lang,
            )
        )
    return tuple(out)


class _Writer:
    """Builds post texts from a per-language sentence bank; all state derives from the seed."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.bank = {lang: self._bank(lang, random.Random(f"{seed}:bank:{lang}")) for lang in LANGS}

    @staticmethod
    def _bank(lang: str, rng: random.Random) -> tuple[str, ...]:
        words = _WORDS[lang]
        months = _MONTHS[lang]

        def fill(template: str) -> str:
            day, month = rng.randint(1, 28), rng.choice(months)
            date = f"{month} {day}" if lang == "en" else f"{day} {month}"
            return template.format(
                flag=rng.choice(_FLAGS),
                date=date,
                person=rng.choice(words["person"]),
                person2=rng.choice(words["person"]),
                country=rng.choice(words["country"]),
                country2=rng.choice(words["country"]),
                city=rng.choice(words["city"]),
                topic=rng.choice(words["topic"]),
                topic2=rng.choice(words["topic"]),
                stance=rng.choice(words["stance"]),
                when=rng.choice(words["when"]),
                basis=rng.choice(words["basis"]),
                adjective=rng.choice(_ADJECTIVES[lang]),
                number=rng.randint(2, 40),
            ).strip()

        sentences = (fill(rng.choice(_TEMPLATES[lang])) for _ in range(_SENTENCES_PER_LANG))
        return tuple(s[0].upper() + s[1:] for s in sentences)

    def body(self, rng: random.Random, lang: str, target: int) -> str:
        """Paragraphs of 1-3 sentences until `target` characters, then maybe a hashtag line."""
        bank = self.bank[lang]
        tags = _HASHTAGS[lang]
        paragraphs: list[str] = []
        size = 0
        while size < target:
            paragraph = " ".join(rng.choices(bank, k=rng.randint(1, 3)))
            if rng.random() < 0.1:
                paragraph += " " + rng.choice(tags)
            paragraphs.append(paragraph)
            size += len(paragraph) + 1
        text = "\n".join(paragraphs)[:target].rstrip()
        if rng.random() < 0.7:
            text += "\n" + " ".join(rng.sample(tags, rng.randint(1, 2)))
        return text

    def origin_text(self, origin_id: int) -> str:
        """The ministry's post `origin_id`: the same text however many channels forward it."""
        rng = random.Random(f"{self.seed}:origin:{origin_id}")
        return self.body(rng, rng.choice(LANGS), rng.randint(MIN_CHARS, 1800))


def generate(
    count: int,
    *,
    seed: int = DEFAULT_SEED,
    posts_per_day: int = 2000,
    start: datetime = DEFAULT_START,
    channel_count: int = 24,
) -> Iterator[RawPost]:
    """`count` posts in date order, `posts_per_day` of them per UTC day, message ids growing per channel."""
    rng = random.Random(seed)
    writer = _Writer(seed)
    chans = channels(channel_count, seed)
    next_id = dict.fromkeys(range(len(chans)), 1)
    step = 86_400 / posts_per_day
    for index in range(count):
        which = rng.randrange(len(chans))
        channel = chans[which]
        message_id = next_id[which]
        next_id[which] += 1 + (rng.random() < 0.05)  # deleted posts and service messages leave gaps
        date = start + timedelta(seconds=int(index * step))
        forward = None
        roll = rng.random()
        if roll < FORWARD_SHARE:
            day = index // posts_per_day
            origin_id = 1 + day * ORIGINS_PER_DAY + rng.randrange(ORIGINS_PER_DAY)
            text = writer.origin_text(origin_id)
            forward = Forward(
                channel_id=ORIGIN.tg_id, username=ORIGIN.username, message_id=origin_id, name=ORIGIN.title
            )
        else:
            lang = channel.lang if rng.random() < 0.8 else rng.choices(LANGS, LANG_WEIGHTS)[0]
            repeated = roll < FORWARD_SHARE + REPEAT_SHARE
            target = rng.randint(MIN_CHARS, MAX_CHARS)
            body = writer.body(rng, lang, target // 2 if repeated else target)
            text = f"{body}\n{body}" if repeated else body
        if rng.random() < CHROME_SHARE:
            lines = text.split("\n")
            lines.insert(rng.randrange(len(lines) + 1), rng.choice(_CHROME))
            text = "\n".join(lines)
        yield RawPost(
            channel=channel.ref,
            message_id=message_id,
            date=date,
            text=text,
            source="export",
            forward=forward,
            media_kind=rng.choice(_MEDIA) if rng.random() < 0.15 else None,
            views=rng.randint(100, 200_000),
        )


def desktop_export(
    count: int, *, seed: int = DEFAULT_SEED, channel_id: int = 1_500_000_777, name: str = "Synthetic Relay"
) -> dict[str, Any]:
    """A Telegram Desktop `result.json` for one channel holding `count` corpus posts (plus a service
    message), so import paths can be exercised at a realistic size without a real export."""
    messages: list[dict[str, Any]] = [
        {"id": 1, "type": "service", "date": "2024-12-31T23:00:00", "action": "create_channel", "text": ""}
    ]
    for number, raw in enumerate(generate(count, seed=seed, channel_count=1), start=2):
        message: dict[str, Any] = {
            "id": number,
            "type": "message",
            "date": raw.date.replace(tzinfo=None).isoformat(),
            "date_unixtime": str(int(raw.date.timestamp())),
            "from": name,
            "from_id": f"channel{channel_id}",
            "text": raw.text,
        }
        if raw.forward is not None:
            message["forwarded_from"] = raw.forward.name
        if raw.media_kind == "photo":
            message["photo"] = f"photos/photo_{number}.jpg"
        messages.append(message)
    return {"name": name, "type": "public_channel", "id": channel_id, "messages": messages}
