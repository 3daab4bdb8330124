"""The two channels exported both ways in tests/data/tdesktop_export/ (JSON and HTML of the same history),
and the pages around a real third-party page (ttag, written into a temporary folder by the tests).

The files there are what `python -m tests.tdesktop_fixtures` writes from the message lists below with
bench/tdesktop_export.py (Telegram Desktop's writers, re-done in Python); tests read the files, and
`test_committed_fixtures_are_regenerated` checks they still match. Messages are JSON-export objects
(`text` and `text_entities` as Telegram Desktop writes them); pages hold a few messages instead of
1,000 so that a small fixture still has several pages.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench.tdesktop_export import write_html, write_json

DATA = Path(__file__).parent / "data" / "tdesktop_export"

Part = str | tuple[str, str] | tuple[str, str, str]


def rich(*parts: Part) -> dict[str, Any]:
    """`text` (a string, or a list of strings and {type, text}) and `text_entities`, as the export has them."""
    text: list[Any] = []
    entities: list[dict[str, str]] = []
    for part in parts:
        if isinstance(part, str):
            text.append(part)
            entities.append({"type": "plain", "text": part})
        else:
            entity = {"type": part[0], "text": part[1]} | ({"href": part[2]} if len(part) == 3 else {})
            text.append(entity)
            entities.append(entity)
    value: Any = text[0] if len(text) == 1 and isinstance(text[0], str) else text
    return {"text": value if parts else "", "text_entities": entities}


class Channel:
    def __init__(self, slug: str, name: str, channel_id: int, zone: str, per_page: int) -> None:
        self.slug, self.name, self.channel_id, self.zone, self.per_page = slug, name, channel_id, zone, per_page
        self.messages: list[dict[str, Any]] = []

    def unix(self, local: str) -> int:
        return int(datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(self.zone)).timestamp())

    def post(self, message_id: int, local: str, *parts: Part, **extra: Any) -> None:
        message = {
            "id": message_id,
            "type": "message",
            "date_unixtime": self.unix(local),
            "from": self.name,
            "from_id": f"channel{self.channel_id}",
        }
        if "edited" in extra:
            extra["edited_unixtime"] = self.unix(extra.pop("edited"))
        if "forwarded_at" in extra:
            extra["_forwarded_date_unixtime"] = self.unix(extra.pop("forwarded_at"))
        self.messages.append(message | extra | rich(*parts))

    def service(self, ident: int, local: str, action: str, **extra: Any) -> None:
        base = {"id": ident, "type": "service", "date_unixtime": self.unix(local), "actor": self.name}
        self.messages.append(base | {"actor_id": f"channel{self.channel_id}", "action": action, **extra, "text": ""})

    @property
    def folder(self) -> Path:
        return DATA / self.slug

    def write(self, folder: Path | None = None) -> list[Path]:
        """result.json (when the channel has an id) and the HTML pages, under `folder` (default: DATA/slug)."""
        folder = folder or self.folder
        written = []
        if self.channel_id:
            written.append(
                write_json(
                    folder / "json" / "result.json",
                    self.messages,
                    name=self.name,
                    channel_id=self.channel_id,
                    zone=self.zone,
                )
            )
        html = folder / "html" if self.channel_id else folder
        return written + write_html(html, self.messages, name=self.name, zone=self.zone, per_page=self.per_page)


def bulgarian() -> Channel:
    """A Bulgarian diplomatic channel across the night clocks went back (EEST +03:00 -> EET +02:00)."""
    ch = Channel("bg_channel", "Дипломатически преглед", 1_500_000_201, "Europe/Sofia", per_page=6)
    ch.service(1, "2026-10-24T09:00:00", "create_channel", title="Дипломатически преглед")
    ch.post(
        2,
        "2026-10-24T09:05:00",
        "Министърът на външните работи Георг Георгиев проведе разговор с посланика на Сърбия в София.\n\n"
        "Обсъдени бяха енергийната сигурност и газовата връзка между двете страни.\n",
        ("text_link", "Пълният текст", "https://www.mfa.bg/bg/news/45821"),
        "\n",
        ("hashtag", "#БългарияСърбия"),
        " ",
        ("hashtag", "#дипломация"),
    )
    ch.post(
        3,
        "2026-10-24T09:12:30",
        "Срещата в Министерството на външните работи.",
        photo="photos/photo_3@24-10-2026_09-12-30.jpg",
        width=1280,
        height=853,
    )
    ch.post(4, "2026-10-24T09:12:30", photo="photos/photo_4@24-10-2026_09-12-30.jpg", width=1280, height=853)
    ch.post(
        5,
        "2026-10-24T11:40:00",
        "🇷🇺🇧🇬 Захарова: Русия е готова за диалог с България по въпросите на енергетиката.\n",
        ("hashtag", "#РусияБългария"),
        forwarded_from="МИД на Русия",
        forwarded_at="2026-10-24T10:15:00",
    )
    ch.post(7, "2026-10-24T12:02:00", "Допълнение: разговорът продължи 40 минути.", reply_to_message_id=2)
    ch.post(
        8,
        "2026-10-24T18:30:00",
        poll={
            "question": "Кой въпрос да отразим по-подробно?",
            "closed": False,
            "total_voters": 57,
            "answers": [
                {"text": "Енергетика", "voters": 31, "chosen": False},
                {"text": "Западни Балкани", "voters": 20, "chosen": False},
                {"text": "Визов режим", "voters": 6, "chosen": False},
            ],
        },
    )
    ch.post(
        9,
        "2026-10-24T23:50:00",
        "Годишният доклад на МВнР (PDF).",
        file="(File not included. Change data exporting settings to download.)",
        mime_type="application/pdf",
    )
    ch.post(
        10,
        "2026-10-25T02:30:00",  # the clocks went back at 04:00 EEST: after the new day row, +03:00 still
        file="(File not included. Change data exporting settings to download.)",
        media_type="voice_message",
        mime_type="audio/ogg",
        duration_seconds=31,
    )
    ch.service(11, "2026-10-25T08:00:00", "pin_message", message_id=2)
    ch.post(
        12,
        "2026-10-25T08:01:00",
        file="(File not included. Change data exporting settings to download.)",
        media_type="sticker",
        sticker_emoji="👍",
    )
    ch.post(
        13,
        "2026-10-25T09:00:00",
        "Поправка: срещата е в четвъртък, а не в сряда.",
        edited="2026-10-25T09:20:00",
    )
    ch.post(
        14,
        "2026-10-25T10:00:00",
        "Коментар на анализатора: газовата връзка ще заработи с пълен капацитет през 2027 г.",
        forwarded_from="Иван Петров",
        forwarded_from_id="user4242",
        forwarded_at="2026-10-25T09:41:00",
    )
    ch.post(
        15,
        "2026-10-25T10:00:00",
        "Втора част: Сърбия очаква първите доставки още през зимата.",
        forwarded_from="Иван Петров",
        forwarded_from_id="user4242",
        forwarded_at="2026-10-25T09:42:10",
    )
    ch.post(16, "2026-10-25T12:00:00", location_information={"latitude": 42.6934, "longitude": 23.3341})
    ch.post(
        17,
        "2026-10-25T12:10:00",
        contact_information={"first_name": "Пресцентър", "last_name": "МВнР", "phone_number": "+359 2 948 2999"},
    )
    ch.post(
        18,
        "2026-10-25T15:00:00",
        "Цитат: \"Сърбия & България\" <не> е 'таг'.\n  Отстъп с два интервала.\tТаб и  два интервала.",
    )
    ch.post(19, "2026-10-25T15:05:00", "Коментарът е на нашия кореспондент в Белград.", author="Мария Иванова")
    ch.post(
        20,
        "2026-10-26T08:15:00",
        ("bold", "Важно:"),
        " посолството в Белград работи с ",
        ("italic", "удължено работно време"),
        " до петък. Следете ",
        ("mention", "@mfa_bulgaria"),
        " за подробности.\n",
        ("hashtag", "#БългарияСърбия"),
        _reactions=[("👍", 12), ("🔥", 3)],
    )
    return ch


def russian() -> Channel:
    """A Russian channel on Moscow time (+03:00 all year)."""
    ch = Channel("ru_channel", "Балканский вестник", 1_500_000_202, "Europe/Moscow", per_page=5)
    ch.service(1, "2026-11-19T10:00:00", "create_channel", title="Балканский вестник")
    ch.post(
        2,
        "2026-11-19T10:30:00",
        "Министр иностранных дел России Сергей Лавров провёл переговоры с министром иностранных дел Сербии "
        "Марко Джуричем в Москве.\n\nСтороны обсудили ситуацию вокруг Косово и энергетическое сотрудничество. ",
        ("link", "https://mid.ru/ru/foreign_policy/news/1990001/"),
        "\n\n",
        ("hashtag", "#РоссияСербия"),
    )
    ch.post(
        3,
        "2026-11-19T11:00:00",
        "🇷🇺🇷🇸 Сергей Лавров: Россия поддерживает позицию Белграда по Косову, основанную на резолюции 1244 СБ ООН.\n",
        ("hashtag", "#РоссияСербия"),
        forwarded_from="МИД России 🇷🇺",
        forwarded_at="2026-11-19T10:55:12",
    )
    ch.post(4, "2026-11-19T11:04:00", "Подробности — в нашем вечернем обзоре.")
    ch.post(
        5,
        "2026-11-19T13:15:00",
        "Брифинг официального представителя МИД России Марии Захаровой.",
        file="(File not included. Change data exporting settings to download.)",
        media_type="video_file",
        mime_type="video/mp4",
        duration_seconds=42,
    )
    ch.post(
        6,
        "2026-11-19T13:16:00",
        file="(File not included. Change data exporting settings to download.)",
        media_type="animation",
        mime_type="video/mp4",
    )
    ch.post(
        7,
        "2026-11-19T15:00:00",
        "Гимн Сербии в исполнении оркестра.",
        file="(File not included. Change data exporting settings to download.)",
        media_type="audio_file",
        performer="Оркестр",
        title="Боже правде",
        mime_type="audio/mpeg",
    )
    ch.post(
        8,
        "2026-11-19T16:20:00",
        file="(File not included. Change data exporting settings to download.)",
        media_type="video_message",
        mime_type="video/mp4",
        duration_seconds=12,
    )
    ch.post(
        9,
        "2026-11-19T17:45:00",
        "Источник в Белграде: визит Вучича в Москву готовится на декабрь.",
        forwarded_from="Аноним  Наблюдатель",
        forwarded_at="2026-11-19T17:40:00",
    )
    ch.post(10, "2026-11-19T18:00:00", "Официально это пока не подтверждено.", reply_to_message_id=9)
    ch.post(
        11,
        "2026-11-19T18:10:00",
        "Ответ нашему читателю из соседнего чата.",
        reply_to_message_id=301,
        reply_to_peer_id="channel1500000999",
    )
    ch.post(
        12,
        "2026-11-20T09:00:00",
        poll={
            "question": "Состоится ли визит до конца года?",
            "closed": True,
            "total_voters": 140,
            "answers": [{"text": "Да", "voters": 88, "chosen": True}, {"text": "Нет", "voters": 52, "chosen": False}],
        },
    )
    ch.service(13, "2026-11-20T09:30:00", "edit_group_photo")
    ch.post(
        14,
        "2026-11-20T10:00:00",
        "Первый абзац.\n\n\nВторой абзац после двух пустых строк.\n",
        ("code", "Резолюция 1244"),
        " — ключевой документ.\n",
        ("pre", "Статья 1\nСтатья 2"),
    )
    ch.post(15, "2026-11-20T12:00:00", "🇷🇸 ", ("hashtag", "#Белград"), " ", ("hashtag", "#Косово"))
    ch.post(
        16,
        "2026-11-20T12:30:00",
        "Текст исправлен после публикации: уточнена дата визита.",
        edited="2026-11-20T13:05:00",
        photo="(File not included. Change data exporting settings to download.)",
        width=800,
        height=600,
    )
    return ch


REAL_PAGE = "messages3.html"  # of the ttag export: where the real page goes
# meesooqa/ttag's app/tg/testdata/test.html (MIT; ../shared/fixtures/README.md): third-party, not in the repository.
REAL_TTAG = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "fixtures"
    / "tdesktop-export"
    / "ttag_messages_channel_export.html"
)


def ttag() -> Channel:
    """Pages 1, 2 and 4 around the real third page of meesooqa/ttag's test export (a channel of GIFs
    tagged with hashtags, «Channel Title», Moscow time): the real page links to messages2.html and
    messages4.html, so this is the smallest whole export it can be imported from. The three messages
    written for page 3 stand in for the real ones and are replaced by the real file."""
    ch = Channel("ttag_channel", "Channel Title", 0, "Europe/Moscow", per_page=3)
    gif = {
        "file": "(File not included. Change data exporting settings to download.)",
        "media_type": "animation",
        "mime_type": "video/mp4",
    }
    ch.post(2195, "2024-11-19T08:10:00", ("hashtag", "#sleepy"), " ", ("hashtag", "#cat"), **gif)
    ch.post(2196, "2024-11-19T08:10:00", ("hashtag", "#cat"), **gif)
    ch.post(2197, "2024-11-19T21:45:13", "Tags of the week: ", ("hashtag", "#cat"), " leads.")
    ch.post(
        2198,
        "2024-11-20T12:00:00",
        ("hashtag", "#where"),
        photo="(File not included. Change data exporting settings to download.)",
        width=640,
        height=480,
    )
    ch.post(2199, "2024-11-21T10:02:00", ("hashtag", "#booba"), " ", ("hashtag", "#stare"), **gif)
    ch.post(2200, "2024-11-21T10:05:30", ("hashtag", "#todo"), **gif)
    for stand_in in (2203, 2204, 3217):
        ch.post(stand_in, "2024-11-21T19:20:37", "stand-in for the real page", **gif)
    ch.post(3218, "2025-01-29T11:53:10", ("hashtag", "#shy"), " ", ("hashtag", "#ginger"), **gif)
    ch.post(3219, "2025-01-29T12:40:00", "Новые теги: ", ("hashtag", "#где"), " и ", ("hashtag", "#booba"), **gif)
    ch.post(3220, "2025-01-30T09:00:00", ("hashtag", "#slontar4"), **gif)
    return ch


CHANNELS = {"bg": bulgarian, "ru": russian}  # the committed ones (tests/data/tdesktop_export/)


def ttag_export(folder: Path, *, real: bool = True) -> Path:
    """The ttag export in `folder`: pages 1, 2 and 4 written here, page 3 the real one from ../shared
    (the caller skips when REAL_TTAG is absent), or with `real=False` the stand-in page written for it."""
    ttag().write(folder)
    if real:
        (folder / REAL_PAGE).write_bytes(REAL_TTAG.read_bytes())
    return folder


def main() -> None:
    for make in CHANNELS.values():
        channel = make()
        for old in channel.folder.rglob("messages*.html"):
            old.unlink()
        written = channel.write()
        print(f"{len(written)} files in {channel.folder}")


if __name__ == "__main__":
    main()
