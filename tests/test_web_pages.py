"""The viewer's pages, served by uvicorn on 127.0.0.1, on an archive filled by the real pipeline."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from httpx import Client

from bot.app.digest_jobs import subscription_digest
from bot.core.buckets import buckets, labels, unit_for
from bot.core.digest_render import digest_messages
from bot.models import ChannelRef, RawPost
from bot.web.security import CSP, LOOPBACK_HOSTS
from bot.web.telegram_html import safe_telegram_html
from storage.store import Store
from tests.pg_backend import copy_archive
from tests.web_archive import add_posts, fill_archive
from tests.web_server import client as client_for

pytestmark = pytest.mark.both_backends

TOKEN = "s3cret-token-for-tests_0123456789"
ESCAPED_TITLE = "&lt;script&gt;window.__pwned = 3&lt;/script&gt;Evil &#34;Channel&#34;"


@pytest.fixture(scope="module")
def archive_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fill_archive(tmp_path_factory.mktemp("web") / "archive.db")


@pytest.fixture(scope="module")
def client(archive_path: Path) -> Iterator[Client]:
    with client_for(archive_path) as http:
        yield http


def hit_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<a class="when" href="/post/(\d+)">', html)]


def test_search_page_lists_newest_first_and_folds_copies(client: Client) -> None:
    page = client.get("/")
    assert page.status_code == 200
    # 12 posts; the Lavrov/Serbia forward (1, 8) and the Belarus one (3, 10) fold: 10 items, newest
    # by date first as everywhere items are listed (bot.app.listing), each placed and shown by its newest
    # copy: the same order as every post with copies, less the older copies (not archive order)
    assert hit_ids(page.text) == [7, 10, 6, 12, 11, 5, 4, 9, 2, 8]
    assert page.text.count("seen in 2 channels") == 2
    every = client.get("/?copies=1")
    assert hit_ids(every.text) == [7, 10, 6, 12, 11, 5, 4, 9, 3, 2, 8, 1][:20]


def test_search_highlights_the_matching_paragraph_and_ranks(client: Client) -> None:
    page = client.get("/", params={"q": "Kosovo settlement"})
    assert hit_ids(page.text) == [8]
    assert "<mark>Kosovo</mark> <mark>settlement</mark> must rest on international law" in page.text
    assert "Foreign Minister Sergey Lavrov held talks" not in page.text  # only the matching paragraph
    ranked = client.get("/", params={"q": "Lavrov", "order": "rank", "copies": "1"})
    assert sorted(hit_ids(ranked.text)) == [1, 3, 8, 10]


def test_search_filters_combine(client: Client) -> None:
    assert hit_ids(client.get("/", params={"q": "Lavrov", "channel": "2"}).text) == [10, 8]
    assert hit_ids(client.get("/", params={"tag": "#РоссияСербия"}).text) == [4, 9]
    assert hit_ids(client.get("/", params={"lang": "bg"}).text) == [6, 2]
    assert hit_ids(client.get("/", params={"since": "2026-11-21", "until": "2026-11-21"}).text) == [7, 10]
    assert hit_ids(client.get("/", params={"until": "2026-11-20", "lang": "ru"}).text) == [4, 9]
    assert hit_ids(client.get("/", params={"until": "2026-11-20", "lang": "ru", "copies": "1"}).text) == [4, 9]
    assert "No posts found." in client.get("/", params={"q": "nonexistentword"}).text
    # a rule with a syntax error (docs/sinks-and-rules.md) is a 400 naming the position, never a 500
    bad = client.get("/", params={"q": 'NEAR( "kosovo * -'})
    assert bad.status_code == 400 and "at 1" in bad.text


def test_paging_is_bounded_and_links_carry_the_filters(client: Client) -> None:
    first = client.get("/", params={"per": "5", "lang": "en", "copies": "1"})
    assert hit_ids(first.text) == [7, 10, 12, 11, 3]
    assert 'href="/?lang=en&amp;copies=1&amp;page=2&amp;per=5"' in first.text
    second = client.get("/?lang=en&copies=1&page=2&per=5")
    assert hit_ids(second.text) == [8, 1]
    assert 'rel="next"' not in second.text
    folded = client.get("/?per=5&page=2")
    assert hit_ids(folded.text) == [5, 4, 9, 2, 8] and 'rel="next"' not in folded.text
    beyond = client.get("/?per=5&page=3")
    assert hit_ids(beyond.text) == [] and "Results with copies folded reach 2000 posts deep" in beyond.text


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"q": "x" * 201}, "longer than 200 characters"),
        ({"q": " ".join(["w"] * 21)}, "more than 20 words"),
        ({"per": "500"}, "per: expected 1 to 100"),
        ({"page": "9999"}, "page: expected 1 to 501"),
        ({"since": "yesterday"}, "since: expected a date like 2026-11-20"),
        ({"since": "2026-11-21", "until": "2026-11-20"}, "the first day is after the last day"),
        ({"channel": "@x"}, "channel: expected a channel number"),
        ({"channel": "77"}, "there is no channel 77"),
        ({"lang": "english"}, "lang: expected a language code"),
        ({"order": "random"}, "order: expected newest or rank"),
    ],
)
def test_bad_parameters_get_a_clear_400(client: Client, params: dict[str, str], message: str) -> None:
    page = client.get("/", params=params)
    assert page.status_code == 400
    assert message in page.text


def test_post_page_shows_texts_tags_links_copies_and_digest_day(client: Client) -> None:
    page = client.get("/post/1")
    assert page.status_code == 200
    text = page.text
    assert "<h2>Seen in 2 channels</h2>" in text
    assert '<a href="/post/8">post 8</a>' in text and "this post" in text
    assert '<a href="https://t.me/c/1700000001/2" rel="noreferrer">open in Telegram</a>' in text
    assert '<a class="tag hashtag" href="/tag/russiaserbia">#RussiaSerbia</a>' in text
    assert '<p dir="auto"><span class="line" dir="auto">❗️ Both sides stressed that a Kosovo settlement' in text
    assert "Raw text, as received" in text
    assert '<a href="/day/2026-11-20">the digest of 2026-11-20</a>' in text  # 07:15 is before the 08:00 firing
    assert "No earlier versions recorded." in text
    assert client.get("/post/4").text.count('href="/day/2026-11-21"') == 1  # 13:30 goes to the next morning's
    missing = client.get("/post/999")
    assert missing.status_code == 404 and "There is no post 999 in the archive." in missing.text


def test_post_page_lists_earlier_versions_escaped(client: Client) -> None:
    page = client.get("/post/12").text  # the evil channel's second post, edited once
    assert "version 1" in page and "edited" not in page.split("version 1", 1)[1].split("</div>", 1)[0]
    assert "A first draft &lt;script&gt;window.__pwned = 6&lt;/script&gt; about sanctions." in page
    assert "<script>window.__pwned" not in page


def test_hostile_text_is_escaped_everywhere(client: Client) -> None:
    pages = [
        client.get("/post/11").text,
        client.get("/", params={"q": "Statement"}).text,
        client.get("/").text,
        client.get("/channel/3").text,
        client.get("/channels").text,
        client.get("/tag/kosovo").text,
        client.get("/day/2026-11-21").text,
        client.get("/charts").text,
    ]
    for text in pages:
        assert "<script>window" not in text
        assert "<img src=x" not in text
        assert 'onmouseover="' not in text and "<i onmouseover" not in text
        assert "javascript:" not in text
        assert "<script>window.__pwned = 3</script>Evil" not in text
    assert all(ESCAPED_TITLE in text for text in pages[:6])
    assert "&lt;script&gt;window.__pwned = 3&lt;/script&gt;Evil…" in pages[-1]  # chart labels are shortened
    post = pages[0]
    assert "Statement on &lt;script&gt;window.__pwned = 1&lt;/script&gt; Kosovo talks." in post
    assert "&lt;img src=x onerror=&#34;window.__pwned = 2&#34;&gt;" in post
    assert "open in Telegram" not in post  # its URL is javascript:, so it is not a link
    assert "<mark>Statement</mark> on &lt;script&gt;window.__pwned = 1&lt;/script&gt; Kosovo talks." in pages[1]


def test_channel_tag_and_channels_pages(client: Client) -> None:
    channel = client.get("/channel/2")
    assert channel.status_code == 200
    assert hit_ids(channel.text) == [10, 9, 8]
    assert "<dt>Posts</dt><dd>3</dd>" in channel.text
    assert channel.text.count("<svg") == 2
    tag = client.get("/tag/kosovo")
    assert tag.status_code == 200 and "<dd>" not in tag.text
    assert "4 posts" in tag.text and hit_ids(tag.text) == [11, 4, 8]  # 1 and 8 fold
    assert client.get("/tag/%23Kosovo").status_code == 200
    assert client.get("/tag/nosuchtag").status_code == 404
    listing = client.get("/channels")
    assert listing.text.count('<td class="num">') == 3 and '<td class="num">7</td>' in listing.text


def test_day_page_is_the_digest_the_service_would_send(archive_path: Path, client: Client) -> None:
    assert client.get("/day", follow_redirects=False).headers["location"] == "/day/2026-11-21"
    page = client.get("/day/2026-11-21")
    assert page.status_code == 200
    store = Store.open(archive_path)
    start, end = datetime(2026, 11, 20, 8, tzinfo=UTC), datetime(2026, 11, 21, 8, tzinfo=UTC)
    expected = digest_messages(subscription_digest(store.posts_between(start, end), start, end, ()), ZoneInfo("UTC"))
    store.close()
    assert len(expected) == 1
    assert safe_telegram_html(expected[0]) in page.text
    assert "<b>Digest 2026-11-20 08:00 → 2026-11-21 08:00 (UTC)</b>" in page.text
    assert 'href="/day/2026-11-20"' in page.text and 'href="/day/2026-11-22"' in page.text
    assert '<a href="/post/11">' in page.text
    serbia = client.get("/day/2026-11-21", params={"tag": "serbia"})
    assert "Digest · Serbia 2026-11-20 08:00" in serbia.text and '<a href="/post/6">' in serbia.text
    assert '<a href="/post/11">' not in serbia.text
    assert "Nothing new in this window." in client.get("/day/2026-01-01").text
    assert client.get("/day/2026-13-01").status_code == 400


def test_day_windows_follow_digest_time_and_time_zone(archive_path: Path) -> None:
    with client_for(archive_path, tz=ZoneInfo("Europe/Sofia"), digest_time=time(7, 0)) as sofia:
        page = sofia.get("/day/2026-11-20")
        assert "<b>Digest 2026-11-19 07:00 → 2026-11-20 07:00 (Europe/Sofia)</b>" in page.text
        # 07:15 UTC is 09:15 in Sofia: after that morning's 07:00 firing, so in the next day's digest
        assert 'href="/day/2026-11-21">the digest of 2026-11-21' in sofia.get("/post/1").text


def test_day_page_has_a_date_picker_and_caps_each_section(archive_path: Path) -> None:
    """Issue 35.8: `/day?day=…` (the picker's form) opens that day; past DIGEST_SECTION_ITEMS items a
    section says "… and N more", in the messages and the item list, linking to a search of its tag
    over the window's days."""
    with client_for(archive_path, digest_section_items=1) as capped:
        picked = capped.get("/day", params={"day": "2026-11-20", "tag": "serbia"}, follow_redirects=False)
        assert picked.headers["location"] == "/day/2026-11-20?tag=serbia"
        assert capped.get("/day", params={"day": "20.11.2026"}).status_code == 400
        page = capped.get("/day/2026-11-21").text
        assert '<input type="date" name="day" value="2026-11-21" required>' in page
        search = f"{str(capped.base_url).rstrip('/')}/?tag=diplomacy&amp;since=2026-11-20&amp;until=2026-11-21"
        assert f'<a href="{search}" rel="noreferrer">… and 1 more</a>' in page  # in the message as sent
        assert f'<li class="more"><a href="{search}">… and 1 more: search them</a></li>' in page  # and the list
        listed = re.findall(r'<li><a href="/post/\d+">', page.split("Items in this digest", 1)[1])
        assert len(listed) <= page.split("Items in this digest", 1)[1].count("<h3>")  # one item a section


def test_charts_are_inline_svg_with_escaped_labels(client: Client) -> None:
    page = client.get("/charts")
    assert page.status_code == 200
    assert page.text.count("<svg") == 4
    assert "Posts per day per channel" in page.text and "Top tags per week" in page.text
    assert 'aria-label="Statements by channels carrying them"' in page.text
    assert "<title>Balkan Diplomacy Watch · 11-20: 6 posts</title>" in page.text
    assert "<title>&lt;script&gt;window.__pwned = 3&lt;/script&gt;Evil… · 11-20: 2 posts</title>" in page.text
    assert "10 statements from 12 posts from 2026-10-23 to 2026-11-21" in page.text
    assert '<a href="/post/1">' in page.text  # the most carried statement links to its first post
    assert client.get("/charts", params={"days": "400"}).status_code == 400


def test_security_headers_on_every_response(client: Client) -> None:
    for path in ("/", "/post/1", "/nope", "/?per=0", "/static/style.css"):
        response = client.get(path)
        assert response.headers["content-security-policy"] == CSP
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
    assert client.get("/").headers["cache-control"] == "no-store"
    assert client.get("/static/style.css").headers["content-type"] == "text/css; charset=utf-8"
    assert client.get("/static/../app.py").status_code == 404
    assert client.get("/static/app.py").status_code == 404
    assert "<script" not in client.get("/").text  # the pages need no script at all


def test_sql_page_only_with_the_flag(archive_path: Path, client: Client) -> None:
    assert client.get("/sql").status_code == 404
    assert 'href="/sql"' not in client.get("/").text
    with client_for(archive_path, allow_sql=True) as with_sql:
        token = re.search(r'name="token" value="([^"]+)"', with_sql.get("/sql").text)
        assert token is not None
        form = {"token": token.group(1), "sql": "SELECT title FROM channels WHERE id = 3"}
        page = with_sql.post("/sql", data=form)
        assert page.status_code == 200
        assert f'<td dir="auto">{ESCAPED_TITLE}</td>' in page.text
        refused = with_sql.post("/sql", data=form | {"sql": "DELETE FROM posts"})
        assert refused.status_code == 400 and "not authorized" in refused.text
    assert Store.open(archive_path).stats()["posts"] == 12


def test_token_protects_every_page(archive_path: Path) -> None:
    with client_for(archive_path, token=TOKEN) as guarded:
        check_token(guarded)


def check_token(guarded: Client) -> None:
    denied = guarded.get("/")
    assert denied.status_code == 401
    assert denied.headers["www-authenticate"].startswith('Basic realm="tgmonitor"')
    assert "Balkan" not in denied.text
    assert guarded.get("/static/style.css").status_code == 401
    basic = base64.b64encode(f"anyone:{TOKEN}".encode()).decode()
    assert guarded.get("/", headers={"Authorization": f"Basic {basic}"}).status_code == 200
    assert guarded.get("/post/1", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    wrong = base64.b64encode(b"anyone:guess").decode()
    assert guarded.get("/", headers={"Authorization": f"Basic {wrong}"}).status_code == 401
    assert guarded.get("/", headers={"Authorization": "Basic !!!"}).status_code == 401
    assert guarded.get("/", headers={"Authorization": f"Token {TOKEN}"}).status_code == 401


def test_loopback_server_answers_only_loopback_host_names(archive_path: Path) -> None:
    with client_for(archive_path, allowed_hosts=LOOPBACK_HOSTS) as local:
        check_hosts(local)


def check_hosts(local: Client) -> None:
    assert local.get("/", headers={"Host": "127.0.0.1:8001"}).status_code == 200
    assert local.get("/", headers={"Host": "localhost:8001"}).status_code == 200
    assert local.get("/", headers={"Host": "[::1]:8001"}).status_code == 200
    rebound = local.get("/", headers={"Host": "attacker.example:8001"})
    assert rebound.status_code == 400 and "Unexpected Host header" in rebound.text


def test_a_deleted_post_is_kept_marked_and_left_out_of_listings(archive_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "deleted.db"
    copy_archive(archive_path, path)
    writer = Store.open(path)
    assert writer.mark_deleted(ChannelRef(tg_id=1700000001), [3]) == 1  # post 2: the Bulgarian one
    writer.close()
    with client_for(path) as http:
        post = http.get("/post/2")
        assert post.status_code == 200 and "deleted on Telegram</span>, kept in the archive" in post.text
        assert 2 not in hit_ids(http.get("/").text)
        assert 2 not in hit_ids(http.get("/", params={"copies": "1"}).text)
        assert "<dt>Posts</dt><dd>7</dd>" in http.get("/channel/1").text  # archived, deleted included


def test_language_filter_lists_the_archives_languages(client: Client) -> None:
    """Issue 35.7: the choices are the languages posts carry, not a fixed five."""
    page = client.get("/").text
    options = re.findall(
        r'<option value="([a-z]{2,3})"', page.split('<select name="lang">', 1)[1].split("</select>")[0]
    )
    assert options == ["en", "bg", "ru"]
    assert '<option value="es" selected>es</option>' in client.get("/", params={"lang": "es"}).text


def test_charts_reach_the_whole_history_bucketed_by_span(tmp_path: Path) -> None:
    """Issue 35.4: from/to pickers, a channel filter, days/weeks/months by span, years on the axis; a
    channel page charts its whole history by default."""
    path = fill_archive(tmp_path / "history.db")
    old = ChannelRef(tg_id=1700000055, title="Old Archive")
    add_posts(
        path,
        [
            RawPost(
                channel=old,
                message_id=n,
                date=datetime(2019, 3 + n, 10, 9, tzinfo=UTC),
                text=f"Old post {n} #Kosovo",
                source="export",
            )
            for n in range(1, 4)
        ],
    )
    with client_for(path) as http:
        default = http.get("/charts").text
        assert "Old Archive" not in default.split('id="per-day"', 1)[1].split("</figure>", 1)[0]  # last 30 days
        assert 'href="/charts?from=2019-04-10&amp;to=2026-11-21">whole history' in default
        whole = http.get("/charts", params={"from": "2019-04-10", "to": "2026-11-21"}).text
        per_month = whole.split('id="per-day"', 1)[1].split("</figure>", 1)[0]
        assert "Posts per month per channel" in per_month and "Old Archive · 2019-04: 1 posts" in per_month
        assert ">2019-04</text>" in per_month  # years on the axis
        weeks = http.get("/charts", params={"from": "2026-06-01", "to": "2026-11-21"}).text
        assert "Posts per week per channel" in weeks and "w 11-16: " in weeks
        one = http.get("/charts", params={"from": "2019-01-01", "to": "2026-11-21", "channel": "4"}).text
        drawn = one.split('id="per-day"', 1)[1].split("</figure>", 1)[0]
        assert "Old Archive" in drawn and "Balkan Diplomacy Watch" not in drawn
        assert http.get("/charts", params={"channel": "٣"}).status_code == 400
        assert http.get("/charts", params={"from": "2026-11-21", "to": "2026-11-01"}).status_code == 400
        channel = http.get("/channel/4").text
        assert "<dt>Dates</dt><dd>2019-04-10 09:00 to 2019-06-10 09:00</dd>" in channel
        assert "Posts per day (UTC)" in channel and "Old Archive · 04-10: 1 posts" in channel
        assert "Top tags per week" in channel and "#Kosovo · w 04-08: 1 posts" in channel  # not empty


def test_buckets_follow_the_span() -> None:
    assert unit_for(date(2026, 1, 1), date(2026, 3, 1)) == "day"
    assert unit_for(date(2026, 1, 1), date(2026, 12, 31)) == "week"
    assert unit_for(date(2019, 1, 1), date(2026, 12, 31)) == "month"
    months = buckets(date(2025, 11, 20), date(2026, 2, 3), "month")
    assert labels(months, "month") == ["2025-11", "2025-12", "2026-01", "2026-02"]
    weeks = buckets(date(2026, 11, 18), date(2026, 11, 30), "week")
    assert labels(weeks, "week") == ["w 11-16", "w 11-23", "w 11-30"]
    assert labels(buckets(date(2025, 12, 31), date(2026, 1, 1), "day"), "day") == ["2025-12-31", "2026-01-01"]


def test_search_explains_itself(client: Client) -> None:
    """Issue 35.9: a result count, a placeholder that says how words match, a syntax page, and a bad
    value answered on the search page with the other filters kept."""
    page = client.get("/", params={"q": "Lavrov"}).text
    assert '<p class="count">4 posts match (in their own text' in page
    assert "matched literally" not in page and 'href="/help/search"' in page
    assert "1 post matches" in client.get("/", params={"q": "Lavrov", "channel": "2", "until": "2026-11-20"}).text
    help_page = client.get("/help/search")
    assert help_page.status_code == 200 and "Every word must appear" in help_page.text
    bad = client.get("/", params={"q": "Kosovo", "lang": "ru", "per": "500", "tag": "serbia"})
    assert bad.status_code == 400 and "per: expected 1 to 100" in bad.text
    assert 'name="q" value="Kosovo"' in bad.text and 'name="tag" value="serbia"' in bad.text
    assert '<option value="ru" selected>' in bad.text
    empty = client.get("/", params={"q": "  \u0000 ", "channel": "1"})
    assert empty.status_code in (200, 400) and "Traceback" not in empty.text


def test_times_carry_their_zone_and_utc_on_hover(archive_path: Path) -> None:
    """Issue 35.5: a time in TZ says its zone; its title (hover) and `datetime` give UTC."""
    with client_for(archive_path, tz=ZoneInfo("Europe/Sofia")) as sofia:
        post = sofia.get("/post/1").text
        assert '<time datetime="2026-11-20T07:15:00Z" title="2026-11-20 07:15 UTC">2026-11-20 09:15 EET</time>' in post
        listing = sofia.get("/", params={"q": "Lavrov"}).text
        assert 'title="2026-11-20 07:20 UTC">2026-11-20 09:20 EET</time>' in listing  # the newest copy
        assert "days in Europe/Sofia" in listing


def test_post_page_links_its_neighbours_and_context_and_channels_show_dates(client: Client) -> None:
    """Issue 35.10: previous/next in the channel, "show in context", /channels with dates and without
    the title twice."""
    page = client.get("/post/3").text  # Balkan Diplomacy Watch, message 4 of 1..7
    assert '<a rel="prev" href="/post/2">« previous in channel</a>' in page
    assert '<a rel="next" href="/post/4">next in channel »</a>' in page
    assert 'href="/?channel=1&amp;until=2026-11-20">show in context</a>' in page
    assert 'rel="prev"' not in client.get("/post/1").text.split("</nav>", 1)[0]
    channels = client.get("/channels").text
    assert "<th>Title</th>" not in channels and "<th>Dates</th>" in channels
    assert "<td>2026-11-20 – 2026-11-21</td>" in channels


def test_topic_tags_are_explained_and_listed_with_a_legend(client: Client) -> None:
    """Issue 35.6: the post page says which words made each topic; /tags lists topics with their
    rules and the hashtags, with what the colours mean."""
    page = client.get("/post/1").text
    why = page.split('<details class="why-tags">', 1)[1].split("</details>", 1)[0]
    assert '<a class="tag topic" href="/tag/diplomacy">Diplomacy</a>: “<mark>Foreign Minister</mark>”' in why
    assert "(rule: held talks, foreign minister*)" in why
    tags = client.get("/tags").text
    assert "green: written by the channel" in tags
    assert '<a class="tag topic" href="/tag/diplomacy">Diplomacy</a></td><td class="num">' in tags
    assert '<a class="tag hashtag" href="/tag/russiaserbia">#RussiaSerbia</a>' in tags


def test_runs_of_stickers_are_one_line_in_listings(tmp_path: Path) -> None:
    """Issue 35.10: "[sticker]" rows no longer fill a listing: a channel's run is one line."""
    path = fill_archive(tmp_path / "stickers.db")
    group = ChannelRef(tg_id=1700000066, title="Chat group")
    when = datetime(2026, 11, 22, 10, tzinfo=UTC)
    add_posts(
        path,
        [
            RawPost(channel=group, message_id=1, date=when, text="Morning all", source="export"),
            *(
                RawPost(
                    channel=group,
                    message_id=n,
                    date=when.replace(minute=n),
                    text="",
                    source="export",
                    media_kind="sticker",
                )
                for n in range(2, 5)
            ),
        ],
    )
    with client_for(path) as http:
        page = http.get("/", params={"channel": "4"}).text
        assert page.count("[3 stickers]") == 1 and "[sticker]" not in page
        assert "Morning all" in page
