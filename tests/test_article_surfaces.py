"""Where linked articles show: the service's worker, `tgmonitor show/articles/search`, /post and /article.

One real server on 127.0.0.1 plays both t.me (a channel's web preview page whose post links out)
and the news site.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app.archive import Archive
from bot.cli import main
from bot.commands import Chat, CommandRouter, User
from bot.config import Settings, SettingsError
from bot.core.pipeline import Pipeline
from bot.models import ChannelRef
from bot.service.run import Service
from storage.store import Store
from tests.article_server import ArticleServer, Reply, page, serve

pytestmark = pytest.mark.both_backends

EUROPA = page("en_europa_plumes")
TITLE = "Hubble Images Hint at Water Plumes Rising From Jupiter's Moon Europa"


@pytest.fixture
def server() -> Iterator[ArticleServer]:
    yield from serve()


def channel_page(link: str) -> bytes:
    when = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><link rel="canonical" href="/s/space_news"></head>
<body><section class="tgme_channel_history">
<div class="tgme_widget_message_wrap"><div class="tgme_widget_message" data-post="space_news/7">
  <div class="tgme_widget_message_text">Big news from NASA today. <a href="{link}">Read in full</a></div>
  <a class="tgme_widget_message_link_preview" href="{link}"><div class="link_preview_title">Europa</div></a>
  <div class="tgme_widget_message_footer"><div class="tgme_widget_message_meta">
    <a class="tgme_widget_message_date" href="https://t.me/space_news/7"><time datetime="{when}">7</time></a>
  </div></div>
</div></div></section></body></html>""".encode()


def test_the_service_fetches_the_links_of_what_it_polled(
    server: ArticleServer, store: Store, pipeline: Pipeline, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server.page("/europa", EUROPA)
    server.routes["/s/space_news"] = [Reply(200, channel_page(server.url("/europa?utm_source=telegram")))]
    settings = Settings.from_mapping(
        {
            "DATA_DIR": str(tmp_path),
            "CHANNELS": "@space_news",
            "WEB_PREVIEW_BASE": server.base,
            "POLL_INTERVAL": "1h",
            "ARTICLE_DOMAINS": "127.0.0.1",
            "ARTICLE_RATE": "0",
        }
    )
    service = Service(settings, Archive.around(settings, store, pipeline), notify=lambda m: True)

    def archived() -> bool:
        article = store.articles.by_url(server.url("/europa"))
        return article is not None and article.status == "done"

    async def scenario() -> int:
        running = asyncio.create_task(service.run())
        deadline = asyncio.get_running_loop().time() + 20
        while not archived():
            assert asyncio.get_running_loop().time() < deadline, caplog.text
            await asyncio.sleep(0.05)
        service.request_stop("test")
        return await running

    with caplog.at_level(logging.INFO):
        assert asyncio.run(scenario()) == 0
    assert "articles: on → linked pages from 127.0.0.1, one request per site every 0s" in caplog.text
    assert "articles: 1 stored" in caplog.text
    [found] = store.search("Goddard")
    assert (found.message_id, found.articles[0].title) == (7, TITLE)


def test_service_says_why_articles_are_off(store: Store, pipeline: Pipeline, tmp_path: Path, caplog) -> None:
    # Something to monitor (a watched channel; nothing configured at all is exit 78, issue #14).
    store.set_watched(ChannelRef(username="balkan_watch"), True)
    settings = Settings.from_mapping(
        {"DATA_DIR": str(tmp_path), "FETCH_ARTICLES": "false", "WEB_PREVIEW_BASE": "http://127.0.0.1:9"}
    )
    service = Service(settings, Archive.around(settings, store, pipeline), notify=bool)

    async def scenario() -> int:
        running = asyncio.create_task(service.run())
        while "running;" not in caplog.text:
            assert not running.done(), caplog.text  # an early exit fails here instead of hanging
            await asyncio.sleep(0.02)
        service.request_stop("test")
        return await running

    with caplog.at_level(logging.INFO):
        assert asyncio.run(scenario()) == 0
    assert "articles: off (FETCH_ARTICLES=false); links are still recorded" in caplog.text


def test_article_settings_are_validated() -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_mapping({"ARTICLE_MAX_MB": "-1", "ARTICLE_RATE": "fast", "ARTICLE_DOMAINS": "a b/c"})
    problems = "\n".join(error.value.problems)
    assert "ARTICLE_MAX_MB (environment): expected a number of megabytes above 0" in problems
    assert "ARTICLE_RATE (environment): expected a pause per site like 2s, 500ms or 1m, got 'fast'" in problems
    assert "ARTICLE_DOMAINS (environment)" in problems and "'b/c'" in problems
    ok = Settings.from_mapping({"ARTICLE_DOMAINS": "*, Intranet.Local", "ARTICLE_RATE": "500ms", "ARTICLE_ROBOTS": "0"})
    assert (ok.article_domains, ok.article_rate, ok.article_robots, ok.fetch_articles) == (
        ("*", "intranet.local"),
        0.5,
        False,
        True,
    )


# ---------------------------------------------------------------------------------------------- CLI
def cli(capsys: pytest.CaptureFixture[str], db: Path, *args: str) -> tuple[int, str]:
    code = main(["--db", str(db), *args])  # settings from the environment alone
    out, err = capsys.readouterr()
    return code, out + err


def test_cli_fetch_status_show_search_and_queue(
    server: ArticleServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARTICLE_DOMAINS", "127.0.0.1")
    monkeypatch.setenv("ARTICLE_RATE", "0")
    server.page("/europa", EUROPA)
    server.routes["/missing"] = [Reply(404)]
    export = {
        "id": 1700000042,
        "name": "Space News",
        "type": "public_channel",
        "messages": [
            {
                "id": 1,
                "type": "message",
                "date_unixtime": str(int(datetime.now(UTC).timestamp()) - 600),
                "date": "2026-11-20T10:00:00",
                "text": ["NASA: ", {"type": "text_link", "text": "water on Europa", "href": server.url("/europa")}],
            },
            {
                "id": 2,
                "type": "message",
                "date_unixtime": str(int(datetime.now(UTC).timestamp()) - 300),
                "date": "2026-11-20T10:05:00",
                "text": f"Old story {server.url('/missing')}",
            },
        ],
    }
    (tmp_path / "result.json").write_text(json.dumps(export), encoding="utf-8")
    db = tmp_path / "archive.db"
    assert cli(capsys, db, "import", str(tmp_path / "result.json"))[0] == 0

    code, out = cli(capsys, db, "articles", "status", "--json")
    status = json.loads(out)
    assert (code, status["counts"], status["due_now"]) == (0, {"queued": 2}, 2)

    code, out = cli(capsys, db, "articles", "fetch", "--limit", "1")
    assert (code, out.strip()) == (0, "1 links: 1 stored")
    code, out = cli(capsys, db, "articles", "fetch", "--json")
    assert json.loads(out) == {
        "attempted": 1, "stored": 0, "unchanged": 0, "retry": 0, "failed": 1, "skipped": 0, "deferred": 0
    }  # fmt: skip
    code, out = cli(capsys, db, "articles", "status")
    assert "1 done · 1 failed" in out and "gone: HTTP 404" in out

    code, out = cli(capsys, db, "search", "Goddard", "--json")
    [hit] = json.loads(out)
    assert hit["matched"]["in"] == "article" and hit["matched"]["title"] == TITLE
    assert hit["articles"][0]["status"] == "done"
    code, out = cli(capsys, db, "search", "Goddard")
    assert f"matched in the linked article «{TITLE}»: " in out

    code, out = cli(capsys, db, "show", str(hit["id"]), "--json")
    shown = json.loads(out)
    assert shown["articles"][0]["title"] == TITLE and "Goddard Space Flight Center" in shown["articles"][0]["text"]
    code, out = cli(capsys, db, "show", str(hit["id"]))
    assert f"Linked article 1: {TITLE}" in out and "Goddard Space Flight Center" in out
    assert cli(capsys, db, "show", "999")[1].strip() == "tgmonitor: error: there is no post 999 in the archive"

    # Conditional re-check of what is archived: 304 changes nothing.
    server.page("/europa", EUROPA, ETag='"v1"')
    store = Store.open(db)
    store.db.execute("UPDATE articles SET etag = '\"v1\"', checked_at = '2026-01-01T00:00:00+00:00' WHERE id = 1")
    store.db.conn.commit()
    store.close()
    code, out = cli(capsys, db, "articles", "fetch", "--refresh", "1h", "--json")
    assert json.loads(out)["unchanged"] == 1
    assert server.requests[-1].headers.get("if-none-match") == '"v1"'

    # An archive from before linked articles: `queue` finds the links in the posts' text.
    store = Store.open(db)
    for table in ("post_articles", "articles"):
        store.db.execute(f"DELETE FROM {table}")
    store.db.conn.commit()
    store.close()
    code, out = cli(capsys, db, "articles", "queue", "--json")
    assert json.loads(out) == {"posts": 1, "links": 1}  # the visible link; the hidden one needs a re-import
    assert cli(capsys, db, "import", str(tmp_path / "result.json"))[0] == 0
    assert json.loads(cli(capsys, db, "articles", "status", "--json")[1])["counts"] == {"queued": 2}


# --------------------------------------------------------------------------------------------- bot
def test_post_offers_the_article_and_article_sends_its_text(
    server: ArticleServer, store: Store, pipeline: Pipeline
) -> None:
    from tests.test_articles import WATCH, post, save, work

    server.page("/europa", EUROPA)
    server.routes["/down"] = [Reply(503)]
    [post_id] = save(store, pipeline, post(WATCH, 1, "Big news from NASA", server.url("/europa"), server.url("/down")))
    work(store, pipeline, robots=False)
    router = CommandRouter(store, Settings.from_mapping({"ALLOWED_USERS": "5"}))
    user, chat = User(5), Chat(5)
    reply = router.route(f"/post_{post_id}", chat, user)
    offers = reply.parts[-1]
    assert offers.startswith("<b>Linked articles</b>")
    assert (
        f'📄 <a href="{server.url("/europa")}">{TITLE.replace(chr(39), "&#x27;")}</a>\nFull text: /article_1' in offers
    )
    assert "fetch failed, will retry" in offers
    article = router.route("/article_1", chat, user)
    assert article.parts[0].startswith(f"<b>{TITLE.replace(chr(39), '&#x27;')}</b>")
    assert "Goddard Space Flight Center" in "".join(article.parts)
    assert all(len(p) <= 4096 for p in article.parts)
    assert "Not archived: server_error: HTTP 503" in router.route("/article 2", chat, user).parts[0]
    assert "There is no article 99" in router.route("/article 99", chat, user).parts[0]
    search = router.route("/search Goddard", chat, user).parts[0]
    assert "📄 <i>matched in the linked article</i>" in search
