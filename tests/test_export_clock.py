"""Exports whose times have no UTC offset (issue 35.5): said at import, placed with --tz.

Fixtures written here after the real formats: an old JSON export (no `date_unixtime`, as Telegram
Desktop wrote before 2021) and HTML titles with and without ` UTC+03:00`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.cli import main
from bot.models import ChannelRef, Forward, RawPost
from bot.sources.export_clock import has_offsets, on_local_clock
from storage.store import Store


def old_export(path: Path, *, unixtime: bool) -> Path:
    message = {"id": 7, "type": "message", "date": "2019-05-12T15:00:04", "text": "Kernel launch order question"}
    if unixtime:
        message["date_unixtime"] = "1557673204"  # 2019-05-12 15:00:04 UTC
    data = {"name": "CUDA group", "type": "private_supergroup", "id": 1234567, "messages": [message]}
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def stored_dates(db: Path) -> list[datetime]:
    store = Store.open(db)
    try:
        return [p.date for p in store.search(None, limit=10)]
    finally:
        store.close()


def test_an_export_without_offsets_is_said_and_placed_with_tz(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    export = old_export(tmp_path / "result.json", unixtime=False)
    assert main(["--db", str(tmp_path / "a.db"), "import", str(export)]) == 0
    err = capsys.readouterr().err
    assert err.count("times have no UTC offset") == 1 and "give --tz ZONE" in err
    assert stored_dates(tmp_path / "a.db") == [datetime(2019, 5, 12, 15, 0, 4, tzinfo=UTC)]  # as before: wall time
    assert main(["--db", str(tmp_path / "b.db"), "import", "--tz", "Asia/Tehran", str(export)]) == 0
    assert "read as the exporter's local clock in Asia/Tehran" in capsys.readouterr().err
    assert stored_dates(tmp_path / "b.db") == [datetime(2019, 5, 12, 10, 30, 4, tzinfo=UTC)]  # UTC+04:30 then
    with pytest.raises(SystemExit) as usage:
        main(["--db", str(tmp_path / "c.db"), "import", "--tz", "Mars/Olympus", str(export)])
    assert usage.value.code == 2
    assert "unknown time zone 'Mars/Olympus'" in capsys.readouterr().err


def test_an_export_with_offsets_says_nothing_and_ignores_tz(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    export = old_export(tmp_path / "result.json", unixtime=True)
    assert main(["--db", str(tmp_path / "a.db"), "import", "--tz", "Asia/Tehran", str(export)]) == 0
    assert "UTC offset" not in capsys.readouterr().err
    assert stored_dates(tmp_path / "a.db") == [datetime(2019, 5, 12, 15, 0, 4, tzinfo=UTC)]


def test_html_titles_tell_by_their_offset(tmp_path: Path) -> None:
    page = '<div class="pull_right date details" title="{}">15:00</div>'
    (tmp_path / "new.html").write_text(page.format("12.05.2019 15:00:04 UTC+03:00"), encoding="utf-8")
    (tmp_path / "old.html").write_text(page.format("12.05.2019 15:00:04"), encoding="utf-8")
    (tmp_path / "none.html").write_text("<html></html>", encoding="utf-8")
    assert has_offsets(tmp_path / "new.html") is True
    assert has_offsets(tmp_path / "old.html") is False
    assert has_offsets(tmp_path / "none.html") is None


def test_on_local_clock_moves_every_wall_time() -> None:
    wall = datetime(2026, 3, 29, 2, 30, tzinfo=UTC)  # taken as UTC by the importer
    raw = RawPost(
        channel=ChannelRef(tg_id=1),
        message_id=1,
        date=wall,
        text="x",
        source="export",
        edit_date=wall,
        forward=Forward(name="a", date=wall),
    )
    moved = on_local_clock(raw, ZoneInfo("Europe/Sofia"))
    assert moved.date == moved.edit_date == datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # EET, before the switch
    assert moved.forward is not None and moved.forward.date == moved.date


def test_posts_of_such_an_export_are_marked_approximate_on_the_web(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pytest.importorskip("starlette", reason="the web viewer is not installed (pip install -e '.[web]')")
    from tests.web_server import client

    export = old_export(tmp_path / "result.json", unixtime=False)
    assert main(["--db", str(tmp_path / "a.db"), "import", str(export)]) == 0
    assert main(["--db", str(tmp_path / "b.db"), "import", "--tz", "Asia/Tehran", str(export)]) == 0
    capsys.readouterr()
    with client(tmp_path / "a.db") as http:
        assert "≈ approximate time" in http.get("/post/1").text
    with client(tmp_path / "b.db") as http:
        assert "approximate time" not in http.get("/post/1").text
