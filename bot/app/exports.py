"""`tgmonitor export`: the archive as CSV, JSON Lines or Parquet, streamed page by page.

Memory is one page of posts (and their copies) whatever the archive's size: posts are read in keyset
pages (storage/export_rows.py), or for a search query through `Store.search` itself, page by page
in date order, so an export matches exactly what search matches. Each page's statements are folded
by the digest's `fold_items` over the page's posts and their copies (one hop beyond the page, the
keys `Browse.copies` follows), and with `fold` a statement is written once, at its first post in
the export's order, remembered in a bitmap of post ids (1 bit per archived post).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any, Literal, Protocol

from bot.core.digest import DigestItem, fold_items
from bot.core.export_rows import COLUMN_NAMES, COLUMNS, Statement, Value, csv_cell, post_row, statement_tags
from bot.models import StoredPost
from storage.export_rows import ExportReads
from storage.store import Store

ExportFormat = Literal["csv", "jsonl", "parquet"]
FORMATS: tuple[ExportFormat, ...] = ("csv", "jsonl", "parquet")
PAGE = 2000  # posts per page: one fold, one copies query, one Parquet row group
MISSING_PARQUET = "Parquet export needs pyarrow: pip install 'tgmonitor[parquet]'"


@dataclass(frozen=True, slots=True)
class ExportFilter:
    query: str | None = None
    tags: tuple[str, ...] = ()
    channel_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    include_deleted: bool = False


class RowWriter(Protocol):
    def write(self, rows: Sequence[list[Value]]) -> None: ...

    def close(self) -> None: ...


def pages(store: Store, selection: ExportFilter, page: int = PAGE) -> Iterator[tuple[list[StoredPost], dict[int, str]]]:
    """The selected posts, oldest first, `page` at a time, with their raw texts."""
    reads = ExportReads(store)
    if selection.query is None:
        after: tuple[datetime, int] | None = None
        while True:
            got, raw = reads.page(
                after,
                page,
                tags=selection.tags,
                channel_id=selection.channel_id,
                since=selection.since,
                until=selection.until,
                include_deleted=selection.include_deleted,
            )
            if got:
                yield got, raw
            if len(got) < page:
                return
            after = (got[-1].date, got[-1].id)
    for found in _search_pages(store, selection, page):
        yield found, reads.raw_texts([p.id for p in found])


def _search_pages(store: Store, selection: ExportFilter, page: int) -> Iterator[list[StoredPost]]:
    """Store.search's matches in date order: each page starts at the last page's last date, and the
    posts of that date already written are skipped (several posts can share a second)."""
    since = selection.since
    done_at_since: set[int] = set()
    limit = page
    while True:
        got = store.search(
            selection.query,
            tags=selection.tags,
            channel=selection.channel_id,
            since=since,
            until=selection.until,
            limit=limit,
            order="oldest",
            include_deleted=selection.include_deleted,
        )
        fresh = [p for p in got if p.id not in done_at_since]
        if fresh:
            yield fresh
        if len(got) < limit:
            return
        last = got[-1].date
        if since is not None and last == since and not fresh:
            limit *= 2  # a whole page of one second: read further into it
            continue
        done_at_since = {p.id for p in got if p.date == last} | (done_at_since if last == since else set())
        since = last
        limit = page


def export_rows(
    store: Store, selection: ExportFilter, *, fold: bool = False, page: int = PAGE
) -> Iterator[list[list[Value]]]:
    """Rows in COLUMNS order, a page at a time: one per post, or with `fold` one per statement."""
    reads = ExportReads(store)
    written = bytearray((reads.max_post_id() >> 3) + 1) if fold else bytearray()
    for posts, raw in pages(store, selection, page):
        copies = reads.copies(posts)
        item_of: dict[int, DigestItem] = {}
        for item in fold_items([*posts, *copies]):
            for post in item.posts:
                item_of[post.id] = item
        rows: list[list[Value]] = []
        for post in posts:
            item = item_of[post.id]
            statement = Statement.of(item)
            if not fold:
                rows.append(post_row(post, raw.get(post.id, ""), statement))
                continue
            byte, bit = statement.id >> 3, 1 << (statement.id & 7)
            if byte < len(written) and written[byte] & bit:
                continue
            if byte < len(written):
                written[byte] |= bit
            rows.append(post_row(post, raw.get(post.id, ""), statement, statement_tags(item)))
        if rows:
            yield rows


class CsvWriter:
    """RFC 4180: comma, double quotes doubled, CRLF line ends; `bom` for spreadsheets that guess the encoding."""

    def __init__(self, out: IO[str], *, bom: bool = False) -> None:
        if bom:
            out.write("\ufeff")
        self.out = out
        self.writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        self.writer.writerow(COLUMN_NAMES)

    def write(self, rows: Sequence[list[Value]]) -> None:
        self.writer.writerows([csv_cell(v) for v in row] for row in rows)

    def close(self) -> None:
        self.out.flush()


class JsonlWriter:
    def __init__(self, out: IO[str]) -> None:
        self.out = out

    def write(self, rows: Sequence[list[Value]]) -> None:
        self.out.write(
            "".join(json.dumps(dict(zip(COLUMN_NAMES, row, strict=True)), ensure_ascii=False) + "\n" for row in rows)
        )

    def close(self) -> None:
        self.out.flush()


class ParquetWriter:
    """One row group per page, with a fixed schema (so an empty export still has its columns)."""

    def __init__(self, path: Any) -> None:
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise RuntimeError(MISSING_PARQUET) from None
        types = {"int": pa.int64(), "str": pa.string(), "bool": pa.bool_(), "list": pa.list_(pa.string())}
        self.pa = pa
        self.schema = pa.schema([(name, types[kind]) for name, kind in COLUMNS])
        self.writer = pq.ParquetWriter(path, self.schema, compression="zstd")

    def write(self, rows: Sequence[list[Value]]) -> None:
        columns = [[row[i] for row in rows] for i in range(len(COLUMNS))]
        self.writer.write_table(self.pa.Table.from_arrays(columns, schema=self.schema))

    def close(self) -> None:
        self.writer.close()


def parquet_available() -> bool:
    try:
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        return False
    return True


def run_export(
    rows: Iterator[list[list[Value]]], writer: RowWriter, progress: Callable[[int], None] | None = None
) -> int:
    """Write every page; returns the number of rows."""
    count = 0
    for batch in rows:
        writer.write(batch)
        count += len(batch)
        if progress is not None:
            progress(count)
    writer.close()
    return count
