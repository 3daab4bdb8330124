"""Templates and the few filters that turn archive text into HTML, escaping as they go.

Jinja autoescaping is on for every template, so `{{ post.text }}` is always escaped. The filters here
are the only places that build markup themselves, and each escapes the archive's text before adding
its own tags: `marked` (search highlights), `external` (links out only for http(s) URLs), `lines`
(a block per line with its own direction, plain URLs as links).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from bot.core.digest_render import post_line, snippet
from bot.core.text_links import Placement, line_html, link_html, unplaced
from bot.models import TextLink
from storage.browse import MARK_CLOSE, MARK_OPEN

TEMPLATES = Path(__file__).parent / "templates"
PARAGRAPH_CHARS = 600
APPROX_NOTE = (
    "imported from an export whose times have no UTC offset: the exporter's local clock, taken as UTC "
    "(import it again with --tz ZONE to place them)"
)  # a hit shows its matching paragraph, cut around the first match beyond this


def marked(text: str) -> Markup:
    """Text with MARK_OPEN/MARK_CLOSE pairs as `<mark>`; the rest escaped, every `<mark>` closed."""
    out: list[str] = []
    inside = False
    chunk: list[str] = []
    for char in text:
        if char in (MARK_OPEN, MARK_CLOSE):
            out.append(str(escape("".join(chunk))))
            chunk = []
            if char == MARK_OPEN and not inside:
                out.append("<mark>")
                inside = True
            elif char == MARK_CLOSE and inside:
                out.append("</mark>")
                inside = False
        else:
            chunk.append(char)
    out.append(str(escape("".join(chunk))))
    if inside:
        out.append("</mark>")
    return Markup("".join(out))


def matching_paragraph(highlighted: str, limit: int = PARAGRAPH_CHARS) -> str:
    """The first paragraph holding a match (else the first), cut to about `limit` around the match."""
    paragraphs = [p for p in highlighted.split("\n\n") if p.strip()]
    if not paragraphs:
        return ""
    chosen = next((p for p in paragraphs if MARK_OPEN in p), paragraphs[0])
    if len(chosen) <= limit:
        return chosen
    at = max(0, chosen.find(MARK_OPEN))
    start = max(0, at - limit // 3)
    if start:
        start = chosen.find(" ", start) + 1 or start
    end = start + limit
    if end >= len(chosen):
        end = len(chosen)
    elif (space := chosen.rfind(" ", at + 1, end)) > at:
        end = space  # cut at a word, after the match
    return ("…" if start else "") + chosen[start:end] + ("…" if end < len(chosen) else "")


_URL = re.compile(r"https?://[^\s<>\"'«»“”]+", re.IGNORECASE)
_URL_TAIL = ".,;:!?)]}…"  # sentence punctuation after a URL is not part of it (a balanced ")" is)


def _linked(line: str) -> str:
    """One line escaped, its plain http(s) URLs as links (the text shown is the URL as written)."""
    out: list[str] = []
    at = 0
    for found in _URL.finditer(line):
        url = found.group(0)
        while url and url[-1] in _URL_TAIL and not (url[-1] == ")" and url.count("(") >= url.count(")")):
            url = url[:-1]
        out.append(str(escape(line[at : found.start()])))
        out.append(f'<a href="{escape(url)}" rel="noreferrer">{escape(url)}</a>')
        at = found.start() + len(url)
    out.append(str(escape(line[at:])))
    return "".join(out)


def lines(text: str | None, links: Sequence[TextLink] = (), placed: Placement | None = None) -> Markup:
    """Each line of archive text its own block with `dir="auto"`: its direction from its own first
    strong letter, so an English list under an Arabic line stays left-to-right (and the other way
    round), punctuation on the right side. Plain URLs become links; hidden links (`links`: words over
    an address) keep their words, linked, with the address beside them (bot/core/text_links.py);
    `placed` carries where they went across a post's paragraphs. Everything else is escaped."""
    placed = Placement() if placed is None else placed
    return Markup(
        "".join(
            f'<span class="line" dir="auto">{line_html(line, links, placed, _linked)}</span>'
            for line in (text or "").split("\n")
        )
    )


def external(url: str | None) -> str | None:
    """A link out only for http(s) URLs; anything else (javascript:, data:) is not a link."""
    if url and url.lower().startswith(("https://", "http://")):
        return url
    return None


def make_environment(tz: tzinfo) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )

    def when(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        return value.astimezone(tz).strftime(fmt) if value else ""

    def at(value: datetime | None) -> Markup:
        """A time in TZ with its zone beside it, UTC in its title (hover) and in `datetime`."""
        if value is None:
            return Markup("")
        local, utc = value.astimezone(tz), value.astimezone(UTC)
        zone = local.strftime("%Z") or getattr(tz, "key", "")
        return Markup('<time datetime="{}" title="{} UTC">{} {}</time>').format(
            utc.strftime("%Y-%m-%dT%H:%M:%SZ"), utc.strftime("%Y-%m-%d %H:%M"), local.strftime("%Y-%m-%d %H:%M"), zone
        )

    env.filters.update(
        marked=marked, when=when, external=external, snippet=snippet, lines=lines, at=at, post_line=post_line
    )
    env.filters["unplaced"] = unplaced
    env.filters["text_link"] = lambda link: Markup(link_html(link.text, link))
    env.globals["approx_note"] = APPROX_NOTE
    env.globals["tz_name"] = getattr(tz, "key", None) or str(tz)
    return env


def render_page(env: Environment, name: str, **context: Any) -> str:
    return env.get_template(name).render(**context)
