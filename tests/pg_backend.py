"""Run the storage and application tests against PostgreSQL: `TGMONITOR_TEST_BACKEND=postgresql`.

One throwaway server per test session (tools/pg_local.py), one database per archive a test opens:
`Store.open(tmp_path / "archive.db")` (and storage.db.open_db, which everything opens through)
gets a fresh database cloned from a template that already holds the schema, so the tests run
unchanged. Modules marked `both_backends` are the PostgreSQL suite; the others are deselected in
such a run, as are tests marked `sqlite_only` (file modes, FTS5 internals and SQLite's own failure
modes are SQLite's business).
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

BACKEND = os.environ.get("TGMONITOR_TEST_BACKEND", "sqlite")
ACTIVE = BACKEND == "postgresql"


class PgArchives:
    """Maps each archive path a test names to its own database on the session's server."""

    def __init__(self, server: Any) -> None:
        import psycopg

        from storage.pg.open import open_pg

        self.server = server
        self._admin = psycopg.connect(server.url, autocommit=True)
        self._urls: dict[str, str] = {}
        self._numbers = itertools.count(1)
        self._admin.execute("CREATE DATABASE tgm_template")
        open_pg(server.url_for("tgm_template")).conn.close()  # the schema, once

    def url_for(self, path: str) -> str:
        key = str(Path(path).resolve()) if path != ":memory:" else f":memory:{next(self._numbers)}"
        url = self._urls.get(key)
        if url is None:
            name = f"t{next(self._numbers)}"
            self._admin.execute(f"CREATE DATABASE {name} TEMPLATE tgm_template")
            url = self._urls[key] = self.server.url_for(name)
        return url

    def clone(self, source: str, copy: str) -> None:
        """`copy`'s database as a copy of `source`'s (what copying the archive file is to SQLite)."""
        key = str(Path(copy).resolve())
        name = f"t{next(self._numbers)}"
        template = self.url_for(source).rsplit("/", 1)[1]
        self._admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [template],
        )  # CREATE DATABASE … TEMPLATE needs it unused (a reader the test left open)
        self._admin.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
        self._urls[key] = self.server.url_for(name)

    def close(self) -> None:
        self._admin.close()


@pytest.fixture(scope="session")
def pg_archives() -> Iterator[PgArchives | None]:
    if not ACTIVE:
        yield None
        return
    from tools.pg_local import NoServer, start_server

    try:
        server = start_server()
    except NoServer as exc:
        pytest.skip(f"PostgreSQL backend: {exc}")
    archives = PgArchives(server)
    try:
        yield archives
    finally:
        archives.close()
        server.stop()


@pytest.fixture(autouse=True, scope="session")
def _archives_on_postgresql(request: pytest.FixtureRequest) -> Iterator[None]:
    """Session-wide, so archives that module-scoped fixtures build go to the server too. Modules
    imported later read the patched names from storage.db / storage.status themselves."""
    if not ACTIVE:
        yield
        return
    archives: PgArchives | None = request.getfixturevalue("pg_archives")
    assert archives is not None
    with pytest.MonkeyPatch.context() as monkeypatch:
        _redirect(archives, monkeypatch)
        _SESSION.append(archives)
        try:
            yield
        finally:
            _SESSION.clear()


_SESSION: list[PgArchives] = []  # the running session's archives, for `location`


def copy_archive(source: Path, copy: Path) -> None:
    """Copy the archive a test made at `source` to `copy`: the file, and on PostgreSQL its database."""
    import shutil

    shutil.copy(source, copy)
    if _SESSION:
        _SESSION[0].clone(str(source), str(copy))


def location(path: Path) -> str:
    """What another process (a child, the CLI) must be given for the archive a test made, or lets it
    make, at `path`: the path itself on SQLite; on PostgreSQL its database's URL, as the redirection
    above lives in this process only (a database cloned from the template when the path is new; the
    path is touched, so this process finds "the file" too, as it would the child's SQLite archive)."""
    if not _SESSION:
        return str(path)
    path.touch()
    return _SESSION[0].url_for(str(path))


def _redirect(archives: PgArchives, monkeypatch: pytest.MonkeyPatch) -> None:
    import storage.db

    original = storage.db.open_db

    def open_db(path: Any, normaliser: Any = None, *, create: bool = True) -> Any:
        location = str(path)
        if storage.db.is_postgres_url(location):
            return original(location, normaliser, create=create)
        if not create and location != ":memory:" and not Path(location).exists():
            raise storage.db.NoArchiveError(f"no archive at {location}")
        if location != ":memory:":
            Path(location).touch()  # the path exists, as it would for a file archive
        return original(archives.url_for(location), normaliser, create=create)

    def on_server(location: Any) -> Any:
        """A file archive a test made (through open_db, above) as its database's URL; anything else
        (a URL, a missing file) as given, so "no archive here" stays the same error."""
        text = str(location)
        if storage.db.is_postgres_url(text) or text == ":memory:" or not Path(text).is_file():
            return location
        return archives.url_for(text)

    import storage.readonly
    import storage.status

    read_only_init = storage.readonly.ReadOnlyArchive.__init__
    read_status = storage.status.read_status

    def read_only(self: Any, path: Any, **options: Any) -> None:
        read_only_init(self, on_server(path), **options)

    def status(location: Any, **options: Any) -> Any:
        return read_status(on_server(location), **options)

    monkeypatch.setattr(storage.readonly.ReadOnlyArchive, "__init__", read_only)
    replacements = {"open_db": (original, open_db), "read_status": (read_status, status)}
    for module in list(sys.modules.values()):  # every `from storage.db import open_db`, tests' too
        name = getattr(module, "__name__", "")
        if not name.startswith(("storage", "bot", "tests", "tools", "bench")):
            continue
        for attribute, (before, after) in replacements.items():
            if getattr(module, attribute, None) is before:
                monkeypatch.setattr(module, attribute, after)


def deselect_sqlite_only(items: list[pytest.Item], config: pytest.Config) -> None:
    if not ACTIVE:
        return

    def runs(item: pytest.Item) -> bool:
        return bool(item.get_closest_marker("both_backends")) and not item.get_closest_marker("sqlite_only")

    keep = [i for i in items if runs(i)]
    dropped = [i for i in items if not runs(i)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = keep
