from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import main
from bot.sources.desktop_export import ExportError, parse_export
from storage.store import Store

EXPORT = {
    "name": "Balkan Relay",
    "type": "public_channel",
    "id": 1500000001,
    "messages": [
        {"id": 1, "type": "service", "date": "2026-11-19T10:00:00", "action": "create_channel", "text": ""},
        {
            "id": 2,
            "type": "message",
            "date": "2026-11-19T10:05:00",
            "date_unixtime": "1763546700",
            "from": "Balkan Relay",
            "from_id": "channel1500000001",
            "forwarded_from": "Russian MFA 🇷🇺",
            "text": [
                "🇷🇺🇷🇸 Sergey Lavrov met Aleksandar Vucic. Kosovo was discussed.\n",
                {"type": "hashtag", "text": "#RussiaSerbia"},
            ],
            "text_entities": [{"type": "plain", "text": "..."}, {"type": "hashtag", "text": "#RussiaSerbia"}],
        },
        {
            "id": 3,
            "type": "message",
            "date": "2026-11-19T11:00:00",
            "edited": "2026-11-19T11:30:00",
            "photo": "photos/photo_3.jpg",
            "text": "Белград и София подписаха споразумение за газ.",
        },
        {"id": 4, "type": "message", "date": "2026-11-19T12:00:00", "file": "files/a.pdf", "text": ""},
        {"id": 5, "type": "message", "date": "2026-11-19T12:30:00", "text": ""},
    ],
}


def write(tmp_path: Path, data: object, name: str = "result.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_parse_export_exact_posts(tmp_path: Path) -> None:
    channel, posts = parse_export(write(tmp_path, EXPORT))
    assert (channel.tg_id, channel.title) == (1500000001, "Balkan Relay")
    assert [p.message_id for p in posts] == [2, 3, 4]
    fwd, photo, doc = posts
    assert fwd.text == "🇷🇺🇷🇸 Sergey Lavrov met Aleksandar Vucic. Kosovo was discussed.\n#RussiaSerbia"
    assert fwd.hashtags == ("RussiaSerbia",)
    assert fwd.date == datetime.fromtimestamp(1763546700, tz=UTC)
    assert fwd.forward is not None and fwd.forward.name == "Russian MFA 🇷🇺"
    assert (photo.media_kind, photo.edit_date) == ("photo", datetime(2026, 11, 19, 11, 30, tzinfo=UTC))
    assert (doc.media_kind, doc.text) == ("document", "")


def test_import_twice_leaves_archive_unchanged(tmp_path: Path) -> None:
    path = write(tmp_path, EXPORT)
    db = tmp_path / "a.db"
    assert main(["--db", str(db), "import", str(path)]) == 0
    store = Store.open(db)
    before = store.dump_json()
    store.close()
    assert main(["--db", str(db), "import", str(tmp_path)]) == 0
    store = Store.open(db)
    assert store.dump_json() == before
    rows = store.db.execute("SELECT message_id, text, origin_key FROM posts ORDER BY message_id").fetchall()
    assert [r[0] for r in rows] == [2, 3, 4]
    assert rows[0][1] == "🇷🇺🇷🇸 Sergey Lavrov met Aleksandar Vucic. Kosovo was discussed.\n\n#RussiaSerbia"
    assert rows[0][2].startswith("fwd:russian mfa 🇷🇺/")
    channel_id = store.find_channel(1500000001).id  # type: ignore[union-attr]
    assert store.checkpoint(channel_id) == 4
    store.close()


BAD = [
    ("{not json", "invalid JSON: lexical error: invalid string in json text"),
    ([1, 2], "expected a JSON object"),
    ({"id": 1}, "'messages' must be a list"),
    ({"id": "x", "messages": []}, "top-level 'id'"),
    ({"id": 1, "messages": ["hi"]}, "messages[0]: must be an object"),
    (
        {"id": 1, "messages": [{"id": "7", "date": "2026-01-01T00:00:00"}]},
        "messages[0]: 'id' must be a positive",
    ),
    (
        {"id": 1, "messages": [{"id": 7, "date": "yesterday", "text": "x"}]},
        "messages[0] (id 7): 'date' is not an ISO",
    ),
    (
        {"id": 1, "messages": [{"id": 7, "date": "2026-01-01T00:00:00", "text": 5}]},
        "'text' must be a string or a list",
    ),
    ({"id": 1, "messages": [{"id": 7, "date": "2026-01-01T00:00:00", "text": "a\u0000b"}]}, "NUL byte"),
    (
        {"id": 1, "messages": [{"id": 7, "date": "2026-01-01T00:00:00", "text": "x" * 200_001}]},
        "over the 100,000",
    ),
]


@pytest.mark.parametrize(("data", "expected"), BAD)
def test_bad_exports_name_the_place_and_write_nothing(tmp_path: Path, data: object, expected: str) -> None:
    good = write(tmp_path, EXPORT, "good.json")
    bad = tmp_path / "bad.json"
    bad.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    db = tmp_path / "a.db"
    with pytest.raises(ExportError) as error:
        parse_export(bad)
    assert str(bad) in str(error.value) and expected in str(error.value)
    # the good file named first is not imported either: everything is parsed before anything is written
    assert main(["--db", str(db), "import", str(good), str(bad)]) == 1
    store = Store.open(db)
    assert store.stats()["posts"] == 0
    store.close()


def test_truncated_export(tmp_path: Path) -> None:
    text = json.dumps(EXPORT)
    bad = tmp_path / "cut.json"
    bad.write_text(text[: len(text) // 2], encoding="utf-8")
    with pytest.raises(ExportError, match="invalid JSON"):
        parse_export(bad)


# la-ninpre/tg2md's tests/result.json (BSD-3; ../shared/fixtures/README.md): third-party, not in the repository.
REAL = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "tdesktop-export"
REAL_JSON = REAL / "tg2md_result_private_channel_2020-2021.json"

# The older export format, written for the project after that real export: local dates and no
# `date_unixtime`, `text` as a list of strings and entity objects, no `text_entities`, `edited` as a
# local date, media as `photo` / `file` + `media_type`, an album as separate photo messages.
OLDER_FORMAT = {
    "name": "Архив на посолството",
    "type": "private_channel",
    "id": 1370000001,
    "messages": [
        {"id": 1, "type": "service", "date": "2021-03-01T09:00:00", "actor": "Архив на посолството",
         "actor_id": 1370000001, "action": "create_channel", "title": "Архив на посолството", "text": ""},
        {"id": 2, "type": "message", "date": "2021-03-01T09:05:10", "from": "Архив на посолството",
         "from_id": 1370000001, "text": "Първа публикация."},
        {"id": 3, "type": "message", "date": "2021-03-01T09:07:00", "from": "Архив на посолството",
         "from_id": 1370000001, "edited": "2021-03-01T09:10:30",
         "text": ["Посланикът ", {"type": "bold", "text": "връчи"}, " акредитивните си писма.\n\n",
                  {"type": "text_link", "text": "Съобщението", "href": "https://example.org/news/1"},
                  "\n", {"type": "hashtag", "text": "#дипломация"}]},
        {"id": 4, "type": "message", "date": "2021-03-02T11:00:00", "from": "Архив на посолството",
         "from_id": 1370000001, "photo": "photos/photo_1@02-03-2021_11-00-00.jpg", "width": 1280, "height": 960,
         "text": "Снимки от церемонията"},
        {"id": 5, "type": "message", "date": "2021-03-02T11:00:00", "from": "Архив на посолството",
         "from_id": 1370000001, "photo": "photos/photo_2@02-03-2021_11-00-00.jpg", "width": 1280, "height": 960,
         "text": ""},
        {"id": 6, "type": "message", "date": "2021-03-03T15:20:00", "from": "Архив на посолството",
         "from_id": 1370000001, "file": "voice_messages/audio_1@03-03-2021_15-20-00.ogg",
         "media_type": "voice_message", "mime_type": "audio/ogg", "duration_seconds": 12, "text": ""},
        {"id": 8, "type": "message", "date": "2021-03-04T08:00:00", "from": "Архив на посолството",
         "from_id": 1370000001, "file": "files/report.pdf", "mime_type": "application/pdf",
         "text": [{"type": "italic", "text": "Годишен доклад"}, " (PDF)"]},
    ],
}  # fmt: skip


def test_older_format_export_gives_exact_rows(tmp_path: Path) -> None:
    """What the real older-format export below checks, on an export written for the project (every clone)."""
    db = tmp_path / "a.db"
    assert main(["--db", str(db), "import", str(write(tmp_path, OLDER_FORMAT))]) == 0
    store = Store.open(db)
    got = store.db.execute(
        "SELECT message_id, date, edit_date, raw_text, media_kind, origin_key FROM posts ORDER BY message_id"
    ).fetchall()
    assert [tuple(r) for r in got] == [
        (2, "2021-03-01T09:05:10+00:00", None, "Първа публикация.", None, "tg:1370000001/2"),
        (3, "2021-03-01T09:07:00+00:00", "2021-03-01T09:10:30+00:00",
         "Посланикът връчи акредитивните си писма.\n\nСъобщението\n#дипломация", None, "tg:1370000001/3"),
        (4, "2021-03-02T11:00:00+00:00", None, "Снимки от церемонията", "photo", "tg:1370000001/4"),
        (5, "2021-03-02T11:00:00+00:00", None, "", "photo", "tg:1370000001/5"),
        (6, "2021-03-03T15:20:00+00:00", None, "", "voice", "tg:1370000001/6"),
        (8, "2021-03-04T08:00:00+00:00", None, "Годишен доклад (PDF)", "document", "tg:1370000001/8"),
    ]  # fmt: skip
    row = store.find_channel(1370000001)
    assert row is not None and (row.title, store.checkpoint(row.id)) == ("Архив на посолството", 8)
    store.close()


@pytest.mark.skipif(not REAL_JSON.is_file(), reason="../shared/fixtures is not here (a user's clone)")
def test_real_json_export_gives_exact_rows(tmp_path: Path) -> None:
    """A real export in the older format: local dates without `date_unixtime` (taken as UTC), `text` as
    lists of strings and entity objects, no `text_entities`, an album as three photo messages."""
    (tmp_path / "tg2md").mkdir()
    (tmp_path / "tg2md" / "result.json").write_bytes(REAL_JSON.read_bytes())
    db = tmp_path / "a.db"
    assert main(["--db", str(db), "import", str(tmp_path / "tg2md")]) == 0
    store = Store.open(db)
    got = store.db.execute(
        "SELECT message_id, date, edit_date, raw_text, media_kind, origin_key FROM posts ORDER BY message_id"
    ).fetchall()
    assert [tuple(r) for r in got] == [
        (2, "2020-11-12T12:54:07+00:00", None, "test text post", None, "tg:1292077344/2"),
        (3, "2020-11-12T12:57:31+00:00", None, "", "photo", "tg:1292077344/3"),
        (4, "2020-11-12T12:57:40+00:00", None, "photo with text", "photo", "tg:1292077344/4"),
        (5, "2020-11-12T12:58:18+00:00", "2020-11-12T13:03:00+00:00",
         "italic\n\nbold\n\nunderline\n\nstrikethrough\n\nmonospace", None, "tg:1292077344/5"),
        (7, "2020-11-12T13:01:05+00:00", None, "", "voice", "tg:1292077344/7"),
        (8, "2020-11-12T13:02:35+00:00", None, "", "audio", "tg:1292077344/8"),
        (9, "2020-11-12T13:43:23+00:00", None, "italic in text\n\nitalic on whole line", None, "tg:1292077344/9"),
        (10, "2020-11-12T14:11:35+00:00", "2020-11-12T14:18:17+00:00",
         "bold in text\nbold below\n\nnormal text\n\nbold with one line gap\nnormal text", None, "tg:1292077344/10"),
        (11, "2020-11-12T14:34:47+00:00", None, "multiline\nbold\n\ntext", None, "tg:1292077344/11"),
        (13, "2020-11-12T14:45:43+00:00", "2020-11-12T14:45:55+00:00",
         "monospace with one baktick\n\nmultiline\nmonospace", None, "tg:1292077344/13"),
        (14, "2020-11-12T14:48:48+00:00", "2020-11-12T14:49:39+00:00",
         "text link\n\nexample.com\n\nexample@example.com", None, "tg:1292077344/14"),
        (15, "2020-11-12T15:05:32+00:00", None, "bold italic", None, "tg:1292077344/15"),
        (21, "2021-07-12T13:17:15+00:00", None, "тестирование utf-8.", None, "tg:1292077344/21"),
        (22, "2021-07-14T18:40:10+00:00", "2021-07-14T18:40:24+00:00", "test file other than sound", "document",
         "tg:1292077344/22"),
        (23, "2021-07-14T18:52:46+00:00", None, "multiple photos", "photo", "tg:1292077344/23"),
        (24, "2021-07-14T18:52:46+00:00", None, "", "photo", "tg:1292077344/24"),
        (25, "2021-07-14T18:52:46+00:00", None, "", "photo", "tg:1292077344/25"),
        (26, "2021-07-14T19:20:23+00:00", None, "test text file", "document", "tg:1292077344/26"),
    ]  # fmt: skip
    row = store.find_channel(1292077344)
    assert row is not None and (row.title, store.checkpoint(row.id)) == ("test", 26)
    store.close()


def test_polls_replies_and_contacts(tmp_path: Path) -> None:
    poll = {"question": "Visit before the new year?", "answers": [{"text": "Yes", "voters": 3}, {"text": "No"}]}
    export = EXPORT | {
        "messages": [
            {"id": 10, "type": "message", "date": "2026-11-19T10:00:00", "text": "", "poll": poll},
            {"id": 11, "type": "message", "date": "2026-11-19T10:01:00", "text": "Yes.", "reply_to_message_id": 10},
            {"id": 12, "type": "message", "date": "2026-11-19T10:02:00", "text": "Elsewhere.",
             "reply_to_message_id": 7, "reply_to_peer_id": "channel99"},
            {"id": 13, "type": "message", "date": "2026-11-19T10:03:00", "text": "",
             "contact_information": {"first_name": "Press", "last_name": "Office", "phone_number": "+359"}},
            {"id": 14, "type": "message", "date": "2026-11-19T10:04:00", "text": "x",
             "forwarded_from": "Russian  MFA "},
        ]
    }  # fmt: skip
    _, posts = parse_export(write(tmp_path, export))
    assert [(p.message_id, p.text, p.media_kind, p.reply_to) for p in posts] == [
        (10, "Visit before the new year?\n- Yes\n- No", "poll", None),  # as the listener and the HTML give it
        (11, "Yes.", None, 10),
        (12, "Elsewhere.", None, None),  # a reply into another chat names nothing the archive can link
        (13, "", "contact", None),
        (14, "x", None, None),
    ]
    assert posts[-1].forward is not None and posts[-1].forward.name == "Russian MFA"  # spaced as the HTML shows it
