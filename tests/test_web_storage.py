"""The viewer's storage side: read-only connections, browse queries and the --sql console, on an
archive filled by the real pipeline (tests/web_archive.py)."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.core.copies import CopyKey
from bot.core.pipeline import Pipeline
from bot.core.statements import content_folds, is_statement
from bot.models import ChannelRef, Forward, RawPost, Tag
from storage.browse import MARK_CLOSE, MARK_OPEN, Browse, utc_days
from storage.readonly import ArchiveError, ReadOnlyArchive
from storage.sql_console import SqlError, run_sql
from storage.store import Store
from storage.timefmt import to_db_time
from tests.conftest import make_ingest
from tests.pg_backend import copy_archive
from tests.web_archive import HOSTILE_DATE, fill_archive

pytestmark = pytest.mark.both_backends

START = datetime(2026, 11, 1, tzinfo=UTC)
END = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def archive_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fill_archive(tmp_path_factory.mktemp("web") / "archive.db")


@pytest.fixture
def reader(archive_path: Path) -> Browse:
    store = ReadOnlyArchive(archive_path).store()
    yield Browse(store)
    store.close()


def test_missing_archive_is_a_clear_error_and_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match=r"archive not found: .*absent\.db \(set DB_PATH or pass --db\)"):
        ReadOnlyArchive(tmp_path / "absent.db")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.sqlite_only  # an SQLite file copied or edited by hand (tests/test_pg_wire.py: the server's)
def test_a_file_that_is_not_an_archive_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t(x)").connection.close()
    with pytest.raises(ArchiveError, match="is not a tgmonitor archive"):
        ReadOnlyArchive(other)
    text = tmp_path / "notes.db"
    text.write_text("not a database " * 100)
    with pytest.raises(ArchiveError, match="cannot read archive"):
        ReadOnlyArchive(text)


@pytest.mark.sqlite_only  # an SQLite file copied or edited by hand (tests/test_pg_wire.py: the server's)
def test_an_old_schema_is_refused_and_left_unmigrated(archive_path: Path, tmp_path: Path) -> None:
    old = tmp_path / "old.db"
    shutil.copy(archive_path, old)
    with sqlite3.connect(old) as conn:
        conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    before = old.read_bytes()
    with pytest.raises(ArchiveError, match=r"schema version 2; the viewer reads version 3 or later and never migrates"):
        ReadOnlyArchive(old)
    assert old.read_bytes() == before
    with sqlite3.connect(old) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(ArchiveError, match="newer than this tgmonitor"):
        ReadOnlyArchive(old)


def test_connections_cannot_write(archive_path: Path) -> None:
    db = ReadOnlyArchive(archive_path).connect()
    with pytest.raises(sqlite3.OperationalError, match=r"readonly|read-only|query_only"):
        db.execute("DELETE FROM channels")
    # posts' search-index triggers call a function only writers register: that stops it first
    with pytest.raises(sqlite3.OperationalError, match=r"readonly|read-only|query_only|no such function"):
        db.execute("DELETE FROM posts")
    db.conn.close()
    assert Store.open(archive_path).stats()["posts"] == 12


def test_reads_beside_a_writer_and_sees_its_commits(archive_path: Path, tmp_path: Path, pipeline: Pipeline) -> None:
    path = tmp_path / "live.db"
    copy_archive(archive_path, path)
    writer = Store.open(path)
    archive = ReadOnlyArchive(path)
    with writer.transaction():  # the service holds a write transaction open...
        writer.db.execute("UPDATE channels SET last_error = 'busy' WHERE id = 1")
        reading = archive.connect()  # ...and the viewer still reads the last committed state
        assert reading.execute("SELECT last_error FROM channels WHERE id = 1").fetchone() == (None,)
        reading.conn.close()
    raw = RawPost(ChannelRef(tg_id=5, username="late"), 1, datetime(2026, 11, 22, tzinfo=UTC), "Late news.", "telethon")
    make_ingest(writer, pipeline).save([raw])
    later = archive.connect()
    assert later.execute("SELECT count(*) FROM posts").fetchone() == (13,)
    later.conn.close()
    writer.close()


def test_a_statement_past_the_time_limit_is_interrupted(archive_path: Path) -> None:
    db = ReadOnlyArchive(archive_path, time_limit=0.05).connect()
    slow = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n"
    with pytest.raises(sqlite3.OperationalError, match="interrupted"):
        db.execute(slow).fetchone()
    db.conn.close()


def test_search_filters_by_language_and_get_posts_keeps_date_order(reader: Browse) -> None:
    store = reader.store
    assert [p.id for p in store.search(None, lang="ru")] == [4, 9]  # 13:30, 12:00
    assert [p.id for p in store.search("Lavrov", lang="en", order="oldest")] == [1, 8, 3, 10]
    assert [p.id for p in store.get_posts([10, 1, 999, 1])] == [1, 10]


def test_highlights_mark_every_match_of_the_quoted_query(reader: Browse) -> None:
    marked = reader.highlights('Kosovo "settlement', [1, 11, 2])
    assert set(marked) == {1}  # both words must match; post 11 has no "settlement", post 2 neither
    assert f"a {MARK_OPEN}Kosovo{MARK_CLOSE} {MARK_OPEN}settlement{MARK_CLOSE} must" in marked[1]
    assert reader.highlights("NEAR(kosovo", [1]) == {}  # FTS syntax is just text


def test_copies_fold_like_the_digest(reader: Browse) -> None:
    original = reader.store.get_post(1)
    assert original is not None
    copies = reader.copies(original)
    assert [(p.id, p.channel_title) for p in copies] == [(1, "Balkan Diplomacy Watch"), (8, "Serbia Today")]
    alone = reader.store.get_post(2)
    assert alone is not None
    assert [p.id for p in reader.copies(alone)] == [2]


def test_versions_are_the_earlier_texts_of_an_edited_post(tmp_path: Path, pipeline: Pipeline) -> None:
    path = tmp_path / "versions.db"
    writer = Store.open(path)
    ref = ChannelRef(tg_id=9, username="edits_here", title="Edits")
    first = RawPost(ref, 1, datetime(2026, 11, 20, 7, 0, tzinfo=UTC), "Talks on Kosovo today.", "telethon")
    edited = RawPost(
        ref, 1, first.date, "Talks on Kosovo postponed.", "telethon", edit_date=datetime(2026, 11, 20, 8, tzinfo=UTC)
    )
    make_ingest(writer, pipeline).save([first])
    make_ingest(writer, pipeline).save([edited])
    (post_id,) = [r[0] for r in writer.db.execute("SELECT id FROM posts")]
    writer.close()
    store = ReadOnlyArchive(path).store()
    try:
        versions = Browse(store).versions(post_id)
        assert [(v.number, v.text) for v in versions] == [(1, "Talks on Kosovo today.")]
        assert versions[0].replaced_at is not None
        assert Browse(store).versions(10**9) == []
    finally:
        store.close()


def test_counts_per_day_week_and_tag(reader: Browse) -> None:
    assert reader.posts_per_day(START, END) == [
        ("2026-11-20", 1, 6),
        ("2026-11-20", 2, 2),
        ("2026-11-20", 3, 2),
        ("2026-11-21", 1, 1),
        ("2026-11-21", 2, 1),
    ]
    assert reader.posts_per_day(START, END, tag="kosovo") == [
        ("2026-11-20", 1, 2),
        ("2026-11-20", 2, 1),
        ("2026-11-20", 3, 1),
    ]
    days = {(day, tag.display): n for day, tag, n in reader.tags_per_day(START, END)}
    assert days[("2026-11-20", "Russia")] == 6 and days[("2026-11-21", "Russia")] == 2
    assert days[("2026-11-20", "#Kosovo")] == 1 and days[("2026-11-20", "Kosovo")] == 4
    assert {day for day, _ in days} == {"2026-11-20", "2026-11-21"}
    assert all(tag.kind != "lang" for _, tag, _ in reader.tags_per_day(START, END))
    assert reader.count_posts(tag="kosovo") == 4  # post 11 has #Kosovo and Kosovo: counted once
    assert reader.count_posts(channel_id=3) == 2
    assert reader.latest(channel_id=2) == datetime(2026, 11, 21, 5, 0, tzinfo=UTC)
    assert reader.latest(tag="kosovo") == HOSTILE_DATE  # post 11 is the newest archived with it
    assert reader.bounds() == (datetime(2026, 11, 20, 7, 15, tzinfo=UTC), datetime(2026, 11, 21, 6, 10, tzinfo=UTC))
    keys = reader.copy_keys(START, END, limit=3)
    assert [(k[0], k[1], content_folds(k[3])) for k in keys] == [(1, 1, True), (8, 2, True), (2, 1, True)]
    assert reader.raw_text(11) is not None and "<script>" in (reader.raw_text(11) or "")
    assert reader.store.get_post(11).date == HOSTILE_DATE  # type: ignore[union-attr]


def _copy_keys_reading_text(reader: Browse, since: datetime, until: datetime, limit: int) -> list[CopyKey]:
    """copy_keys read from the rows, each checked: its hash folds exactly when its text is a statement."""
    rows = reader.db.execute(
        "SELECT id, channel_id, origin_key, content_hash, cluster_id, text FROM posts "
        "WHERE date >= ? AND date < ? AND deleted = 0 ORDER BY date, id LIMIT ?",
        [to_db_time(since), to_db_time(until), limit],
    ).fetchall()
    assert [content_folds(r[3]) for r in rows] == [is_statement(r[5]) for r in rows]
    return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]


# Raw texts the cleaner may leave empty (media captions that are only whitespace, Telegram's "view in
# Telegram" furniture, control and format characters) or not (a lone dot, a hashtag, a strange space).
AWKWARD_TEXTS = (
    "",
    "   \n\t ",
    "This media is not supported in your browser\nVIEW IN TELEGRAM",
    "\x1c\x1f",
    "\u3000\u2028",
    "\ufeff\u2060",
    "\u180e",
    ".",
    "#Kosovo",
    "Talks on Kosovo resumed in Brussels today.",
)


def test_copy_keys_tell_texts_that_fold_by_hash_exactly_as_by_reading_the_text(
    reader: Browse, tmp_path: Path, pipeline: Pipeline
) -> None:
    assert reader.copy_keys(START, END, limit=100) == _copy_keys_reading_text(reader, START, END, 100)
    path = tmp_path / "media.db"
    store = Store.open(path)
    channels = [ChannelRef(tg_id=1800000000 + n, username=f"media{n}", title=f"Media {n}") for n in range(3)]
    source = ChannelRef(tg_id=1800000099, username="source", title="Source")
    raws = [
        RawPost(
            channel=channel,
            message_id=100 * n + i,
            date=datetime(2026, 11, 20, 8, tzinfo=UTC) + timedelta(minutes=10 * i + n),
            text=text,
            source="telethon",
            media_kind="photo" if i % 2 else None,
            # a third of the posts are forwards: by id (same origin), or by a hidden sender's name (the
            # origin key then holds the text's hash, empty or not)
            forward=(None, Forward(channel_id=source.tg_id, message_id=i), Forward(name="Hidden MFA"))[n],
        )
        for n, channel in enumerate(channels)
        for i, text in enumerate(AWKWARD_TEXTS)
    ]
    try:
        make_ingest(store, pipeline).save(raws, atomic=True)
        store.db.execute("UPDATE posts SET deleted = 1 WHERE id = 2")  # left out by both
    finally:
        store.close()
    media = ReadOnlyArchive(path).store()
    try:
        browse = Browse(media)
        keys = browse.copy_keys(START, END, limit=1000)
        assert keys == _copy_keys_reading_text(browse, START, END, 1000)
        assert len(keys) == len(raws) - 1
        assert sum(not content_folds(k[3]) for k in keys) >= 3 * 8 - 1  # empty, '.', '#Kosovo': every channel
        assert browse.copy_keys(START, END, limit=5) == keys[:5]
    finally:
        media.close()


@pytest.mark.sqlite_only  # SQLite's query plans
def test_copy_keys_and_posts_per_day_read_the_posts_keys_index_alone(reader: Browse) -> None:
    """Both read every post of a month: from the rows that is their text's overflow pages (schema v8).
    The statements they really run (traced, parameters filled in) are planned on the posts_keys index
    alone, copy_keys in the index's own order (no sort)."""
    ran: list[str] = []
    reader.db.conn.set_trace_callback(ran.append)
    try:
        reader.copy_keys(START, END, limit=10)
        reader.posts_per_day(START, END)
    finally:
        reader.db.conn.set_trace_callback(None)
    assert len(ran) == 2
    for sql in ran:
        plan = [r[3] for r in reader.db.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall()]
        assert plan[0].startswith("SEARCH posts USING COVERING INDEX posts_keys (date>? AND date<?)"), plan
    assert len(plan) == 2 and "GROUP BY" in plan[1]  # posts_per_day groups its ~720 rows
    assert reader.db.execute(f"EXPLAIN QUERY PLAN {ran[0]}").fetchall()[1:] == []  # copy_keys: no sort


def _tags_per_day_in_one_statement(
    reader: Browse, since: datetime, until: datetime, channel_id: int | None
) -> list[tuple[str, Tag, int]]:
    """The query tags_per_day ran before it was cut into UTC days: the reference its rows must equal."""
    where, params = "p.date >= ? AND p.date < ?", [to_db_time(since), to_db_time(until)]
    if channel_id is not None:
        where, params = where + " AND p.channel_id = ?", [*params, channel_id]
    rows = reader.db.execute(
        "SELECT substr(p.date, 1, 10) AS day, t.tag, t.kind, min(t.display), count(*) "
        f"FROM posts p JOIN post_tags t ON t.post_id = p.id WHERE {where} "
        "AND t.kind IN ('hashtag', 'topic') GROUP BY day, t.tag, t.kind ORDER BY day",
        params,
    ).fetchall()
    return [(r[0], Tag(r[1], r[3], r[2]), int(r[4])) for r in rows]


@pytest.mark.parametrize(
    ("since", "until", "channel_id"),
    [
        (START, END, None),
        (START, END, 1),
        (datetime(2026, 11, 20, 9, 30, tzinfo=UTC), datetime(2026, 11, 21, 5, 30, tzinfo=UTC), None),  # mid-day ends
        (datetime(2026, 11, 20, 12, 0), datetime(2026, 11, 22), None),  # naive: UTC, as to_db_time reads them
        (datetime(2026, 11, 20, 3, 0, tzinfo=ZoneInfo("Asia/Tokyo")), END, 2),  # a day boundary inside the tz's day
        (END, END, None),
    ],
)
def test_tags_per_day_equal_the_single_statement(
    reader: Browse, since: datetime, until: datetime, channel_id: int | None
) -> None:
    expected = _tags_per_day_in_one_statement(reader, since, until, channel_id)
    assert reader.tags_per_day(since, until, channel_id=channel_id) == expected
    assert expected or since == until  # the windows do hold tagged posts


def test_utc_days_cut_at_each_utc_midnight() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    assert utc_days(datetime(2026, 11, 20, 22, 0, tzinfo=UTC), datetime(2026, 11, 22, 1, 0, tzinfo=UTC)) == [
        (datetime(2026, 11, 20, 22, 0, tzinfo=UTC), datetime(2026, 11, 21, tzinfo=UTC)),
        (datetime(2026, 11, 21, tzinfo=UTC), datetime(2026, 11, 22, tzinfo=UTC)),
        (datetime(2026, 11, 22, tzinfo=UTC), datetime(2026, 11, 22, 1, 0, tzinfo=UTC)),
    ]
    assert utc_days(datetime(2026, 11, 21, 8, 0, tzinfo=tokyo), datetime(2026, 11, 21, 10, 0, tzinfo=tokyo)) == [
        (datetime(2026, 11, 20, 23, 0, tzinfo=UTC), datetime(2026, 11, 21, tzinfo=UTC)),
        (datetime(2026, 11, 21, tzinfo=UTC), datetime(2026, 11, 21, 1, 0, tzinfo=UTC)),
    ]
    assert utc_days(END, END) == [] and utc_days(END, START) == []


def test_sql_console_reads_and_refuses_everything_else(reader: Browse, tmp_path: Path) -> None:
    db = reader.store
    result = run_sql(db, "SELECT id, lang FROM posts WHERE lang = 'ru' ORDER BY id;", max_rows=1)
    assert result.columns == ("id", "lang") and result.rows == ((4, "ru"),) and result.truncated
    refused = ["DELETE FROM posts", "UPDATE channels SET title = 'x'", "CREATE TABLE t(x)"]
    if getattr(db.db, "dialect", "sqlite") == "sqlite":  # SQLite's own doors (PostgreSQL's: tests/test_pg_wire.py)
        assert run_sql(db, "PRAGMA table_info(channels)").rows[0][1] == "id"
        (tmp_path / "secret.db").touch()
        refused += [
            f"ATTACH DATABASE '{tmp_path / 'secret.db'}' AS s",
            "PRAGMA query_only = OFF",
            "PRAGMA writable_schema = ON",
        ]
    for sql in refused:
        with pytest.raises(SqlError):
            run_sql(db, sql)
    with pytest.raises(SqlError, match="one statement"):
        run_sql(db, "SELECT 1; SELECT 2")
    with pytest.raises(SqlError, match="empty"):
        run_sql(db, " ; ")
    with pytest.raises(SqlError, match="longer than"):
        run_sql(db, "SELECT " + "1 + " * 3000 + "1")
    assert run_sql(db, "SELECT count(*) FROM posts").rows == ((12,),)  # the authorizer is gone afterwards too
