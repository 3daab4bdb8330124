"""The three charts: counts read by storage/browse.py, shaped here, drawn by bot/core/svg_charts.py."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from bot.core.buckets import Unit, bucket_start, buckets, labels, unit_for
from bot.core.copies import statement_spread
from bot.core.digest_render import post_line
from bot.core.svg_charts import Series, bars, heatmap, stacked_bars
from bot.models import ChannelRow, Tag
from bot.web.forms import CHART_DAY_STEPS, FormError, chart_span, parse_day
from storage.browse import Browse

MAX_SERIES = 8  # channels drawn in their own colour; the rest are summed as "other channels"
TOP_TAGS = 12
MAX_FOLD_POSTS = 200_000  # copies-per-statement folds at most this many posts (the newest are dropped)
COPY_BUCKETS = 10  # statements seen in 10 or more channels share the last bar


@dataclass(frozen=True, slots=True)
class CopyStats:
    svg: str
    top: list[tuple[int, int]]  # (post id of the statement's first post, channels), most carried first
    statements: int
    posts: int
    truncated: bool


@dataclass(frozen=True, slots=True)
class ChartWindow:
    """[since, until) in whole UTC days, as the from/to pickers (or `days` back from the newest post) set it."""

    since: datetime
    until: datetime

    @property
    def first(self) -> str:
        return self.since.date().isoformat()

    @property
    def last(self) -> str:
        return (self.until - timedelta(days=1)).date().isoformat()


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def chart_window(
    params: Mapping[str, str], *, last_post: datetime | None, default_days: int, max_days: int
) -> ChartWindow:
    """`from`/`to` (YYYY-MM-DD, UTC days, both included; either may be left out) or else the `days`
    (1 to max_days) up to the day of the newest post. A bad value is a FormError naming it."""
    end_day = (last_post or datetime.now(UTC)).astimezone(UTC).date()
    raw_from, raw_to = params.get("from", "").strip(), params.get("to", "").strip()
    if raw_from or raw_to:
        last = parse_day(raw_to, "to") if raw_to else end_day
        first = parse_day(raw_from, "from") if raw_from else last - timedelta(days=default_days - 1)
        if first > last:
            raise FormError("from: the first day is after the last day")
        return ChartWindow(_midnight(first), _midnight(last) + timedelta(days=1))
    # rounded up to a few steps (bot/web/forms.py), so varying `days` cannot defeat the charts' cache
    days = min(chart_span(params, "days", default_days, CHART_DAY_STEPS), max_days)
    until = _midnight(end_day) + timedelta(days=1)
    return ChartWindow(until - timedelta(days=days), until)


def span_days(since: datetime, until: datetime) -> tuple[date, date]:
    """The first and last UTC day of [since, until)."""
    return since.astimezone(UTC).date(), (until - timedelta(microseconds=1)).astimezone(UTC).date()


def posts_per_day_chart(
    browse: Browse,
    channels: dict[int, ChannelRow],
    since: datetime,
    until: datetime,
    *,
    channel_id: int | None = None,
    tag: str | None = None,
    title: str = "Posts per {unit} per channel (UTC)",
) -> str:
    """Posts per day, week or month (chosen by the span: bot/core/buckets.py), stacked by channel."""
    first, last = span_days(since, until)
    unit = unit_for(first, last)
    starts = buckets(first, last, unit)
    index = {start: i for i, start in enumerate(starts)}
    per_channel: dict[int, list[int]] = {}
    for day, cid, n in browse.posts_per_day(since, until, channel_id=channel_id, tag=tag):
        i = index.get(bucket_start(date.fromisoformat(day), unit))
        if i is not None:
            per_channel.setdefault(cid, [0] * len(starts))[i] += n
    ranked = sorted(per_channel, key=lambda cid: (-sum(per_channel[cid]), cid))
    series = [
        Series(channels[cid].label if cid in channels else f"channel {cid}", tuple(per_channel[cid]), f"/channel/{cid}")
        for cid in ranked[:MAX_SERIES]
    ]
    rest = ranked[MAX_SERIES:]
    if rest:
        summed = tuple(sum(per_channel[cid][i] for cid in rest) for i in range(len(starts)))
        series.append(Series(f"{len(rest)} other channels", summed))
    return stacked_bars(labels(starts, unit), series, title=title.format(unit=unit))


MAX_TAG_COLUMNS = 26  # the tags grid shows at most this many weeks or months (the newest)


def top_tags_chart(browse: Browse, since: datetime, until: datetime, *, channel_id: int | None = None) -> str:
    """Top tags per week, or per month over more than MAX_TAG_COLUMNS weeks (the newest 26 months)."""
    first, last = span_days(since, until)
    unit: Unit = "week" if (last - first).days < 7 * MAX_TAG_COLUMNS else "month"
    starts = buckets(first, last, unit)
    if len(starts) > MAX_TAG_COLUMNS:
        starts = starts[-MAX_TAG_COLUMNS:]
        since = max(since, datetime.combine(starts[0], time(0), tzinfo=UTC))
    by_bucket: Counter[tuple[date, str, str]] = Counter()
    tags: dict[tuple[str, str], Tag] = {}
    for day, tag, n in browse.tags_per_day(since, until, channel_id=channel_id):
        by_bucket[(bucket_start(date.fromisoformat(day), unit), tag.kind, tag.key)] += n
        tags.setdefault((tag.kind, tag.key), tag)
    totals: Counter[tuple[str, str]] = Counter()
    for (_, kind, key), n in by_bucket.items():
        totals[(kind, key)] += n
    top = [key for key, _ in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_TAGS]]
    column = {start: j for j, start in enumerate(starts)}
    grid = {key: [0] * len(starts) for key in top}
    for (start, kind, key), n in by_bucket.items():
        if (kind, key) in grid and start in column:
            grid[(kind, key)][column[start]] += n
    title = (
        "Top tags per week (posts; weeks start on Monday, UTC)"
        if unit == "week"
        else f"Top tags per month (posts, UTC{'; the last 26 months' if len(column) == MAX_TAG_COLUMNS else ''})"
    )
    return heatmap(
        [tags[k].display for k in top],
        labels(starts, unit),
        [grid[k] for k in top],
        title=title,
        row_links=[f"/tag/{k[1]}" for k in top],
        period="",  # the column label says it: "w 03-11", "2024-03"
    )


def copies_chart(browse: Browse, since: datetime, until: datetime) -> CopyStats:
    keys = browse.copy_keys(since, until, limit=MAX_FOLD_POSTS + 1)
    truncated = len(keys) > MAX_FOLD_POSTS
    carried = statement_spread(keys[:MAX_FOLD_POSTS])
    buckets = Counter(min(n, COPY_BUCKETS) for _, n in carried)
    shown = range(1, max([2, *buckets]) + 1)  # up to the widest spread seen (the last bar is "10+")
    labels = [f"{n}{'+' if n == COPY_BUCKETS else ''} channel{'s' if n > 1 else ''}" for n in shown]
    svg = bars(
        labels, [buckets.get(n, 0) for n in shown], title="Statements by channels carrying them", unit="statements"
    )
    top = sorted((c for c in carried if c[1] > 1), key=lambda c: (-c[1], -c[0]))[:10]
    return CopyStats(svg, top, len(carried), min(len(keys), MAX_FOLD_POSTS), truncated)


def top_copies_chart(browse: Browse, top: list[tuple[int, int]]) -> str:
    posts = {p.id: p for p in browse.store.get_posts([post_id for post_id, _ in top])}
    labels = [post_line(posts[i], 40) if i in posts else f"post {i}" for i, _ in top]
    return bars(
        labels,
        [n for _, n in top],
        title="Most carried statements (channels)",
        links=[f"/post/{i}" for i, _ in top],
        unit="channels",
        label_width=220,
    )
