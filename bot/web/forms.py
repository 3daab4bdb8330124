"""What a page may be asked for: query parameters parsed, bounded and checked, with a clear message.

Limits keep one request cheap whatever the archive's size: a query is at most 200 characters and 20
words (each becomes an FTS5 phrase), a page at most 100 results, paging at most 10,000 results deep
(further back is a narrower date range away), charts at most a year of days or weeks.

Numbers are ASCII digits only, at most MAX_DIGITS of them (`str.isdigit()` accepts "²" and "٣",
which `int()` or SQLite then reject with a 500), and ids fit SQLite's 64-bit integers. Days lie
between MIN_DAY and MAX_DAY so that a window around them (a day either side, a time zone) stays
inside what `datetime` can hold: `/day/9999-12-31` is a 400 naming `day`, not an OverflowError.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from urllib.parse import urlencode

MAX_QUERY_CHARS = 200
MAX_QUERY_WORDS = 20
MAX_TAG_CHARS = 64
PAGE_SIZES = (10, 20, 50, 100)
DEFAULT_PAGE_SIZE = 20
MAX_OFFSET = 10_000
MAX_CHART_DAYS = 366
MAX_CHART_WEEKS = 53
# Charts are cached per parameter set; any number asked for is rounded up to one of these steps so
# that varying it cannot defeat the cache (bot/web/cache.py), and the page says the span drawn.
CHART_DAY_STEPS = (7, 14, 30, 60, 90, 180, MAX_CHART_DAYS)
CHART_WEEK_STEPS = (4, 8, 12, 26, MAX_CHART_WEEKS)
MAX_DIGITS = 18  # < 2**63: any SQLite integer id, any bound here; longer is refused before int()
MIN_DAY = date(1970, 1, 1)
MAX_DAY = date(2999, 12, 31)
_DIGITS = re.compile(r"[0-9]+")
# What bot/core/lang.py detects; the field also accepts any other 2-3 letter code.
LANGUAGES = ("en", "bg", "ru", "uk", "sr")
_LANG = re.compile(r"^[a-z]{2,3}$")
_CONTROL = re.compile("[\x00-\x1f\x7f]")


class FormError(ValueError):
    """A parameter out of bounds or malformed; the message names it and is safe to show."""


def _one(params: Mapping[str, str], name: str) -> str:
    return (params.get(name) or "").strip()


def parse_day(raw: str, name: str) -> date:
    try:
        day = date.fromisoformat(raw[:40])
    except ValueError:
        raise FormError(f"{name}: expected a date like 2026-11-20, got {raw[:40]!r}") from None
    if not MIN_DAY <= day <= MAX_DAY:
        raise FormError(f"{name}: expected a date from {MIN_DAY} to {MAX_DAY}, got {day}")
    return day


def check_tag(raw: str, name: str = "tag") -> str:
    """A tag filter as typed: at most MAX_TAG_CHARS, and no control characters (no tag holds one, and
    PostgreSQL refuses to even compare text with a NUL in it: a 500 there, before)."""
    if len(raw) > MAX_TAG_CHARS:
        raise FormError(f"{name}: longer than {MAX_TAG_CHARS} characters")
    if _CONTROL.search(raw):
        raise FormError(f"{name}: a tag has no control characters, got {raw[:40]!r}")
    return raw


def parse_number(raw: str, name: str, what: str = "a whole number") -> int:
    """ASCII digits, at most MAX_DIGITS of them: checked before `int()` ever sees the text."""
    if not _DIGITS.fullmatch(raw) or len(raw) > MAX_DIGITS:
        shown = raw[:40] + ("…" if len(raw) > 40 else "")
        raise FormError(f"{name}: expected {what} of at most {MAX_DIGITS} digits 0-9, got {shown!r}")
    return int(raw)


def bounded_int(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = _one(params, name)
    if not raw:
        return default
    value = parse_number(raw, name)
    if not low <= value <= high:
        raise FormError(f"{name}: expected {low} to {high}, got {value}")
    return value


@dataclass(frozen=True, slots=True)
class SearchForm:
    q: str = ""
    channel: int | None = None
    tag: str = ""
    lang: str = ""
    since: date | None = None
    until: date | None = None  # inclusive: the last day shown
    copies: bool = False  # list every copy instead of folding copies on the page into one hit
    order: str = "newest"  # newest | rank
    page: int = 1
    per: int = DEFAULT_PAGE_SIZE

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per

    def window(self, tz: tzinfo) -> tuple[datetime | None, datetime | None]:
        """The date filters as UTC instants: local midnight of `since` to the midnight after `until`."""

        def midnight(day: date) -> datetime:
            return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)

        start = midnight(self.since) if self.since else None
        end = midnight(self.until + timedelta(days=1)) if self.until else None
        return start, end

    def query_string(self, **changes: object) -> str:
        """This search's URL parameters with `changes` applied; defaults are left out."""
        form = replace(self, **changes)  # type: ignore[arg-type]
        pairs = {
            "q": form.q,
            "channel": "" if form.channel is None else str(form.channel),
            "tag": form.tag,
            "lang": form.lang,
            "since": form.since.isoformat() if form.since else "",
            "until": form.until.isoformat() if form.until else "",
            "copies": "1" if form.copies else "",
            "order": "" if form.order == "newest" else form.order,
            "page": "" if form.page == 1 else str(form.page),
            "per": "" if form.per == DEFAULT_PAGE_SIZE else str(form.per),
        }
        return urlencode({k: v for k, v in pairs.items() if v})

    @property
    def filtered(self) -> bool:
        return bool(self.q or self.channel is not None or self.tag or self.lang or self.since or self.until)


def chart_span(params: Mapping[str, str], name: str, default: int, steps: tuple[int, ...]) -> int:
    """`days` or `weeks`, 1 to the last step, rounded up to the next step."""
    value = bounded_int(params, name, default, 1, steps[-1])
    return next(step for step in steps if step >= value)


def parse_search(params: Mapping[str, str]) -> SearchForm:
    q = _one(params, "q")
    if len(q) > MAX_QUERY_CHARS:
        raise FormError(f"q: the query is longer than {MAX_QUERY_CHARS} characters")
    if len(q.split()) > MAX_QUERY_WORDS:
        raise FormError(f"q: the query has more than {MAX_QUERY_WORDS} words")
    channel_raw = _one(params, "channel")
    channel = parse_number(channel_raw, "channel", "a channel number") if channel_raw else None
    tag = check_tag(_one(params, "tag").lstrip("#").casefold())
    lang = _one(params, "lang").lower()
    if lang and not _LANG.match(lang):
        raise FormError(f"lang: expected a language code like en or bg, got {lang[:40]!r}")
    since = parse_day(_one(params, "since"), "since") if _one(params, "since") else None
    until = parse_day(_one(params, "until"), "until") if _one(params, "until") else None
    if since and until and since > until:
        raise FormError("since: the first day is after the last day")
    order = _one(params, "order") or "newest"
    if order not in ("newest", "rank"):
        raise FormError(f"order: expected newest or rank, got {order[:40]!r}")
    per = bounded_int(params, "per", DEFAULT_PAGE_SIZE, 1, max(PAGE_SIZES))
    page = bounded_int(params, "page", 1, 1, MAX_OFFSET // per + 1)
    return SearchForm(
        q=q,
        channel=channel,
        tag=tag,
        lang=lang,
        since=since,
        until=until,
        copies=_one(params, "copies") in ("1", "on", "true", "yes"),
        order=order,
        page=page,
        per=per,
    )
