"""The day page (that day's digest, as the service sends it) and the charts page.

A day's digest is the one the service sends that day: the window closing at DIGEST_TIME in TZ on
that local date, for DIGEST_TAGS (or the `tag` asked for), rendered by the same functions as the
scheduled job (`subscription_digest`, `digest_messages`), so what the page shows is what the chat
gets, message by message. The Telegram HTML is re-sanitized before it is put in the page.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bot.app.digest_jobs import subscription_digest
from bot.core.digest_render import digest_messages
from bot.core.windows import Window, next_occurrence, occurrence, window_ending
from bot.models import Tag
from bot.web.charts import (
    CopyStats,
    chart_window,
    copies_chart,
    posts_per_day_chart,
    top_copies_chart,
    top_tags_chart,
)
from bot.web.forms import CHART_WEEK_STEPS, MAX_CHART_DAYS, FormError, chart_span, check_tag, parse_day
from bot.web.state import WebState, state_of
from bot.web.telegram_html import safe_telegram_html

DEFAULT_CHART_DAYS = 30
DEFAULT_CHART_WEEKS = 12


def window_of_day(day: date, state: WebState) -> Window:
    at, tz = state.options.digest_time, state.options.tz
    return window_ending(occurrence(day, at, tz), at, tz)


def _latest_day(state: WebState, last_post: datetime | None) -> date:
    """The digest that carries the newest post (it may still be open), else today's."""
    at, tz = state.options.digest_time, state.options.tz
    fired = next_occurrence(at, tz, last_post or datetime.now(UTC))
    return fired.astimezone(tz).date()


def more_href(base: str, window: Window, tz: tzinfo) -> Callable[[Tag | None], str]:
    """Where "… and N more" of a section leads: a search for its tag over the window's local days
    (an untagged section, "Other": every post of those days). The days are whole, so the search
    may show a few posts on either side of the window's DIGEST_TIME edges."""
    first = window.start.astimezone(tz).date().isoformat()
    last = (window.end - timedelta(microseconds=1)).astimezone(tz).date().isoformat()

    def href(tag: Tag | None) -> str:
        params = {"tag": tag.key} if tag is not None else {}
        return base + "?" + urlencode({**params, "since": first, "until": last})

    return href


def day_page(request: Request) -> Response:
    state = state_of(request)
    raw_tag = check_tag((request.query_params.get("tag") or "").strip())
    tags = (raw_tag,) if raw_tag else state.options.digest_tags
    raw_day = request.path_params.get("day")
    picked = request.query_params.get("day")  # the date picker's form
    if raw_day is None and picked:
        suffix = "?" + urlencode({"tag": raw_tag}) if raw_tag else ""
        return RedirectResponse(f"/day/{parse_day(picked, 'day').isoformat()}{suffix}", status_code=302)
    if raw_day is None:
        with state.reading() as reader:
            last = reader.browse.bounds()[1]
        suffix = "?" + urlencode({"tag": raw_tag}) if raw_tag else ""
        return RedirectResponse(f"/day/{_latest_day(state, last).isoformat()}{suffix}", status_code=302)
    day = parse_day(raw_day, "day")
    window = window_of_day(day, state)
    with state.reading() as reader:
        posts = reader.store.posts_between(window.start, window.end, tags=tags)
    digest = subscription_digest(posts, window.start, window.end, tags)
    per_section = state.options.digest_section_items or None
    # Telegram HTML keeps only http(s) links (bot/web/telegram_html.py): the search is linked absolutely.
    more = more_href(str(request.base_url), window, state.options.tz)
    messages = digest_messages(
        digest, state.options.tz, empty=state.options.digest_empty, per_section=per_section, more_link=more
    )
    return state.page(
        "day.html",
        day=day,
        window=window,
        is_open=window.end > datetime.now(UTC),
        tags=tags,
        raw_tag=raw_tag,
        digest=digest,
        per_section=per_section or 1_000_000,
        more=more,
        messages=[Markup(safe_telegram_html(m)) for m in messages],
        previous=(day - timedelta(days=1)).isoformat(),
        next=(day + timedelta(days=1)).isoformat(),
    )


def _channel_param(raw: str, known: dict[int, Any]) -> int | None:
    """`channel`: a channel number the archive has (ASCII digits only), or none."""
    if not raw:
        return None
    if not re.fullmatch(r"[0-9]{1,19}", raw) or int(raw) not in known:
        raise FormError(f"channel: there is no channel {raw[:40]!r}")
    return int(raw)


def charts_page(request: Request) -> Response:
    state = state_of(request)
    params = request.query_params
    ranged = bool(params.get("from") or params.get("to"))
    weeks = chart_span(params, "weeks", DEFAULT_CHART_WEEKS, CHART_WEEK_STEPS)  # in steps: the cache holds few
    with state.reading() as reader:
        first_post, last_post = reader.browse.bounds()
        window = chart_window(params, last_post=last_post, default_days=DEFAULT_CHART_DAYS, max_days=MAX_CHART_DAYS)
        since, until = window.since, window.until
        channels = {c.id: c for c in reader.store.channels()}
        channel_id = _channel_param(params.get("channel", "").strip(), channels)
        shown = {channel_id: channels[channel_id]} if channel_id is not None else channels
        tags_since = since if ranged else until - timedelta(weeks=weeks)
        browse = reader.browse

        def draw() -> tuple[str, str, CopyStats, str]:
            copies = copies_chart(browse, since, until)
            return (
                posts_per_day_chart(browse, shown, since, until, channel_id=channel_id),
                top_tags_chart(browse, tags_since, until, channel_id=channel_id),
                copies,
                top_copies_chart(browse, copies.top),
            )

        key = ("charts", window.first, window.last, weeks, channel_id)
        (per_day, tags, copies, top), age = state.charts.get(key, draw)
    return state.page(
        "charts.html",
        days=(until - since).days,
        weeks=weeks,
        window=window,
        ranged=ranged,
        channels=sorted(channels.values(), key=lambda c: c.label.casefold()),
        channel_id=channel_id,
        history=(first_post.date().isoformat() if first_post else None, window.last),
        last_day=(until - timedelta(days=1)).date().isoformat(),
        per_day=Markup(per_day),
        tags=Markup(tags),
        copies=copies,
        copies_svg=Markup(copies.svg),
        top_copies=Markup(top),
        age_minutes=int(age // 60),
        cache_minutes=int(state.options.chart_seconds // 60),
    )
