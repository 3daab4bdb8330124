"""Open the archive: pragmas for a long-running writer, schema versions applied in order.

Every migration runs in one transaction with the version bump, so a crash mid-migration leaves the
previous version intact and the next start simply tries again.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from bot.core.textnorm import TextNormaliser
from bot.models import Tag
from storage import search_index
from storage.tag_list import encode_tags

Migration = Callable[[sqlite_utils.Database], None]


def _v1(db: sqlite_utils.Database) -> None:
    db.execute(
        """CREATE TABLE channels (
            id INTEGER PRIMARY KEY,
            tg_id INTEGER UNIQUE,
            username TEXT UNIQUE,
            title TEXT,
            source TEXT,
            watched INTEGER NOT NULL DEFAULT 0,
            last_message_id INTEGER NOT NULL DEFAULT 0,
            last_polled_at TEXT,
            last_error TEXT,
            added_at TEXT
        )"""
    )
    db.execute(
        """CREATE TABLE posts (
            id INTEGER PRIMARY KEY,
            channel_id INTEGER NOT NULL REFERENCES channels(id),
            message_id INTEGER NOT NULL,
            date TEXT NOT NULL,
            edit_date TEXT,
            deleted INTEGER NOT NULL DEFAULT 0,
            text TEXT NOT NULL,
            raw_text TEXT NOT NULL,
            url TEXT,
            origin_key TEXT NOT NULL,
            forward_name TEXT,
            lang TEXT,
            content_hash TEXT NOT NULL,
            cluster_id INTEGER,
            media_kind TEXT,
            views INTEGER,
            grouped_id INTEGER,
            source TEXT NOT NULL,
            UNIQUE (channel_id, message_id)
        )"""
    )
    db.execute("CREATE INDEX posts_date ON posts(date)")
    db.execute("CREATE INDEX posts_origin ON posts(origin_key)")
    db.execute("CREATE INDEX posts_hash ON posts(content_hash)")
    db.execute("CREATE INDEX posts_cluster ON posts(cluster_id)")
    db.execute(
        """CREATE TABLE post_tags (
            post_id INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
            tag TEXT NOT NULL,
            kind TEXT NOT NULL,
            display TEXT NOT NULL,
            PRIMARY KEY (post_id, tag, kind)
        ) WITHOUT ROWID"""
    )
    db.execute("CREATE INDEX post_tags_tag ON post_tags(tag, post_id)")
    # A post forwarded by ten channels is ten rows in `posts` (each searchable in its channel);
    # the sightings of one origin are those rows, so this is a view rather than a copy to keep in step.
    db.execute(
        """CREATE VIEW sightings AS
           SELECT origin_key, channel_id, message_id, date, id AS post_id FROM posts WHERE deleted = 0"""
    )
    db.execute(
        """CREATE TABLE subscriptions (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL,
            tags TEXT NOT NULL DEFAULT '',
            time TEXT NOT NULL,
            tz TEXT NOT NULL,
            enabled INTEGER NOT NULL DEFAULT 1,
            origin TEXT NOT NULL DEFAULT 'bot',
            created_at TEXT NOT NULL,
            UNIQUE (chat_id, tags, time, tz)
        )"""
    )
    db.execute(
        """CREATE TABLE digests (
            id INTEGER PRIMARY KEY,
            subscription_id INTEGER NOT NULL REFERENCES subscriptions(id),
            chat_id INTEGER NOT NULL,
            window_start TEXT NOT NULL,
            window_end TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'sending',
            parts_total INTEGER NOT NULL DEFAULT 0,
            parts_sent INTEGER NOT NULL DEFAULT 0,
            message_ids TEXT NOT NULL DEFAULT '[]',
            started_at TEXT NOT NULL,
            sent_at TEXT,
            UNIQUE (subscription_id, window_end)
        )"""
    )
    db.execute(
        """CREATE TABLE alerts_sent (
            post_id INTEGER NOT NULL REFERENCES posts(id),
            chat_id INTEGER NOT NULL,
            sent_at TEXT NOT NULL,
            message_id INTEGER,
            PRIMARY KEY (post_id, chat_id)
        )"""
    )
    db.execute(
        """CREATE TABLE refusals (
            user_id INTEGER NOT NULL,
            day TEXT NOT NULL,
            PRIMARY KEY (user_id, day)
        )"""
    )
    # Written out rather than `enable_fts()`: that uses executescript, which commits mid-migration.
    # Same shape as sqlite-utils' (external content, triggers), but re-indexes only when text changes.
    db.execute(
        """CREATE VIRTUAL TABLE posts_fts USING fts5(
            text, content='posts', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2'
        )"""
    )
    db.execute(
        """CREATE TRIGGER posts_ai AFTER INSERT ON posts BEGIN
             INSERT INTO posts_fts(rowid, text) VALUES (new.id, new.text);
           END"""
    )
    db.execute(
        """CREATE TRIGGER posts_ad AFTER DELETE ON posts BEGIN
             INSERT INTO posts_fts(posts_fts, rowid, text) VALUES ('delete', old.id, old.text);
           END"""
    )
    db.execute(
        """CREATE TRIGGER posts_au AFTER UPDATE OF text ON posts BEGIN
             INSERT INTO posts_fts(posts_fts, rowid, text) VALUES ('delete', old.id, old.text);
             INSERT INTO posts_fts(rowid, text) VALUES (new.id, new.text);
           END"""
    )


def _v2(db: sqlite_utils.Database) -> None:
    """Near-duplicate index (storage/neardup_index.py): only posts inside the rolling window.

    A signature is kept to verify LSH candidates without re-reading and re-shingling their text;
    band rows are the LSH buckets, one B-tree keyed by band (WITHOUT ROWID: no second index).
    """
    db.execute(
        """CREATE TABLE post_signatures (
            post_id INTEGER PRIMARY KEY,
            ts INTEGER NOT NULL,
            cluster_id INTEGER NOT NULL,
            shingles INTEGER NOT NULL,
            marks TEXT NOT NULL DEFAULT ';',
            lead INTEGER,
            sig BLOB NOT NULL
        )"""
    )
    db.execute("CREATE INDEX post_signatures_ts ON post_signatures(ts)")
    # What no index has clustered yet (catch_up after every poll): small, whatever the archive's size.
    db.execute("CREATE INDEX posts_unclustered ON posts(date) WHERE cluster_id IS NULL")
    db.execute(
        """CREATE TABLE post_bands (
            band_key INTEGER NOT NULL,
            post_id INTEGER NOT NULL,
            PRIMARY KEY (band_key, post_id)
        ) WITHOUT ROWID"""
    )


def _v3(db: sqlite_utils.Database) -> None:
    """posts.tag_list (storage/tag_list.py): a post's tags on its own row, filled in from post_tags."""
    db.execute("ALTER TABLE posts ADD COLUMN tag_list TEXT NOT NULL DEFAULT ''")
    conn = db.conn
    last = 0
    while True:
        ids = [r[0] for r in conn.execute("SELECT id FROM posts WHERE id > ? ORDER BY id LIMIT 5000", [last])]
        if not ids:
            break
        by_post: dict[int, list[Tag]] = {}
        rows = conn.execute(
            "SELECT post_id, tag, display, kind FROM post_tags WHERE post_id BETWEEN ? AND ? ORDER BY post_id",
            [ids[0], ids[-1]],
        )
        for post_id, key, display, kind in rows:
            by_post.setdefault(post_id, []).append(Tag(key, display, kind))
        conn.executemany(
            "UPDATE posts SET tag_list = ? WHERE id = ?", [(encode_tags(t), p) for p, t in by_post.items()]
        )
        last = ids[-1]


def _v4(db: sqlite_utils.Database) -> None:
    """Who subscribed a chat, and a pause: digests stop when the chat or its subscriber loses access."""
    db.execute("ALTER TABLE subscriptions ADD COLUMN subscriber_id INTEGER")
    db.execute("ALTER TABLE subscriptions ADD COLUMN paused_at TEXT")


def _v5(db: sqlite_utils.Database) -> None:
    """Edit history and deletions (storage/versions.py, storage/edit_alerts.py).

    `post_versions` keeps every earlier text of a post (the current one stays in `posts`, where search
    and digests read it); its id grows with arrival. `posts.text_seen_at` is when the current text was
    first stored and `posts.deleted_at` when a deletion was noticed (both NULL for rows from before).
    `edit_alerts` records each edit/deletion alert decision per chat: what makes them exactly-once.
    """
    db.execute("ALTER TABLE posts ADD COLUMN text_seen_at TEXT")
    db.execute("ALTER TABLE posts ADD COLUMN deleted_at TEXT")
    db.execute("CREATE INDEX posts_deleted_at ON posts(deleted_at) WHERE deleted_at IS NOT NULL")
    db.execute(
        """CREATE TABLE post_versions (
            id INTEGER PRIMARY KEY,
            post_id INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
            version INTEGER NOT NULL,
            text TEXT NOT NULL,
            raw_text TEXT NOT NULL,
            edit_date TEXT,
            seen_at TEXT,
            replaced_at TEXT NOT NULL,
            UNIQUE (post_id, version)
        )"""
    )
    db.execute("CREATE INDEX post_versions_replaced ON post_versions(replaced_at)")
    db.execute(
        """CREATE TABLE edit_alerts (
            post_id INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
            version INTEGER NOT NULL,
            chat_id INTEGER NOT NULL,
            status TEXT NOT NULL,
            decided_at TEXT NOT NULL,
            message_id INTEGER,
            PRIMARY KEY (post_id, version, chat_id)
        ) WITHOUT ROWID"""
    )
    db.execute("CREATE INDEX edit_alerts_recent ON edit_alerts(chat_id, decided_at)")


def _v6(db: sqlite_utils.Database) -> None:
    """Linked articles (storage/articles.py): one row per canonical link, the posts pointing at it,
    and full-text search over their title and text.

    An `articles` row is the queue entry too: `status` queued/retry with `next_try_at` is the queue
    (a partial index keeps it small however many articles are done), done/failed/skipped/alias the
    outcome. `done_seq` orders articles by when they became readable, so the alert job can pick up
    what it has not seen across restarts. `post_articles` is WITHOUT ROWID, keyed by post, with a
    second index to reach every post of an article.
    """
    db.execute(
        """CREATE TABLE articles (
            id INTEGER PRIMARY KEY,
            url TEXT NOT NULL UNIQUE,
            host TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'queued',
            alias_of INTEGER REFERENCES articles(id),
            final_url TEXT,
            canonical_url TEXT,
            title TEXT,
            author TEXT,
            published TEXT,
            sitename TEXT,
            lang TEXT,
            text TEXT NOT NULL DEFAULT '',
            tag_list TEXT NOT NULL DEFAULT '',
            content_hash TEXT,
            http_status INTEGER,
            error TEXT,
            etag TEXT,
            last_modified TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_try_at TEXT,
            created_at TEXT NOT NULL,
            fetched_at TEXT,
            checked_at TEXT,
            done_seq INTEGER
        )"""
    )
    db.execute("CREATE INDEX articles_due ON articles(next_try_at) WHERE status IN ('queued', 'retry')")
    db.execute("CREATE INDEX articles_canonical ON articles(canonical_url) WHERE canonical_url IS NOT NULL")
    db.execute("CREATE UNIQUE INDEX articles_done_seq ON articles(done_seq) WHERE done_seq IS NOT NULL")
    db.execute(
        """CREATE TABLE post_articles (
            post_id INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
            article_id INTEGER NOT NULL REFERENCES articles(id),
            position INTEGER NOT NULL,
            PRIMARY KEY (post_id, article_id)
        ) WITHOUT ROWID"""
    )
    db.execute("CREATE INDEX post_articles_article ON post_articles(article_id, post_id)")
    db.execute(
        """CREATE VIRTUAL TABLE articles_fts USING fts5(
            title, text, content='articles', content_rowid='id',
            tokenize='porter unicode61 remove_diacritics 2'
        )"""
    )
    db.execute(
        """CREATE TRIGGER articles_ai AFTER INSERT ON articles BEGIN
             INSERT INTO articles_fts(rowid, title, text) VALUES (new.id, new.title, new.text);
           END"""
    )
    db.execute(
        """CREATE TRIGGER articles_ad AFTER DELETE ON articles BEGIN
             INSERT INTO articles_fts(articles_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text);
           END"""
    )
    db.execute(
        """CREATE TRIGGER articles_au AFTER UPDATE OF title, text ON articles BEGIN
             INSERT INTO articles_fts(articles_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text);
             INSERT INTO articles_fts(rowid, title, text) VALUES (new.id, new.title, new.text);
           END"""
    )


def _v7(db: sqlite_utils.Database) -> None:
    """posts_norm (storage/search_index.py): inflection-, script- and emoji-aware search index.

    Creating it is instant; existing posts are marked pending and indexed by the resumable backfill
    (`tgmonitor reindex`, or at open), which can take minutes on a million posts."""
    search_index.create(db)


MIGRATIONS: tuple[Migration, ...] = (_v1, _v2, _v3, _v4, _v5, _v6, _v7)
SCHEMA_VERSION = len(MIGRATIONS)


@contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[None]:
    """One atomic unit of work; nested use joins the outer transaction."""
    conn = db.conn
    if conn.in_transaction:
        yield
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.rollback()
        raise
    conn.commit()


def schema_version(db: sqlite_utils.Database) -> int:
    if "meta" not in db.table_names():
        return 0
    row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


def migrate(db: sqlite_utils.Database) -> int:
    """Apply missing migrations, each in its own transaction with its version bump.

    The version is read again inside each `BEGIN IMMEDIATE` transaction, which holds the write lock:
    two processes opening a fresh or upgraded archive at once (the service and a CLI command) take
    turns, and the second finds the work done instead of failing with "table channels already exists".
    """
    if _read_version(db) == SCHEMA_VERSION:
        return SCHEMA_VERSION  # the common case: no write lock taken just to open the archive
    while True:
        with transaction(db):
            current = _read_version(db)
            if current > SCHEMA_VERSION:
                raise RuntimeError(
                    f"database schema version {current} is newer than this tgmonitor ({SCHEMA_VERSION}); upgrade"
                )
            if current == SCHEMA_VERSION:
                return SCHEMA_VERSION
            version = current + 1
            db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            MIGRATIONS[version - 1](db)
            db.execute(
                "INSERT INTO meta(key, value) VALUES('schema_version', ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [str(version)],
            )


def _read_version(db: sqlite_utils.Database) -> int:
    """Like `schema_version`, in one query that works inside a transaction (no table list)."""
    try:
        row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" not in str(exc):
            raise
        return 0
    return int(row[0]) if row else 0


def _create_private(path: Path) -> None:
    """A new archive (and its folder) readable by its owner only: it holds every post and the chats' ids.

    SQLite gives the -wal and -shm files the database file's mode, so they follow.
    """
    if path.exists():
        return
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return  # another process created it a moment ago
    os.close(fd)


class ArchiveError(RuntimeError):
    """The archive cannot be opened as asked; the message names the path and says why, in one line."""


class NoArchiveError(ArchiveError):
    """Nothing at the path, and the caller only reads: a mistyped --db must not leave an empty archive."""


def open_db(
    path: Path | str, normaliser: TextNormaliser | None = None, *, create: bool = True
) -> sqlite_utils.Database:
    """Open and migrate; with `create` (commands that write) a missing archive and its folder are made,
    private (0600/0700).

    Without `create` a missing or empty file is NoArchiveError and nothing is written to disk.
    A directory, a file that is not SQLite, another program's SQLite database or a path that
    cannot be written are ArchiveError; ':memory:' works for throwaway use. The search index's SQL
    functions are registered before migrating: its triggers call them on every write.
    """
    if str(path) == ":memory:":
        db = _connect(":memory:", normaliser)
        migrate(db)
        return db
    file = Path(path)
    if file.is_dir():
        raise ArchiveError(
            f"{file} is a directory; --db / DB_PATH names the archive file, e.g. {file / 'tgmonitor.db'}"
        )
    if not file.exists() or (not create and file.stat().st_size == 0):
        if not create:
            raise NoArchiveError(f"no archive at {file}")
        try:
            _create_private(file)
        except OSError as exc:
            blocker = next((p for p in file.parents if p.exists() and not p.is_dir()), None)
            why = f"{blocker} is a file, not a folder" if blocker else (exc.strerror or str(exc))
            raise ArchiveError(f"cannot create the archive {file}: {why}") from exc
    try:
        db = _connect(file, normaliser)
    except sqlite3.DatabaseError as exc:
        raise ArchiveError(_why(file, exc)) from exc
    try:
        if schema_version(db) == 0 and db.table_names():
            raise ArchiveError(f"{file} is an SQLite database of another program, not a tgmonitor archive")
        migrate(db)
    except BaseException as exc:
        db.conn.close()
        if isinstance(exc, sqlite3.DatabaseError):
            raise ArchiveError(_why(file, exc)) from exc
        raise
    return db


def _connect(path: Path | str, normaliser: TextNormaliser | None = None) -> sqlite_utils.Database:
    conn = sqlite3.connect(str(path), timeout=30, check_same_thread=False)
    try:
        db = sqlite_utils.Database(conn)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA busy_timeout = 30000")
        search_index.register(conn, normaliser or TextNormaliser())
    except BaseException:
        conn.close()
        raise
    return db


def _why(file: Path, exc: sqlite3.DatabaseError) -> str:
    message = str(exc)
    if "not a database" in message or "encrypted" in message:
        return f"{file} is not a tgmonitor archive (not an SQLite database)"
    if "unable to open" in message:
        return f"cannot open the archive {file}: check that its folder exists and is writable"
    if "readonly" in message or "read-only" in message:
        return f"cannot write to the archive {file}: the file or its folder is read-only for this user"
    return f"cannot open the archive {file}: {message}"
