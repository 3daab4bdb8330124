"""Hidden links (Telegram's text_link: words that link to a URL) kept visible where an analyst reads.

A post saying "the ministry [confirmed](https://example.org/x)" shows only "confirmed" once its text is
plain; the address behind the word is part of what was said. Sources hand over (words, URL) pairs; this
module keeps the ones worth keeping, finds the words again in the (cleaned) text, and writes the plain
form "confirmed [https://example.org/x]" for outputs without markup (CLI, exports). Which URLs may
become clickable is decided here too (`clickable`), so the web page and any other renderer agree.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterable, Sequence

from bot.models import TextLink

MAX_TEXT_LINKS = 100  # per post; Telegram allows 100 entities of a kind in a message
MAX_URL_CHARS = 2048
MAX_WORDS_CHARS = 500
SHOWN_URL_CHARS = 60  # the address beside the words is cut to this; the link and its title hold it whole
# A link out of archive text: no referrer, no access to the viewer's window, no search-engine credit.
LINK_REL = "noopener nofollow noreferrer"


def keep_text_links(links: Iterable[TextLink], limit: int = MAX_TEXT_LINKS) -> tuple[TextLink, ...]:
    """Each (words, URL) once, stripped; not a visible link (its words are its URL: the text shows it
    already), nor empty words or URL, nor oversize ones (a hostile export's 1 MB "URL")."""
    kept: list[TextLink] = []
    for link in links:
        words, url = " ".join(link.text.split()), link.url.strip()
        if not words or not url or len(url) > MAX_URL_CHARS or len(words) > MAX_WORDS_CHARS:
            continue
        if words == url or words.rstrip("/") == url.rstrip("/"):
            continue
        found = TextLink(words, url, max(0, link.nth))
        if found not in kept:
            kept.append(found)
        if len(kept) >= limit:
            break
    return tuple(kept)


def clickable(url: str) -> bool:
    """Only http(s) links become links; javascript:, data:, tg: and the rest are shown as text."""
    return url.lower().startswith(("https://", "http://")) and not any(c in url for c in "\x00\r\n\t ")


class Placement:
    """Where a post's hidden links went, carried across its lines in reading order: which links are
    placed, and how often each one's words were passed over (its `nth` says which occurrence it is)."""

    def __init__(self) -> None:
        self.used: set[int] = set()
        self.seen: dict[int, int] = {}


def first_line(words: str) -> str:
    """What is looked for: a link over several lines is found by its first (the text is read by line)."""
    return words.split("\n", 1)[0]


def occurrences(text: str, words: str) -> int:
    """How often `words` (their first line) occur in `text`, without overlaps: the importers count the
    text before a link with this, and `spans` passes over as many before placing it."""
    needle = first_line(words)
    return text.count(needle) if needle else 0


def spans(line: str, links: Sequence[TextLink], placed: Placement | None = None) -> list[tuple[str, TextLink | None]]:
    """`line` cut into (piece, the link behind it or None), in order. Each link marks its words' `nth`
    occurrence counted from the post's start (`placed` carries the count across lines), once per post.
    Links whose words are never found are left to `unplaced`."""
    placed = Placement() if placed is None else placed
    found: list[tuple[int, int, int]] = []  # start, end, link index
    for index, link in enumerate(links):
        if index in placed.used:
            continue
        words = first_line(link.text)
        if not words:
            continue
        at = line.find(words)
        while at >= 0:
            seen = placed.seen.get(index, 0)
            if seen >= link.nth:
                break
            placed.seen[index] = seen + 1
            at = line.find(words, at + len(words))
        if at < 0:
            continue
        end = at + len(words)
        placed.used.add(index)
        if not any(at < e and s < end for s, e, _ in found):
            found.append((at, end, index))
    found.sort()
    out: list[tuple[str, TextLink | None]] = []
    cursor = 0
    for start, end, index in found:
        if start > cursor:
            out.append((line[cursor:start], None))
        out.append((line[start:end], links[index]))
        cursor = end
    if cursor < len(line) or not out:
        out.append((line[cursor:], None))
    return out


def unplaced(links: Sequence[TextLink], placed: Placement) -> list[TextLink]:
    """Links whose words the text no longer shows (cleaned away): listed under the post instead."""
    return [link for index, link in enumerate(links) if index not in placed.used]


def with_targets(text: str, links: Sequence[TextLink]) -> str:
    """Plain text with each hidden link's URL beside its words, `words [URL]`; links whose words are
    gone from the text are appended at the end, one per line, so nothing said is lost."""
    if not links:
        return text
    placed = Placement()
    out_lines = []
    for line in text.split("\n"):
        out_lines.append(
            "".join(piece if link is None else f"{piece} [{link.url}]" for piece, link in spans(line, links, placed))
        )
    rest = unplaced(links, placed)
    out = "\n".join(out_lines)
    if rest:
        out += "\n\n" + "\n".join(f"{link.text} [{link.url}]" for link in rest)
    return out


def shown_url(url: str, limit: int = SHOWN_URL_CHARS) -> str:
    """The address as shown beside the words: without `https://`, cut to `limit` with an ellipsis."""
    bare = url.split("://", 1)[1] if url.lower().startswith(("https://", "http://")) else url
    return bare if len(bare) <= limit else bare[: limit - 1] + "…"


def link_html(words: str, link: TextLink) -> str:
    """The words as a link to their hidden address, the address shown beside them; all escaped. An
    address that is not http(s) (javascript:, tg:) is shown as text only, never a link."""
    shown = html.escape(shown_url(link.url))
    if not clickable(link.url):
        return f'{html.escape(words)} <span class="link-target" title="not a web link">[{shown}]</span>'
    url = html.escape(link.url, quote=True)
    return (
        f'<a class="text-link" href="{url}" rel="{LINK_REL}" target="_blank" title="{url}">{html.escape(words)}</a>'
        f' <span class="link-target">[{shown}]</span>'
    )


def line_html(
    line: str, links: Sequence[TextLink], placed: Placement, plain: Callable[[str], str] = html.escape
) -> str:
    """One line of text as HTML: hidden links placed by `link_html`, the rest through `plain` (which
    escapes, and may link plain URLs)."""
    return "".join(
        plain(piece) if link is None else link_html(piece, link) for piece, link in spans(line, links, placed)
    )


def encode_text_links(links: Sequence[TextLink]) -> str | None:
    """The column's value: a JSON list of [words, URL] or [words, URL, nth], NULL for none (most posts)."""
    if not links:
        return None
    return json.dumps([[t.text, t.url, t.nth] if t.nth else [t.text, t.url] for t in links], ensure_ascii=False)


def decode_text_links(value: str | None) -> tuple[TextLink, ...]:
    """The column read back; anything not a list of string pairs (a hand-edited archive) reads as none."""
    if not value:
        return ()
    try:
        data = json.loads(value)
    except ValueError:
        return ()
    if not isinstance(data, list):
        return ()
    return tuple(
        TextLink(item[0], item[1], item[2] if len(item) == 3 else 0)
        for item in data
        if isinstance(item, list)
        and len(item) in (2, 3)
        and isinstance(item[0], str)
        and isinstance(item[1], str)
        and (len(item) == 2 or (isinstance(item[2], int) and not isinstance(item[2], bool) and item[2] >= 0))
    )
