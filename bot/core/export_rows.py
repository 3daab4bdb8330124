"""The columns of `tgmonitor export`, one row per post or per statement: pure, so every format agrees.

The column list is a promise to spreadsheets and notebooks downstream: new columns are added at the
end, none is renamed or removed (docs/feeds-and-exports.md lists them). Dates are UTC in ISO 8601
with a `Z`; lists (tags, carriers) are lists in JSON Lines and Parquet and `;`-joined text in CSV.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from bot.core.digest import DigestItem
from bot.models import StoredPost

ColumnType = Literal["int", "str", "bool", "list"]

# (name, type): the order of the CSV header and of the Parquet schema.
COLUMNS: tuple[tuple[str, ColumnType], ...] = (
    ("post_id", "int"),  # the archive's id of the post (stable within an archive)
    ("channel_id", "int"),  # the archive's id of the channel
    ("channel", "str"),  # @username, else the title
    ("channel_title", "str"),
    ("message_id", "int"),  # Telegram's id of the message in its channel
    ("date_utc", "str"),
    ("edit_date_utc", "str"),
    ("url", "str"),
    ("text", "str"),  # clean text
    ("raw_text", "str"),  # as the source gave it
    ("tags", "list"),  # hashtags and topics, as shown (#RussiaSerbia, Serbia)
    ("language", "str"),
    ("forward_from", "str"),  # the forward's origin as Telegram names it
    ("origin_key", "str"),
    ("views", "int"),
    ("media_kind", "str"),
    ("deleted", "bool"),
    ("statement_id", "int"),  # the statement's first stored post (smallest post_id); feeds' entry ids too
    ("carriers", "int"),  # channels that carried the statement ("seen in N channels")
    ("carrier_channels", "list"),
    ("statement_posts", "int"),  # posts folded into the statement
    ("sender", "str"),  # who wrote it in a group (or signed a channel post), as the source names them
    ("sender_id", "str"),  # the sender's id as exports spell it: user123, channel456 (HTML exports give none)
    ("time_approximate", "bool"),  # the date is an export's local clock taken as UTC (no offsets, no --tz)
    ("text_links", "list"),  # hidden links: "words [URL]" for each text link of the post
)
COLUMN_NAMES = tuple(name for name, _ in COLUMNS)
Value = int | str | bool | list[str] | None


@dataclass(frozen=True, slots=True)
class Statement:
    """What a row says about the statement its post belongs to."""

    id: int
    channels: tuple[str, ...]
    posts: int

    @classmethod
    def of(cls, item: DigestItem) -> Statement:
        return cls(min(p.id for p in item.posts), tuple(item.channels), len(item.posts))


def utc_iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def post_row(post: StoredPost, raw_text: str, statement: Statement, tags: Sequence[str] | None = None) -> list[Value]:
    """One row in COLUMNS order; `tags` overrides the post's own (a folded row lists the statement's)."""
    shown = list(tags) if tags is not None else [t.display for t in post.tags if t.kind != "lang"]
    return [
        post.id,
        post.channel_id,
        post.channel_label,
        post.channel_title,
        post.message_id,
        utc_iso(post.date),
        utc_iso(post.edit_date),
        post.url,
        post.text,
        raw_text,
        shown,
        post.lang,
        post.forward_name,
        post.origin_key,
        post.views,
        post.media_kind,
        post.deleted,
        statement.id,
        len(statement.channels),
        list(statement.channels),
        statement.posts,
        post.sender.name if post.sender else None,
        post.sender.id if post.sender else None,
        post.approx_time,
        [f"{link.text} [{link.url}]" for link in post.text_links],
    ]


def statement_tags(item: DigestItem) -> list[str]:
    return list(dict.fromkeys(t.display for t in item.tags if t.kind != "lang"))


def csv_cell(value: Value) -> str:
    """A CSV cell: lists `;`-joined, booleans 1/0, None empty (what a spreadsheet reads back cleanly)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, list):
        return ";".join(value)
    return str(value)
