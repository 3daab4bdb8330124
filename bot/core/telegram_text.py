"""Telegram message text: its limit in UTF-16 units, splitting at block boundaries, and direction controls.

Shared by digests, alerts and bot replies, so every message tgmonitor sends is measured and cut the
same way.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

TELEGRAM_LIMIT = 4096


# Explicit embeddings, overrides and isolates: one post's U+202E must not reverse the rest of the
# line (channel name, link). Plain direction marks (LRM/RLM) are harmless and kept.
# A regex rather than str.translate: translate looks every character up in a dict, 10x slower on the
# Cyrillic posts of a 2,000-post digest (140 ms of it), while re skips to the rare hits in C.
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def strip_bidi(text: str) -> str:
    return _BIDI_CONTROLS.sub("", text)


# Letters written right to left (Hebrew, Arabic, Syriac, Thaana, N'Ko …, their presentation forms).
_RTL = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc\U00010800-\U00010fff\U0001e800-\U0001efff]")
FSI, PDI = "\u2068", "\u2069"


def isolate(text: str) -> str:
    """Archive text inside a line of ours, as its own direction run: the plain-text twin of an inline
    `dir="auto"`. An Arabic snippet after "• 12:00 · Channel —" then neither pulls the channel name,
    the dashes and "seen in 2 channels" into its right-to-left run nor flips its own punctuation.
    Overrides and isolates already in the text are removed first (`strip_bidi`), so ours are
    balanced. Text with no right-to-left letter needs none and is returned as it was."""
    text = strip_bidi(text)
    return f"{FSI}{text}{PDI}" if _RTL.search(text) else text


_ISOLATED = re.compile(f"{FSI}[^{FSI}{PDI}\u202a-\u202e\u2066\u2067]*{PDI}")
_PLACEHOLDER = "\x00"


def strip_bidi_keep_isolates(text: str) -> str:
    """`strip_bidi` for a whole message that may hold our own isolates (`isolate`): balanced FSI…PDI
    pairs with no control inside are kept, every other direction control goes."""
    kept: list[str] = []

    def hold(match: re.Match[str]) -> str:
        kept.append(match.group(0))
        return _PLACEHOLDER

    if _PLACEHOLDER in text:
        return strip_bidi(text)
    held = _ISOLATED.sub(hold, text)
    stripped = strip_bidi(held)
    pieces = iter(kept)
    return re.sub(_PLACEHOLDER, lambda _m: next(pieces), stripped)


def utf16_len(text: str) -> int:
    """Telegram measures messages in UTF-16 code units: an emoji counts twice."""
    return len(text.encode("utf-16-le")) // 2


def split_messages(header: str, blocks: Sequence[tuple[str | None, str]], limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Pack (heading, line) blocks into messages; a heading is repeated where a section continues.

    Splitting happens between blocks, so it never breaks a tag or an entity. Digest items are bounded
    by the snippet length, but a command's block may hold anything a channel wrote (a 4,096-character
    hashtag): a block or heading that cannot fit alone is flattened to plain text and shortened
    (`fit_html`), so no message is ever empty or over `limit`. The limit is applied to the HTML source,
    which is never shorter than the text Telegram counts after parsing.
    """
    messages: list[str] = []
    header = fit_html(header, limit)
    current = header
    current_heading: str | None = None
    for heading, line in blocks:
        heading = fit_html(heading, limit // 4) if heading is not None else None
        line = fit_html(line, limit - (utf16_len(heading) + 12 if heading is not None else 0))
        addition = ""
        if heading != current_heading:
            addition += f"\n\n{heading}"
        addition += f"\n{line}"
        if utf16_len(current) + utf16_len(addition) > limit:
            if current.strip():
                messages.append(current)
            if heading is None:
                current = line
            elif heading == current_heading:
                current = f"{heading} (cont.)\n{line}"
            else:
                current = f"{heading}\n{line}"
        else:
            current += addition
        current_heading = heading
    messages.append(current)
    return [m.strip("\n") for m in messages if m.strip()]


_TAG = re.compile(r"<[^>]*>")


def fit_html(fragment: str, limit: int) -> str:
    """`fragment` if it fits in `limit` UTF-16 units; else its text without markup, shortened with "…".

    Cutting HTML could leave a tag or an entity open (Telegram then refuses the whole message), so an
    oversized fragment loses its formatting instead.
    """
    if utf16_len(fragment) <= limit:
        return fragment
    text = html.unescape(_TAG.sub("", fragment))
    budget = max(1, limit - 1)
    while budget > 0:
        shortened = html.escape(text[:budget].rstrip()) + "…"
        if utf16_len(shortened) <= limit:
            return shortened
        budget = budget * 9 // 10 if budget > 10 else budget - 1
    return "…"
