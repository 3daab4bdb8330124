"""SQLite's errors in words a user can act on, naming the archive; for one-line CLI errors."""

from __future__ import annotations

import sqlite3
from pathlib import Path

_KNOWN = (
    ("database is locked", "is busy: another process holds its write lock (a large import?); try again"),
    ("readonly database", "is read-only for this user (file or folder permissions, or a read-only mount)"),
    ("disk is full", "cannot grow: the disk is full (nothing was half-written; free space and retry)"),
    ("disk i/o error", "hit a disk I/O error"),
    ("file is not a database", "is not a tgmonitor archive (not an SQLite database)"),
    ("unable to open database file", "cannot be opened (a missing folder, a directory, or no permission)"),
    ("database disk image is malformed", "is damaged (restore it from a backup)"),
)


def one_line(exc: BaseException, limit: int = 300) -> str:
    """An SQLite message on one line: "malformed database schema" ones quote the schema's multi-line SQL."""
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[:limit] + "…"


def describe_sqlite_error(exc: sqlite3.Error, path: Path | str | None) -> str:
    where = f"the archive {path}" if path is not None else "the archive"
    text = str(exc).lower()
    for needle, meaning in _KNOWN:
        if needle in text:
            return f"{where} {meaning}"
    return f"{where}: SQLite error: {one_line(exc)}"
