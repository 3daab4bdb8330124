"""The normalised search index in a real archive: what it finds, how it follows edits, upgrades from an
archive without it (resumable, killed with SIGKILL on the way) and rebuilds when the normaliser changes."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import pytest

from bot.cli import main as cli_main
from bot.core.pipeline import Pipeline
from bot.core.textnorm import TextNormaliser
from storage.db import SCHEMA_VERSION, schema_version
from storage.store import QueryError, Store
from tests.conftest import (
    assert_search_index_matches_rows,
    drop_carried_flag,
    drop_charts_index,
    drop_post_facts,
    drop_search_index,
    drop_sinks_schema,
    is_postgresql,
    raw_post,
)

pytestmark = pytest.mark.both_backends

ROOT = Path(__file__).resolve().parents[1]

POSTS = [
    "🇷🇺🇷🇸 Министр иностранных дел России Сергей Лавров провёл переговоры с коллегой из Сербии.",
    "Президент Сербии Александр Вучич заявил, что Белград не введёт санкции против России.",
    "Вучич провел встречу с послом России и обсудил с ним поставки газа.",
    "Сърбията и Унгария подписаха споразумение за доставки на газ.",
    "Predsednik Srbije Aleksandar Vučić razgovarao je sa ambasadorom Rusije o snabdevanju gasom.",
    "Вучић: Србија неће увести санкције Русији, без обзира на притиске.",
    "Газета «Политика» опубликовала интервью с министром обороны.",
    "President Vucic said Belgrade would not impose sanctions. 🤝",
]


def save(store: Store, pipeline: Pipeline, texts: Sequence[str], start: int = 1) -> list[int]:
    raws = [raw_post(start + n, text) for n, text in enumerate(texts)]
    return list(store.save_posts([pipeline.process(r) for r in raws]).new_ids)


def found(store: Store, query: str, **kwargs: object) -> list[int]:
    """Message ids of the hits, newest first."""
    return [p.message_id for p in store.search(query, limit=100, **kwargs)]  # type: ignore[arg-type]


@pytest.fixture
def filled(store: Store, pipeline: Pipeline) -> Store:
    save(store, pipeline, POSTS)
    return store


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Сербия", [2, 1]),  # Сербии
        ("сърбия", [6, 4]),  # Сърбията; and Serbian Србија, the same name once ъ is folded away
        ("провел", [3, 1]),  # провёл
        ("провёл", [3, 1]),
        ("Vucic", [8, 6, 5, 3, 2]),  # Вучич, Вучић, Vučić
        ("Вучић", [8, 6, 5, 3, 2]),
        ("Србија", [6, 5]),  # Србија, Srbije
        ("газ", [4, 3]),  # газа, not Газета
        ("🇷🇸", [1]),
        ("🤝", [8]),
        ('"провёл переговоры"', [1]),
        ('"Vučić"', [5]),
        ("Вучич санкции", [2]),  # every word must appear (Serbian санкције is another language's word)
    ],
)
def test_search_finds_forms_scripts_and_emoji(filled: Store, query: str, expected: list[int]) -> None:
    assert found(filled, query) == expected


def test_quoted_phrases_match_exactly_and_bare_words_any_form(filled: Store) -> None:
    assert found(filled, '"Сербии" Лавров') == [1]
    assert found(filled, '"Сербия"') == []  # the nominative is in no post
    assert found(filled, '"провел"') == [3]  # е, not ё
    assert found(filled, '"🇷🇸"') == [1]  # no words for the literal index: the normalised one finds it
    assert found(filled, '"Vučić" Сербии') == []  # the phrase and every other word
    assert found(filled, '"Vučić" Srbija') == [5]


def test_rank_order_and_filters_still_apply(filled: Store) -> None:
    assert sorted(found(filled, "Vucic", order="rank")) == [2, 3, 5, 6, 8]
    assert found(filled, "Vucic", since=filled.search(None, limit=1)[0].date + timedelta(minutes=1)) == []
    with pytest.raises(QueryError, match="empty"):
        filled.search('"" ***')


def test_edits_deletions_and_language_changes_follow_the_index(filled: Store, pipeline: Pipeline) -> None:
    edited = raw_post(7, "Газопровод в Сербию достроен.")
    assert filled.save_posts([pipeline.process(edited)]).updated == 1
    assert 7 not in found(filled, "газета") and 7 in found(filled, "Сербия")
    filled.db.execute("UPDATE posts SET lang = 'bg' WHERE message_id = 2")  # another stemmer
    # as the store does after its own writes (SQLite's triggers already did; PostgreSQL's index is
    # written from Python: storage/pg/search_index.py)
    filled.search_index.index_posts([r[0] for r in filled.db.execute("SELECT id FROM posts WHERE message_id = 2")])
    filled.db.execute("DELETE FROM posts WHERE message_id = 3")
    filled.db.conn.commit()
    assert found(filled, "Вучич") == [8, 6, 5, 2]
    assert_search_index_matches_rows(filled)


def to_schema_before(store: Store) -> None:
    """Make the archive what the schema before posts_norm (6) wrote. A PostgreSQL archive begins at
    schema 10; its nearest state is the one `reindex --full` leaves: every post pending, none indexed."""
    if is_postgresql(store.db):
        store.search_index.rebuild()
        return
    drop_carried_flag(store)  # the carried flag's schema
    drop_sinks_schema(store)  # schema 10
    drop_post_facts(store)  # senders, hidden links, approximate times
    drop_charts_index(store)
    drop_search_index(store)
    store.db.execute("UPDATE meta SET value = '6' WHERE key = 'schema_version'")
    store.db.conn.commit()


def test_upgrade_indexes_old_posts_by_resumable_batches_and_searches_meanwhile(
    tmp_path: Path, pipeline: Pipeline
) -> None:
    path = tmp_path / "old.db"
    store = Store.open(path)
    save(store, pipeline, POSTS)
    to_schema_before(store)
    store.close()

    store = Store.open(path)
    assert schema_version(store.db) == SCHEMA_VERSION
    assert store.search_index.pending() == len(POSTS)
    # Not indexed yet: old posts are still found as before (literally), new ones already by form.
    save(store, pipeline, ["Лавров прибыл в Сербию."], start=100)
    assert found(store, "Сербии") == [100, 2, 1]  # 100 (Сербию) by form, 2 and 1 as written
    assert found(store, "Сербия") == [100]
    progress: list[tuple[int, int]] = []
    assert store.search_index.backfill(batch=3, limit=3, progress=lambda d, t: progress.append((d, t))) == 3
    assert store.search_index.pending() == len(POSTS) - 3  # newest first: 8, 7, 6 done
    assert found(store, "Сербия") == [100]  # 2 and 1 are not indexed yet
    assert store.search_index.backfill(batch=3, progress=lambda d, t: progress.append((d, t))) == 5
    assert progress == [(3, 8), (3, 5), (5, 5)]
    assert store.search_index.pending() == 0 and store.search_index.pending_below() == 0
    assert found(store, "Сербия") == [100, 2, 1]
    assert_search_index_matches_rows(store)
    assert store.search_index.backfill() == 0
    store.close()


def test_a_new_normaliser_rebuilds_the_index(tmp_path: Path, pipeline: Pipeline) -> None:
    path = tmp_path / "a.db"
    store = Store.open(path)
    save(store, pipeline, POSTS)
    store.close()
    plain = TextNormaliser(stemmers={}, name="no-stemming")
    store = Store.open(path, plain)
    assert store.search_index.pending() == len(POSTS)  # its tokens were not these
    store.search_index.backfill()
    assert found(store, "Сербия") == []  # no stemming now
    assert found(store, "Сербии") == [2, 1]
    assert_search_index_matches_rows(store)
    store.close()
    store = Store.open(path)  # and back
    assert store.search_index.pending() == len(POSTS)
    store.close()


def test_reindex_command(tmp_path: Path, pipeline: Pipeline, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "old.db"
    store = Store.open(path)
    save(store, pipeline, POSTS)
    to_schema_before(store)
    store.close()
    assert cli_main(["--db", str(path), "reindex"]) == 0
    assert "8 posts indexed" in capsys.readouterr().out
    assert cli_main(["--db", str(path), "reindex"]) == 0
    assert "up to date" in capsys.readouterr().out
    assert cli_main(["--db", str(path), "reindex", "--full"]) == 0
    assert "8 posts indexed" in capsys.readouterr().out
    assert cli_main(["--db", str(path), "search", "Vucic"]) == 0
    assert "**Vučić**" in capsys.readouterr().out


def test_other_commands_fill_the_index_at_open(
    tmp_path: Path, pipeline: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "old.db"
    store = Store.open(path)
    save(store, pipeline, POSTS)
    to_schema_before(store)
    store.close()
    assert cli_main(["--db", str(path), "search", "Сербия"]) == 0
    out, err = capsys.readouterr()
    assert "indexing 8 archived posts" in err and "**Сербии**" in out
    store = Store.open(path)
    assert store.search_index.pending() == 0
    store.close()


CHILD = r"""
import sys
from storage.store import Store
store = Store.open(sys.argv[1])
print("start", store.search_index.pending(), flush=True)
store.search_index.backfill(batch=int(sys.argv[2]), progress=lambda d, t: print("batch", d, flush=True))
print("done", flush=True)
"""


@pytest.mark.slow
def test_kill_9_during_the_upgrade_backfill_resumes_and_indexes_nothing_twice(tmp_path: Path) -> None:
    from bench.corpus import generate

    path = tmp_path / "old.db"
    store = Store.open(path)
    pipeline = Pipeline.load()
    store.save_posts([pipeline.process(r) for r in generate(1500, seed=5)])
    to_schema_before(store)
    store.close()
    rng = random.Random(20261130)
    kills = 0
    for attempt in range(12):
        # single backfills first (so there are kills), then now and then two at once: they must take
        # turns, never index a batch twice
        children = [
            subprocess.Popen(
                [sys.executable, "-c", CHILD, str(path), "5"],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2 if attempt >= 4 and attempt % 2 == 0 else 1)
        ]
        assert children[0].stdout is not None
        children[0].stdout.readline()  # "start": imports done, the archive open
        if len(children) == 1:
            for _ in range(rng.randint(0, 6)):  # a few committed batches, then kill wherever it is
                children[0].stdout.readline()
            time.sleep(rng.uniform(0.0, 0.005))
        else:  # the pair's batches interleave (or one waits on the other's lock): kill by the clock
            time.sleep(rng.uniform(0.01, 0.2))
        for child in children:
            if child.poll() is None:
                child.kill()
                kills += 1
            child.communicate()
        store = Store.open(path)
        assert_search_index_matches_rows(store)
        pending = store.search_index.pending()
        store.close()
        if not pending:
            break
    assert kills >= 4, "the children finished before they could be killed; use a larger archive"
    store = Store.open(path)
    store.search_index.backfill()
    assert store.search_index.pending() == 0
    assert_search_index_matches_rows(store)
    assert store.search("Сербия", limit=1)
    store.close()


def test_a_read_only_reader_searches_as_written_when_it_cannot_use_the_index(
    tmp_path: Path, pipeline: Pipeline
) -> None:
    """The web viewer opens the archive read-only: it must neither rebuild nor query foreign tokens."""
    from storage.readonly import ReadOnlyArchive

    path = tmp_path / "a.db"
    store = Store.open(path)
    save(store, pipeline, POSTS)
    store.close()
    same = ReadOnlyArchive(path).store()
    assert found(same, "Сербия") == [2, 1]  # the normalised index, as the writer built it
    same.db.conn.close()
    other = ReadOnlyArchive(path).store()
    other.search_index.normaliser = TextNormaliser(stemmers={}, name="another")
    other.search_index.check_version()  # tokens from another normaliser, no way to rebuild
    assert found(other, "Сербии") == [2, 1] and found(other, "Сербия") == []  # literally
    other.db.conn.close()
