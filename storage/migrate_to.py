"""Copy an SQLite archive into PostgreSQL (`tgmonitor migrate-to`): the engine-free door to storage/pg/copy.py,
which needs psycopg (the optional extra `postgres`) and is imported only when asked for."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from storage.db import ArchiveError, NoArchiveError, is_postgres_url, open_db, shown
from storage.store import Store

__all__ = ["CopyError", "copy_archive"]


class CopyError(RuntimeError):
    """The copy cannot start or go on; one line (the URL without its password)."""


def copy_archive(
    source: Path,
    url: str,
    *,
    batch: int = 5000,
    progress: Callable[[str, int, int], None] | None = None,
    index_progress: Callable[[int, int], None] | None = None,
    stop_after: int | None = None,
) -> Any:
    """Returns storage.pg.copy.Report (copied rows per table, indexed posts, per-table checks, seconds)."""
    if not is_postgres_url(url):
        raise CopyError(f"migrate-to copies into a postgresql:// URL, not {shown(url)}")
    if is_postgres_url(str(source)):
        raise CopyError("the source of migrate-to is an SQLite archive file (--db / DB_PATH)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise CopyError("migrate-to needs psycopg: pip install 'tgmonitor[postgres]'") from None
    from storage.pg import copy

    try:
        reading = open_db(source, create=False)  # an older archive is upgraded first, as any command does
    except NoArchiveError:
        raise CopyError(f"no archive at {source} to copy (check --db / DB_PATH)") from None
    target_store: Store | None = None
    try:
        try:
            target_store = Store.open(url)
        except ArchiveError as exc:
            raise CopyError(str(exc)) from None
        try:
            return copy.migrate_to(
                reading,
                target_store.db,  # type: ignore[arg-type]
                target_store.search_index,  # type: ignore[arg-type]
                batch=batch,
                progress=progress,
                index_progress=index_progress,
                stop_after=stop_after,
            )
        except copy.CopyError as exc:
            raise CopyError(str(exc)) from None
    finally:
        reading.conn.close()
        if target_store is not None:
            target_store.close()
