"""What a statement is (bot/core/statements.py): trivial messages never fold across chats, real forwards do.

A fixture of our own (two groups saying "👍", ".", "??", "🙏", one real forward of a "👍", one copy of
a real statement without a forward header), and the real exports in ../shared imported by the CLI,
checked through every fold: digest items, search listing, web copies and the charts' copies per
statement.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app.listing import find_items, seen_in
from bot.cli import main
from bot.core.copies import statement_spread
from bot.core.digest import DigestItem, fold_items
from bot.core.digest_render import post_line
from bot.core.fingerprint import content_hash, origin_key
from bot.core.neardup import text_numbers
from bot.core.pipeline import Pipeline
from bot.core.statements import TRIVIAL_MARK, content_folds, is_statement, own_key_of
from bot.models import ChannelRef, Forward
from storage.browse import Browse
from storage.store import Store
from tests.conftest import (
    drop_carried_flag,
    drop_charts_index,
    drop_post_facts,
    drop_sinks_schema,
    make_ingest,
    raw_post,
)
from tests.web_server import client as client_for

pytestmark = pytest.mark.both_backends

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
REAL = SHARED / "real-exports"
TRIVIAL = ("👍", ".", "??", "🙏", "🙏🙏🙏", "👍👍👍👍", "Thanks", "Yes!", "How are you today?", "Good morning everyone")
STATEMENT = "Lavrov met Vucic in Belgrade"

GROUP_A = ChannelRef(tg_id=1500000001, username="group_a", title="Group A")
GROUP_B = ChannelRef(tg_id=1500000002, username="group_b", title="Group B")
MFA = ChannelRef(tg_id=1500000003, username="mfa", title="MFA")
T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
FWD = Forward(channel_id=MFA.tg_id, username="mfa", message_id=1)  # as Telethon gives it: keyed by id
WINDOW = (T0 - timedelta(days=1), T0 + timedelta(days=1))


@pytest.mark.parametrize("text", TRIVIAL)
def test_emoji_punctuation_and_short_replies_are_no_statement(text: str) -> None:
    assert not is_statement(text)
    assert content_hash(text).startswith(TRIVIAL_MARK) and not content_folds(content_hash(text))
    # a hidden sender's forward of it is its own post, not "the same message" as every other one
    assert origin_key(GROUP_A, 7, Forward(name="Alice"), content_hash(text)) == "tg:1500000001/7"


def test_five_words_of_twenty_letters_are_a_statement() -> None:
    assert is_statement(STATEMENT) and is_statement("Сергей Лавров встретился с Вучичем")
    assert not is_statement("Lavrov met Vucic in B")  # five words, 17 letters
    assert content_folds(content_hash(STATEMENT)) and content_hash(STATEMENT) == content_hash(f"  {STATEMENT.upper()} ")
    assert origin_key(GROUP_A, 7, Forward(name="MFA Russia"), content_hash(STATEMENT)).startswith("fwd:mfa russia/")
    assert own_key_of("@group_a/7", 7, "group_a") and own_key_of("tg:15/7", 7, None, 15)
    assert not own_key_of("@mfa/3", 7, "group_a") and not own_key_of("tg:16/7", 7, None, 15)


@pytest.fixture
def chats(store: Store, pipeline: Pipeline) -> Store:
    """Two unrelated groups each saying the trivial things, a real forward of the MFA's "👍" in both,
    and the MFA's statement copied by group B without a forward header."""
    raws = [
        raw_post(i + 1, text, channel=channel, date=T0 + timedelta(minutes=i + 30 * n))
        for n, channel in enumerate((GROUP_A, GROUP_B))
        for i, text in enumerate(TRIVIAL)
    ]
    raws += [
        raw_post(1, "👍", channel=MFA, date=T0 - timedelta(hours=1)),
        raw_post(2, STATEMENT, channel=MFA, date=T0 - timedelta(minutes=50)),
        raw_post(50, "👍", channel=GROUP_A, date=T0 + timedelta(hours=2), forward=FWD),
        raw_post(50, "👍", channel=GROUP_B, date=T0 + timedelta(hours=3), forward=FWD),
        raw_post(51, STATEMENT, channel=GROUP_B, date=T0 + timedelta(hours=4)),
    ]
    make_ingest(store, pipeline).save(raws, atomic=True)
    return store


def _texts(item: DigestItem) -> list[tuple[str, str]]:
    return [(p.channel_label, p.text) for p in item.posts]


def test_trivial_messages_fold_only_as_real_forwards_everywhere(chats: Store) -> None:
    posts = chats.search(None, limit=100)
    items = fold_items(posts)
    folded = [_texts(i) for i in items if len(i.posts) > 1]
    assert folded == [
        [("@mfa", "👍"), ("@group_a", "👍"), ("@group_b", "👍")],  # the real forwards of one post
        [("@mfa", STATEMENT), ("@group_b", STATEMENT)],  # a copy without a forward header
    ]
    assert len(items) == 2 * len(TRIVIAL) + 2
    by_text = {(i.first.channel_label, i.first.text): i for i in items}
    forward = by_text[("@mfa", "👍")]
    assert forward.forwarded_from == "https://t.me/mfa/1"  # a real forward: "Original" is the MFA's post
    assert by_text[("@mfa", STATEMENT)].forwarded_from is None  # a copy names no original
    assert by_text[("@group_a", "??")].forwarded_from is None
    # the search listing (bot.app.listing) and "seen in N channels" count the same way
    listed, _ = find_items(chats, offset=0, limit=100)
    assert sorted(_texts(i) for i in listed if len(i.posts) > 1) == sorted(folded)
    assert [seen_in(i, chats) for i in listed if i.first.text == "??"] == [1, 1]
    # the web viewer's copies of a post
    browse = Browse(chats)
    for post in posts:
        copies = [(p.channel_label, p.text) for p in browse.copies(post)]
        expected = next(_texts(i) for i in items if post in i.posts)
        assert copies == expected, post.text
    # the charts' copies per statement, from the covering index's keys alone
    spread = statement_spread(browse.copy_keys(*WINDOW, limit=1000))
    first_ids = {i.first.id: len(set(i.channels)) for i in items}
    assert dict(spread) == first_ids
    # and the listing shows what was said, not "[media]"
    assert sorted({post_line(p) for p in posts if p.text in TRIVIAL}) == sorted(TRIVIAL)


def test_the_post_page_calls_only_a_real_forward_original(chats: Store, tmp_path: Path) -> None:
    path = tmp_path / "archive.db"  # the `store` fixture's archive
    ids = {(p.channel_label, p.message_id): p.id for p in chats.search(None, limit=100)}
    with client_for(path) as http:
        thumbs = http.get(f"/post/{ids[('@group_a', 1)]}").text
        forwarded = http.get(f"/post/{ids[('@group_b', 50)]}").text
        copy = http.get(f"/post/{ids[('@group_b', 51)]}").text
        listing = http.get("/", params={"q": "??"}).text
    assert "Original" not in thumbs and "Seen in 1 channel<" in thumbs
    assert '<dt>Original</dt><dd><a href="https://t.me/mfa/1"' in forwarded
    assert "Original" not in copy
    assert "[media]" not in listing


# ------------------------------------------------------------------ the real exports in ../shared


REACTIONS = ("👍", ".", "??", "🙏")


def _import(db: Path, *commands: list[str]) -> Store:
    for args in commands:
        assert main(["--db", str(db), "import", *args]) == 0
    return Store.open(db)


@pytest.fixture(scope="module")
def real_archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """Three real exports (JSON and HTML; channels and groups) imported by `tgmonitor import`."""
    if not REAL.is_dir():
        pytest.skip("../shared/real-exports is absent (third-party samples are not in the repository)")
    store = _import(
        tmp_path_factory.mktemp("real") / "real.db",
        [str(REAL / "cuda_supergroup" / "result.json"), str(REAL / "salaf_channel" / "result.json")],
        ["--channel", "@civil", str(REAL / "civil_channel_html")],
    )
    yield store
    store.close()


def assert_reactions_stand_alone(store: Store, channels: int) -> None:
    """Every fold leaves each reaction on its own, and what several chats carry is said in words."""
    browse = Browse(store)
    first, last = browse.bounds()
    assert first is not None and last is not None
    spread = dict(statement_spread(browse.copy_keys(first, last + timedelta(seconds=1), limit=100_000)))
    posts = {p.id: p for p in store.get_posts(list(spread))}
    across = [posts[i] for i, carried in spread.items() if carried > 1]
    assert all(is_statement(p.text) or not own_key_of(p.origin_key, p.message_id, p.channel_username) for p in across)
    every = store.search(None, limit=100_000)
    reactions = [p for p in every if p.text in REACTIONS]
    assert len({p.channel_id for p in reactions}) == channels
    for post in reactions:
        assert [c.id for c in browse.copies(post)] == [post.id], (post.channel_label, post.text)
        assert DigestItem((post,)).forwarded_from is None
        assert post_line(post) in (post.text, f"[{post.media_kind}] {post.text}")
    items = fold_items(every)
    assert all(len(i.posts) == 1 for i in items if i.first.text in REACTIONS)
    listed, _ = find_items(store, offset=0, limit=50, query="👍")
    assert listed and all(len(i.posts) == 1 and seen_in(i, store) == 1 for i in listed)


def test_real_exports_fold_no_reaction(real_archive: Store) -> None:
    """CUDA's three "👍" and the Salaf channel's two "." were items of 3 and 2 copies before."""
    assert_reactions_stand_alone(real_archive, channels=3)
    thumbs = [p for p in real_archive.search(None, limit=100_000) if p.text == "👍"]
    assert [p.message_id for p in thumbs] == [511, 198, 66]


@pytest.mark.slow
def test_real_exports_fold_no_reaction_across_chats(tmp_path: Path) -> None:
    """With the whole Quoxent group (16,317 messages, ~40 s): its 18 "👍" were "copies" of CUDA's
    message 66 ("seen in 2 channels", 21 copies), its "." of the Salaf channel's, its "??" of Civil's."""
    if not REAL.is_dir():
        pytest.skip("../shared/real-exports is absent (third-party samples are not in the repository)")
    store = _import(
        tmp_path / "real.db",
        [str(REAL / "cuda_supergroup" / "result.json"), str(REAL / "salaf_channel" / "result.json")],
        ["--channel", "@civil", str(REAL / "civil_channel_html")],
        ["--channel", "@quoxent", str(REAL / "quoxent_html")],
    )
    try:
        assert_reactions_stand_alone(store, channels=4)
    finally:
        store.close()


def test_numbers_of_a_post_are_decimal_digits_only() -> None:
    """The Trantor export's "❶" and "¹" are digits to str.isdigit() but not to int(): its import stopped.
    A decimal digit of another script ("٣", Arabic-Indic three) is a number in the text and counts."""
    assert text_numbers("❶ Книга ¹ 2023 год, ٣ тома") == (1, 2023, 3)  # "¹" is folded to "1" before


def test_schema_9_re_marks_the_hashes_of_an_older_archive(tmp_path: Path, pipeline: Pipeline) -> None:
    """An archive from before (hashes of "👍" unmarked, a hidden sender's "👍" keyed by name and text)
    folds like a new one after the upgrade; a real statement keeps its hash and key."""
    path = tmp_path / "old.db"
    store = Store.open(path)
    hidden = Forward(name="Alice")
    make_ingest(store, pipeline).save(
        [
            raw_post(1, "👍", channel=GROUP_A, forward=hidden),
            raw_post(2, "👍", channel=GROUP_B, forward=hidden),
            raw_post(3, STATEMENT, channel=GROUP_A, forward=Forward(name="MFA Russia")),
        ],
        atomic=True,
    )
    keys = "SELECT message_id, content_hash, origin_key FROM posts"
    now = {r[0]: (r[1], r[2]) for r in store.db.execute(keys)}
    old_hash = hashlib.blake2b("👍".encode(), digest_size=10).hexdigest()  # as content_hash() wrote it before
    store.db.execute(
        "UPDATE posts SET content_hash = ?, origin_key = ? WHERE message_id IN (1, 2)",
        [old_hash, f"fwd:alice/{old_hash}"],
    )
    drop_carried_flag(store)  # the carried flag's schema
    drop_sinks_schema(store)  # schema 10
    drop_charts_index(store)
    store.db.execute("UPDATE meta SET value = '7' WHERE key = 'schema_version'")
    store.db.conn.commit()
    assert len(fold_items(store.search(None, limit=10))) == 2  # the two "👍" were one item
    drop_post_facts(store)  # senders, hidden links, approximate times (after the read: it reads them)
    store.close()
    upgraded = Store.open(path)
    try:
        after = {
            r[0]: (r[1], r[2]) for r in upgraded.db.execute("SELECT message_id, content_hash, origin_key FROM posts")
        }
        assert after == now
        assert now[1] == (content_hash("👍"), "tg:1500000001/1") and now[2][1] == "tg:1500000002/2"
        assert len(fold_items(upgraded.search(None, limit=10))) == 3
    finally:
        upgraded.close()
