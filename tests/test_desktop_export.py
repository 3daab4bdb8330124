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
    ("{not json", "invalid JSON at line 1, column 2"),
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
