"""A labelled set of near-duplicate pairs, generated deterministically from hand-written templates.

Modelled on what the monitor actually reads: Russian MFA read-outs of Lavrov's meetings and calls, in
English, Bulgarian and Russian, copied by news channels with their own headers ("⚡️BREAKING:",
"Forwarded from …"), sign-offs and hashtags, light edits, cut-off tails ("Read in full"), and
re-formatting.  Hard negatives are what a careless detector folds: two different meetings with the
same counterpart on different dates, the same formula with another counterpart on the same day, short
formulaic call read-outs, statements that share one sentence.  Translations of one statement are not
near-duplicates here (different words) and are not in the set.

Used by bench/neardup_quality.py (precision/recall) and bench/neardup_speed.py (realistic posts).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field

LANGS = ("en", "bg", "ru")

# ------------------------------------------------------------------------------------------ English
_EN = {
    "months": [
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
    ],
    "date": "{day} {month}",
    "counterparts": [
        ("President of Serbia Aleksandar Vucic", "Belgrade"),
        ("Foreign Minister of Hungary Peter Szijjarto", "Budapest"),
        ("Foreign Minister of Serbia Marko Djuric", "Belgrade"),
        ("Chairman of the Presidency of Bosnia and Herzegovina", "Sarajevo"),
        ("Foreign Minister of Belarus Maxim Ryzhenkov", "Minsk"),
        ("Foreign Minister of Iran Abbas Araghchi", "Tehran"),
        ("Foreign Minister of China Wang Yi", "Beijing"),
        ("Foreign Minister of Turkey Hakan Fidan", "Ankara"),
    ],
    "events": [
        "the UN General Assembly",
        "the OSCE Ministerial Council",
        "the BRICS ministerial meeting",
        "the G20 foreign ministers' meeting",
        "the Antalya Diplomacy Forum",
    ],
    "leads": [
        "On {date}, Foreign Minister Sergey Lavrov held talks with {cp} in {city}.",
        "On {date}, Sergey Lavrov met with {cp} on the sidelines of {event}.",
        "On {date}, Foreign Minister Sergey Lavrov had a telephone conversation with {cp}.",
        "On {date}, Sergey Lavrov and {cp} held consultations in {city}.",
    ],
    "call": "On {date}, Foreign Minister Sergey Lavrov had a telephone conversation with {cp}. "
    "The ministers discussed {subject}.",
    "call_subjects": [
        "bilateral cooperation and the situation around Ukraine",
        "the situation in the Middle East",
        "preparations for the upcoming BRICS summit",
        "energy cooperation and gas supplies",
        "the situation in the Balkans",
        "the schedule of upcoming contacts",
    ],
    "topics": [
        [
            "The ministers reaffirmed their commitment to the strategic partnership between the two countries.",
            "The sides discussed the schedule of upcoming high-level contacts and agreed to keep up an intensive "
            "political dialogue.",
            "Particular attention was paid to expanding trade and economic cooperation, including in energy and "
            "transport.",
            "The parties noted the importance of the intergovernmental commission on trade and economic "
            "cooperation, whose next meeting is due in spring.",
            "They also discussed cooperation in culture, education and youth exchanges.",
            "Both sides expressed satisfaction with the growth of mutual trade despite external pressure.",
        ],
        [
            "Both sides stressed that a Kosovo settlement must rest on international law and UN Security Council "
            "Resolution 1244.",
            "The Russian side reaffirmed its support for Belgrade's principled position on Kosovo.",
            "The ministers exchanged views on the situation in the Balkans, including Bosnia and Herzegovina and "
            "the implementation of the Dayton Agreement.",
            "Sergey Lavrov criticised attempts by Western countries to impose their decisions on the peoples of "
            "the region.",
            "The parties agreed to coordinate their approaches in the UN Security Council.",
            "Concern was expressed over the rising tension in the north of Kosovo.",
        ],
        [
            "The ministers condemned the new round of unilateral sanctions imposed by the European Union.",
            "Lavrov said that illegitimate restrictions harm above all those who impose them.",
            "The sides discussed ways to protect mutual trade from the effects of Western sanctions, including "
            "payments in national currencies.",
            "The ministers agreed that pressure from Brussels would not change their approach to cooperation.",
            "Lavrov noted that the European Union had lost its independence in foreign policy.",
            "Both sides spoke in favour of a multipolar world order based on the central role of the UN.",
        ],
        [
            "The ministers discussed the situation around Ukraine and the prospects for a political settlement.",
            "Lavrov outlined Russia's assessments of the course of the special military operation.",
            "The sides exchanged views on European security and the expansion of NATO.",
            "Both sides spoke in favour of resolving the crisis by political and diplomatic means.",
            "The Russian minister briefed his counterpart on the results of recent contacts with the United States.",
            "The interlocutors discussed the humanitarian situation and the exchange of prisoners.",
        ],
        [
            "Special attention was paid to gas supplies and the operation of the TurkStream pipeline.",
            "The sides discussed the construction of new energy facilities and cooperation in the nuclear sector.",
            "The ministers noted that Russian gas deliveries remain a key element of the country's energy security.",
            "The parties agreed to continue talks on a long-term gas contract.",
            "Cooperation in oil refining and the future of the NIS company were also discussed.",
            "Lavrov confirmed Russia's readiness to meet its obligations as a reliable energy supplier.",
        ],
        [
            "The ministers exchanged views on topical international issues, including the Middle East settlement.",
            "Particular attention was paid to cooperation within BRICS and the Shanghai Cooperation Organisation.",
            "The sides discussed preparations for the upcoming summit and the coordination of positions at the UN.",
            "The parties spoke in favour of a comprehensive settlement of the situation around the Iranian nuclear "
            "programme.",
            "They noted the importance of reforming the international financial architecture.",
            "Lavrov and his counterpart also touched upon the situation in the South Caucasus and Central Asia.",
        ],
    ],
    "closings": [
        "The conversation was held in a friendly and trusting atmosphere.",
        "The talks were held in a constructive atmosphere.",
        "The ministers agreed to continue their contacts.",
    ],
    "headers": ["⚡️BREAKING:", "🔴 URGENT", "Forwarded from Russian MFA 🇷🇺", "MFA Russia:", "🇷🇺🇷🇸 Lavrov"],
    "signoffs": [
        "Subscribe to @serbia_today",
        "👉 Read in full: https://mid.ru/en/foreign_policy/news/{n}/",
        "Join us: @balkan_watch",
        "#RussiaSerbia #Lavrov",
        "Source: MFA Russia",
        "Follow us on Telegram | VK | X",
    ],
    "more": "👉 Read in full: https://mid.ru/en/foreign_policy/news/{n}/",
    "synonyms": {
        "held talks": "conducted negotiations",
        "discussed": "considered",
        "stressed": "emphasised",
        "noted": "pointed out",
        "reaffirmed": "confirmed",
        "sides": "parties",
        "ministers": "two ministers",
        "Particular attention": "Special attention",
        "expressed": "voiced",
        "agreed": "decided",
    },
    "comment": "This was their third meeting this year.",
    "own_lead": "Russian Foreign Minister Sergey Lavrov met his counterpart today. Here is what they discussed:",
    "announcement": "On {date} at 12:00, Foreign Ministry Spokeswoman Maria Zakharova will hold a briefing on "
    "current foreign policy issues.\nFollow the live broadcast on the ministry's website and "
    "Telegram channel.",
    "date_variants": ["{month} {day}", "{day}.{m:02d}."],
}

# ---------------------------------------------------------------------------------------- Bulgarian
_BG = {
    "months": [
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
    ],
    "date": "{day} {month}",
    "counterparts": [
        ("президента на Сърбия Александър Вучич", "Белград"),
        ("министъра на външните работи на Унгария Петер Сиярто", "Будапеща"),
        ("министъра на външните работи на Сърбия Марко Джурич", "Белград"),
        ("председателя на Президиума на Босна и Херцеговина", "Сараево"),
        ("министъра на външните работи на Беларус Максим Риженков", "Минск"),
        ("министъра на външните работи на Иран Аббас Арагчи", "Техеран"),
        ("министъра на външните работи на Китай Ван И", "Пекин"),
        ("министъра на външните работи на Турция Хакан Фидан", "Анкара"),
    ],
    "events": [
        "Общото събрание на ООН",
        "Съвета на министрите на ОССЕ",
        "министерската среща на БРИКС",
        "срещата на външните министри от Г-20",
        "Дипломатическия форум в Анталия",
    ],
    "leads": [
        "На {date} министърът на външните работи на Русия Сергей Лавров проведе разговори с {cp} в {city}.",
        "На {date} Сергей Лавров се срещна с {cp} в кулоарите на {event}.",
        "На {date} министърът на външните работи на Русия Сергей Лавров проведе телефонен разговор с {cp}.",
        "На {date} в {city} се състояха консултации между Сергей Лавров и {cp}.",
    ],
    "call": "На {date} министърът на външните работи на Русия Сергей Лавров проведе телефонен разговор с {cp}. "
    "Министрите обсъдиха {subject}.",
    "call_subjects": [
        "двустранното сътрудничество и ситуацията около Украйна",
        "положението в Близкия изток",
        "подготовката за предстоящата среща на върха на БРИКС",
        "енергийното сътрудничество и доставките на газ",
        "положението на Балканите",
        "графика на предстоящите контакти",
    ],
    "topics": [
        [
            "Министрите потвърдиха ангажимента си към стратегическото партньорство между двете страни.",
            "Страните обсъдиха графика на предстоящите контакти на високо равнище и се договориха да поддържат "
            "интензивен политически диалог.",
            "Специално внимание беше отделено на разширяването на търговско-икономическото сътрудничество, "
            "включително в енергетиката и транспорта.",
            "Страните отбелязаха значението на междуправителствената комисия за търговско-икономическо "
            "сътрудничество, чието следващо заседание е насрочено за пролетта.",
            "Обсъдено беше и сътрудничеството в областта на културата, образованието и младежкия обмен.",
            "Двете страни изразиха задоволство от ръста на взаимния стокообмен въпреки външния натиск.",
        ],
        [
            "Двете страни подчертаха, че уреждането на косовския въпрос трябва да се основава на международното "
            "право и Резолюция 1244 на Съвета за сигурност на ООН.",
            "Руската страна потвърди подкрепата си за принципната позиция на Белград по Косово.",
            "Министрите обмениха мнения за положението на Балканите, включително в Босна и Херцеговина и "
            "изпълнението на Дейтънското споразумение.",
            "Сергей Лавров разкритикува опитите на западните страни да налагат решенията си на народите в региона.",
            "Страните се договориха да координират подходите си в Съвета за сигурност на ООН.",
            "Беше изразена загриженост от нарастващото напрежение в Северно Косово.",
        ],
        [
            "Министрите осъдиха новия пакет едностранни санкции, наложени от Европейския съюз.",
            "Лавров заяви, че нелегитимните ограничения вредят преди всичко на тези, които ги налагат.",
            "Страните обсъдиха начини за защита на взаимната търговия от последиците от западните санкции, "
            "включително разплащания в национални валути.",
            "Министрите се съгласиха, че натискът от Брюксел няма да промени подхода им към сътрудничеството.",
            "Лавров отбеляза, че Европейският съюз е загубил самостоятелността си във външната политика.",
            "Страните се обявиха за многополюсен световен ред, основан на централната роля на ООН.",
        ],
        [
            "Министрите обсъдиха ситуацията около Украйна и перспективите за политическо уреждане.",
            "Лавров представи руските оценки за хода на специалната военна операция.",
            "Страните обмениха мнения за европейската сигурност и разширяването на НАТО.",
            "Двете страни се обявиха за решаване на кризата с политически и дипломатически средства.",
            "Руският министър информира събеседника си за резултатите от последните контакти със САЩ.",
            "Събеседниците обсъдиха хуманитарната ситуация и размяната на пленници.",
        ],
        [
            "Специално внимание беше отделено на доставките на газ и работата на газопровода „Турски поток“.",
            "Страните обсъдиха изграждането на нови енергийни обекти и сътрудничеството в ядрената сфера.",
            "Министрите отбелязаха, че доставките на руски газ остават ключов елемент от енергийната сигурност "
            "на страната.",
            "Страните се договориха да продължат преговорите за дългосрочен газов договор.",
            "Обсъдени бяха и сътрудничеството в нефтопреработката и бъдещето на компанията NIS.",
            "Лавров потвърди готовността на Русия да изпълнява задълженията си като надежден доставчик на "
            "енергийни ресурси.",
        ],
        [
            "Министрите обмениха мнения по актуални международни въпроси, включително близкоизточното уреждане.",
            "Специално внимание беше отделено на взаимодействието в рамките на БРИКС и Шанхайската организация "
            "за сътрудничество.",
            "Страните обсъдиха подготовката за предстоящата среща на върха и координацията на позициите в ООН.",
            "Страните се обявиха за всеобхватно уреждане на ситуацията около иранската ядрена програма.",
            "Беше отбелязано значението на реформата на международната финансова архитектура.",
            "Лавров и събеседникът му засегнаха и положението в Южен Кавказ и Централна Азия.",
        ],
    ],
    "closings": [
        "Разговорът премина в приятелска и доверителна атмосфера.",
        "Преговорите преминаха в конструктивна атмосфера.",
        "Министрите се договориха да продължат контактите.",
    ],
    "headers": ["⚡️ИЗВЪНРЕДНО:", "Препратено от МВнР на Русия", "🔴 Горещо:", "МВнР на Русия:", "🇷🇺🇧🇬 Лавров"],
    "signoffs": [
        "Абонирайте се за @bgnovini",
        "Прочетете повече: https://mid.ru/bg/news/{n}/",
        "#Лавров #РусияСърбия",
        "Последвайте ни: @balkani_dnes",
        "Източник: МВнР на Русия",
        "Харесайте страницата ни във Фейсбук",
    ],
    "more": "Прочетете повече: https://mid.ru/bg/news/{n}/",
    "synonyms": {
        "обсъдиха": "разгледаха",
        "отбелязаха": "подчертаха",
        "Страните": "Двете страни",
        "потвърди": "препотвърди",
        "проведе разговори": "води преговори",
        "Специално": "Особено",
        "заяви": "каза",
        "изразиха": "изказаха",
        "положението": "ситуацията",
        "Министрите": "Двамата министри",
    },
    "comment": "Това е третата среща на министрите тази година.",
    "own_lead": "Сергей Лавров се срещна днес с колегата си. Ето какво обсъдиха:",
    "announcement": "На {date} от 12:00 часа официалният представител на МВнР на Русия Мария Захарова ще "
    "проведе брифинг по актуални въпроси на външната политика.\nГледайте пряко излъчване на "
    "сайта и в телеграм канала на министерството.",
    "date_variants": ["{day}.{m:02d}."],
}

# ------------------------------------------------------------------------------------------ Russian
_RU = {
    "months": [
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
    ],
    "date": "{day} {month}",
    "counterparts": [
        ("Президентом Сербии Александром Вучичем", "Белграде"),
        ("Министром иностранных дел Венгрии Петером Сийярто", "Будапеште"),
        ("Министром иностранных дел Сербии Марко Джуричем", "Белграде"),
        ("Председателем Президиума Боснии и Герцеговины", "Сараеве"),
        ("Министром иностранных дел Белоруссии Максимом Рыженковым", "Минске"),
        ("Министром иностранных дел Ирана Аббасом Аракчи", "Тегеране"),
        ("Министром иностранных дел Китая Ван И", "Пекине"),
        ("Министром иностранных дел Турции Хаканом Фиданом", "Анкаре"),
    ],
    "events": [
        "Генеральной Ассамблеи ООН",
        "Совета министров ОБСЕ",
        "министерской встречи БРИКС",
        "встречи министров иностранных дел «Группы двадцати»",
        "Дипломатического форума в Анталье",
    ],
    "leads": [
        "{date} Министр иностранных дел России Сергей Лавров провёл переговоры с {cp} в {city}.",
        "{date} на полях {event} состоялась встреча Сергея Лаврова с {cp}.",
        "{date} Министр иностранных дел России Сергей Лавров провёл телефонный разговор с {cp}.",
        "{date} в {city} состоялись консультации Сергея Лаврова с {cp}.",
    ],
    "call": "{date} Министр иностранных дел России Сергей Лавров провёл телефонный разговор с {cp}. "
    "Министры обсудили {subject}.",
    "call_subjects": [
        "двустороннее сотрудничество и ситуацию вокруг Украины",
        "ситуацию на Ближнем Востоке",
        "подготовку к предстоящему саммиту БРИКС",
        "энергетическое сотрудничество и поставки газа",
        "положение на Балканах",
        "график предстоящих контактов",
    ],
    "topics": [
        [
            "Министры подтвердили приверженность стратегическому партнёрству между двумя странами.",
            "Стороны обсудили график предстоящих контактов на высшем уровне и договорились поддерживать "
            "интенсивный политический диалог.",
            "Особое внимание было уделено расширению торгово-экономического сотрудничества, в том числе в "
            "энергетике и на транспорте.",
            "Стороны отметили важность работы межправительственной комиссии по торгово-экономическому "
            "сотрудничеству, очередное заседание которой намечено на весну.",
            "Также обсуждалось взаимодействие в сфере культуры, образования и молодёжных обменов.",
            "Стороны с удовлетворением отметили рост взаимного товарооборота несмотря на внешнее давление.",
        ],
        [
            "Стороны подчеркнули, что косовское урегулирование должно основываться на международном праве и "
            "резолюции 1244 Совета Безопасности ООН.",
            "Российская сторона подтвердила поддержку принципиальной позиции Белграда по Косову.",
            "Министры обменялись мнениями о ситуации на Балканах, включая Боснию и Герцеговину и выполнение "
            "Дейтонского соглашения.",
            "Сергей Лавров раскритиковал попытки западных стран навязать свои решения народам региона.",
            "Стороны договорились координировать подходы в Совете Безопасности ООН.",
            "Была выражена обеспокоенность ростом напряжённости на севере Косова.",
        ],
        [
            "Министры осудили новый пакет односторонних санкций, введённых Европейским союзом.",
            "Лавров заявил, что нелегитимные ограничения вредят прежде всего тем, кто их вводит.",
            "Стороны обсудили способы защиты взаимной торговли от последствий западных санкций, включая расчёты "
            "в национальных валютах.",
            "Министры сошлись во мнении, что давление Брюсселя не изменит их подхода к сотрудничеству.",
            "Лавров отметил, что Европейский союз утратил самостоятельность во внешней политике.",
            "Стороны высказались за многополярный миропорядок, основанный на центральной роли ООН.",
        ],
        [
            "Министры обсудили ситуацию вокруг Украины и перспективы политического урегулирования.",
            "Лавров изложил российские оценки хода специальной военной операции.",
            "Стороны обменялись мнениями о европейской безопасности и расширении НАТО.",
            "Обе стороны высказались за урегулирование кризиса политико-дипломатическими средствами.",
            "Российский министр проинформировал собеседника об итогах недавних контактов с США.",
            "Собеседники обсудили гуманитарную ситуацию и обмен пленными.",
        ],
        [
            "Особое внимание было уделено поставкам газа и работе газопровода «Турецкий поток».",
            "Стороны обсудили строительство новых энергетических объектов и сотрудничество в атомной сфере.",
            "Министры отметили, что поставки российского газа остаются ключевым элементом энергетической "
            "безопасности страны.",
            "Стороны договорились продолжить переговоры о долгосрочном газовом контракте.",
            "Также обсуждались сотрудничество в нефтепереработке и будущее компании NIS.",
            "Лавров подтвердил готовность России выполнять свои обязательства как надёжного поставщика "
            "энергоносителей.",
        ],
        [
            "Министры обменялись мнениями по актуальным международным проблемам, включая ближневосточное "
            "урегулирование.",
            "Особое внимание было уделено взаимодействию в рамках БРИКС и Шанхайской организации сотрудничества.",
            "Стороны обсудили подготовку к предстоящему саммиту и координацию позиций в ООН.",
            "Стороны высказались за всеобъемлющее урегулирование ситуации вокруг иранской ядерной программы.",
            "Была отмечена важность реформирования международной финансовой архитектуры.",
            "Лавров и его собеседник также затронули ситуацию на Южном Кавказе и в Центральной Азии.",
        ],
    ],
    "closings": [
        "Беседа прошла в дружественной и доверительной атмосфере.",
        "Переговоры прошли в конструктивной атмосфере.",
        "Министры договорились продолжить контакты.",
    ],
    "headers": ["⚡️СРОЧНО:", "МИД России:", "Переслано от МИД России 🇷🇺", "❗️Важно", "🇷🇺🇷🇸 Лавров"],
    "signoffs": [
        "Подписывайтесь на @balkan_news",
        "Читать полностью: https://mid.ru/ru/foreign_policy/news/{n}/",
        "#Лавров #РоссияСербия",
        "Наш канал: @rusdiplomat",
        "Источник: МИД России",
        "Подписывайтесь на нас в ВК и Дзене",
    ],
    "more": "Читать полностью: https://mid.ru/ru/foreign_policy/news/{n}/",
    "synonyms": {
        "обсудили": "рассмотрели",
        "отметили": "подчеркнули",
        "Стороны": "Собеседники",
        "провёл переговоры": "провёл встречу",
        "Особое": "Повышенное",
        "заявил": "сказал",
        "Министры": "Главы МИД",
        "подтвердила": "вновь подтвердила",
        "ситуацию": "положение",
        "высказались": "выступили",
    },
    "comment": "Это уже третья встреча министров в этом году.",
    "own_lead": "Сергей Лавров сегодня провёл встречу с коллегой. Вот о чём они говорили:",
    "announcement": "{date} в 12:00 официальный представитель МИД России Мария Захарова проведёт брифинг по "
    "актуальным вопросам внешней политики.\nСледите за прямой трансляцией на сайте и в "
    "телеграм-канале министерства.",
    "date_variants": ["{day}.{m:02d}."],
}

TEMPLATES: dict[str, dict] = {"en": _EN, "bg": _BG, "ru": _RU}
_BULLETS = ["🔹", "▪️", "❗️", "🤝", "✅", "•"]


@dataclass
class Statement:
    lang: str
    lead: str
    sentences: list[str]
    closing: str | None
    counterpart: int
    day: tuple[int, int]  # (month, day)
    hashtags: list[str] = field(default_factory=list)

    def body(self) -> list[str]:
        return [self.lead, *self.sentences, *([self.closing] if self.closing else [])]


@dataclass(frozen=True)
class Pair:
    kind: str
    same: bool  # the label: True = near-duplicates
    lang: str
    a: str
    b: str


class CorpusGenerator:
    """All randomness from one seeded Random: the same seed gives the same set on every machine."""

    def __init__(self, seed: int = 8) -> None:
        self.rng = random.Random(seed)

    # ---------------------------------------------------------------- statements
    def date(self, lang: str, day: tuple[int, int]) -> str:
        t = TEMPLATES[lang]
        return t["date"].format(day=day[1], month=t["months"][day[0] - 1])

    def statement(
        self,
        lang: str,
        *,
        counterpart: int | None = None,
        day: tuple[int, int] | None = None,
        lead: int | None = None,
        topics: list[int] | None = None,
        size: int | None = None,
        avoid: set[str] | None = None,
        closing: bool | None = None,
    ) -> Statement:
        t, rng = TEMPLATES[lang], self.rng
        counterpart = rng.randrange(len(t["counterparts"])) if counterpart is None else counterpart
        day = day or (rng.randint(1, 12), rng.randint(1, 28))
        cp, city = t["counterparts"][counterpart]
        lead_text = t["leads"][rng.randrange(len(t["leads"])) if lead is None else lead].format(
            date=self.date(lang, day), cp=cp, city=city, event=rng.choice(t["events"])
        )
        if lang != "en":
            lead_text = lead_text[0].upper() + lead_text[1:]
        topics = topics if topics is not None else rng.sample(range(len(t["topics"])), 2)
        pool = [s for i in topics for s in t["topics"][i] if s not in (avoid or set())]
        size = size or rng.choice([2, 3, 4, 5, 7])
        sentences = rng.sample(pool, min(size, len(pool)))
        with_closing = rng.random() < 0.6 if closing is None else closing
        return Statement(
            lang, lead_text, sentences, rng.choice(t["closings"]) if with_closing else None, counterpart, day
        )

    def render(
        self,
        st: Statement,
        *,
        header: str | None = None,
        signoff: str | None = None,
        bullets: bool = True,
        one_paragraph: bool = False,
        lines: list[str] | None = None,
    ) -> str:
        """The raw text as a channel posts it: one line per sentence, emoji bullets, hashtags at the end."""
        body = lines if lines is not None else st.body()
        if bullets:
            body = [body[0], *(f"{self.rng.choice(_BULLETS)} {s}" for s in body[1:])]
        parts = [" ".join(body)] if one_paragraph else list(body)
        if header:
            parts.insert(0, header)
        if signoff:
            parts.append(signoff.format(n=self.rng.randint(1900000, 2100000)))
        return "\n".join(parts)

    # ------------------------------------------------------------------ variants
    def edit(self, lang: str, lines: list[str], day: tuple[int, int] | None = None) -> list[str]:
        """Light editing: synonyms, typos, the date re-formatted, one sentence dropped or a comment added."""
        t, rng = TEMPLATES[lang], self.rng
        lines = list(lines)
        if day is not None and rng.random() < 0.3:
            variant = rng.choice(t["date_variants"]).format(day=day[1], m=day[0], month=t["months"][day[0] - 1])
            lines[0] = lines[0].replace(self.date(lang, day), variant, 1)
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(lines))
            found = [w for w in t["synonyms"] if w in lines[i]]
            if found:
                word = rng.choice(found)
                lines[i] = lines[i].replace(word, t["synonyms"][word], 1)
        for _ in range(rng.randint(0, 2)):
            i = rng.randrange(len(lines))
            words = lines[i].split(" ")
            long_words = [k for k, w in enumerate(words) if len(w) >= 6 and w.isalpha()]
            if long_words:
                k = rng.choice(long_words)
                w = words[k]
                j = rng.randrange(1, len(w) - 2)
                words[k] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
                lines[i] = " ".join(words)
        roll = rng.random()
        if roll < 0.3 and len(lines) > 4:
            del lines[rng.randrange(1, len(lines))]
        elif roll < 0.55:
            lines.insert(rng.randrange(1, len(lines) + 1), t["comment"])
        return lines

    def positive(self, lang: str, kind: str) -> Pair:
        t, rng = TEMPLATES[lang], self.rng
        st = self.statement(lang)
        original = self.render(st)
        if kind == "header":
            copy = self.render(st, header=rng.choice(t["headers"]), bullets=rng.random() < 0.5)
        elif kind == "signoff":
            copy = self.render(st, signoff=rng.choice(t["signoffs"]))
            if rng.random() < 0.5:
                copy += "\n" + rng.choice(t["signoffs"]).format(n=rng.randint(1, 999))
        elif kind == "edit":
            copy = self.render(st, lines=self.edit(lang, st.body(), st.day))
        elif kind == "truncation":
            body = st.body()
            keep = max(2, round(len(body) * rng.uniform(0.25, 0.9)))  # down to a teaser: lead + one
            lines = body[:keep]
            if rng.random() < 0.5 and len(body) > keep:  # cut mid-sentence, as previews do
                words = body[keep].split()
                lines.append(" ".join(words[: max(2, len(words) // 2)]) + "…")
            copy = self.render(st, lines=lines, signoff=t["more"])
        elif kind == "teaser":  # a long statement cut to its lead and one sentence, then a link
            st = self.statement(lang, size=7, closing=True)
            original = self.render(st)
            copy = self.render(st, lines=[st.lead, st.sentences[0]], signoff=t["more"])
        elif kind == "own_lead":  # the channel's own opening line instead of the ministry's
            st = self.statement(lang, size=rng.choice([3, 4, 5, 7]))
            original = self.render(st)
            copy = self.render(st, lines=[t["own_lead"], *st.body()[1:]], signoff=rng.choice(t["signoffs"]))
        elif kind == "reformat":
            copy = self.render(st, bullets=False, one_paragraph=rng.random() < 0.7)
            copy = copy.replace(" - ", " — ")
        elif kind == "combined":
            copy = self.render(
                st,
                lines=self.edit(lang, st.body(), st.day),
                header=rng.choice(t["headers"]),
                signoff=rng.choice(t["signoffs"]),
            )
        else:
            raise ValueError(kind)
        return Pair(kind, True, lang, original, copy)

    def negative(self, lang: str, kind: str) -> Pair:
        t, rng = TEMPLATES[lang], self.rng
        if kind == "other_meeting":  # same counterpart, same formula, another date and what was said
            a = self.statement(lang)
            b = self.statement(lang, counterpart=a.counterpart, topics=None, avoid=set(a.sentences))
        elif kind == "same_day_other_counterpart":  # same formula, same day, same topics, someone else
            a = self.statement(lang, topics=[0, 1])
            others = [i for i in range(len(t["counterparts"])) if i != a.counterpart]
            b = self.statement(
                lang,
                counterpart=rng.choice(others),
                day=a.day,
                topics=[0, 1],
                avoid=set(a.sentences[1:]),
                size=len(a.sentences),
            )
            b.closing = a.closing
        elif kind == "shares_a_sentence":  # different statements quoting one common formula
            a = self.statement(lang, size=rng.choice([4, 5, 7]))
            b = self.statement(lang, size=rng.choice([4, 5, 7]), avoid=set(a.sentences))
            b.sentences[rng.randrange(len(b.sentences))] = rng.choice(a.sentences)
        elif kind == "call_readout":  # short formulaic read-outs of two different calls
            cps = rng.sample(range(len(t["counterparts"])), 2)
            subjects = rng.sample(t["call_subjects"], 2)
            day = (rng.randint(1, 12), rng.randint(1, 28))
            texts = [
                t["call"].format(date=self.date(lang, day), cp=t["counterparts"][c][0], subject=s)
                for c, s in zip(cps, subjects, strict=True)
            ]
            if lang != "en":
                texts = [x[0].upper() + x[1:] for x in texts]
            return Pair(kind, False, lang, texts[0], texts[1])
        elif kind == "call_same_counterpart":  # the same short formula, same counterpart, another day
            cp = rng.randrange(len(t["counterparts"]))
            subjects = rng.sample(t["call_subjects"], 2)
            days = [(rng.randint(1, 12), rng.randint(1, 28)) for _ in range(2)]
            texts = [
                t["call"].format(date=self.date(lang, d), cp=t["counterparts"][cp][0], subject=s)
                for d, s in zip(days, subjects, strict=True)
            ]
            if lang != "en":
                texts = [x[0].upper() + x[1:] for x in texts]
            return Pair(kind, False, lang, texts[0], texts[1])
        elif kind == "recurring_announcement":  # the same announcement for two different briefings
            first = (rng.randint(1, 12), rng.randint(1, 21))
            texts = [t["announcement"].format(date=self.date(lang, d)) for d in (first, (first[0], first[1] + 7))]
            if lang != "en":
                texts = [x[0].upper() + x[1:] for x in texts]
            return Pair(kind, False, lang, texts[0], texts[1])
        elif kind == "unrelated":
            a = self.statement(lang, topics=[0, 2])
            b = self.statement(lang, topics=[3, 5])
        else:
            raise ValueError(kind)
        return Pair(kind, False, lang, self.render(a), self.render(b))

    # ---------------------------------------------------------------- whole sets
    def pairs(self, positives: int = 60, negatives: int = 60) -> list[Pair]:
        """`positives` pairs of each positive kind and `negatives` of each negative kind, languages in turn."""
        result = []
        for kind in POSITIVE_KINDS:
            result += [self.positive(LANGS[i % 3], kind) for i in range(positives)]
        for kind in NEGATIVE_KINDS:
            result += [self.negative(LANGS[i % 3], kind) for i in range(negatives)]
        return result

    def stream(self, copies: float = 0.3) -> Iterator[str]:
        """Endless realistic posts: fresh statements, a share of them followed later by a copy."""
        pending: list[str] = []
        while True:
            if pending and self.rng.random() < copies:
                yield pending.pop(self.rng.randrange(len(pending)))
                continue
            lang = self.rng.choice(LANGS)
            pair = self.positive(lang, self.rng.choice(POSITIVE_KINDS))
            pending.append(pair.b)
            if len(pending) > 200:
                pending.pop(0)
            yield pair.a


POSITIVE_KINDS = ("header", "signoff", "edit", "truncation", "teaser", "own_lead", "reformat", "combined")
NEGATIVE_KINDS = (
    "other_meeting",
    "same_day_other_counterpart",
    "shares_a_sentence",
    "call_readout",
    "call_same_counterpart",
    "recurring_announcement",
    "unrelated",
)
