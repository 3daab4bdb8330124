"""Rendering a digest: one line per item, sections with headings, the header, Telegram HTML split under the
limit, plain text for the terminal, and JSON. Pure, like building it (bot/core/digest.py).
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, tzinfo

from bot.core.articles import display_title
from bot.core.digest import AmplificationSection, Digest, DigestItem, MediaRun
from bot.core.sentences import LEAD_CHARS, lead
from bot.core.spread import humanize
from bot.core.telegram_text import isolate, split_messages, strip_bidi
from bot.models import LinkedArticle, StoredPost, Tag

SNIPPET_CHARS = LEAD_CHARS
SUMMARY_SECTIONS = 12  # sections named in the header line, biggest first
LABEL_CHARS = 64  # tag and channel names in headings and lines; see _short
_MEDIA_NAMES = {
    "photo": ("photo", "photos"),
    "video": ("video", "videos"),
    "album": ("album", "albums"),
    "document": ("file", "files"),
    "audio": ("audio file", "audio files"),
    "voice": ("voice message", "voice messages"),
    "round": ("video message", "video messages"),
    "sticker": ("sticker", "stickers"),
    "gif": ("GIF", "GIFs"),
    "webpage": ("link", "links"),
    "poll": ("poll", "polls"),
}


def plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def media_count(posts: Sequence[StoredPost]) -> str:
    """ "3 photos", "2 photos and 1 video", "4 posts" (the kinds when there are at most two)."""
    kinds = Counter(p.media_kind or "" for p in posts)
    if len(kinds) > 2 or "" in kinds:
        return plural(len(posts), "post")
    parts = [
        plural(n, *_MEDIA_NAMES.get(kind, (f"{kind} post", f"{kind} posts")))
        for kind, n in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    return " and ".join(parts)


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """The lead of a post (bot/core/sentences.py): its first informative sentence or two, capped."""
    return strip_bidi(lead(text, limit))


def post_line(post: StoredPost, limit: int = SNIPPET_CHARS) -> str:
    """What a listing shows of a post: its lead; else its text as it is ("👍", "??": a reaction is what
    was said, not "[media]"), after "[photo]" for a media post; "[media]" only for no text and no kind."""
    shown = snippet(post.text, limit)
    if shown:
        return shown
    plain = strip_bidi(" ".join(post.text.split()))
    plain = plain if len(plain) <= limit else plain[: limit - 1] + "…"
    if post.media_kind:
        return f"[{post.media_kind}] {plain}".rstrip()
    return plain or "[media]"


def _short(label: str, limit: int = LABEL_CHARS) -> str:
    """Names come from posts and exports: a 3,000-letter hashtag is legal in Telegram, and twelve of them
    in the header would make a digest no message can carry, so headings show a bounded prefix."""
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _tag_label(tag: Tag | None) -> str:
    if tag is None:
        return "Other"
    return _short(tag.display)


def _when(value: datetime, tz: tzinfo, year: bool = False) -> str:
    return value.astimezone(tz).strftime("%d %b %Y %H:%M" if year else "%d %b %H:%M")


def _label(post: StoredPost) -> str:
    return _short(strip_bidi(post.channel_label))


MAX_HREF = 600  # a longer article URL is left out of the line: items must stay far below Telegram's limit


def _article_title(item: DigestItem) -> tuple[str, str | None] | None:
    """The title shown beside an item (bounded, like every piece of an item) and where it links."""
    article = item.article
    title = display_title(strip_bidi(article.title or "")) if article is not None else None
    if article is None or not title:
        return None
    href = article.final_url or article.url
    return title, href if len(href) <= MAX_HREF else None


def change_mark(item: DigestItem, tz: tzinfo) -> str | None:
    """ "deleted", "edited 14:05" (with the day when it is not the post's): what an item's line ends with."""
    if item.deleted:
        return "deleted"
    if item.edited_at is None:
        return None
    edited, posted = item.edited_at.astimezone(tz), item.first.date.astimezone(tz)
    return f"edited {edited:%H:%M}" if edited.date() == posted.date() else f"edited {edited:%d %b %H:%M}"


def _item_text(item: DigestItem) -> str:
    post = item.first
    text = isolate(post_line(post))
    if item.media:
        text += f" (+ {media_count(item.media)})"
    return text


def carried_text(carried: tuple[int, int]) -> str:
    """ "carried by 4 channels within 2 h 10 min" (the channels besides the first one to post it)."""
    channels, seconds = carried
    return f"carried by {plural(channels, 'channel')} within {humanize(seconds)}"


AMPLIFICATION_LINES = 5


def amplification_lines(section: AmplificationSection, tz: tzinfo, *, rich: bool) -> list[str]:
    """The weekly section: the top amplifiers, then the unmonitored sources they forward most."""
    esc: Callable[[str], str] = html.escape if rich else str
    span = f"{section.start.astimezone(tz):%d %b} – {(section.end - timedelta(seconds=1)).astimezone(tz):%d %b}"
    heading = f"Amplification, {span}"
    lines = [f"<b>{esc(heading)}</b>" if rich else heading]
    if not section.amplifiers:
        lines.append("No channel carried another channel's statement.")
    for a in section.amplifiers[:AMPLIFICATION_LINES]:
        delay = f", median {humanize(a.median_delay_seconds)}" if a.median_delay_seconds is not None else ""
        carried = plural(a.statements, "statement")
        lines.append(esc(f"{_short(a.channel)}: {carried} of other channels, first on {a.first}{delay}"))
    if section.sources:
        named = ", ".join(f"{_short(name)} ({n})" for name, n in section.sources[:AMPLIFICATION_LINES])
        lines.append(esc(f"Forwarded from unmonitored sources: {named}"))
    return lines


def render_item_html(item: DigestItem, tz: tzinfo, *, year: bool = False) -> str:
    post = item.first
    esc = html.escape
    line = f"• <i>{esc(_when(post.date, tz, year))}</i> · {esc(isolate(_label(post)))} — {esc(_item_text(item))}"
    titled = _article_title(item)
    if titled is not None and titled[1] is not None:
        line += f' · 📄 <a href="{esc(titled[1], quote=True)}">{esc(isolate(titled[0]))}</a>'
    elif titled is not None:
        line += f" · 📄 {esc(isolate(titled[0]))}"
    link = item.link
    if link:
        line += f' <a href="{esc(link, quote=True)}">open</a>'
    if item.seen_in > 1:
        line += f" · seen in {item.seen_in} channels"
    if item.carried:
        line += f" · {esc(carried_text(item.carried))}"
    mark = change_mark(item, tz)
    if mark:
        line += f" · <i>{esc(mark)}</i>"
    return line


def render_item_text(item: DigestItem, tz: tzinfo, *, year: bool = False) -> str:
    post = item.first
    line = f"- {_when(post.date, tz, year)} {isolate(_label(post))}: {_item_text(item)}"
    titled = _article_title(item)
    if titled is not None:
        line += f" [article: {isolate(titled[0])}]"
    if item.link:
        line += f" <{item.link}>"
    if item.seen_in > 1:
        line += f" (seen in {item.seen_in} channels"
        line += f", {carried_text(item.carried)})" if item.carried else ")"
    mark = change_mark(item, tz)
    if mark:
        line += f" ({mark})"
    return line


def _media_span(run: MediaRun, tz: tzinfo, year: bool) -> str:
    first, last = run.first.date, run.posts[-1].date
    span = _when(first, tz, year)
    if last != first:
        same_day = first.astimezone(tz).date() == last.astimezone(tz).date()
        span += "–" + (f"{last.astimezone(tz):%H:%M}" if same_day else _when(last, tz, year))
    return span


def render_media_html(run: MediaRun, tz: tzinfo, *, year: bool = False) -> str:
    esc = html.escape
    line = f"+ {esc(media_count(run.posts))} from {esc(_label(run.first))}, <i>{esc(_media_span(run, tz, year))}</i>"
    if run.first.url:
        line += f' <a href="{esc(run.first.url, quote=True)}">open</a>'
    return line


def render_media_text(run: MediaRun, tz: tzinfo, *, year: bool = False) -> str:
    line = f"+ {media_count(run.posts)} from {_label(run.first)}, {_media_span(run, tz, year)}"
    return line + (f" <{run.first.url}>" if run.first.url else "")


MEDIA_HEADING = "Without text"


def _header(digest: Digest, tz: tzinfo, *, rich: bool) -> list[str]:
    esc: Callable[[str], str] = html.escape if rich else str
    window = f"{digest.start.astimezone(tz):%Y-%m-%d %H:%M} → {digest.end.astimezone(tz):%Y-%m-%d %H:%M}"
    zone = getattr(tz, "key", None) or str(tz)
    title = f"{_short(digest.title, 4 * LABEL_CHARS)} {window} ({zone})"
    lines = [f"<b>{esc(title)}</b>" if rich else title]
    if digest.empty:
        lines.append("Nothing new in this window.")
        return lines
    summary = f"{plural(digest.item_count, 'item')} from {plural(digest.post_count, 'post')}"
    # The sections as listed below, with the same counts: the header is their table of contents.
    named = [f"{_tag_label(s.tag)} {len(s.items)}" for s in digest.sections[:SUMMARY_SECTIONS]]
    if len(digest.sections) > SUMMARY_SECTIONS:
        named.append("…")
    lines.append(esc(" · ".join([summary, *named])))
    return lines


# Items listed per section: a busy day's "Other" of 261 items would fill twelve messages nobody reads
# to the end; past this many, one line says how many more there are (and, given a link, where).
SECTION_ITEMS = 15
MoreLink = Callable[[Tag | None], str | None]


def more_line(hidden: int) -> str:
    return f"… and {hidden} more"


def render_html(
    digest: Digest, tz: tzinfo, *, per_section: int | None = SECTION_ITEMS, more_link: MoreLink | None = None
) -> list[str]:
    """Telegram HTML messages, each under the limit, split only between items; at most `per_section`
    items a section (None: all), then "… and N more", a link when `more_link` gives one."""
    year = digest.spans_years(tz)
    blocks: list[tuple[str | None, str]] = []  # (section heading, item line)
    for section in digest.sections:
        heading = f"<b>{html.escape(_tag_label(section.tag))}</b> ({len(section.items)})"
        shown = section.items if per_section is None else section.items[:per_section]
        blocks.extend((heading, render_item_html(item, tz, year=year)) for item in shown)
        if len(shown) < len(section.items):
            more = more_line(len(section.items) - len(shown))
            href = more_link(section.tag) if more_link else None
            blocks.append(
                (heading, f'<a href="{html.escape(href, quote=True)}">{more}</a>' if href else html.escape(more))
            )
    blocks.extend((f"<b>{MEDIA_HEADING}</b>", render_media_html(run, tz, year=year)) for run in digest.media)
    if digest.amplification is not None:
        heading, *lines = amplification_lines(digest.amplification, tz, rich=True)
        blocks.extend((heading, line) for line in lines)
    return split_messages("\n".join(_header(digest, tz, rich=True)), blocks)


def digest_messages(
    digest: Digest,
    tz: tzinfo,
    *,
    empty: str = "notice",
    per_section: int | None = SECTION_ITEMS,
    more_link: MoreLink | None = None,
) -> list[str]:
    """The Telegram messages for one window: none for an empty window when DIGEST_EMPTY=skip."""
    if digest.empty and empty == "skip":
        return []
    return render_html(digest, tz, per_section=per_section, more_link=more_link)


def render_text(digest: Digest, tz: tzinfo, *, per_section: int | None = SECTION_ITEMS) -> str:
    year = digest.spans_years(tz)
    lines = _header(digest, tz, rich=False)
    for section in digest.sections:
        lines += ["", f"{_tag_label(section.tag)} ({len(section.items)})"]
        shown = section.items if per_section is None else section.items[:per_section]
        lines += [render_item_text(item, tz, year=year) for item in shown]
        if len(shown) < len(section.items):
            lines.append(more_line(len(section.items) - len(shown)))
    if digest.media:
        lines += ["", MEDIA_HEADING]
        lines += [render_media_text(run, tz, year=year) for run in digest.media]
    if digest.amplification is not None:
        lines += ["", *amplification_lines(digest.amplification, tz, rich=False)]
    return "\n".join(lines)


def digest_json(digest: Digest) -> dict[str, object]:
    return {
        "start": digest.start.isoformat(),
        "end": digest.end.isoformat(),
        "posts": digest.post_count,
        "items": digest.item_count,
        "tag_counts": [[t.display, n] for t, n in digest.tag_counts],
        "sections": [
            {
                "tag": _tag_label(section.tag),
                "items": [
                    {
                        "date": item.first.date.isoformat(),
                        "channel": item.first.channel_label,
                        "text": snippet(item.first.text),
                        "link": item.link,
                        "seen_in": item.channels,
                        "carried_by": item.carried[0] if item.carried else 0,
                        "carried_within_seconds": item.carried[1] if item.carried else None,
                        "post_ids": [p.id for p in item.posts],
                        "media_post_ids": [p.id for p in item.media],
                        "tags": [t.display for t in item.tags],
                        "article": article_json(item.article) if item.article else None,
                        "edited_at": item.edited_at.isoformat() if item.edited_at else None,
                        "deleted": item.deleted,
                    }
                    for item in section.items
                ],
            }
            for section in digest.sections
        ],
        "amplification": _amplification_json(digest.amplification) if digest.amplification else None,
        "without_text": [
            {
                "channel": run.first.channel_label,
                "count": media_count(run.posts),
                "first": run.first.date.isoformat(),
                "last": run.posts[-1].date.isoformat(),
                "link": run.first.url,
                "post_ids": [p.id for p in run.posts],
            }
            for run in digest.media
        ],
    }


def _amplification_json(section: AmplificationSection) -> dict[str, object]:
    return {
        "start": section.start.isoformat(),
        "end": section.end.isoformat(),
        "amplifiers": [
            {
                "channel": a.channel,
                "statements": a.statements,
                "first": a.first,
                "median_delay_seconds": a.median_delay_seconds,
            }
            for a in section.amplifiers
        ],
        "sources": [{"name": name, "channels": n} for name, n in section.sources],
    }


def article_json(article: LinkedArticle) -> dict[str, object]:
    return {
        "id": article.id,
        "title": article.title,
        "url": article.url,
        "final_url": article.final_url,
        "status": article.status,
        "lang": article.lang,
    }
