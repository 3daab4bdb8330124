"""Which links of a post point to an article worth archiving, and each link's one canonical form.

Pure. A post's links come from the source (link preview, hidden `text_link` URLs, visible URLs) and
from its text; the same page reached through `?utm_source=telegram`, a `#fragment`, an upper-case
host or a default port must be one queue entry and one archived article, so every link is put in a
canonical form before anything compares or stores it. Links that cannot be articles are left out
here, before anything is queued: Telegram's own links, photo/video/document files, site front pages
(a channel's "our website" link is not a statement), social-media and video hosts that serve no
readable page without JavaScript.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from urllib.parse import quote, urlsplit, urlunsplit

MAX_LINKS_PER_POST = 3

# Hosts (and their subdomains) whose pages are not articles; ARTICLE_SKIP_DOMAINS adds to this at fetch time.
NON_ARTICLE_HOSTS = frozenset(
    {
        "t.me",
        "telegram.me",
        "telegram.dog",
        "telegram.org",
        "youtube.com",
        "youtu.be",
        "tiktok.com",
        "instagram.com",
        "twitter.com",
        "x.com",
        "facebook.com",
        "fb.com",
    }
)
# Files rather than pages, by the path's extension.
MEDIA_EXTENSIONS = frozenset(
    {
        "jpg",
        "jpeg",
        "png",
        "gif",
        "webp",
        "svg",
        "bmp",
        "tif",
        "tiff",
        "heic",
        "avif",
        "ico",
        "mp4",
        "m4v",
        "mov",
        "avi",
        "mkv",
        "webm",
        "mpg",
        "mpeg",
        "3gp",
        "flv",
        "mp3",
        "m4a",
        "ogg",
        "oga",
        "opus",
        "wav",
        "flac",
        "aac",
        "pdf",
        "doc",
        "docx",
        "xls",
        "xlsx",
        "ppt",
        "pptx",
        "odt",
        "ods",
        "rtf",
        "csv",
        "zip",
        "rar",
        "7z",
        "gz",
        "tgz",
        "tar",
        "bz2",
        "xz",
        "apk",
        "exe",
        "dmg",
        "iso",
        "epub",
    }
)
# Query parameters that only say who shared the link; dropping them never changes the page.
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "yclid",
        "ysclid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "ref_src",
        "ref_url",
        "cmpid",
        "spm",
        "s_cid",
        "at_medium",
        "at_campaign",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "rb_clickid",
        "__twitter_impression",
    }
)
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_")

# A URL in running text: with a scheme, or starting with www. Stops at whitespace and at brackets or
# quotes that cannot be part of it; trailing punctuation is trimmed afterwards.
_URL_IN_TEXT = re.compile(r"(?:https?://|www\.)[^\s<>\"'«»“”„\[\]{}|\\^`]+", re.IGNORECASE)
_TRAILING = ".,;:!?…»)'\"’"
_SAFE_PATH = "/:@!$&'()*+,;=-._~%"
_SAFE_QUERY = _SAFE_PATH + "?"
_ESCAPE = re.compile(r"%[0-9a-fA-F]{2}")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def find_urls(text: str) -> list[str]:
    """URLs written out in a text, in order (a closing bracket is kept only when the URL opened one)."""
    if "http" not in text and "www." not in text and "HTTP" not in text and "WWW." not in text:
        return []
    found = []
    for match in _URL_IN_TEXT.finditer(text):
        url = match.group(0)
        while url and url[-1] in _TRAILING:
            if url[-1] == ")" and url.count("(") >= url.count(")"):
                break
            url = url[:-1]
        if url:
            found.append(url)
    return found


def _host(raw: str) -> str | None:
    host = raw.strip().rstrip(".").lower()
    if not host or any(c in host for c in " /\\"):
        return None
    if ":" in host:
        try:
            return f"[{ipaddress.IPv6Address(host.strip('[]')).compressed}]"
        except ValueError:
            return None
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host if host.isascii() else None


def _normalise_escapes(part: str, safe: str) -> str:
    """Non-ASCII characters percent-encoded, existing escapes upper-cased: one spelling per URL."""
    return _ESCAPE.sub(lambda m: m.group(0).upper(), quote(part, safe=safe))


def _query(query: str) -> str:
    kept = []
    for piece in query.split("&"):
        if not piece:
            continue
        key = piece.split("=", 1)[0].lower()
        if key in TRACKING_PARAMS or key.startswith(TRACKING_PREFIXES):
            continue
        kept.append(_normalise_escapes(piece, _SAFE_QUERY))
    return "&".join(kept)


def canonical_url(url: str) -> str | None:
    """The one spelling of a web link, or None for anything that is not an http(s) page address.

    Scheme and host lower-cased (host in IDNA form), default port, fragment, credentials-free only,
    tracking parameters dropped, non-ASCII path characters percent-encoded. The scheme is kept:
    http and https may be different sites. A link written without a scheme gets `http://`, as
    Telegram clients open it.
    """
    url = url.strip()
    if not url or any(c.isspace() for c in url):
        return None
    if "://" not in url.split("?", 1)[0]:
        url = "http://" + url
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or parts.username is not None or parts.password is not None:
        return None
    host = _host(parts.hostname or "")
    if host is None or ("." not in host and not host.startswith("[") and host != "localhost"):
        return None
    netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    path = _normalise_escapes(parts.path or "/", _SAFE_PATH)
    return urlunsplit((scheme, netloc, path, _query(parts.query), ""))


def url_host(url: str) -> str:
    """The host of a canonical URL, without port or brackets."""
    return (urlsplit(url).hostname or "").lower()


def domain_key(host: str) -> str:
    """Politeness is per site: www.mid.ru and mid.ru are one server to be gentle with."""
    return host.removeprefix("www.")


def host_matches(host: str, domain: str) -> bool:
    """`mid.ru` covers mid.ru, www.mid.ru and every other subdomain; an IP address only itself."""
    domain = domain.strip().lower().rstrip(".")
    return host == domain or host.endswith("." + domain)


def _is_article_link(url: str) -> bool:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if any(host_matches(host, skip) for skip in NON_ARTICLE_HOSTS):
        return False
    path = parts.path
    if path in ("", "/") and not parts.query:
        return False  # a front page, not a statement
    last = path.rsplit("/", 1)[-1]
    extension = last.rsplit(".", 1)[-1].lower() if "." in last else ""
    return extension not in MEDIA_EXTENSIONS


def pick_article_links(links: Iterable[str], text: str = "", limit: int = MAX_LINKS_PER_POST) -> tuple[str, ...]:
    """The post's article links, canonical, each once, in order: the source's links, then the text's.

    The source puts the link preview first (the page Telegram itself chose to show), so it is kept
    even when the post carries more links than `limit`.
    """
    picked: list[str] = []
    for raw in (*links, *find_urls(text)):
        url = canonical_url(raw)
        if url is None or url in picked or not _is_article_link(url):
            continue
        picked.append(url)
        if len(picked) >= limit:
            break
    return tuple(picked)


def domain_refusal(host: str, allow: Iterable[str], skip: Iterable[str]) -> str | None:
    """Why settings forbid fetching from `host` (ARTICLE_SKIP_DOMAINS, ARTICLE_DOMAINS), or None.

    An empty allow list, or one holding `*`, allows every public host; other entries allow those
    hosts, and are the only way to let a private or loopback address through (see explicitly_allowed).
    """
    if any(host_matches(host, d) for d in skip):
        return "domain in ARTICLE_SKIP_DOMAINS"
    allow = [d for d in allow if d.strip()]
    if allow and "*" not in allow and not any(host_matches(host, d) for d in allow):
        return "domain not in ARTICLE_DOMAINS"
    return None


def explicitly_allowed(host: str, allow: Iterable[str]) -> bool:
    """Listed by name in ARTICLE_DOMAINS (not through `*`): trusted even on a private address."""
    return any(d != "*" and host_matches(host, d) for d in allow if d.strip())
