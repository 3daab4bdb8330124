"""Who wrote a group message, hidden links and approximate times, per post (issue 35, items 5 and 10).

Fixtures are written here after the real formats (a Desktop JSON export of a group: `from`/`from_id`;
an HTML export page: `div.from_name`, joined follow-ups without it; Telethon TL objects); the real
exports in ../shared/real-exports are asserted on when present.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from telethon.tl import types

from bot.cli import main
from bot.core.digest import DigestItem
from bot.core.feed_items import statement_entry
from bot.core.pipeline import Pipeline
from bot.core.text_links import (
    Placement,
    decode_text_links,
    encode_text_links,
    keep_text_links,
    line_html,
    spans,
    with_targets,
)
from bot.models import ChannelRef, RawPost, Sender, TextLink
from bot.sources.desktop_export import parse_export
from bot.sources.desktop_html_export import HtmlExport, parse_page
from bot.sources.telethon_convert import message_to_raw
from bot.sources.web_preview_parser import parse_saved_page
from storage.db import MIGRATIONS, SCHEMA_VERSION, schema_version
from storage.store import Store
from tests.test_commands import FRIEND, PRIVATE, make_router
from tests.tg_factory import message
from tests.web_archive import add_posts
from tests.web_server import client as client_for

REAL = Path(__file__).resolve().parents[2] / "shared" / "real-exports"
needs_real = pytest.mark.skipif(not REAL.is_dir(), reason="../shared/real-exports is not here (third-party data)")


# ------------------------------------------------------------------------------------------ fixtures
def group_export(path: Path, *, unixtime: bool = True) -> Path:
    """A supergroup export as Telegram Desktop writes it (cf. ragtgbot_group, cuda_supergroup)."""

    def msg(ident: int, when: str, who: str | None, who_id: str, text: object) -> dict[str, object]:
        out: dict[str, object] = {"id": ident, "type": "message", "date": when, "from": who, "from_id": who_id}
        if unixtime:
            out["date_unixtime"] = str(int(datetime.fromisoformat(when).replace(tzinfo=UTC).timestamp()))
        out["text"] = text
        return out

    messages = [
        {
            "id": 1,
            "type": "service",
            "date": "2025-03-29T15:10:56",
            "actor": "Ana",
            "actor_id": "user11",
            "action": "create_group",
            "title": "Analysts",
            "text": "",
        },
        msg(2, "2025-03-29T15:11:08", "Ana Petrova", "user11", "Who has the ministry statement on the talks?"),
        msg(3, "2025-03-29T15:12:40", None, "user22", "Deleted accounts keep their id in the export"),
        msg(
            4,
            "2025-03-29T15:14:34",
            "Marko",
            "user33",
            [
                "The ministry ",
                {"type": "text_link", "text": "confirmed the talks", "href": "https://example.org/talks"},
                " and ",
                {"type": "text_link", "text": "this", "href": "javascript:alert(1)"},
                " too.",
            ],
        ),
        msg(5, "2025-03-29T15:15:00", "Analysts", "channel4696915167", "Posted as the group itself (anonymous admin)"),
    ]
    data = {"name": "Analysts", "type": "private_supergroup", "id": 4696915167, "messages": messages}
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def channel_export(path: Path) -> Path:
    """A channel's own posts are `from` the channel; a signed one carries `author`."""
    base = {"type": "message", "date": "2026-01-22T07:16:32", "date_unixtime": "1769066192"}
    messages = [
        base | {"id": 7, "from": "Desk", "from_id": "channel3204528972", "text": "Unsigned post of the channel"},
        base | {"id": 8, "from": "Desk", "from_id": "channel3204528972", "author": "Ivana", "text": "A signed one"},
    ]
    data = {"name": "Desk", "type": "public_channel", "id": 3204528972, "messages": messages}
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


HTML_BLOCK = """
<div class="message default clearfix{joined}" id="message{ident}">
 <div class="body">
  <div class="pull_right date details" title="29.03.2025 15:{minute}:00 UTC+03:00">15:{minute}</div>
  {sender}
  <div class="text">{text}</div>
 </div>
</div>"""


def html_page(title: str, blocks: list[str]) -> bytes:
    return (
        '<html><head><meta charset="utf-8"><title>Exported Data</title></head><body><div class="page_wrap">'
        f'<div class="page_header"><div class="content"><div class="text bold">{title}</div></div></div>'
        f'<div class="page_body chat_page"><div class="history">{"".join(blocks)}</div></div></div></body></html>'
    ).encode()


def block(ident: int, text: str, sender: str | None = None) -> str:
    head = f'<div class="from_name">\n{sender} \n</div>' if sender else ""
    return HTML_BLOCK.format(joined="" if sender else " joined", ident=ident, minute=10 + ident, sender=head, text=text)


# ------------------------------------------------------------------------------------------ importers
def test_json_export_records_group_senders_and_hidden_links(tmp_path: Path) -> None:
    _, posts = parse_export(group_export(tmp_path / "result.json"))
    by_id = {p.message_id: p for p in posts}
    assert by_id[2].sender == Sender("Ana Petrova", "user11")
    assert by_id[3].sender == Sender(None, "user22")  # a deleted account: the id only
    assert by_id[5].sender is None  # the group itself (an anonymous admin) is no sender of its own
    assert by_id[4].text == "The ministry confirmed the talks and this too."
    assert by_id[4].text_links == (
        TextLink("confirmed the talks", "https://example.org/talks"),
        TextLink("this", "javascript:alert(1)"),
    )
    _, own = parse_export(channel_export(tmp_path / "channel.json"))
    assert [p.sender for p in own] == [None, Sender("Ivana")]  # a channel's posts: only a signature


def test_html_export_carries_the_sender_over_joined_messages(tmp_path: Path) -> None:
    page = html_page(
        "Analysts",
        [
            block(1, "Morning", sender="Ana Petrova"),
            block(2, "Any news from Geneva?"),  # joined: Ana's too
            block(3, 'See <a href="https://example.org/talks">the statement</a> and https://example.org/x', "Marko"),
            block(4, "Posted as the group", sender="Analysts"),
        ],
    )
    _, posts, _ = parse_page(page, "messages.html", ChannelRef(tg_id=9))
    assert [p.sender for p in posts] == [Sender("Ana Petrova"), Sender("Ana Petrova"), Sender("Marko"), None]
    assert posts[2].text_links == (TextLink("the statement", "https://example.org/talks"),)


def test_telethon_messages_carry_sender_and_text_links() -> None:
    group = ChannelRef(tg_id=1001, title="Analysts")
    text = "Read the statement now"
    msg = types.Message(  # a supergroup's message: from a user, not a channel post
        id=5,
        peer_id=types.PeerChannel(1001),
        date=datetime(2026, 11, 22, 10, tzinfo=UTC),
        message=text,
        from_id=types.PeerUser(user_id=777),
        entities=[types.MessageEntityTextUrl(offset=5, length=13, url="https://example.org/talks")],
    )
    raw = message_to_raw(msg, group)
    assert raw is not None and raw.sender == Sender(None, "user777")  # detached: the id, no name
    assert raw.text_links == (TextLink("the statement", "https://example.org/talks"),)
    signed = message_to_raw(message(6, "Channel post", post_author="Ivana"), group)
    assert signed is not None and signed.sender == Sender("Ivana")
    own = message_to_raw(message(7, "Channel post", from_id=types.PeerChannel(1001)), group)
    assert own is not None and own.sender is None


# ------------------------------------------------------------------------------------------ core
def test_hidden_links_are_placed_by_their_words_and_kept_safe() -> None:
    links = keep_text_links(
        [
            TextLink("Reminder – 2", "https://t.me/x/2", nth=1),  # "Reminder – 20" holds it once before
            TextLink("Reminder – 20", "https://t.me/x/20"),
            TextLink("https://example.org", "https://example.org"),  # visible: not hidden
            TextLink("this", "javascript:alert(1)"),
            TextLink("Reminder – 2", "https://t.me/x/2", nth=1),  # once
        ]
    )
    assert [link.url for link in links] == ["https://t.me/x/2", "https://t.me/x/20", "javascript:alert(1)"]
    assert spans("Reminder – 20 then Reminder – 2", links[:2]) == [
        ("Reminder – 20", links[1]),
        (" then ", None),
        ("Reminder – 2", links[0]),
    ]
    # the count runs across lines: the second "minutes" is the link
    minutes = (TextLink("the minutes", "https://example.org/m", nth=1),)
    placed = Placement()
    assert spans("Who has the minutes?", minutes, placed) == [("Who has the minutes?", None)]
    assert spans("Here are the minutes.", minutes, placed)[1] == ("the minutes", minutes[0])
    html = line_html('<b>this</b> "x"', links, Placement())
    assert "<b>" not in html and "javascript:" not in html.split("[")[0]  # escaped, and no link to it
    assert '<span class="link-target" title="not a web link">[javascript:alert(1)]</span>' in html
    linked = line_html("see Reminder – 20, Reminder – 2", links, Placement())
    assert 'href="https://t.me/x/2" rel="noopener nofollow noreferrer" target="_blank"' in linked
    assert (
        with_targets("see Reminder – 20, Reminder – 2", links[:1])
        == "see Reminder – 20, Reminder – 2 [https://t.me/x/2]"
    )
    assert with_targets("cleaned away", links[:1]) == "cleaned away\n\nReminder – 2 [https://t.me/x/2]"
    assert decode_text_links(encode_text_links(links)) == links
    assert decode_text_links('[["a", "https://x", -1], ["b"], 3, ["c", "https://y", true]]') == ()


def test_importers_count_the_occurrences_before_a_link(tmp_path: Path) -> None:
    text = "Who has the minutes? Here are the minutes."
    at = text.rindex("the minutes")
    msg = types.Message(
        id=9,
        peer_id=types.PeerChannel(1001),
        date=datetime(2026, 11, 22, 10, tzinfo=UTC),
        message=text,
        entities=[types.MessageEntityTextUrl(offset=at, length=11, url="https://example.org/m")],
    )
    raw = message_to_raw(msg, ChannelRef(tg_id=1001))
    assert raw is not None and raw.text_links == (TextLink("the minutes", "https://example.org/m", 1),)
    page = html_page(
        "Desk", [block(1, 'Who has the minutes? Here are <a href="https://example.org/m">the minutes</a>.', "Ana")]
    )
    _, posts, _ = parse_page(page, "messages.html", ChannelRef(tg_id=9))
    assert posts[0].text_links == (TextLink("the minutes", "https://example.org/m", 1),)


# ------------------------------------------------------------------------------------------ archive
def test_store_keeps_them_and_a_reimport_fills_in_without_an_edit(tmp_path: Path) -> None:
    export = group_export(tmp_path / "result.json")
    db = tmp_path / "a.db"
    assert main(["--db", str(db), "import", str(export)]) == 0
    store = Store.open(db)
    try:
        posts = {p.message_id: p for p in store.search(None, limit=10)}
        assert posts[2].sender == Sender("Ana Petrova", "user11") and not posts[2].approx_time
        assert posts[4].text_links[0] == TextLink("confirmed the talks", "https://example.org/talks")
        # an archive from before senders: blank them, import again, they come back with no new version
        store.db.execute("UPDATE posts SET sender_name = NULL, sender_id = NULL, text_links = NULL")
    finally:
        store.close()
    assert main(["--db", str(db), "import", str(export)]) == 0
    store = Store.open(db)
    try:
        posts = {p.message_id: p for p in store.search(None, limit=10)}
        assert posts[2].sender == Sender("Ana Petrova", "user11") and posts[4].text_links
        assert store.versions(posts[2].id)[-1].number == 1
    finally:
        store.close()


def test_offset_less_exports_mark_their_posts_approximate_until_placed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "a.db"
    old = group_export(tmp_path / "old.json", unixtime=False)
    assert main(["--db", str(db), "import", str(old), str(channel_export(tmp_path / "c.json"))]) == 0
    store = Store.open(db)
    try:
        found = store.search(None, limit=20)
        marks = {(p.channel_label, p.message_id): p.approx_time for p in found}
        ana = next(p.id for p in found if p.message_id == 2)
    finally:
        store.close()
    assert marks == {
        ("Analysts", 2): True,
        ("Analysts", 3): True,
        ("Analysts", 4): True,
        ("Analysts", 5): True,
        ("Desk", 7): False,
        ("Desk", 8): False,
    }  # per post: the exact export in the same archive is not
    capsys.readouterr()
    assert main(["--db", str(db), "show", str(ana)]) == 0
    shown = capsys.readouterr().out
    assert "UTC (approximate)" in shown and "Ana Petrova (user11)" in shown
    # the same export placed with --tz: the posts move to UTC and lose the mark
    assert main(["--db", str(db), "import", "--tz", "Europe/Belgrade", str(old)]) == 0
    store = Store.open(db)
    try:
        post = store.get_post(ana)
        assert post is not None and not post.approx_time
        assert post.date == datetime(2025, 3, 29, 14, 11, 8, tzinfo=UTC)  # 15:11 CET
    finally:
        store.close()


def test_migration_adds_the_columns_and_marks_channels_imported_approximate(tmp_path: Path) -> None:
    """The migration run on an archive without its columns (found by what it adds, not by a number:
    its place among the migrations is settled at merge)."""
    migration = next(m for m in MIGRATIONS if "sender_name" in (m.__doc__ or ""))
    store = Store.open(tmp_path / "old.db")
    try:
        assert schema_version(store.db) == SCHEMA_VERSION
        db = store.db
        db.execute("INSERT INTO channels(id, tg_id, title) VALUES (1, 11, 'Old group'), (2, 22, 'Exact')")
        row = "(?, ?, ?, '2019-05-12T15:00:00+00:00', 'x', 'x', 'k' || ?, 'h', 'export')"
        db.execute(
            "INSERT INTO posts(id, channel_id, message_id, date, text, raw_text, origin_key, content_hash, source) "
            f"VALUES {row}, {row}",
            [1, 1, 1, 1, 2, 2, 1, 2],
        )
        for column in ("sender_name", "sender_id", "time_approx", "text_links"):
            db.execute(f"ALTER TABLE posts DROP COLUMN {column}")
        db.execute("INSERT INTO meta VALUES ('export_clock:1', 'approximate'), ('export_clock:2', 'Europe/Moscow')")
        migration(db)
        post, exact = store.get_post(1), store.get_post(2)
        assert post is not None and post.approx_time and post.sender is None and post.text_links == ()
        assert exact is not None and not exact.approx_time
    finally:
        store.close()


def test_exports_carry_sender_time_mark_and_hidden_links(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    assert main(["--db", str(db), "import", str(group_export(tmp_path / "old.json", unixtime=False))]) == 0
    out = tmp_path / "posts.jsonl"
    assert main(["--db", str(db), "export", "--format", "jsonl", "--output", str(out)]) == 0
    rows = {r["message_id"]: r for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    assert rows[2]["sender"] == "Ana Petrova" and rows[2]["sender_id"] == "user11"
    assert rows[2]["time_approximate"] is True
    assert rows[4]["text_links"] == ["confirmed the talks [https://example.org/talks]", "this [javascript:alert(1)]"]


# ------------------------------------------------------------------------------------------ web
def test_post_page_and_listings_show_sender_time_mark_and_hidden_links(tmp_path: Path) -> None:
    path = tmp_path / "web.db"
    group = ChannelRef(tg_id=1700000088, title="Analysts")
    when = datetime(2026, 11, 22, 10, tzinfo=UTC)
    last = add_posts(
        path,
        [
            RawPost(
                channel=group,
                message_id=1,
                date=when,
                text='The ministry confirmed the talks and <b>"this"</b> too.',
                source="export",
                sender=Sender("Ana <Petrova>", "user11"),
                approx_time=True,
                text_links=(
                    TextLink("confirmed the talks", "https://example.org/talks?a=1&b=2"),
                    TextLink("this", "javascript:alert(1)"),
                    TextLink("gone words", "https://example.org/gone"),
                ),
            ),
            RawPost(  # the same statement in another group: the copies table names its sender too
                channel=ChannelRef(tg_id=1700000089, title="Other group"),
                message_id=1,
                date=when,
                text='The ministry confirmed the talks and <b>"this"</b> too.',
                source="export",
                sender=Sender("Marko", "user33"),
            ),
        ],
    )
    with client_for(path) as http:
        page = http.get(f"/post/{last - 1}").text
        assert "Seen in 2 channels" in page and " · from <bdi>Marko</bdi>" in page
        assert '<dd class="sender"><bdi>Ana &lt;Petrova&gt;</bdi> <span class="note">user11</span></dd>' in page
        assert "≈ approximate time" in page
        assert (
            '<a class="text-link" href="https://example.org/talks?a=1&amp;b=2" rel="noopener nofollow noreferrer" '
            'target="_blank" title="https://example.org/talks?a=1&amp;b=2">confirmed the talks</a> '
            '<span class="link-target">[example.org/talks?a=1&amp;b=2]</span>'
        ) in page
        assert 'href="javascript' not in page and "<b>" not in page
        assert "[javascript:alert(1)]" in page  # shown as text beside its words
        assert "Hidden links" in page and "gone words" in page  # the words cleaning dropped: listed
        listing = http.get("/", params={"channel": "1"}).text
        assert "from <bdi>Ana &lt;Petrova&gt;</bdi>" in listing and "≈ approximate" in listing


# ------------------------------------------------------------------------------------------ real data
@needs_real
def test_real_group_exports_record_their_senders() -> None:
    _, cuda = parse_export(REAL / "cuda_supergroup" / "result.json")
    assert len(cuda) == 205 and all(p.sender is not None and (p.sender.id or "").startswith("user") for p in cuda)
    assert sum(p.sender.name == "Hamid Khorshidian" for p in cuda if p.sender) == 71
    assert sum(p.sender.name is None for p in cuda if p.sender) == 18  # deleted accounts: ids only
    _, rag = parse_export(REAL / "ragtgbot_group" / "result.json")
    assert {p.sender for p in rag} == {Sender("verymuchuser", "user12345678")}
    _, salaf = parse_export(REAL / "salaf_channel" / "result.json")
    assert [p.sender for p in salaf if p.sender] == [Sender("أم مصعب")]  # a channel: only its one signed post


@needs_real
def test_real_html_group_carries_senders_over_joined_messages() -> None:
    posts = list(HtmlExport.open(REAL / "quoxent_html").iter_posts(ChannelRef(tg_id=1)))
    assert len(posts) == 16_317 and all(p.sender is not None for p in posts)
    assert sum(p.sender.name == "Nikita" for p in posts if p.sender) == 1_991
    channel = list(HtmlExport.open(REAL / "salaf_channel" / "messages.html").iter_posts(ChannelRef(tg_id=2)))
    # from_name is the channel's own title: no sender, but the one signed post's signature, as in its JSON
    assert [p.sender for p in channel if p.sender] == [Sender("أم مصعب")]
    linked = [p for p in channel if p.text_links]
    assert len(linked) == 18 and TextLink("Reminder – 01", "https://t.me/TuhfatAlTullaab/254") in linked[1].text_links


@needs_real
@pytest.mark.parametrize("name", ["salaf_channel", "trantor_channel"])
def test_real_json_and_html_exports_agree_on_hidden_links(name: str) -> None:
    """The same channel exported both ways: the same hidden links, occurrence counts included."""
    channel, from_json = parse_export(REAL / name / "result.json")
    from_html = {p.message_id: p for p in HtmlExport.open(REAL / name / "messages.html").iter_posts(channel)}
    linked = [p for p in from_json if p.text_links]
    assert len(linked) == {"salaf_channel": 18, "trantor_channel": 666}[name]
    for post in linked:
        assert keep_text_links(post.text_links) == keep_text_links(from_html[post.message_id].text_links)


@needs_real
def test_real_preview_pages_carry_signatures() -> None:
    (signed,) = parse_saved_page(REAL / "any2feed_tme_more" / "message_with_from_author.html")
    assert signed.sender == Sender("🅰️rkadiy Ivanov")


# ------------------------------------------------------------------------------------------ bot and feeds
def test_bot_post_and_feed_entries_show_sender_and_hidden_links(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "a.db")
    try:
        raw = RawPost(
            channel=ChannelRef(tg_id=1700000099, title="Analysts"),
            message_id=1,
            date=datetime(2026, 11, 22, 10, tzinfo=UTC),
            text="The ministry confirmed the talks <today>.",
            source="export",
            sender=Sender("Ana & Co", "user11"),
            approx_time=True,
            text_links=(TextLink("confirmed the talks", "https://example.org/t?a=1&b=2"),),
        )
        store.save_posts([Pipeline.load().process(raw)])
        [post] = store.search(None, limit=5)
        reply = make_router(store).route(f"/post {post.id}", PRIVATE, FRIEND).parts[0]
        assert "(approximate: the exporter's clock)" in reply and "Sender: Ana &amp; Co" in reply
        assert "confirmed the talks [https://example.org/t?a=1&amp;b=2] &lt;today&gt;." in reply
        entry = statement_entry(DigestItem((post,)), [], "https://viewer.example")
        assert "<p>Sender: <b>Ana &amp; Co</b></p>" in entry.content_html
        assert 'href="https://example.org/t?a=1&amp;b=2" rel="noopener nofollow noreferrer"' in entry.content_html
        assert "&lt;today&gt;" in entry.content_html
    finally:
        store.close()
