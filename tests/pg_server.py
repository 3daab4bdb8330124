"""A session's PostgreSQL server for tests that need one whatever the backend under test: skipped with
the reason when psycopg or the server binaries are missing (a user's clone without them)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

_names = itertools.count(1)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Any]:
    pytest.importorskip("psycopg", reason="PostgreSQL tests need the extra tgmonitor[postgres] (psycopg)")
    from tools.pg_local import NoServer, start_server

    try:
        server = start_server()
    except NoServer as exc:
        pytest.skip(f"no PostgreSQL server to test against: {exc}")
    try:
        yield server
    finally:
        server.stop()


def new_database(server: Any, prefix: str = "x") -> str:
    """A fresh empty database on `server`; its URL."""
    import psycopg

    name = f"{prefix}{next(_names)}"
    with psycopg.connect(server.url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    return str(server.url_for(name))
