"""Per-feed keys: a feed reader's URL carries `?key=…` instead of the admin's WEB_TOKEN.

A reader stores its URL in plain sight (OPML exports, sync services, browser history), so the key
in it opens that one feed and nothing else: HMAC-SHA256 of the feed's path (`tag/serbia`; the same
key for its RSS, Atom and JSON) under a secret that is FEED_SECRET, or else derived from WEB_TOKEN
(one-way: a feed key never reveals the admin token). Changing the secret revokes every feed URL.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

KEY_CHARS = 32  # 192 bits of the MAC, URL-safe
_DERIVE = b"tgmonitor feed keys v1"


def feed_secret(feed_secret_setting: str | None, web_token: str | None) -> bytes | None:
    """The secret feed keys are made with; None when neither setting is there (feeds are then open,
    like the rest of the viewer on 127.0.0.1)."""
    if feed_secret_setting:
        return feed_secret_setting.encode()
    if web_token:
        return hmac.new(web_token.encode(), _DERIVE, hashlib.sha256).digest()
    return None


def feed_key(secret: bytes, feed_path: str) -> str:
    mac = hmac.new(secret, b"feed:" + feed_path.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode("ascii")[:KEY_CHARS]


def key_matches(secret: bytes, feed_path: str, offered: str) -> bool:
    """Constant-time comparison of an offered key with the feed's own."""
    return hmac.compare_digest(feed_key(secret, feed_path).encode(), offered.encode("utf-8", "replace"))
