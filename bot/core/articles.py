"""Linked articles: what a fetch outcome means for the queue, and what of a page is kept. Pure.

The fetcher (bot/sources/article_fetcher.py) reports what happened on the wire; the extractor
(bot/sources/article_extract.py) what the page says. This module decides the rest, so the rules are
in one place and testable without a network: which failures are worth another try and when, which
canonical URL a page may claim, and which part of an article tags a post.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from bot.core.links import canonical_url, url_host
from bot.models import ArticleStatus, Tag

# Attempts before a link that keeps failing is given up (`tgmonitor articles fetch --retry-failed`
# puts it back). Delays grow so a site that is down for an afternoon is still archived the same day.
MAX_ATTEMPTS = 5
RETRY_DELAYS = (300.0, 900.0, 2700.0, 8100.0)  # seconds after attempt 1, 2, 3, 4
MAX_RETRY_AFTER = 86_400.0  # a server's Retry-After is obeyed up to a day
# Topics of an article come from its title and lead: a long statement names a dozen countries in
# passing, and tagging (and alerting on) every one of them would bury what it is about.
LEAD_CHARS = 1000
MIN_TEXT_CHARS = 80  # less than this is a teaser or a cookie wall, not an article

FetchKind = Literal[
    "ok",  # a page came back (body to extract)
    "not_modified",  # 304 to a conditional request: what is stored is current
    "gone",  # 404 / 410
    "http_error",  # another 4xx, or a status with no meaning here
    "server_error",  # 5xx
    "rate_limited",  # 429
    "timeout",  # connect/read timeout or the total deadline
    "network",  # connection refused, reset, DNS failure
    "not_html",  # a PDF, an image, JSON...
    "too_large",  # over ARTICLE_MAX_MB, compressed or not
    "redirects",  # too many redirects, a loop, or a redirect to a non-web URL
    "refused",  # a private, loopback, link-local or reserved address
    "robots",  # robots.txt disallows it
    "policy",  # ARTICLE_DOMAINS / ARTICLE_SKIP_DOMAINS say no
    "bad_encoding",  # a Content-Encoding that was not asked for, or a corrupt stream
]
_RETRYABLE: frozenset[str] = frozenset({"server_error", "rate_limited", "timeout", "network"})
_POLICY: frozenset[str] = frozenset({"refused", "robots", "policy"})


@dataclass(frozen=True, slots=True)
class Verdict:
    status: ArticleStatus
    next_try_in: float | None  # seconds from now; None: not tried again by itself


def verdict(kind: FetchKind, attempts: int, retry_after: float | None = None) -> Verdict:
    """Where a link goes after an attempt that did not yield an article (`attempts` counts this one).

    Transient failures are retried with growing delays, a server's Retry-After winning when longer;
    settings and robots.txt refusals are `skipped`, looked at again when the worker next starts
    (settings may have changed); everything else is `failed` for good.
    """
    if kind in _POLICY:
        return Verdict("skipped", None)
    if kind in _RETRYABLE and attempts < MAX_ATTEMPTS:
        delay = RETRY_DELAYS[min(attempts, len(RETRY_DELAYS)) - 1]
        if retry_after is not None:
            delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
        return Verdict("retry", delay)
    return Verdict("failed", None)


@dataclass(frozen=True, slots=True)
class ExtractedPage:
    """What an extractor read from one HTML page; text paragraphs are separated by newlines."""

    text: str
    title: str | None = None
    author: str | None = None
    published: str | None = None
    sitename: str | None = None
    lang: str | None = None  # as the page declares it
    canonical_url: str | None = None  # as the page declares it (link rel=canonical, og:url)


@dataclass(frozen=True, slots=True)
class ArticleContent:
    """An article as the archive keeps it: clean text, language, topics, fingerprint."""

    text: str
    title: str | None
    author: str | None
    published: str | None
    sitename: str | None
    lang: str | None
    tags: tuple[Tag, ...]
    content_hash: str
    canonical_url: str | None


def lead(title: str | None, text: str, chars: int = LEAD_CHARS) -> str:
    """Title and the first paragraphs up to about `chars`: what the article is about."""
    kept: list[str] = [title] if title else []
    size = 0
    for paragraph in text.split("\n\n"):
        if size >= chars:
            break
        kept.append(paragraph)
        size += len(paragraph)
    return "\n\n".join(kept)


def trusted_canonical(declared: str | None, final_url: str) -> str:
    """The page's own canonical URL when it is believable, else where the fetch ended.

    Sites get this wrong in both directions (every page naming the front page, a staging host), so
    a declared URL counts only on the same site as the page and with a real path; it is then what
    lets two different links to one article be stored once.
    """
    final = canonical_url(final_url) or final_url
    claimed = canonical_url(declared) if declared else None
    if claimed is None:
        return final
    same_site = _site(url_host(claimed)) == _site(url_host(final))
    has_path = urlsplit(claimed).path not in ("", "/")
    return claimed if same_site and has_path else final


def _site(host: str) -> str:
    """The last two labels: near enough to "the same site" for checking a canonical link."""
    return ".".join(host.split(".")[-2:])


def display_title(title: str | None, limit: int = 120) -> str | None:
    """A title for one line of a digest or a list: single-spaced and bounded."""
    if not title:
        return None
    title = " ".join(title.split())
    return title if len(title) <= limit else title[: limit - 1].rstrip() + "…"
