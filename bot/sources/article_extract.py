"""HTML page -> main text and metadata, with trafilatura: the only module that knows its API.

Settings lean to precision (`favor_precision`, no comments): a linked statement archived with a
cookie banner or a "read also" list in it is worse than one missing a caption. Tables are kept
(treaty texts and voting results live in them). Measured on the extraction dev set by
`bench/articles.py`. CPU-bound (~25 ms a page, more for huge ones): the worker runs it in a thread.

A linked page is a stranger's HTML, and parsers are quadratic in nesting (160k nested `<div>`s cost
lexbor 77 s in the title fallback, and the 5 MB cap allowed hours): every page is measured first by
the shared guard (bot/core/html_shape.py) and refused with HtmlRefused past PAGE_LIMITS, before
trafilatura (lxml) or lexbor ever see it.
"""

from __future__ import annotations

import codecs
import contextlib
import logging
import re

import trafilatura
from selectolax.lexbor import LexborHTMLParser
from trafilatura.settings import use_config
from trafilatura.utils import decode_file

from bot.core.articles import ExtractedPage
from bot.core.html_shape import HtmlLimits, check_html

_HTML_LANG = re.compile(rb"<html\b[^>]*?\blang\s*=\s*[\"']?([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]+)?)", re.IGNORECASE)
MAX_TREE_SIZE = 200_000  # elements; a page beyond this is a generated monster, not an article
# Real article pages nest 15-60 deep with at most ~50k elements (bench/README.md); 0.35 s of lexbor.
PAGE_LIMITS = HtmlLimits(
    max_chars=64 * 1024 * 1024, max_depth=1_000, max_elements=MAX_TREE_SIZE, max_cost=50_000_000, max_seconds=3.0
)
_CONFIG = use_config()
_CONFIG.set("DEFAULT", "MAX_TREE_SIZE", str(MAX_TREE_SIZE))

# trafilatura logs each page it finds nothing in at WARNING ("discarding data"); that is our
# outcome to report (the article's status), not a library warning for the service's log.
logging.getLogger("trafilatura").setLevel(logging.ERROR)


def extract_page(body: bytes, url: str, charset: str | None = None) -> ExtractedPage | None:
    """None when the page has no main text trafilatura can find (a video page, a JS-only app).
    Raises HtmlRefused (bot/core/html_shape.py) for a page no parser should be given."""
    html: str | None = None
    if charset:
        with contextlib.suppress(LookupError):  # an unknown charset name: sniffed below
            html = body.decode(codecs.lookup(charset).name, errors="replace")
    if html is None:
        # Decoded here the way trafilatura would (a BOM, a sniffed charset, and a body that is itself
        # gzip: decompressed up to its MAX_FILE_SIZE), so the guard measures the very text the parsers
        # get: given the bytes, trafilatura would inflate a gzipped bomb the guard never saw.
        html = decode_file(body)
    check_html(html, PAGE_LIMITS)
    document = trafilatura.bare_extraction(
        html,
        url=url,
        favor_precision=True,
        include_comments=False,
        include_tables=True,
        include_images=False,
        with_metadata=True,
        config=_CONFIG,
    )
    if isinstance(document, dict):  # only with as_dict=True, which is not asked for
        raise TypeError("trafilatura returned a dict")
    if document is None or not (document.text or "").strip():
        title = (document.title if document is not None else None) or _page_title(html)
        return ExtractedPage(text="", title=title) if title else None
    return ExtractedPage(
        text=document.text or "",
        title=document.title or None,
        author=document.author or None,
        published=document.date or None,
        sitename=document.sitename or None,
        lang=document.language or _declared_lang(body),
        canonical_url=document.url if document.url and document.url != url else None,
    )


def _page_title(html: str) -> str | None:
    """og:title or <title>: a page with no readable text can still be named beside its post."""
    tree = LexborHTMLParser(html)
    meta = tree.css_first('meta[property="og:title"]')
    node = tree.css_first("title")
    title = (meta.attributes.get("content") if meta is not None else None) or (
        node.text(deep=True) if node is not None else None
    )
    title = " ".join((title or "").split())
    return title or None


def _declared_lang(body: bytes) -> str | None:
    match = _HTML_LANG.search(body[:8192])
    return match.group(1).decode("ascii") if match else None
