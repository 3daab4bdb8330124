"""Search, post, channel and tag pages: read what the page shows, close the connection, render."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from markupsafe import Markup
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from bot.core.digest import DigestItem, snippet
from bot.core.neardup import collapse
from bot.core.windows import next_occurrence
from bot.models import StoredPost
from bot.web.app import Reader, WebState, state_of
from bot.web.charts import posts_per_day_chart, top_tags_chart
from bot.web.forms import LANGUAGES, PAGE_SIZES, FormError, SearchForm, bounded_int, parse_search
from bot.web.render import marked, matching_paragraph
from storage.store import QueryError

LISTING_CHARS = 400  # a hit without a query shows its first paragraph up to this many characters
CHART_DAYS = 30


@dataclass(frozen=True, slots=True)
class Hit:
    post: StoredPost
    text: Markup  # the matching paragraph, escaped, with <mark> around the matches
    seen_in: int  # channels carrying the statement, archive-wide
    folded: int  # other results on this page that are copies of it (folded into this hit)


def _hits(reader: Reader, posts: list[StoredPost], form: SearchForm) -> list[Hit]:
    items = [DigestItem((p,)) for p in posts] if form.copies else collapse(posts)
    shown = [_best(item, posts) for item in items]
    marks = reader.browse.highlights(form.q, [p.id for p in shown]) if form.q else {}
    hits = []
    for item, post in zip(items, shown, strict=True):
        if post.id in marks:
            text = marked(matching_paragraph(marks[post.id]))
        else:
            text = marked(snippet(post.text, LISTING_CHARS) or f"[{post.media_kind or 'media'}]")
        hits.append(Hit(post, text, reader.browse.seen_in(post), len(item.posts) - 1))
    return hits


def _best(item: DigestItem, order: list[StoredPost]) -> StoredPost:
    """The item's post placed highest in the results: the hit as searched (newest or best match)."""
    ids = {p.id for p in item.posts}
    return next(p for p in order if p.id in ids)


def _search(reader: Reader, form: SearchForm, state: WebState) -> list[StoredPost]:
    since, until = form.window(state.options.tz)
    return reader.store.search(
        form.q or None,
        tags=[form.tag] if form.tag else (),
        channel=form.channel,
        since=since,
        until=until,
        lang=form.lang or None,
        limit=form.per + 1,  # one more tells whether there is a next page
        offset=form.offset,
        order="rank" if form.order == "rank" and form.q else "newest",
    )


def search_page(request: Request) -> Response:
    state = state_of(request)
    form = parse_search(request.query_params)
    with state.reading() as reader:
        channels = reader.store.channels()
        if form.channel is not None and form.channel not in {c.id for c in channels}:
            raise FormError(f"channel: there is no channel {form.channel}")
        posts = _search(reader, form, state)
        hits = _hits(reader, posts[: form.per], form)
    return state.page(
        "search.html",
        form=form,
        hits=hits,
        more=len(posts) > form.per,
        channels=channels,
        languages=LANGUAGES,
        page_sizes=PAGE_SIZES,
    )


def digest_day(post_date: datetime, state: WebState) -> str:
    """The local date of the digest that carries a post: the first firing after it (windows are [start, end))."""
    fired = next_occurrence(state.options.digest_time, state.options.tz, post_date)
    return fired.astimezone(state.options.tz).date().isoformat()


def post_page(request: Request) -> Response:
    state = state_of(request)
    post_id = request.path_params["post_id"]
    with state.reading() as reader:
        post = reader.store.get_post(post_id)
        if post is None:
            raise HTTPException(404, f"There is no post {post_id} in the archive.")
        raw_text = reader.browse.raw_text(post_id) or ""
        copies = reader.browse.copies(post)
        versions = reader.browse.versions(post_id)
    item = DigestItem(tuple(copies) or (post,))
    return state.page(
        "post.html",
        post=post,
        raw_text=raw_text,
        copies=copies,
        seen_in=item.seen_in,
        original=item.link,
        versions=versions,
        paragraphs=[p for p in post.text.split("\n\n") if p.strip()],
        digest_day=digest_day(post.date, state),
    )


def channels_page(request: Request) -> Response:
    state = state_of(request)
    with state.reading() as reader:
        channels = reader.store.channels()
        counts = reader.browse.posts_per_channel()
    return state.page("channels.html", channels=channels, counts=counts)


def _chart_window(last: datetime | None, days: int) -> tuple[datetime, datetime]:
    """`days` UTC days ending with the day of `last` (the newest post shown), or today."""
    end_day = (last or datetime.now(UTC)).astimezone(UTC).date() + timedelta(days=1)
    until = datetime(end_day.year, end_day.month, end_day.day, tzinfo=UTC)
    return until - timedelta(days=days), until


def _listing(request: Request, **fixed: object) -> SearchForm:
    """The newest posts of a channel or tag, paged like a search."""
    params = {k: v for k, v in request.query_params.items() if k in ("page", "per")}
    form = parse_search(params)
    return SearchForm(page=form.page, per=form.per, **fixed)  # type: ignore[arg-type]


def channel_page(request: Request) -> Response:
    state = state_of(request)
    channel_id = request.path_params["channel_id"]
    days = bounded_int(request.query_params, "days", CHART_DAYS, 1, 366)
    with state.reading() as reader:
        channel = next((c for c in reader.store.channels() if c.id == channel_id), None)
        if channel is None:
            raise HTTPException(404, f"There is no channel {channel_id} in the archive.")
        form = _listing(request, channel=channel_id)
        posts = _search(reader, form, state)
        hits = _hits(reader, posts[: form.per], form)
        live, deleted = reader.browse.count_posts(channel_id=channel_id)
        last = posts[0].date if posts and form.page == 1 else reader.browse.bounds()[1]
        since, until = _chart_window(last, days)
        browse = reader.browse

        def draw() -> tuple[str, str]:
            return (
                posts_per_day_chart(
                    browse, {channel.id: channel}, since, until, channel_id=channel_id, title="Posts per day (UTC days)"
                ),
                top_tags_chart(browse, until - timedelta(weeks=12), until, channel_id=channel_id),
            )

        (chart, tags_chart), _ = state.charts.get(("channel", channel_id, days, until), draw)
    return state.page(
        "channel.html",
        channel=channel,
        form=form,
        hits=hits,
        more=len(posts) > form.per,
        posts=live,
        deleted=deleted,
        chart=Markup(chart),
        tags_chart=Markup(tags_chart),
        days=days,
    )


def tag_page(request: Request) -> Response:
    state = state_of(request)
    key = request.path_params["key"].lstrip("#").casefold()
    if not key or len(key) > 64:
        raise FormError("tag: expected a tag name of 1 to 64 characters")
    days = bounded_int(request.query_params, "days", CHART_DAYS, 1, 366)
    with state.reading() as reader:
        tag = reader.browse.tag_display(key)
        if tag is None:
            raise HTTPException(404, f"No post has the tag {key!r}.")
        form = _listing(request, tag=key)
        try:
            posts = _search(reader, form, state)
        except QueryError as exc:  # pragma: no cover - a tag filter alone cannot make a bad query
            raise FormError(str(exc)) from exc
        hits = _hits(reader, posts[: form.per], form)
        live, deleted = reader.browse.count_posts(tag=key)
        channels = {c.id: c for c in reader.store.channels()}
        since, until = _chart_window(posts[0].date if posts else None, days)
        browse = reader.browse

        def draw() -> str:
            title = f"Posts per day with {tag.display} (UTC days)"
            return posts_per_day_chart(browse, channels, since, until, tag=key, title=title)

        chart, _ = state.charts.get(("tag", key, days, until), draw)
    return state.page(
        "tag.html",
        tag=tag,
        form=form,
        hits=hits,
        more=len(posts) > form.per,
        posts=live,
        deleted=deleted,
        chart=Markup(chart),
        days=days,
    )
