"""Search, post, channel and tag pages: read what the page shows, close the connection, render."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from markupsafe import Markup, escape
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from bot.app.listing import MAX_SCANNED_POSTS, find_items, newest_post, seen_in
from bot.core.digest import DigestItem
from bot.core.digest_render import post_line
from bot.core.highlight import Highlighter, mark
from bot.core.lang import LANGUAGE_CODES
from bot.core.search_query import match_spans
from bot.core.tag_explain import explain_topics
from bot.core.text_links import Placement
from bot.core.windows import next_occurrence
from bot.models import ChannelRow, PostVersion, StoredPost, Tag
from bot.web.charts import chart_window, posts_per_day_chart, top_tags_chart
from bot.web.forms import (
    MAX_TAG_CHARS,
    PAGE_SIZES,
    FormError,
    SearchForm,
    bounded_int,
    check_tag,
    parse_number,
    parse_search,
)
from bot.web.render import marked, matching_paragraph
from bot.web.state import Reader, WebState, state_of
from storage.browse import MARK_CLOSE, MARK_OPEN
from storage.store import QueryError, SearchOrder
from storage.versions import KEEP_FIRST, KEEP_LAST

LISTING_CHARS = 400  # a hit without a query shows its first paragraph up to this many characters
HIGHLIGHT_CHARS = 20_000  # of a post read for matches to mark (a post may hold 100,000)
VERSIONS_PER_PAGE = 10
CHART_DAYS = 30


@dataclass(frozen=True, slots=True)
class Hit:
    post: StoredPost
    text: Markup  # the matching paragraph, escaped, with <mark> around the matches
    seen_in: int  # channels carrying the statement ("seen in N channels", bot.app.listing's count)
    folded: int  # other posts of the results folded into this hit (copies of the statement)
    run: int = 1  # posts without text of one channel listed one after another, shown as this one line


@dataclass(frozen=True, slots=True)
class Results:
    hits: list[Hit]
    more: bool


def _marks(
    reader: Reader, query: str, posts: list[StoredPost], deadline: float, clock: Callable[[], float] = time.monotonic
) -> dict[int, str]:
    """Each post's text with what matched the query (any form, either script, emoji, "exact")
    between MARK_OPEN and MARK_CLOSE: what the index matched, not just the literal words.

    Bounded (issue #27 item 9: 100 hits of 100k-character posts took ~2 s past --query-seconds):
    only a post's first HIGHLIGHT_CHARS are read for matches, and none once the page's time budget
    (`deadline`, on `clock`) is spent; a hit without marks shows its first paragraph instead."""
    highlighter = Highlighter.of(reader.store.search_index.normaliser, query)
    marked_texts = {}
    for post in posts:
        if highlighter.query is None or not post.text or clock() > deadline:
            continue
        text = post.text[:HIGHLIGHT_CHARS]
        spans = match_spans(text, post.lang, highlighter.query, highlighter.normaliser)
        if spans:
            marked_texts[post.id] = mark(post.text, spans, (MARK_OPEN, MARK_CLOSE), str)
    return marked_texts


def _find(reader: Reader, form: SearchForm, state: WebState) -> Results:
    """One page: items with copies folded as everywhere else (bot.app.listing), or every post with copies."""
    started = time.monotonic()
    since, until = form.window(state.options.tz)
    order: SearchOrder = "rank" if form.order == "rank" and form.q else "newest"
    query, tags, lang = form.q or None, [form.tag] if form.tag else [], form.lang or None
    if form.copies:
        posts = reader.store.search(
            query,
            tags=tags,
            channel=form.channel,
            since=since,
            until=until,
            lang=lang,
            limit=form.per + 1,
            offset=form.offset,
            order=order,
        )
        items, more = [DigestItem((p,)) for p in posts[: form.per]], len(posts) > form.per
    else:
        items, more = find_items(
            reader.store,
            query=query,
            tags=tags,
            channel=form.channel,
            since=since,
            until=until,
            lang=lang,
            offset=form.offset,
            limit=form.per,
            order=order,
        )
    shown = [newest_post(item) for item in items]  # the copy that placed the item here
    marks = _marks(reader, form.q, shown, started + state.options.query_seconds) if form.q else {}
    hits: list[Hit] = []
    for item, post in zip(items, shown, strict=True):
        if post.id in marks:
            text = marked(matching_paragraph(marks[post.id]))
        elif not post.text.strip() and hits and _same_media_run(hits[-1], post):
            hits[-1] = _one_more(hits[-1])  # a run of stickers or photos is one line, as in digests
            continue
        else:
            text = marked(post_line(post, LISTING_CHARS))
        hits.append(Hit(post, text, seen_in(item, reader.store), len(item.posts) - 1))
    return Results(hits, more)


COUNT_CAP = 1_000  # "more than 1,000 posts": each counted match is a row read; 10,000 would slow every search


def lenient_form(params: Mapping[str, str]) -> SearchForm:
    """The search form as typed, less the fields that are wrong: what a 400 page keeps in its boxes.
    Errors name their field first ("per: expected 1 to 100"); one that names none drops the dates."""
    kept = dict(params)
    for _ in range(len(kept) + 1):
        try:
            return parse_search(kept)
        except FormError as exc:
            name = str(exc).split(":", 1)[0]
            dropped = [name] if name in kept else [k for k in ("since", "until") if k in kept] or list(kept)[:1]
            for key in dropped:
                kept.pop(key, None)
    return SearchForm()


def _same_media_run(previous: Hit, post: StoredPost) -> bool:
    """The post has no text and the hit above is the same channel's, also without text, same kind."""
    last = previous.post
    return last.channel_id == post.channel_id and not last.text.strip() and last.media_kind == post.media_kind


def _one_more(hit: Hit) -> Hit:
    """The run's hit, counting one more post: "[3 stickers]"."""
    count = hit.run + 1
    kind = hit.post.media_kind or "media"
    return replace(hit, text=Markup(f"[{count} {escape(kind)}{'s' if kind != 'media' else ' posts'}]"), run=count)


def search_page(request: Request) -> Response:
    state = state_of(request)
    try:
        form = parse_search(request.query_params)
    except FormError as exc:
        return _search_error(request, state, lenient_form(request.query_params), str(exc))
    with state.reading() as reader:
        channels = reader.store.channels()
        languages = _languages(state, reader)
        try:
            if form.channel is not None and form.channel not in {c.id for c in channels}:
                raise FormError(f"channel: there is no channel {form.channel}")
            results = _find(reader, form, state)
            since, until = form.window(state.options.tz)
            count = reader.store.count_matches(
                form.q or None,
                tags=[form.tag] if form.tag else [],
                channel=form.channel,
                since=since,
                until=until,
                lang=form.lang or None,
                cap=COUNT_CAP + 1,
            )
        except (FormError, QueryError) as exc:
            # A QueryError is about what `q` says (the channel parameter was checked above): name it.
            message = f"q: {exc}" if isinstance(exc, QueryError) else str(exc)
            return _search_error(request, state, form, message, channels=channels, languages=languages)
    return state.page(
        "search.html",
        form=form,
        hits=results.hits,
        more=results.more,
        count=count,
        count_cap=COUNT_CAP,
        channels=channels,
        languages=languages,
        page_sizes=PAGE_SIZES,
        folded_depth=MAX_SCANNED_POSTS,
        error=None,
    )


def _languages(state: WebState, reader: Reader) -> list[str]:
    """The languages the archive's posts carry (the filter's choices, not a fixed five): ~100 index
    probes, 8 ms on 100k posts (a probe for "eu" reads the EU topic's rows), so reused like a chart."""
    languages, _ = state.charts.get(("languages",), lambda: reader.browse.languages(LANGUAGE_CODES))
    return list(languages)


def _search_error(
    request: Request,
    state: WebState,
    form: SearchForm,
    message: str,
    *,
    channels: list[ChannelRow] | None = None,
    languages: list[str] | None = None,
) -> Response:
    """A 400 that is still the search page: the message, and the form with what was typed kept."""
    if channels is None or languages is None:
        with state.reading() as reader:
            channels, languages = reader.store.channels(), _languages(state, reader)
    return state.page(
        "search.html",
        status=400,
        form=form,
        hits=[],
        more=False,
        count=None,
        count_cap=COUNT_CAP,
        channels=channels,
        languages=languages,
        page_sizes=PAGE_SIZES,
        folded_depth=MAX_SCANNED_POSTS,
        error=message,
    )


TAGS_LISTED = 200  # hashtags listed on /tags (the most used)


def tags_page(request: Request) -> Response:
    """Every topic with its rule's keywords, the most used hashtags, and what the colours mean.
    Counting reads every tag row, so the lists are reused like a chart (5 minutes)."""
    state = state_of(request)
    with state.reading() as reader:
        store = reader.store

        def count() -> tuple[list[tuple[Tag, int]], list[tuple[Tag, int]]]:
            return (
                store.top_tags(limit=TAGS_LISTED, kinds=("topic",)),
                store.top_tags(limit=TAGS_LISTED, kinds=("hashtag",)),
            )

        (topics, hashtags), age = state.charts.get(("tags",), count)
    counted = {tag.key: n for tag, n in topics}
    rules = state.rules.rules if state.rules is not None else ()
    return state.page(
        "tags.html",
        rules=[(rule, counted.get(rule.tag.key, 0)) for rule in rules],
        topics=topics,
        hashtags=hashtags,
        listed=TAGS_LISTED,
        age_minutes=int(age // 60),
    )


def search_help_page(request: Request) -> Response:
    return state_of(request).page("search_help.html")


def digest_day(post_date: datetime, state: WebState) -> str:
    """The local date of the digest that carries a post: the first firing after it (windows are [start, end))."""
    fired = next_occurrence(state.options.digest_time, state.options.tz, post_date)
    return fired.astimezone(state.options.tz).date().isoformat()


def post_page(request: Request) -> Response:
    state = state_of(request)
    post_id = parse_number(request.path_params["post_id"], "post", "a post number")
    with state.reading() as reader:
        post = reader.store.get_post(post_id)
        if post is None:
            raise HTTPException(404, f"There is no post {post_id} in the archive.")
        raw_text = reader.browse.raw_text(post_id) or ""
        copies = reader.browse.copies(post)
        shown_versions = _versions_page(reader, post_id, request)
        item = DigestItem(tuple(copies) or (post,))
        count = seen_in(item, reader.store)
        previous, following = reader.browse.neighbours(post)
    reasons = explain_topics(post.text, state.rules, post.lang) if state.rules is not None else None
    return state.page(
        "post.html",
        post=post,
        raw_text=raw_text,
        copies=copies,
        seen_in=count,
        original=item.forwarded_from,
        versions=shown_versions,
        paragraphs=[p for p in post.text.split("\n\n") if p.strip()],
        digest_day=digest_day(post.date, state),
        previous=previous,
        following=following,
        reasons=reasons,
        placed_links=Placement(),  # hidden links the paragraphs placed; the rest are listed below them
        # its channel's posts up to its day (local, as the search's dates), newest first: it is near the top
        context=f"/?channel={post.channel_id}&until={post.date.astimezone(state.options.tz).date().isoformat()}",
    )


@dataclass(frozen=True, slots=True)
class VersionsPage:
    """One page of a post's earlier versions, newest first, with what was not kept between them."""

    versions: list[tuple[PostVersion, str]]  # each version, and a note on the versions dropped below it
    page: int
    pages: int
    count: int


def _versions_page(reader: Reader, post_id: int, request: Request) -> VersionsPage:
    """VERSIONS_PER_PAGE at a time (issue #27 item 3: 3,000 versions made a 12.6 MB page)."""
    count = reader.store.version_count(post_id)
    pages = max(1, -(-count // VERSIONS_PER_PAGE))
    page = bounded_int(request.query_params, "versions", 1, 1, pages)
    rows = reader.store.versions_page(post_id, (page - 1) * VERSIONS_PER_PAGE, VERSIONS_PER_PAGE + 1)
    shown = []
    for newer, older in zip(rows[:VERSIONS_PER_PAGE], [*rows[1:], None], strict=False):
        below = older.number if older is not None else 0
        dropped = newer.number - below - 1
        note = ""
        if dropped > 0:
            span = f"version {below + 1}" if dropped == 1 else f"versions {below + 1} to {newer.number - 1}"
            note = f"{span} not kept (the archive keeps a post's first {KEEP_FIRST} and last {KEEP_LAST} versions)"
        shown.append((newer, note))
    return VersionsPage(shown, page, pages, count)


def channels_page(request: Request) -> Response:
    state = state_of(request)
    with state.reading() as reader:
        channels = reader.store.channels()
        counts = reader.browse.posts_per_channel()
        spans = reader.browse.channel_spans()
    return state.page("channels.html", channels=channels, counts=counts, spans=spans)


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
    channel_id = parse_number(request.path_params["channel_id"], "channel", "a channel number")
    with state.reading() as reader:
        channel = next((c for c in reader.store.channels() if c.id == channel_id), None)
        if channel is None:
            raise HTTPException(404, f"There is no channel {channel_id} in the archive.")
        form = _listing(request, channel=channel_id)
        results = _find(reader, form, state)
        archived = reader.browse.count_posts(channel_id=channel_id)
        last = reader.browse.latest(channel_id=channel_id)
        first = reader.browse.earliest(channel_id=channel_id)
        params = dict(request.query_params)
        if not ({"from", "to", "days"} & params.keys()) and first is not None:
            params["from"] = first.astimezone(UTC).date().isoformat()  # its whole history by default
        window = chart_window(params, last_post=last, default_days=CHART_DAYS, max_days=366)
        since, until = window.since, window.until
        browse = reader.browse

        def draw() -> tuple[str, str]:
            return (
                posts_per_day_chart(
                    browse, {channel.id: channel}, since, until, channel_id=channel_id, title="Posts per {unit} (UTC)"
                ),
                top_tags_chart(browse, since, until, channel_id=channel_id),
            )

        (chart, tags_chart), _ = state.charts.get(("channel", channel_id, window.first, window.last), draw)
    return state.page(
        "channel.html",
        channel=channel,
        form=form,
        hits=results.hits,
        more=results.more,
        posts=archived,
        chart=Markup(chart),
        tags_chart=Markup(tags_chart),
        window=window,
        span=(first, last),
    )


def tag_page(request: Request) -> Response:
    state = state_of(request)
    key = check_tag(request.path_params["key"].lstrip("#").casefold())
    if not key:
        raise FormError(f"tag: expected a tag name of 1 to {MAX_TAG_CHARS} characters")
    with state.reading() as reader:
        tag = reader.browse.tag_display(key)
        if tag is None:
            raise HTTPException(404, f"No post has the tag {key!r}.")
        form = _listing(request, tag=key)
        results = _find(reader, form, state)
        archived = reader.browse.count_posts(tag=key)
        channels = {c.id: c for c in reader.store.channels()}
        window = chart_window(
            request.query_params, last_post=reader.browse.latest(tag=key), default_days=CHART_DAYS, max_days=366
        )
        since, until = window.since, window.until
        browse = reader.browse

        def draw() -> str:
            title = f"Posts per {{unit}} with {tag.display.replace('{', '{{').replace('}', '}}')} (UTC)"
            return posts_per_day_chart(browse, channels, since, until, tag=key, title=title)

        chart, _ = state.charts.get(("tag", key, window.first, window.last), draw)
    return state.page(
        "tag.html",
        tag=tag,
        form=form,
        hits=results.hits,
        more=results.more,
        posts=archived,
        chart=Markup(chart),
        window=window,
    )
