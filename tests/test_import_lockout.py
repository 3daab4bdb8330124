"""Issue #13: a large `tgmonitor import` must not lock a running service out of the archive."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.corpus import desktop_export
from storage.store import Store

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_a_service_keeps_writing_while_a_large_import_runs(tmp_path: Path) -> None:
    export = tmp_path / "result.json"
    export.write_text(json.dumps(desktop_export(4000), ensure_ascii=False), encoding="utf-8")
    db = tmp_path / "archive.db"
    Store.open(db).close()
    importer = subprocess.Popen(
        [sys.executable, "-m", "bot", "--db", str(db), "import", str(export)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # The "service": a write every 50 ms with a busy timeout of 3 s (the real one waits 30 s, then the
    # bot and the listener fail with "database is locked"). One long import transaction blocks it.
    service = sqlite3.connect(db, timeout=3)
    waits: list[float] = []
    failures: list[str] = []
    posts_seen = 0
    while importer.poll() is None:
        started = time.monotonic()
        try:
            with service:
                service.execute(
                    "INSERT INTO meta(key, value) VALUES('service.last_poll_at', ?) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    [str(started)],
                )
            posts_seen = service.execute("SELECT count(*) FROM posts").fetchone()[0]
        except sqlite3.OperationalError as exc:
            failures.append(str(exc))
        waits.append(time.monotonic() - started)
        time.sleep(0.05)
    out, err = importer.communicate()
    assert importer.returncode == 0, err
    assert failures == [], failures[:3]
    assert posts_seen > 0, "the service never saw the import progress: it ran in one transaction"
    assert max(waits) < 3, max(waits)
    assert "4000 new" in out
