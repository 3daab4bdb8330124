"""The three charts: counts read by storage/browse.py, shaped here, drawn by bot/core/svg_charts.py."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.core.copies import statement_spread
from bot.core.digest_render import post_line
from bot.core.svg_charts import Series, bars, heatmap, stacked_bars
from bot.models import ChannelRow, Tag
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


def days_between(start: date, end: date) -> list[str]:
    return [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]


def posts_per_day_chart(
    browse: Browse,
    channels: dict[int, ChannelRow],
    since: datetime,
    until: datetime,
    *,
    channel_id: int | None = None,
    tag: str | None = None,
    title: str = "Posts per day per channel (UTC days)",
) -> str:
    rows = browse.posts_per_day(since, until, channel_id=channel_id, tag=tag)
    days = days_between(since.date(), (until - timedelta(microseconds=1)).date())
    index = {day: i for i, day in enumerate(days)}
    per_channel: dict[int, list[int]] = {}
    for day, cid, n in rows:
        if day in index:
            per_channel.setdefault(cid, [0] * len(days))[index[day]] += n
    ranked = sorted(per_channel, key=lambda cid: (-sum(per_channel[cid]), cid))
    series = [
        Series(channels[cid].label if cid in channels else f"channel {cid}", tuple(per_channel[cid]), f"/channel/{cid}")
        for cid in ranked[:MAX_SERIES]
    ]
    rest = ranked[MAX_SERIES:]
    if rest:
        summed = tuple(sum(per_channel[cid][i] for cid in rest) for i in range(len(days)))
        series.append(Series(f"{len(rest)} other channels", summed))
    return stacked_bars([d[5:] for d in days], series, title=title)


def _monday(day: str) -> str:
    value = date.fromisoformat(day)
    return (value - timedelta(days=value.weekday())).isoformat()


def top_tags_chart(browse: Browse, since: datetime, until: datetime, *, channel_id: int | None = None) -> str:
    by_week: Counter[tuple[str, str, str]] = Counter()
    tags: dict[tuple[str, str], Tag] = {}
    for day, tag, n in browse.tags_per_day(since, until, channel_id=channel_id):
        by_week[(_monday(day), tag.kind, tag.key)] += n
        tags.setdefault((tag.kind, tag.key), tag)
    rows = [(week, tags[(kind, key)], n) for (week, kind, key), n in by_week.items()]
    totals: Counter[tuple[str, str]] = Counter()
    shown: dict[tuple[str, str], str] = {}
    for _, tag, n in rows:
        totals[(tag.kind, tag.key)] += n
        shown.setdefault((tag.kind, tag.key), tag.display)
    top = [key for key, _ in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_TAGS]]
    monday = since.date() - timedelta(days=since.date().weekday())
    weeks: list[str] = []
    while monday < until.date() or not weeks:
        weeks.append(monday.isoformat())
        monday += timedelta(days=7)
    grid = {key: [0] * len(weeks) for key in top}
    column = {week: j for j, week in enumerate(weeks)}
    for week, tag, n in rows:
        key = (tag.kind, tag.key)
        if key in grid and week in column:
            grid[key][column[week]] += n
    return heatmap(
        [shown[k] for k in top],
        [w[5:] for w in weeks],
        [grid[k] for k in top],
        title="Top tags per week (posts; weeks start on Monday, UTC)",
        row_links=[f"/tag/{k[1]}" for k in top],
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
