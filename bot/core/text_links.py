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
        found = TextLink(words, url)
        if found not in kept:
            kept.append(found)
        if len(kept) >= limit:
            break
    return tuple(kept)


def clickable(url: str) -> bool:
    """Only http(s) links become links; javascript:, data:, tg: and the rest are shown as text."""
    return url.lower().startswith(("https://", "http://")) and not any(c in url for c in "\x00\r\n\t ")


def spans(line: str, links: Sequence[TextLink], used: set[int] | None = None) -> list[tuple[str, TextLink | None]]:
    """`line` cut into (piece, the link behind it or None), in order. Each link marks the first place
    its words appear (at a word's edges when possible), once per post: `used` carries which links
    were placed across the post's lines. Links whose words are not found are left to `unplaced`."""
    used = set() if used is None else used
    found: list[tuple[int, int, int]] = []  # start, end, link index
    for index, link in enumerate(links):
        if index in used:
            continue
        words = link.text.split("\n")[0]
        at = _find_word(line, words)
        if at < 0:
            continue
        end = at + len(words)
        if any(at < e and s < end for s, e, _ in found):
            continue
        found.append((at, end, index))
        used.add(index)
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


def _find_word(line: str, words: str) -> int:
    """The first place `words` stand as whole words, else the first place at all, else -1."""
    if not words:
        return -1
    start = line.find(words)
    first = start
    while start >= 0:
        before = line[start - 1] if start else " "
        after = line[start + len(words)] if start + len(words) < len(line) else " "
        if not before.isalnum() and not after.isalnum():
            return start
        start = line.find(words, start + 1)
    return first


def unplaced(links: Sequence[TextLink], used: set[int]) -> list[TextLink]:
    """Links whose words the text no longer shows (cleaned away): listed under the post instead."""
    return [link for index, link in enumerate(links) if index not in used]


def with_targets(text: str, links: Sequence[TextLink]) -> str:
    """Plain text with each hidden link's URL beside its words, `words [URL]`; links whose words are
    gone from the text are appended at the end, one per line, so nothing said is lost."""
    if not links:
        return text
    used: set[int] = set()
    out_lines = []
    for line in text.split("\n"):
        out_lines.append(
            "".join(piece if link is None else f"{piece} [{link.url}]" for piece, link in spans(line, links, used))
        )
    rest = unplaced(links, used)
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


def line_html(line: str, links: Sequence[TextLink], used: set[int], plain: Callable[[str], str] = html.escape) -> str:
    """One line of text as HTML: hidden links placed by `link_html`, the rest through `plain` (which
    escapes, and may link plain URLs)."""
    return "".join(plain(piece) if link is None else link_html(piece, link) for piece, link in spans(line, links, used))


def encode_text_links(links: Sequence[TextLink]) -> str | None:
    """The column's value: a JSON list of [words, URL] pairs, NULL for none (most posts)."""
    return json.dumps([[link.text, link.url] for link in links], ensure_ascii=False) if links else None


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
        TextLink(pair[0], pair[1])
        for pair in data
        if isinstance(pair, list) and len(pair) == 2 and all(isinstance(v, str) for v in pair)
    )
