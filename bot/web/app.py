"""The viewer's wiring: options, one read-only connection per request, routes, errors, middleware."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.core.tags import KeywordRules, RulesError, load_rules
from bot.core.textnorm import TextNormaliser
from bot.web.cache import ChartCache, ChartsBusy
from bot.web.forms import FormError
from bot.web.render import make_environment
from bot.web.security import ASGIApp, HostCheck, SecurityHeaders, TokenAuth
from bot.web.state import WebOptions, WebState, state_of
from storage.readonly import ArchiveError, ReadOnlyArchive
from storage.store import QueryError

STATIC = Path(__file__).parent / "static"
_STATIC_TYPES = {".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}


def _error(request: Request, status: int, message: str) -> Response:
    return state_of(request).page("error.html", status=status, status_code=status, message=message)


async def _bad_request(request: Request, exc: Exception) -> Response:
    return _error(request, 400, str(exc))


async def _unavailable(request: Request, exc: Exception) -> Response:
    if isinstance(exc, sqlite3.OperationalError) and "interrupted" in str(exc):
        seconds = state_of(request).options.query_seconds
        return _error(request, 503, f"This page took longer than {seconds:g} s to read; narrow the search or dates.")
    return _error(request, 503, f"The archive cannot be read: {exc}")


async def _busy(request: Request, exc: Exception) -> Response:
    return _error(request, 503, "Charts are being drawn for other requests; try again in a moment.")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _error(request, exc.status_code, exc.detail or "Not found")


def _static(request: Request) -> Response:
    name = request.path_params["name"]
    path = STATIC / name
    if "/" in name or path.suffix not in _STATIC_TYPES or not path.is_file():
        raise HTTPException(404, "No such file")
    return Response(path.read_bytes(), media_type=_STATIC_TYPES[path.suffix])


def create_app(archive: ReadOnlyArchive, options: WebOptions) -> ASGIApp:
    from bot.web import day, feeds, pages, spread_pages, sql_page

    routes = [
        Route("/", pages.search_page),
        Route("/help/search", pages.search_help_page),
        Route("/tags", pages.tags_page),
        Route("/post/{post_id}", pages.post_page),
        Route("/channels", pages.channels_page),
        Route("/channel/{channel_id}", pages.channel_page),
        Route("/tag/{key:path}", pages.tag_page),
        Route("/day", day.day_page),
        Route("/day/{day}", day.day_page),
        Route("/charts", day.charts_page),
        Route("/statement/{post_id}", spread_pages.statement_page),
        Route("/network", spread_pages.network_page),
        Route("/static/{name}", _static),
        *feeds.ROUTES,
    ]
    if options.allow_sql:
        routes.append(Route("/sql", sql_page.sql_page, methods=["GET", "POST"]))
    app = Starlette(
        routes=routes,
        exception_handlers={
            FormError: _bad_request,
            QueryError: _bad_request,
            ArchiveError: _unavailable,
            sqlite3.OperationalError: _unavailable,
            HTTPException: _http_error,
            ChartsBusy: _busy,
        },
    )
    env = make_environment(options.tz)
    env.globals.update(allow_sql=options.allow_sql, archive_name=archive.name)
    try:
        rules: KeywordRules | None = load_rules(options.rules_file, TextNormaliser())
    except (OSError, RulesError):
        rules = None  # the pages work without; the post page then says it cannot explain its topics
    charts = ChartCache(ttl=options.chart_seconds, wait=options.query_seconds)
    app.state.web = WebState(archive, options, env, charts, rules=rules)
    wrapped: ASGIApp = app
    if options.token:
        wrapped = TokenAuth(app, options.token)
        if options.feed_secret is not None:  # a feed's own key opens that feed (bot/web/feeds.py)
            wrapped = feeds.FeedKeyGate(wrapped, app, options.feed_secret)
    if options.allowed_hosts is not None:
        wrapped = HostCheck(wrapped, options.allowed_hosts)
    return SecurityHeaders(wrapped)
