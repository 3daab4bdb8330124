"""Attacks on the archive file itself (issue #13): racing migrations, permissions."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from storage.db import MIGRATIONS, SCHEMA_VERSION, schema_version, transaction
from storage.errors import describe_sqlite_error
from storage.store import Store

ROOT = Path(__file__).resolve().parent.parent

RACER = """
import sys, time
from pathlib import Path
go = float(sys.argv[2])
while time.time() < go:
    time.sleep(0.001)
from storage.store import Store
Store.open(Path(sys.argv[1])).close()
print("ok")
"""


def race(path: Path, processes: int = 6) -> list[subprocess.CompletedProcess[str]]:
    import time

    go = time.time() + 1.5  # every process imports first, then opens at the same instant
    running = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(path), str(go)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    results = []
    for proc in running:
        out, err = proc.communicate(timeout=60)
        results.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return results


def test_processes_opening_a_fresh_archive_at_once_take_turns(tmp_path: Path) -> None:
    path = tmp_path / "fresh.db"
    results = race(path)
    assert [r.returncode for r in results] == [0] * len(results), [r.stderr for r in results if r.returncode]
    store = Store.open(path)
    assert schema_version(store.db) == SCHEMA_VERSION
    store.close()


def test_processes_upgrading_an_old_archive_at_once_take_turns(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    import sqlite_utils

    db = sqlite_utils.Database(path)
    with transaction(db):  # what version 1 of tgmonitor wrote
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        MIGRATIONS[0](db)
        db.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    db.conn.close()
    results = race(path)
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results if r.returncode]
    store = Store.open(path)
    assert schema_version(store.db) == SCHEMA_VERSION
    store.close()


def test_a_slow_migration_in_one_connection_is_not_repeated_by_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deterministic form of the race: the second opener reads version 0 while the first is migrating."""
    import threading
    import time

    import storage.db as db_module

    first_v1 = MIGRATIONS[0]
    started = threading.Event()

    def slow_v1(db: object) -> None:
        started.set()
        time.sleep(0.5)  # the second connection reads the version meanwhile
        first_v1(db)  # type: ignore[arg-type]

    monkeypatch.setattr(db_module, "MIGRATIONS", (slow_v1, *MIGRATIONS[1:]))
    errors: list[BaseException] = []

    def open_archive() -> None:
        try:
            Store.open(tmp_path / "slow.db").close()
        except BaseException as exc:
            errors.append(exc)

    first = threading.Thread(target=open_archive)
    first.start()
    assert started.wait(5)
    second = threading.Thread(target=open_archive)
    second.start()
    first.join(30)
    second.join(30)
    assert errors == []


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_a_new_archive_and_its_folder_are_private(tmp_path: Path) -> None:
    old = os.umask(0o022)  # what a shell usually has: files 0644, folders 0755
    try:
        store = Store.open(tmp_path / "state" / "archive.db")
        store.meta_set("k", "v")  # a write, so the -wal file exists
        store.close()
    finally:
        os.umask(old)
    mode = stat.S_IMODE
    assert mode((tmp_path / "state").stat().st_mode) == 0o700
    assert mode((tmp_path / "state" / "archive.db").stat().st_mode) == 0o600
    for extra in (tmp_path / "state").glob("archive.db-*"):
        assert mode(extra.stat().st_mode) & 0o077 == 0, extra


def _real_error(run: Callable[[], object]) -> sqlite3.Error:
    try:
        run()
    except sqlite3.Error as exc:
        return exc
    raise AssertionError("SQLite raised nothing")


def test_sqlite_errors_become_one_line_a_user_can_act_on(tmp_path: Path) -> None:
    """Issue #13: disk full, "database is locked" and a read-only archive showed tracebacks."""
    path = tmp_path / "a.db"
    Store.open(path).close()

    holder = sqlite3.connect(path)
    holder.execute("BEGIN IMMEDIATE")
    other = sqlite3.connect(path, timeout=0)
    locked = _real_error(lambda: other.execute("INSERT INTO meta VALUES ('x', 'y')"))
    holder.rollback()

    read_only = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    refused = _real_error(lambda: read_only.execute("INSERT INTO meta VALUES ('x', 'y')"))

    full = sqlite3.connect(path)
    full.execute("PRAGMA max_page_count = 2")  # what a full disk looks like to SQLite (SQLITE_FULL)
    no_room = _real_error(lambda: full.execute("INSERT INTO meta VALUES ('big', ?)", ["x" * 100_000]))

    assert describe_sqlite_error(locked, path) == (
        f"the archive {path} is busy: another process holds its write lock (a large import?); try again"
    )
    assert "is read-only for this user" in describe_sqlite_error(refused, path)
    assert "the disk is full" in describe_sqlite_error(no_room, path)


@pytest.mark.parametrize("kind", ["directory", "not sqlite"])
def test_the_cli_says_what_is_wrong_with_the_archive_in_one_line(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "archive.db"
    if kind == "directory":
        target.mkdir()
    else:
        target.write_bytes(b"this is a text file, not an archive\n" * 10)
    run = subprocess.run(
        [sys.executable, "-m", "bot", "--db", str(target), "stats"], cwd=ROOT, capture_output=True, text=True
    )
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and str(target) in run.stderr


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, capture_output=True, text=True, timeout=60)


def _one_line_naming(run: subprocess.CompletedProcess[str], path: Path) -> str:
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
    (line,) = run.stderr.strip().splitlines()
    assert str(path) in line
    return line


@pytest.mark.parametrize(("version", "expected"), [("999", "is newer than this tgmonitor"), ("abc", "is not a number")])
def test_an_archive_of_a_newer_or_unreadable_schema_is_refused_naming_it_and_left_alone(
    tmp_path: Path, version: str, expected: str
) -> None:
    """Robustness sweep: the error of a newer archive did not name it; 'abc' said "invalid literal for
    int()"; '٣' was read as 3 and migrations 4 and later ran again on a current archive."""
    path = tmp_path / "archive.db"
    Store.open(path).close()
    for value in (version, "٣"):
        conn = sqlite3.connect(path)
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [value])
        conn.commit()
        conn.close()
        before = path.read_bytes()
        for command in ("stats", "import"):
            argv = ["--db", str(path), command] + (
                [str(ROOT / "bot/data/samples/serbia_today.json")] * (command == "import")
            )
            line = _one_line_naming(_cli(*argv), path)
            assert (expected if value == version else "is not a number") in line
        assert path.read_bytes() == before


def test_another_programs_database_is_not_switched_to_wal(tmp_path: Path) -> None:
    """Opening it set journal_mode=WAL before seeing it was not an archive: its file changed."""
    path = tmp_path / "places.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE bookmarks (id INTEGER PRIMARY KEY, url TEXT)")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    assert "another program" in _one_line_naming(
        _cli("--db", str(path), "import", str(ROOT / "bot/data/samples/serbia_today.json")), path
    )
    assert path.read_bytes() == before and not Path(f"{path}-wal").exists()


def test_an_archive_with_damaged_schema_text_is_one_line_not_a_unicode_error(tmp_path: Path) -> None:
    """A flipped byte in sqlite_master's SQL made SQLite's own message undecodable: UnicodeDecodeError."""
    path = tmp_path / "archive.db"
    Store.open(path).close()
    data = bytearray(path.read_bytes())
    data[data.find(b"CREATE TABLE meta") + 7] = 0xA8
    path.write_bytes(bytes(data))
    for command in ("stats", "web"):
        assert "is damaged" in _one_line_naming(_cli("--db", str(path), command), path)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="POSIX permissions; root opens any file")
def test_an_archive_this_user_may_not_open_says_so(tmp_path: Path) -> None:
    """It said "check that its folder exists and is writable" of an existing file with mode 000."""
    path = tmp_path / "archive.db"
    Store.open(path).close()
    path.chmod(0)
    try:
        assert "no permission to read and write it" in _one_line_naming(_cli("--db", str(path), "stats"), path)
    finally:
        path.chmod(0o600)


def test_a_damaged_schema_statement_is_one_line_whatever_reads_it(tmp_path: Path) -> None:
    """SQLite's "malformed database schema" message quotes the damaged CREATE statement, newlines and all:
    a bit flip that opened a quote made a six-line error of open, status and the read-only viewer."""
    path = tmp_path / "archive.db"
    Store.open(path).close()
    data = bytearray(path.read_bytes())
    data[data.find(b"(", data.find(b"CREATE TABLE post_tags")) + 1] = ord('"')  # '(\n' becomes '("'
    path.write_bytes(bytes(data))
    assert "is damaged (malformed database schema (post_tags))" in _one_line_naming(
        _cli("--db", str(path), "stats"), path
    )
    for command in ("status", "export"):
        run = _cli("--db", str(path), command)
        assert run.returncode == 1 and "malformed database schema" in _one_line_naming(run, path)
