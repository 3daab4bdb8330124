"""What every page reads: the viewer's options, its per-app state and a read-only connection per request.

Its own module so that the page modules and the app that routes to them both import it, and nothing
imports back from `bot.web.app` (which imports the pages).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import time, tzinfo
from pathlib import Path
from typing import Any

from jinja2 import Environment
from starlette.requests import Request
from starlette.responses import HTMLResponse

from bot.config import Settings
from bot.core.feed_keys import feed_secret
from bot.core.tags import KeywordRules
from bot.web.cache import ChartCache
from bot.web.render import render_page
from storage.browse import Browse
from storage.readonly import ReadOnlyArchive
from storage.store import Store


@dataclass(frozen=True)
class WebOptions:
    tz: tzinfo
    digest_time: time
    digest_tags: tuple[str, ...] = ()
    digest_empty: str = "notice"
    digest_section_items: int = 15  # 0: all
    token: str | None = None
    allow_sql: bool = False
    allowed_hosts: frozenset[str] | None = None  # None: any Host header (bound beyond loopback)
    query_seconds: float = 10.0  # a statement running longer is interrupted and the page says so
    chart_seconds: float = 300.0  # a chart is reused until this old (bot/web/cache.py)
    feed_base_url: str | None = None  # FEED_BASE_URL: feeds' absolute links; else the request's own URL
    feed_secret: bytes | None = None  # per-feed keys (bot/core/feed_keys.py); None: feeds need the token
    rules_file: Path | None = None  # RULES_FILE: the topic rules whose matches the post page explains

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> WebOptions:
        values: dict[str, Any] = {
            "tz": settings.tz,
            "digest_time": settings.digest_time,
            "digest_tags": settings.digest_tags,
            "digest_empty": settings.digest_empty,
            "digest_section_items": settings.digest_section_items,
            "token": settings.web_token,
            "feed_base_url": settings.feed_base_url,
            "feed_secret": feed_secret(settings.feed_secret, settings.web_token),
            "rules_file": settings.rules_file,
        }
        return cls(**(values | overrides))


@dataclass
class Reader:
    store: Store
    browse: Browse


@dataclass(frozen=True)
class WebState:
    archive: ReadOnlyArchive
    options: WebOptions
    env: Environment
    charts: ChartCache
    form_token: str = field(default_factory=lambda: secrets.token_urlsafe(32))  # the /sql form's (sql_page.py)
    rules: KeywordRules | None = None  # loaded once; None: the rules file could not be read

    @contextmanager
    def reading(self) -> Iterator[Reader]:
        """A read-only connection for one request: one consistent snapshot, closed when the page is built."""
        store = self.archive.store(time_limit=self.options.query_seconds)
        try:
            yield Reader(store, Browse(store))
        finally:
            store.close()

    def page(self, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(render_page(self.env, name, **context), status_code=status)


def state_of(request: Request) -> WebState:
    return request.app.state.web
