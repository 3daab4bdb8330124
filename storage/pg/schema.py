"""The archive's schema on PostgreSQL, and the SQL functions the storage layer calls.

Versions are the SQLite archive's (storage/migrations.py): a PostgreSQL archive is created at
`BASELINE` in one step (`_baseline`, the same tables, columns and indexes as SQLite's v1..v10), and
every later version runs the SQLite migration function itself through the translating connection
(plain `ALTER TABLE`/`CREATE INDEX` read the same on both), unless `OWN` gives a PostgreSQL one.
Each version commits with its bump in `meta`, under the writer lock, as storage/db.migrate does.

Where SQLite has FTS5 and Python functions, PostgreSQL has:
* `posts_fts` / `articles_fts`: the text as written, `to_tsvector('tg_literal', …)` with a GIN index,
  kept in step by triggers. `tg_literal` reads words as FTS5's `porter unicode61 remove_diacritics 2`
  does: case and Latin diacritics folded (the `unaccent` extension, where the server has it), English
  suffixes stemmed (Snowball's English, no stop words; FTS5's is the older Porter); word forms in
  every language are posts_norm's job;
* `posts_norm`: the normaliser's index tokens as exact lexemes with their words' positions, written
  by storage/pg/search_index.py from Python (the tokens need the normaliser), GIN-indexed;
* `tg_fts_query` / `tg_norm_query`: an FTS5 expression (quoted strings, AND/OR/NOT, parentheses,
  implicit AND) as a tsquery, so the layer's queries stay written once;
* `tg_exact`, `tg_from`: the Python functions of the same name, in SQL, boolean (they stand alone
  in WHERE clauses, where PostgreSQL wants a boolean); a rule's NEAR is `tg_near_at`, on the word
  positions posts_norm keeps (the dialect calls it for SQLite's `tg_near`; `tg_near` itself, kept
  for archives written before, checks the words' presence only).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

BASELINE = 10
# The archive's writer lock: "tgmonitor" as an integer (storage/pg/connection.py takes it too).
WRITER_LOCK = 0x7467_6D6F_6E69_746F

FUNCTIONS_TEMPLATE = r"""
DO $$ BEGIN
  CREATE EXTENSION IF NOT EXISTS unaccent;
EXCEPTION WHEN OTHERS THEN
  RAISE NOTICE 'no unaccent extension here: the literal index keeps diacritics (%)', SQLERRM;
END $$;

DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_ts_dict WHERE dictname = 'tg_porter') THEN
    CREATE TEXT SEARCH DICTIONARY tg_porter (TEMPLATE = snowball, Language = english);
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = 'tg_literal') THEN
    CREATE TEXT SEARCH CONFIGURATION tg_literal (COPY = simple);
    IF EXISTS (SELECT 1 FROM pg_ts_dict WHERE dictname = 'unaccent') THEN
      ALTER TEXT SEARCH CONFIGURATION tg_literal ALTER MAPPING
        FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part WITH unaccent, tg_porter;
    ELSE
      ALTER TEXT SEARCH CONFIGURATION tg_literal ALTER MAPPING
        FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part WITH tg_porter;
    END IF;
  END IF;
END $$;

CREATE OR REPLACE FUNCTION tg_next_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.id IS NULL THEN
    PERFORM pg_advisory_xact_lock({lock});
    EXECUTE format('SELECT coalesce(max(id), 0) + 1 FROM %I.%I', TG_TABLE_SCHEMA, TG_TABLE_NAME) INTO NEW.id;
  END IF;
  RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION tg_lexeme(word text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT '''' || replace(replace(word, '\', '\\'), '''', '''''') || ''''
$$;

CREATE OR REPLACE FUNCTION tg_fts5_tsquery(expr text, as_written boolean) RETURNS tsquery
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  m text[];
  piece text;
  out text := '';
  prev text := 'op';
BEGIN
  FOR m IN SELECT regexp_matches(coalesce(expr, ''), '"((?:[^"]|"")*)"|(\()|(\))|\m(AND|OR|NOT)\M', 'g') LOOP
    IF m[1] IS NOT NULL THEN
      piece := replace(m[1], '""', '"');
      IF as_written THEN
        piece := phraseto_tsquery('tg_literal', piece)::text;
      ELSE
        -- a token longer than a lexeme may be (2,046 bytes) is in no tsvector (search_index.py): no match
        SELECT string_agg(CASE WHEN octet_length(w) > 2046 THEN ''' ''' ELSE tg_lexeme(w) END, ' <-> ') INTO piece
          FROM regexp_split_to_table(piece, '\s+') AS w WHERE w <> '';
      END IF;
      IF piece IS NULL OR piece = '' THEN
        piece := ''' ''';  -- no word in it: a lexeme no text has, so the term matches nothing
      END IF;
      IF prev = 'term' THEN out := out || ' & '; END IF;
      out := out || '(' || piece || ')';
      prev := 'term';
    ELSIF m[2] IS NOT NULL THEN
      IF prev = 'term' THEN out := out || ' & '; END IF;
      out := out || '(';
      prev := 'op';
    ELSIF m[3] IS NOT NULL THEN
      out := out || ')';
      prev := 'term';
    ELSIF m[4] = 'AND' THEN
      out := out || ' & '; prev := 'op';
    ELSIF m[4] = 'OR' THEN
      out := out || ' | '; prev := 'op';
    ELSE
      out := out || ' & !'; prev := 'op';
    END IF;
  END LOOP;
  IF out = '' THEN out := ''' '''; END IF;
  RETURN out::tsquery;
END $$;

CREATE OR REPLACE FUNCTION tg_fts_query(expr text) RETURNS tsquery LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT tg_fts5_tsquery(expr, true)
$$;

CREATE OR REPLACE FUNCTION tg_norm_query(expr text) RETURNS tsquery LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT tg_fts5_tsquery(expr, false)
$$;

CREATE OR REPLACE FUNCTION tg_tokens(tokens text) RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT array_to_tsvector(coalesce(array_remove(string_to_array(tokens, ' '), ''), '{}'))
$$;

-- bot/core/search_query.exact_pattern: case-insensitive, whole words at the phrase's ends, any spaces.
CREATE OR REPLACE FUNCTION tg_exact(body text, phrase text) RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN body IS NULL OR phrase IS NULL OR btrim(phrase) = '' THEN false ELSE (
    (body COLLATE "default") ~* (
      CASE WHEN phrase ~ '^[[:alnum:]]' THEN '(^|[^[:alnum:]_])' ELSE '' END
      || array_to_string(ARRAY(
           SELECT regexp_replace(w, '([.^$*+?()\[\]{}|\\-])', '\\\1', 'g')
           FROM regexp_split_to_table(btrim(phrase), '\s+') AS w), '\s+')
      || CASE WHEN phrase ~ '[[:alnum:]]$' THEN '($|[^[:alnum:]_])' ELSE '' END
    )) END
$$;

-- bot/core/rule_match.from_matches.
CREATE OR REPLACE FUNCTION tg_from(val text, origin_key text, forward_name text, own_username text,
                                   own_tg_id bigint, message_id bigint) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  source text;
  name text;
BEGIN
  IF forward_name IS NOT NULL AND position(' ' || val || ' ' IN ' ' || array_to_string(
       regexp_split_to_array(btrim(lower(forward_name COLLATE "default")), '\s+'), ' ') || ' ') > 0 THEN
    RETURN true;
  END IF;
  IF origin_key IS NULL OR position('/' IN origin_key) = 0 THEN RETURN false; END IF;
  IF origin_key = '@' || own_username || '/' || message_id OR origin_key = 'tg:' || own_tg_id || '/' || message_id THEN
    RETURN false;
  END IF;
  source := regexp_replace(origin_key, '/[^/]*$', '');
  name := ltrim(val, '@');
  IF name ~ '^-100[0-9]+$' THEN name := substr(name, 5); END IF;
  RETURN source = '@' || name OR source = 'tg:' || name;
END $$;

-- bot/core/rule_match.near_match needs the normaliser for word positions; here the words' presence
-- (posts_norm, in the same WHERE) is what is checked: NEAR reads as AND on PostgreSQL.
CREATE OR REPLACE FUNCTION tg_near(body text, lang text, spec text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT true $$;

-- bot/core/rule_match.near_match on the word positions posts_norm keeps (storage/pg/search_index.py):
-- one form of each term with at most `distance` other words between the first and the last, any
-- order. The dialect calls it for SQLite's tg_near(p.text, p.lang, spec): spec = 'distance|t,t;t,t'.
CREATE OR REPLACE FUNCTION tg_near_at(post bigint, spec text) RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
  sep int := position('|' IN spec);
  distance int := substr(spec, 1, sep - 1)::int;
  terms text[] := string_to_array(substr(spec, sep + 1), ';');
  need int := coalesce(array_length(terms, 1), 0);
  ps int[];
  ks int[];
  counts int[];
  have int := 0;
  lft int := 1;
BEGIN
  IF need = 0 THEN RETURN false; END IF;
  SELECT array_agg(x.pos ORDER BY x.pos, x.k), array_agg(x.k ORDER BY x.pos, x.k) INTO ps, ks FROM (
    SELECT DISTINCT w.pos::int AS pos, t.k
    FROM posts_norm n, unnest(n.tsv) AS u(lexeme, positions, weights), unnest(u.positions) AS w(pos),
         generate_subscripts(terms, 1) AS t(k)
    WHERE n.rowid = post AND u.lexeme = ANY(string_to_array(terms[t.k], ','))
  ) AS x;
  IF ps IS NULL THEN RETURN false; END IF;
  counts := array_fill(0, ARRAY[need]);
  FOR i IN 1 .. array_length(ps, 1) LOOP
    counts[ks[i]] := counts[ks[i]] + 1;
    IF counts[ks[i]] = 1 THEN have := have + 1; END IF;
    WHILE have = need LOOP
      IF ps[i] - ps[lft] - (need - 1) <= distance THEN RETURN true; END IF;
      counts[ks[lft]] := counts[ks[lft]] - 1;
      IF counts[ks[lft]] = 0 THEN have := have - 1; END IF;
      lft := lft + 1;
    END LOOP;
  END LOOP;
  RETURN false;
END $$;

CREATE OR REPLACE FUNCTION length(bigint) RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT length($1::text)
$$;

CREATE OR REPLACE FUNCTION tg_posts_fts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO posts_fts(rowid, tsv) VALUES (NEW.id, to_tsvector('tg_literal', NEW.text))
  ON CONFLICT (rowid) DO UPDATE SET tsv = excluded.tsv;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION tg_articles_fts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO articles_fts(rowid, tsv)
  VALUES (NEW.id, setweight(to_tsvector('tg_literal', coalesce(NEW.title, '')), 'A')
                  || to_tsvector('tg_literal', NEW.text))
  ON CONFLICT (rowid) DO UPDATE SET tsv = excluded.tsv;
  RETURN NULL;
END $$;
"""

FUNCTIONS = FUNCTIONS_TEMPLATE.replace("{lock}", str(WRITER_LOCK))

TABLES = r"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE channels (
    id BIGINT PRIMARY KEY,
    tg_id BIGINT UNIQUE,
    username TEXT UNIQUE,
    title TEXT,
    source TEXT,
    watched BIGINT NOT NULL DEFAULT 0,
    last_message_id BIGINT NOT NULL DEFAULT 0,
    last_polled_at TEXT,
    last_error TEXT,
    added_at TEXT
);
CREATE TABLE posts (
    id BIGINT PRIMARY KEY,
    channel_id BIGINT NOT NULL REFERENCES channels(id),
    message_id BIGINT NOT NULL,
    date TEXT NOT NULL,
    edit_date TEXT,
    deleted BIGINT NOT NULL DEFAULT 0,
    text TEXT NOT NULL,
    raw_text TEXT NOT NULL,
    url TEXT,
    origin_key TEXT NOT NULL,
    forward_name TEXT,
    lang TEXT,
    content_hash TEXT NOT NULL,
    cluster_id BIGINT,
    media_kind TEXT,
    views BIGINT,
    grouped_id BIGINT,
    source TEXT NOT NULL,
    tag_list TEXT NOT NULL DEFAULT '',
    text_seen_at TEXT,
    deleted_at TEXT,
    forward_date TEXT,
    UNIQUE (channel_id, message_id)
);
CREATE INDEX posts_date ON posts(date, id);
CREATE INDEX posts_origin ON posts(origin_key);
CREATE INDEX posts_hash ON posts(content_hash);
CREATE INDEX posts_cluster ON posts(cluster_id);
CREATE INDEX posts_unclustered ON posts(date) WHERE cluster_id IS NULL;
CREATE INDEX posts_deleted_at ON posts(deleted_at) WHERE deleted_at IS NOT NULL;
CREATE INDEX posts_keys ON posts(date, id) INCLUDE (channel_id, deleted, origin_key, content_hash, cluster_id);
CREATE TABLE post_tags (
    post_id BIGINT NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    kind TEXT NOT NULL,
    display TEXT NOT NULL,
    PRIMARY KEY (post_id, tag, kind)
);
CREATE INDEX post_tags_tag ON post_tags(tag, post_id);
CREATE VIEW sightings AS
    SELECT origin_key, channel_id, message_id, date, id AS post_id FROM posts WHERE deleted = 0;
CREATE TABLE subscriptions (
    id BIGINT PRIMARY KEY,
    chat_id BIGINT NOT NULL,
    tags TEXT NOT NULL DEFAULT '',
    time TEXT NOT NULL,
    tz TEXT NOT NULL,
    enabled BIGINT NOT NULL DEFAULT 1,
    origin TEXT NOT NULL DEFAULT 'bot',
    created_at TEXT NOT NULL,
    subscriber_id BIGINT,
    paused_at TEXT,
    sinks TEXT,
    rule TEXT,
    UNIQUE (chat_id, tags, time, tz)
);
CREATE TABLE digests (
    id BIGINT PRIMARY KEY,
    subscription_id BIGINT NOT NULL REFERENCES subscriptions(id),
    chat_id BIGINT NOT NULL,
    window_start TEXT NOT NULL,
    window_end TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'sending',
    parts_total BIGINT NOT NULL DEFAULT 0,
    parts_sent BIGINT NOT NULL DEFAULT 0,
    message_ids TEXT NOT NULL DEFAULT '[]',
    started_at TEXT NOT NULL,
    sent_at TEXT,
    UNIQUE (subscription_id, window_end)
);
CREATE TABLE alerts_sent (
    post_id BIGINT NOT NULL REFERENCES posts(id),
    chat_id BIGINT NOT NULL,
    sent_at TEXT NOT NULL,
    message_id BIGINT,
    PRIMARY KEY (post_id, chat_id)
);
CREATE TABLE refusals (user_id BIGINT NOT NULL, day TEXT NOT NULL, PRIMARY KEY (user_id, day));
CREATE TABLE posts_fts (rowid BIGINT PRIMARY KEY REFERENCES posts(id) ON DELETE CASCADE, tsv tsvector NOT NULL);
CREATE INDEX posts_fts_tsv ON posts_fts USING gin(tsv);
CREATE TRIGGER posts_fts_write AFTER INSERT OR UPDATE OF text ON posts FOR EACH ROW EXECUTE FUNCTION tg_posts_fts();
CREATE TABLE post_signatures (
    post_id BIGINT PRIMARY KEY,
    ts BIGINT NOT NULL,
    cluster_id BIGINT NOT NULL,
    shingles BIGINT NOT NULL,
    marks TEXT NOT NULL DEFAULT ';',
    lead BIGINT,
    sig BYTEA NOT NULL
);
CREATE INDEX post_signatures_ts ON post_signatures(ts);
CREATE TABLE post_bands (band_key BIGINT NOT NULL, post_id BIGINT NOT NULL, PRIMARY KEY (band_key, post_id));
CREATE TABLE post_versions (
    id BIGINT PRIMARY KEY,
    post_id BIGINT NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    version BIGINT NOT NULL,
    text TEXT NOT NULL,
    raw_text TEXT NOT NULL,
    edit_date TEXT,
    seen_at TEXT,
    replaced_at TEXT NOT NULL,
    UNIQUE (post_id, version)
);
CREATE INDEX post_versions_replaced ON post_versions(replaced_at);
CREATE TABLE edit_alerts (
    post_id BIGINT NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    version BIGINT NOT NULL,
    chat_id BIGINT NOT NULL,
    status TEXT NOT NULL,
    decided_at TEXT NOT NULL,
    message_id BIGINT,
    PRIMARY KEY (post_id, version, chat_id)
);
CREATE INDEX edit_alerts_recent ON edit_alerts(chat_id, decided_at);
CREATE TABLE articles (
    id BIGINT PRIMARY KEY,
    url TEXT NOT NULL UNIQUE,
    host TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'queued',
    alias_of BIGINT REFERENCES articles(id),
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
    http_status BIGINT,
    error TEXT,
    etag TEXT,
    last_modified TEXT,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_try_at TEXT,
    created_at TEXT NOT NULL,
    fetched_at TEXT,
    checked_at TEXT,
    done_seq BIGINT
);
CREATE INDEX articles_due ON articles(next_try_at) WHERE status IN ('queued', 'retry');
CREATE INDEX articles_canonical ON articles(canonical_url) WHERE canonical_url IS NOT NULL;
CREATE UNIQUE INDEX articles_done_seq ON articles(done_seq) WHERE done_seq IS NOT NULL;
CREATE TABLE post_articles (
    post_id BIGINT NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    article_id BIGINT NOT NULL REFERENCES articles(id),
    position BIGINT NOT NULL,
    PRIMARY KEY (post_id, article_id)
);
CREATE INDEX post_articles_article ON post_articles(article_id, post_id);
CREATE TABLE articles_fts (rowid BIGINT PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE, tsv tsvector NOT NULL);
CREATE INDEX articles_fts_tsv ON articles_fts USING gin(tsv);
CREATE TRIGGER articles_fts_write AFTER INSERT OR UPDATE OF title, text ON articles
    FOR EACH ROW EXECUTE FUNCTION tg_articles_fts();
CREATE TABLE posts_norm (rowid BIGINT PRIMARY KEY REFERENCES posts(id) ON DELETE CASCADE, tsv tsvector NOT NULL);
CREATE INDEX posts_norm_tsv ON posts_norm USING gin(tsv);
CREATE TABLE sink_deliveries (
    id BIGINT PRIMARY KEY,
    sink TEXT NOT NULL,
    key TEXT NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    parts TEXT NOT NULL,
    parts_sent BIGINT NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts BIGINT NOT NULL DEFAULT 0,
    next_try_at TEXT NOT NULL,
    last_error TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT,
    UNIQUE (sink, key)
);
CREATE INDEX sink_deliveries_due ON sink_deliveries(sink, status, next_try_at);
CREATE TABLE sink_state (
    sink TEXT PRIMARY KEY,
    failures BIGINT NOT NULL DEFAULT 0,
    paused_at TEXT,
    last_error TEXT,
    last_ok_at TEXT
);
CREATE TABLE alert_rules (
    id BIGINT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    chat_id BIGINT NOT NULL,
    rule TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX alert_rules_user ON alert_rules(user_id, id);
"""

ID_TABLES = (
    "channels",
    "posts",
    "subscriptions",
    "digests",
    "post_versions",
    "articles",
    "sink_deliveries",
    "alert_rules",
)


def baseline_statements() -> list[str]:
    """Functions, tables and the id triggers: what a new PostgreSQL archive at BASELINE is made of."""
    statements = _split(FUNCTIONS) + _split(TABLES)
    statements += [
        f"CREATE TRIGGER {t}_next_id BEFORE INSERT ON {t} FOR EACH ROW EXECUTE FUNCTION tg_next_id()" for t in ID_TABLES
    ]
    statements.append("INSERT INTO meta(key, value) VALUES ('search_norm_pending_below', '0')")
    return statements


def _split(script: str) -> list[str]:
    """Statements of a script, keeping $$-quoted bodies whole."""
    out: list[str] = []
    current: list[str] = []
    quoted = False
    for line in script.splitlines():
        if not current and not line.strip():
            continue
        if line.strip().startswith("--") and not quoted:
            continue
        current.append(line)
        quoted ^= line.count("$$") % 2 == 1
        if not quoted and line.rstrip().endswith(";"):
            out.append("\n".join(current).rstrip().rstrip(";"))
            current = []
    if current:
        out.append("\n".join(current))
    return out


# Versions after the baseline whose SQLite migration PostgreSQL cannot run as written.
OWN: dict[int, Callable[[Any], None]] = {}
