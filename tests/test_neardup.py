from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app.channel_boilerplate import LearnedBoilerplate
from bot.app.ingest import Ingest
from bot.app.listing import find_items, seen_in, seen_in_channels
from bot.app.neardup_index import NearDupIndex
from bot.cli import main
from bot.core.digest import build_digest
from bot.core.digest_render import render_text
from bot.core.learned_boilerplate import learn_boilerplate, loose_key, strip_paragraphs
from bot.core.neardup import MinHasher, NearDupParams, text_dates, text_numbers
from bot.core.pipeline import Pipeline
from bot.models import ChannelRef
from storage.store import Store
from tests.conftest import raw_post

pytestmark = pytest.mark.both_backends

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
MFA = ChannelRef(tg_id=1, username="mid_ru", title="MFA Russia")
WATCH = ChannelRef(tg_id=2, username="balkan_watch", title="Balkan Watch")
TODAY = ChannelRef(tg_id=3, username="serbia_today", title="Serbia Today")

STATEMENT = "\n".join(
    [
        "On 20 November, Foreign Minister Sergey Lavrov held talks with President of Serbia Aleksandar"
        " Vucic in Belgrade.",
        "🤝 The ministers reaffirmed their commitment to the strategic partnership between the two countries.",
        "❗️ Both sides stressed that a Kosovo settlement must rest on international law and UN Security"
        " Council Resolution 1244.",
        "🔹 Special attention was paid to gas supplies and the operation of the TurkStream pipeline.",
        "🔹 The parties agreed to continue talks on a long-term gas contract.",
        "The talks were held in a constructive atmosphere.",
        "#RussiaSerbia",
    ]
)

OTHER_MEETING = "\n".join(
    [
        "On 3 December, Foreign Minister Sergey Lavrov held talks with President of Serbia Aleksandar"
        " Vucic in Belgrade.",
        "🤝 The sides discussed the schedule of upcoming high-level contacts and agreed to keep up an"
        " intensive political dialogue.",
        "❗️ Sergey Lavrov criticised attempts by Western countries to impose their decisions on the"
        " peoples of the region.",
        "🔹 Cooperation in oil refining and the future of the NIS company were also discussed.",
        "The talks were held in a constructive atmosphere.",
        "#RussiaSerbia",
    ]
)

RU_STATEMENT = "\n".join(
    [
        "20 ноября Министр иностранных дел России Сергей Лавров провёл переговоры с Президентом Сербии"
        " Александром Вучичем в Белграде.",
        "Стороны подчеркнули, что косовское урегулирование должно основываться на международном праве и"
        " резолюции 1244 Совета Безопасности ООН.",
        "Особое внимание было уделено поставкам газа и работе газопровода «Турецкий поток».",
        "Переговоры прошли в конструктивной атмосфере.",
    ]
)

RU_COPY = "\n".join(
    [
        "⚡️СРОЧНО:",
        "20 ноября Министр иностранных дел России Сергей Лавров провел переговоры с Президентом Сербии"
        " Александром Вучичем в Белграде.",
        "Собеседники подчеркнули, что косовское урегулирование должно основываться на международном"
        " праве и резолюции 1244 Совета Безопасности ООН.",
        "Особое внимание было уделено поставкам газа и работе газопровода «Турецкий поток».",
        "Переговоры прошли в конструктивной атмосфере.",
        "Подписывайтесь на @balkan_news",
    ]
)

BG_OTHER = "\n".join(
    [
        "На 20 ноември министърът на външните работи на Русия Сергей Лавров проведе разговори с"
        " президента на Сърбия Александър Вучич в Белград.",
        "Министрите осъдиха новия пакет едностранни санкции, наложени от Европейския съюз.",
        "Страните се договориха да координират подходите си в Съвета за сигурност на ООН.",
    ]
)


@pytest.fixture
def index(store: Store) -> NearDupIndex:
    return NearDupIndex(store, boilerplate=LearnedBoilerplate(store))


def put(
    store: Store,
    pipeline: Pipeline,
    index: NearDupIndex | None,
    channel: ChannelRef,
    message_id: int,
    text: str,
    at: datetime = T0,
) -> int:
    """Ingest one post the way every CLI import does; returns its post id."""
    Ingest(store, pipeline, index).save([raw_post(message_id, text, channel=channel, date=at)])
    row = store.db.execute(
        "SELECT p.id FROM posts p JOIN channels c ON c.id = p.channel_id WHERE c.tg_id = ? AND p.message_id = ?",
        [channel.tg_id, message_id],
    ).fetchone()
    return int(row[0])


def cluster(store: Store, post_id: int) -> int | None:
    return store.db.execute("SELECT cluster_id FROM posts WHERE id = ?", [post_id]).fetchone()[0]


# ------------------------------------------------------------------------------- clustering decisions
def test_copy_with_other_header_and_signoff_joins_the_original(
    store: Store, pipeline: Pipeline, index: NearDupIndex
) -> None:
    original = put(store, pipeline, index, MFA, 100, STATEMENT)
    copy = put(
        store,
        pipeline,
        index,
        WATCH,
        7,
        "⚡️BREAKING:\n" + STATEMENT.replace("constructive", "friendly") + "\nSubscribe to @balkan_watch\n#Lavrov",
        T0 + timedelta(minutes=20),
    )
    forwarded = put(
        store, pipeline, index, TODAY, 3, "Forwarded from MFA Russia 🇷🇺\n" + STATEMENT, T0 + timedelta(hours=1)
    )
    assert cluster(store, original) == original
    assert cluster(store, copy) == original
    assert cluster(store, forwarded) == original


def test_truncated_copy_and_teaser_join_the_original(store: Store, pipeline: Pipeline, index: NearDupIndex) -> None:
    original = put(store, pipeline, index, MFA, 100, STATEMENT)
    lines = STATEMENT.split("\n")
    cut = put(store, pipeline, index, WATCH, 8, "\n".join(lines[:4]) + "\n#RussiaSerbia", T0 + timedelta(hours=2))
    teaser = "\n".join(lines[:2]) + "\n👉 Read in full: https://mid.ru/en/foreign_policy/news/1999001/"
    short = put(store, pipeline, index, TODAY, 9, teaser, T0 + timedelta(hours=3))
    assert cluster(store, cut) == original
    assert cluster(store, short) == original


def test_another_meeting_on_the_same_topic_stays_apart(store: Store, pipeline: Pipeline, index: NearDupIndex) -> None:
    first = put(store, pipeline, index, MFA, 100, STATEMENT)
    second = put(store, pipeline, index, MFA, 130, OTHER_MEETING, T0 + timedelta(days=13))
    assert cluster(store, first) == first
    assert cluster(store, second) == second


def test_cyrillic_copy_with_edits_joins_and_another_statement_does_not(
    store: Store, pipeline: Pipeline, index: NearDupIndex
) -> None:
    original = put(store, pipeline, index, MFA, 200, RU_STATEMENT)
    copy = put(store, pipeline, index, WATCH, 20, RU_COPY, T0 + timedelta(minutes=5))
    other = put(store, pipeline, index, TODAY, 21, BG_OTHER, T0 + timedelta(minutes=6))
    assert cluster(store, copy) == original
    assert cluster(store, other) == other


def test_posts_differing_only_in_date_or_number_stay_apart(
    store: Store, pipeline: Pipeline, index: NearDupIndex
) -> None:
    briefing = (
        "On {} at 12:00, Foreign Ministry Spokeswoman Maria Zakharova will hold a briefing on current "
        "foreign policy issues.\nFollow the live broadcast on the ministry's website and Telegram channel."
    )
    first = put(store, pipeline, index, MFA, 300, briefing.format("20 November"))
    week_later = put(store, pipeline, index, MFA, 301, briefing.format("27 November"), T0 + timedelta(days=7))
    assert cluster(store, week_later) == week_later != first
    rate = "Central bank exchange rate for today: one US dollar costs {} roubles, one euro {} roubles."
    a = put(store, pipeline, index, WATCH, 30, rate.format(92, 101))
    b = put(store, pipeline, index, WATCH, 31, rate.format(93, 102), T0 + timedelta(days=1))
    assert (cluster(store, a), cluster(store, b)) == (a, b)


def test_short_posts_get_their_own_cluster_and_no_index_rows(
    store: Store, pipeline: Pipeline, index: NearDupIndex
) -> None:
    first = put(store, pipeline, index, MFA, 1, "Lavrov in Belgrade")
    second = put(store, pipeline, index, WATCH, 2, "Lavrov in Belgrade!", T0 + timedelta(minutes=1))
    assert (cluster(store, first), cluster(store, second)) == (first, second)
    assert index.counts()["signatures"] == 0  # exact copies still fold in digests by content hash


def test_pure_core_dates_numbers_and_parameters() -> None:
    assert text_dates("On November 20 and 3rd of December; 20 ноября, 20 ноември, 20.11.2026") == (1120, 1203)
    assert text_dates("at 12:00 on May 5, not 1.5 kg") == (505,)
    assert text_numbers("Resolution 1244, 2 sides, https://t.me/x/99 #G20 and 1244") == (1244, 2)
    hasher = MinHasher()
    a, b = hasher.signature(STATEMENT), hasher.signature(STATEMENT.upper())
    assert a is not None and a == b and len(hasher.band_keys(a)) == hasher.params.bands + 1
    assert hasher.signature("too short to judge") is None
    with pytest.raises(ValueError):
        NearDupParams(bands=50, rows=3)


# ------------------------------------------------------------------------------ persistence and upkeep
def test_a_copy_after_reopening_joins_the_earlier_cluster(tmp_path: Path, pipeline: Pipeline) -> None:
    path = tmp_path / "archive.db"
    first = Store.open(path)
    original = put(first, pipeline, NearDupIndex(first), MFA, 100, STATEMENT)
    first.close()

    reopened = Store.open(path)
    try:
        copy = put(reopened, pipeline, NearDupIndex(reopened), WATCH, 7, "🔴 URGENT\n" + STATEMENT, T0)
        assert cluster(reopened, copy) == original
    finally:
        reopened.close()


def test_prune_and_window(store: Store, pipeline: Pipeline, index: NearDupIndex) -> None:
    original = put(store, pipeline, index, MFA, 100, STATEMENT)
    bands = index.hasher.params.bands + 1
    assert index.counts() == {"signatures": 1, "band_rows": bands, "clusters_with_copies": 0}
    # outside the window of the original: a new statement, even before pruning
    late = put(store, pipeline, index, WATCH, 1, "🔴 " + STATEMENT, T0 + timedelta(days=15))
    assert cluster(store, late) == late
    assert index.prune(T0 + timedelta(days=14, minutes=1)) == 1
    assert index.counts()["signatures"] == 1 and index.counts()["band_rows"] == bands  # only `late` is left
    assert cluster(store, original) == original  # pruning never rewrites posts
    assert index.prune(T0 + timedelta(days=40)) == 1
    assert index.counts() == {"signatures": 0, "band_rows": 0, "clusters_with_copies": 0}


def test_an_edit_is_signed_again(store: Store, pipeline: Pipeline, index: NearDupIndex) -> None:
    original = put(store, pipeline, index, MFA, 100, STATEMENT)
    placeholder = put(store, pipeline, index, WATCH, 5, "Photo of the day", T0 + timedelta(minutes=1))
    assert cluster(store, placeholder) == placeholder
    edited = put(store, pipeline, index, WATCH, 5, STATEMENT + "\nPhoto: MFA", T0 + timedelta(minutes=1))
    assert edited == placeholder and cluster(store, edited) == original
    again = put(store, pipeline, index, WATCH, 5, STATEMENT + "\nPhoto: MFA Russia", T0 + timedelta(minutes=1))
    assert cluster(store, again) == original
    assert index.counts()["band_rows"] == 2 * (index.hasher.params.bands + 1)  # old bands replaced, not added


def _edited_and_new(store: Store, pipeline: Pipeline) -> list[int]:
    """Posts clustered once, then edits and new posts no index has seen: what a batch must sort out."""
    index = NearDupIndex(store)
    first = put(store, pipeline, index, MFA, 100, STATEMENT)
    photo = put(store, pipeline, index, WATCH, 5, "Photo of the day", T0 + timedelta(minutes=1))
    other = put(store, pipeline, index, TODAY, 9, OTHER_MEETING, T0 + timedelta(minutes=2))
    put(store, pipeline, None, MFA, 100, RU_STATEMENT)  # the original now says something else ...
    put(store, pipeline, None, WATCH, 5, STATEMENT + "\nPhoto: MFA", T0 + timedelta(minutes=1))  # ... a copy of it
    new = [
        put(store, pipeline, None, ch, mid, text, T0 + timedelta(minutes=minutes))
        for ch, mid, text, minutes in [
            (TODAY, 10, "🔴 URGENT\n" + STATEMENT, 3),
            (MFA, 101, "Forwarded from MFA Russia 🇷🇺\n" + STATEMENT, 4),
            (WATCH, 6, RU_COPY, 5),
            (TODAY, 11, "⚡️BREAKING:\n" + OTHER_MEETING, 6),
        ]
    ]
    return [first, photo, other, *new]


def test_a_batch_clusters_and_flags_as_posts_one_by_one(tmp_path: Path, pipeline: Pipeline) -> None:
    """The index reads and writes a batch at once (bot/app/neardup_batch.py, storage/carried.py
    `assign_clusters`): matching within the batch, edits forgetting their old rows, clusters growing
    from one post to three and the flags they set come out as when each post is indexed alone."""
    dumps = []
    for name in ("one_by_one", "batch"):
        store = Store.open(tmp_path / f"{name}.db")
        try:
            ids = _edited_and_new(store, pipeline)
            index = NearDupIndex(store)
            if name == "batch":
                index.index(ids)
            else:
                for post_id in ids:  # in date order already
                    index.index([post_id])
            dumps.append(
                [
                    [tuple(r) for r in store.db.execute(sql).fetchall()]
                    for sql in (
                        "SELECT id, cluster_id, carried FROM posts ORDER BY id",
                        "SELECT post_id, ts, cluster_id, sig FROM post_signatures ORDER BY post_id",
                        "SELECT band_key, post_id FROM post_bands ORDER BY band_key, post_id",
                    )
                ]
            )
            first, photo, other, urgent, forwarded, ru_copy, breaking = ids
            assert {cluster(store, i) for i in (photo, urgent, forwarded)} == {photo}
            assert (cluster(store, first), cluster(store, ru_copy)) == (first, first)
            assert cluster(store, breaking) == other
        finally:
            store.close()
    assert dumps[0] == dumps[1]
    assert sum(carried for _, _, carried in dumps[0][0]) >= 7


def test_without_an_index_nothing_changes_and_catch_up_fills_in(store: Store, pipeline: Pipeline) -> None:
    original = put(store, pipeline, None, MFA, 100, STATEMENT)
    copy = put(store, pipeline, None, WATCH, 7, "⚡️BREAKING:\n" + STATEMENT, T0 + timedelta(hours=1))
    assert cluster(store, original) is None and cluster(store, copy) is None
    index = NearDupIndex(store)
    assert index.catch_up(T0 + timedelta(days=1)) == 2
    assert (cluster(store, original), cluster(store, copy)) == (original, original)
    assert index.catch_up(T0 + timedelta(days=1)) == 0


def test_other_parameters_start_the_index_afresh(store: Store, pipeline: Pipeline, index: NearDupIndex) -> None:
    put(store, pipeline, index, MFA, 100, STATEMENT)
    NearDupIndex(store, MinHasher(NearDupParams(seed=1)))
    assert index.counts()["signatures"] == 0


def test_search_results_fold_into_items_newest_first(store: Store, pipeline: Pipeline, index: NearDupIndex) -> None:
    original = put(store, pipeline, index, MFA, 100, STATEMENT)
    other = put(store, pipeline, index, MFA, 101, OTHER_MEETING, T0 + timedelta(hours=1))
    copy = put(store, pipeline, index, WATCH, 7, "⚡️BREAKING:\n" + STATEMENT, T0 + timedelta(hours=2))
    found = store.search("Vucic")  # newest first: copy, other, original
    assert [p.id for p in found] == [copy, other, original]
    items, more = find_items(store, offset=0, limit=10, query="Vucic")  # what the bot, CLI and demo list
    assert [[p.id for p in item.posts] for item in items] == [[original, copy], [other]] and not more
    assert seen_in(items[0], store) == 2 and seen_in_channels(items[0], store) == ["@mid_ru", "@balkan_watch"]
    page, more = find_items(store, offset=1, limit=1, query="Vucic")  # paging counts items, not posts
    assert [[p.id for p in item.posts] for item in page] == [[other]] and not more


# -------------------------------------------------------------------------------- learned boilerplate
SIGNOFF = "📢 Subscribe to Serbia Today: https://t.me/serbia_today"


def test_learning_needs_enough_posts_and_share() -> None:
    posts = [[f"News item {i} about Serbia.", f"👉 Read in full: https://site.rs/{i}", "#Serbia"] for i in range(4)]
    assert learn_boilerplate(posts) == []  # 4 posts are not enough
    posts.append(["News item 5.", "Read in full — https://site.rs/5", "#Serbia"])
    learned = learn_boilerplate(posts)
    assert [(p.key, p.posts, p.share) for p in learned] == [("read in full", 5, 1.0)]  # hashtags never
    many = posts + [[f"Other news {i}."] for i in range(30)]  # 5 of 35 is under 20 %
    assert learn_boilerplate(many) == []
    assert loose_key("👉 Read in full: https://a/1") == loose_key("Read in full — https://b/2")
    assert strip_paragraphs("A.\n\nRead in full", frozenset({"read in full"})) == "A."
    assert strip_paragraphs("Read in full", frozenset({"read in full"})) == "Read in full"  # all of it: kept


def test_learned_signoff_is_hidden_in_digests_and_ignored_by_clustering(
    store: Store, pipeline: Pipeline, index: NearDupIndex
) -> None:
    header = "SERBIA TODAY | Daily news from Belgrade and the region"
    footer = SIGNOFF + "\nJoin our chat, share our posts, and support independent journalism from Serbia every day"
    texts = [
        "Vucic met the Chinese ambassador.",
        "Parliament passed the budget.",
        "Belgrade hosts the energy forum.",
        "Gas prices fall in December.",
        "A new metro line opens soon.",
        "Kosovo talks resume in Brussels.",
        "Farmers protest over wheat prices.",
        "Novi Sad wins a culture award.",
        "Opposition calls for early elections.",
        "Floods hit villages along the Drina.",
        "Serbian tennis star reaches the final.",
        "Railway link to Budapest delayed again.",
        "Lithium mine plans spark debate.",
        "Tourism numbers break records this summer.",
        "Central bank keeps interest rates unchanged.",
        "Students rally outside the rectorate.",
        "Hungary and Serbia sign a pipeline deal.",
        "EU envoy visits Pristina and Belgrade.",
        "Health ministry expands free screenings.",
        "Army receives new transport helicopters.",
        "Snow closes mountain roads near Kopaonik.",
        "Wine exports to China double.",
    ]
    raws = [
        raw_post(n, f"{header}\n{text}\n{footer}", channel=TODAY, date=T0 + timedelta(minutes=n))
        for n, text in enumerate(texts, start=1)
    ]
    Ingest(store, pipeline, index).save(raws[:-1])  # an import: the batch is saved, then clustered
    later = put(store, pipeline, index, TODAY, len(raws), raws[-1].text, raws[-1].date)  # and one more, live
    ids = [r[0] for r in store.db.execute("SELECT id FROM posts ORDER BY id")]
    assert later == ids[-1]
    # without the learned header and footer these short posts would share most of their shingles
    assert len({cluster(store, i) for i in ids}) == len(ids)
    assert len(set(NearDupIndex(store).index(ids).values())) == 1
    learned = LearnedBoilerplate(store).learned(store.find_channel("@serbia_today").id)  # type: ignore[union-attr]
    assert {p.example for p in learned} == {header, SIGNOFF, footer.split("\n")[1]}
    posts = store.posts_between(T0, T0 + timedelta(days=1))
    shown = render_text(build_digest(posts, T0, T0 + timedelta(days=1)), UTC)  # learned from the window
    assert "Vucic met the Chinese ambassador." in shown and "SERBIA TODAY" not in shown
    keys = LearnedBoilerplate(store).keys_by_channel()
    assert render_text(build_digest(posts, T0, T0 + timedelta(days=1), boilerplate=keys), UTC) == shown


def test_boilerplate_and_collapsed_search_commands(
    tmp_path: Path, pipeline: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cli.db"
    store = Store.open(path)
    index = NearDupIndex(store)
    for n in range(1, 7):
        put(store, pipeline, index, TODAY, n, f"Headline number {n} from Belgrade.\n{SIGNOFF}", T0 + timedelta(hours=n))
    original = put(store, pipeline, index, MFA, 100, STATEMENT)
    put(store, pipeline, index, WATCH, 7, "⚡️BREAKING:\n" + STATEMENT, T0 + timedelta(hours=1))
    store.close()
    base = ["--db", str(path)]

    assert main([*base, "boilerplate"]) == 0
    out = capsys.readouterr().out
    assert "@serbia_today (6 recent posts)" in out and "6 posts  100%  " + SIGNOFF in out
    assert main([*base, "boilerplate", "--channel", "@mid_ru", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main([*base, "boilerplate", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [
        {"channel": "@serbia_today", "paragraph": SIGNOFF, "posts": 6, "sampled": 6, "share": 1.0}
    ]
    assert main([*base, "boilerplate", "--channel", "@nobody"]) == 1
    assert "unknown channel" in capsys.readouterr().err

    assert main([*base, "search", "Belgrade", "--collapse", "--json"]) == 0
    items = json.loads(capsys.readouterr().out)
    statement = next(i for i in items if i["id"] == original)
    assert statement["seen_in"] == ["@mid_ru", "@balkan_watch"] and len(statement["post_ids"]) == 2
    assert all(SIGNOFF not in i["text"] for i in items)  # learned boilerplate is not shown
    assert main([*base, "search", "Vucic", "--collapse"]) == 0
    assert "seen in 2 channels: @mid_ru, @balkan_watch" in capsys.readouterr().out


def test_params_fingerprint_names_everything_that_changes_signatures() -> None:
    base = NearDupParams()
    for name in ("num_perm", "bands", "rows", "shingle_words", "max_words", "lead_words", "header_words", "seed"):
        value = getattr(base, name)
        changed = dataclasses.replace(base, **{name: value - 1 if name in ("bands", "rows") else value + 1})
        assert changed.fingerprint != base.fingerprint, name
