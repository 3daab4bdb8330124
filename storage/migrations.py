"""The archive's schema, one function per version, applied in order by storage/db.py's `migrate`.

A migration never changes: an archive at version N has run exactly functions 1..N. New tables and
columns are a new function at the end of MIGRATIONS.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils

from bot.core.fingerprint import channel_key, content_hash
from bot.models import Tag
from storage import carried, search_index
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


def _v8(db: sqlite_utils.Database) -> None:
    """posts_keys: what the charts page reads of a month of posts, readable without the posts' rows.

    Copies per statement (storage/browse.py `copy_keys`) and posts per day per channel (`posts_per_day`)
    read every post of the range, ~60,000 on a month of a busy archive. origin_key and content_hash
    lie after text and raw_text, on overflow pages for half the posts, so reading them from the rows
    was ~250 ms of the ~1.1 s charts page on 100k posts; from this index, both read ~60 ms. It is in
    (date, id) order, the order folding needs (a group's root is its earliest post), so no sort. "Has
    text" is told by content_hash, which is why no text is needed. Cost: ~82 bytes a post (8 MB per
    100k posts, ~1% of the archive), Store.save_posts 627 -> 648 us a post (+3%, ~2% of bot.app.ingest;
    20k posts, 5 alternating runs), and building it reads every post once at the first open after
    the upgrade (~0.5 s on 100k posts in the page cache; a large archive on a cold disk takes longer).
    """
    db.execute("CREATE INDEX posts_keys ON posts(date, id, channel_id, deleted, origin_key, content_hash, cluster_id)")


def _v9(db: sqlite_utils.Database) -> None:
    """Texts that are no statement (bot/core/statements.py: "👍", "??", "Thanks") get their marked
    content hash, so they no longer fold by text across unrelated chats; a hidden-source forward of
    such a text gets its own origin key instead of one built from the sender's name and that text.

    Also `posts.forward_date`: when a forward's original was posted, as its header says (Telethon,
    HTML exports), so the spread of a statement whose origin channel is not archived still counts
    delays from the original rather than from its first sighting (NULL for posts from before).

    Reads every post's text once (a batch of ids at a time); rewrites only the short ones (on the real
    exports in ../shared, 8,264 of 19,608 posts, mostly group chatter; 0.23 s).
    """
    db.execute("ALTER TABLE posts ADD COLUMN forward_date TEXT")
    conn = db.conn
    last = 0
    while True:
        rows = conn.execute(
            "SELECT p.id, p.text, p.content_hash, p.origin_key, p.message_id, c.tg_id, c.username "
            "FROM posts p JOIN channels c ON c.id = p.channel_id WHERE p.id > ? ORDER BY p.id LIMIT 5000",
            [last],
        ).fetchall()
        if not rows:
            break
        changed = []
        for post_id, text, old_hash, origin, message_id, tg_id, username in rows:
            new_hash = content_hash(text)
            if new_hash == old_hash:
                continue
            if origin.startswith("fwd:") and origin.endswith(f"/{old_hash}"):
                origin = f"{channel_key(tg_id, username)}/{message_id}"
            changed.append((new_hash, origin, post_id))
        conn.executemany("UPDATE posts SET content_hash = ?, origin_key = ? WHERE id = ?", changed)
        last = rows[-1][0]


def _v10(db: sqlite_utils.Database) -> None:
    """Sinks and per-user rules (docs/sinks-and-rules.md).

    `sink_deliveries`: one row per (sink, what: a digest window of a subscription, an alert), unique,
    with its messages frozen as rendered for that sink and how many of them the service accepted, so
    each goes out once across crashes (storage/sink_outbox.py).  `sink_state`: failures in a row and
    when a failing sink was paused.  `alert_rules`: rules users add with /alert add.
    `subscriptions.sinks`: where a subscription's digest goes (NULL: the chat itself); `subscriptions.rule`:
    a rule its posts must match besides its tags (NULL: none)."""
    db.execute(
        """CREATE TABLE sink_deliveries (
            id INTEGER PRIMARY KEY,
            sink TEXT NOT NULL,
            key TEXT NOT NULL,
            kind TEXT NOT NULL,
            title TEXT NOT NULL,
            parts TEXT NOT NULL,
            parts_sent INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0,
            next_try_at TEXT NOT NULL,
            last_error TEXT,
            created_at TEXT NOT NULL,
            sent_at TEXT,
            UNIQUE (sink, key)
        )"""
    )
    db.execute("CREATE INDEX sink_deliveries_due ON sink_deliveries(sink, status, next_try_at)")
    db.execute(
        """CREATE TABLE sink_state (
            sink TEXT PRIMARY KEY,
            failures INTEGER NOT NULL DEFAULT 0,
            paused_at TEXT,
            last_error TEXT,
            last_ok_at TEXT
        )"""
    )
    db.execute(
        """CREATE TABLE alert_rules (
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL,
            chat_id INTEGER NOT NULL,
            rule TEXT NOT NULL,
            created_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX alert_rules_user ON alert_rules(user_id, id)")
    db.execute("ALTER TABLE subscriptions ADD COLUMN sinks TEXT")
    db.execute("ALTER TABLE subscriptions ADD COLUMN rule TEXT")


def _v11(db: sqlite_utils.Database) -> None:
    """Who wrote a post and how sure its time is (docs/data-model.md).

    `posts.sender_name`, `posts.sender_id`: who wrote a message in a group (an export's `from`/`from_id`,
    an HTML export's from_name, Telethon's sender) or signed a channel post; NULL for a channel's own
    posts and for posts stored before. `posts.time_approx`: 1 when the date is an export's wall clock
    taken as UTC (no UTC offset in the export, no --tz); the posts of exports the import already marked
    so, per channel in `meta` (`export_clock:<id>` = 'approximate'), are marked here. `posts.text_links`:
    the post's hidden links as a JSON list of [words, URL] (NULL: none)."""
    db.execute("ALTER TABLE posts ADD COLUMN sender_name TEXT")
    db.execute("ALTER TABLE posts ADD COLUMN sender_id TEXT")
    db.execute("ALTER TABLE posts ADD COLUMN time_approx INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE posts ADD COLUMN text_links TEXT")
    db.execute(
        "UPDATE posts SET time_approx = 1 WHERE source = 'export' AND channel_id IN "
        "(SELECT CAST(substr(key, 14) AS INTEGER) FROM meta WHERE key LIKE 'export_clock:%' AND value = 'approximate')"
    )


def _v12(db: sqlite_utils.Database) -> None:
    """`posts.carried` and the partial index `posts_carried`: the posts that may carry a statement with
    another post or forward another channel (storage/carried.py), so a month's amplifiers and forward
    network read only those, in (date, id) order, instead of grouping every post of the month.

    Fills the flag from the keys in posts_keys, 5,000 posts at a time (two or three index probes a
    post: ~3 s on 300,000 posts in the page cache), then builds the index over the flagged rows only.
    """
    db.execute("ALTER TABLE posts ADD COLUMN carried INTEGER NOT NULL DEFAULT 0")
    carried.fill(db)
    db.execute(
        "CREATE INDEX posts_carried ON posts(date, id, channel_id, origin_key, content_hash, cluster_id) "
        "WHERE carried = 1 AND deleted = 0"
    )


MIGRATIONS: tuple[Migration, ...] = (_v1, _v2, _v3, _v4, _v5, _v6, _v7, _v8, _v9, _v10, _v11, _v12)
SCHEMA_VERSION = len(MIGRATIONS)
