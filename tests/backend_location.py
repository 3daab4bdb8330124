"""Where a child process finds the archive a test made: its file on SQLite, its database's URL when the
suite runs on PostgreSQL (tests/pg_backend.py maps each archive path to its own database; a child
process does not inherit that mapping, so it is handed the URL)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.pg_backend import ACTIVE


@pytest.fixture
def archive_location(request: pytest.FixtureRequest) -> Callable[[Path], str]:
    if not ACTIVE:
        return str
    archives = request.getfixturevalue("pg_archives")

    def location(path: Path) -> str:
        path.touch()
        return str(archives.url_for(str(path)))

    return location
