"""The storage layer's SQL, written for SQLite, as PostgreSQL reads it.

Why translate rather than keep a second copy of every query: the archive's SQL is ~300 statements
tuned for SQLite, and two hand-kept copies drift (a column added to one, forgotten in the other). The
dialect gap they actually use is small and regular, so one pure function closes it and every query
stays written once. What it rewrites, outside string literals:

* `?` placeholders -> `%s` (and a literal `%` -> `%%`, psycopg's escape);
* `INSERT OR IGNORE INTO t ...` -> `INSERT INTO t ... ON CONFLICT DO NOTHING`;
  `INSERT OR REPLACE INTO meta ...` -> an upsert on meta's key (the only table it is used on);
* scalar `max(a, b)` / `min(a, b)` -> `GREATEST` / `LEAST` (one argument stays the aggregate);
* `IS NOT ?` / `IS ?` -> `IS DISTINCT FROM` / `IS NOT DISTINCT FROM`;
* `X MATCH ?` on the three full-text tables -> `X.tsv @@ <tsquery built from the FTS5 expression>`
  (storage/pg/schema.py defines the converters), and `X.rank` -> `-ts_rank(X.tsv, <that tsquery>)`
  (lower is better, as FTS5's bm25 rank; the statement's MATCH parameter is read again as `$n`);
* `INDEXED BY i` / `NOT INDEXED` dropped (PostgreSQL's planner chooses); `WHERE 1` -> `WHERE TRUE`;
  a subquery in FROM without a name gets one;
* `CROSS JOIN t ON` (SQLite's "scan this table first" hint) -> `JOIN t ON`;
* `tg_near(p.text, p.lang, ?)` (a rule's NEAR, Python on SQLite) -> `tg_near_at(p.id, ?)`, which reads
  the word positions posts_norm keeps on PostgreSQL (storage/pg/schema.py); a post posts_norm has no
  row for yet (a reindex under way) passes on its words alone, found literally as SQLite finds them
  meanwhile (NEAR matched nothing there before: SQLite's tg_near reads the text itself);
* `BEGIN IMMEDIATE` -> `BEGIN` plus the archive's writer lock (storage/pg/connection.py).

Anything else SQLite-only (PRAGMA, sqlite_master, FTS5 commands) is handled where it is used, by
asking the connection's `dialect`; `tests/test_pg_dialect.py` pins each rewrite.
"""

from __future__ import annotations

import functools
import re

# The full-text tables and the SQL function that turns an FTS5 expression into their tsquery.
FTS_TABLES = {
    "posts_fts": "tg_fts_query",  # words as written (schema.py's tg_literal), as the tsvector
    "articles_fts": "tg_fts_query",
    "posts_norm": "tg_norm_query",  # index tokens as the normaliser wrote them: exact lexemes
}

_TOKEN = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|\?|%|[^'\"?%-]+|-", re.DOTALL)
_OR_IGNORE = re.compile(r"^\s*INSERT\s+OR\s+IGNORE\s+INTO\b", re.IGNORECASE)
_OR_REPLACE_META = re.compile(r"^\s*INSERT\s+OR\s+REPLACE\s+INTO\s+meta\b", re.IGNORECASE)
_MATCH = re.compile(r"\b(posts_fts|posts_norm|articles_fts)\s+MATCH\s+\?", re.IGNORECASE)
_RANK = re.compile(r"\b(posts_fts|posts_norm|articles_fts)\.rank\b")
_CROSS = re.compile(r"\bCROSS\s+JOIN\b(?=[^()]*?\bON\b)", re.IGNORECASE)
_IS_NOT_PARAM = re.compile(r"\bIS\s+NOT\s+\?", re.IGNORECASE)
_IS_PARAM = re.compile(r"\bIS\s+\?", re.IGNORECASE)
_SCALAR = re.compile(r"\b(max|min)\s*\(", re.IGNORECASE)
_NEAR = re.compile(r"\btg_near\(\s*(\w+)\.text\s*,\s*\1\.lang\s*,\s*\?\s*\)")
_BEGIN_IMMEDIATE = re.compile(r"^\s*BEGIN\s+IMMEDIATE\s*;?\s*$", re.IGNORECASE)


_DDL = re.compile(r"^\s*(CREATE\s+TABLE|ALTER\s+TABLE)\b", re.IGNORECASE)


def _ddl_types(code: str) -> str:
    """SQLite's INTEGER is 64-bit (Telegram ids need it), BLOB is bytea; rowid tables are PostgreSQL's only kind."""
    code = re.sub(r"\bINTEGER\b", "BIGINT", code, flags=re.IGNORECASE)
    code = re.sub(r"\bBLOB\b", "BYTEA", code, flags=re.IGNORECASE)
    return re.sub(r"\)\s*WITHOUT\s+ROWID", ")", code, flags=re.IGNORECASE)


class UnsupportedSql(ValueError):
    """A statement that only SQLite can run; the message names it (a bug in the storage layer)."""


@functools.lru_cache(maxsize=2048)
def translate(sql: str) -> str:
    """The statement for psycopg: same meaning, PostgreSQL's spelling (see the module docstring)."""
    if _BEGIN_IMMEDIATE.match(sql):
        return "BEGIN"
    if re.match(r"^\s*PRAGMA\b", sql, re.IGNORECASE):
        raise UnsupportedSql(f"PRAGMA is SQLite's: {sql.strip()[:60]}")
    text = sql
    if _DDL.match(text):
        text = _outside_literals(text, _ddl_types)
    conflict = ""
    if _OR_IGNORE.match(text):
        text = _OR_IGNORE.sub("INSERT INTO", text, count=1)
        conflict = " ON CONFLICT DO NOTHING"
    elif _OR_REPLACE_META.match(text):
        text = _OR_REPLACE_META.sub("INSERT INTO meta", text, count=1)
        conflict = " ON CONFLICT (key) DO UPDATE SET value = excluded.value"
    text = _outside_literals(text, _rewrite_code)
    if conflict:
        text = _append_clause(text, conflict)
    return _placeholders(text)


def _append_clause(sql: str, clause: str) -> str:
    """Put ON CONFLICT before a RETURNING clause (or at the end)."""
    body = sql.rstrip().rstrip(";")
    match = re.search(r"\bRETURNING\b", body, re.IGNORECASE)
    if match:
        return body[: match.start()] + clause.strip() + " " + body[match.start() :]
    return body + clause


_INDEXED = re.compile(r"\s+(?:NOT\s+INDEXED|INDEXED\s+BY\s+\w+)\b", re.IGNORECASE)
_BOOL_LITERAL = re.compile(r"\b(WHERE|AND|OR|ON|WHEN|NOT)\s+([01])\b(?!\s*(?:[=<>!+*/-]|\bIS\b|\bIN\b))", re.IGNORECASE)
_FROM_SUBQUERY = re.compile(r"\b(FROM|JOIN)\s*\(", re.IGNORECASE)
_ALIAS_AFTER = re.compile(
    r"\s*(?:AS\b|(?!(?:WHERE|GROUP|ORDER|LIMIT|UNION|JOIN|LEFT|INNER|CROSS|ON|HAVING|EXCEPT|INTERSECT)\b)[A-Za-z_])",
    re.IGNORECASE,
)


def _alias_subqueries(code: str) -> str:
    """PostgreSQL wants a name for every subquery in FROM/JOIN; SQLite does not."""
    out: list[str] = []
    pos = 0
    count = 0
    for match in _FROM_SUBQUERY.finditer(code):
        start = match.end() - 1
        if start < pos or not re.match(r"\(\s*(SELECT|WITH|VALUES)\b", code[start:], re.IGNORECASE):
            continue
        depth, i = 0, start
        while i < len(code):
            if code[i] == "(":
                depth += 1
            elif code[i] == ")":
                depth -= 1
                if depth == 0:
                    break
            i += 1
        if i >= len(code) or _ALIAS_AFTER.match(code, i + 1):
            continue
        count += 1
        out.append(code[pos : i + 1] + f" AS _q{count}")
        pos = i + 1
    out.append(code[pos:])
    return "".join(out)


def _rewrite_code(code: str) -> str:
    code = _INDEXED.sub("", code)
    code = _BOOL_LITERAL.sub(lambda m: f"{m.group(1)} {'TRUE' if m.group(2) == '1' else 'FALSE'}", code)
    code = _MATCH.sub(lambda m: f"{m.group(1)}.tsv @@ {FTS_TABLES[m.group(1).lower()]}(?)", code)
    code = _RANK.sub(lambda m: f"{_RANK_MARK}{m.group(1).lower()}{_RANK_MARK}", code)
    code = _CROSS.sub("JOIN", code)
    code = _NEAR.sub(
        lambda m: (
            f"(tg_near_at({m.group(1)}.id, ?) OR NOT EXISTS "
            f"(SELECT 1 FROM posts_norm WHERE posts_norm.rowid = {m.group(1)}.id))"
        ),
        code,
    )
    code = _IS_NOT_PARAM.sub("IS DISTINCT FROM ?", code)
    code = _IS_PARAM.sub("IS NOT DISTINCT FROM ?", code)
    return _alias_subqueries(_scalar_minmax(code))


def _scalar_minmax(code: str) -> str:
    """max(a, b) -> GREATEST(a, b): SQLite's two-argument max/min are scalar, PostgreSQL's never."""
    out: list[str] = []
    pos = 0
    for match in _SCALAR.finditer(code):
        if match.start() < pos:
            continue
        depth, i, top_comma = 1, match.end(), False
        while i < len(code) and depth:
            ch = code[i]
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
            elif ch == "," and depth == 1:
                top_comma = True
            i += 1
        if top_comma:
            name = "GREATEST" if match.group(1).lower() == "max" else "LEAST"
            out.append(code[pos : match.start()] + name + "(")
            pos = match.end()
    out.append(code[pos:])
    return "".join(out)


def _outside_literals(sql: str, rewrite: object) -> str:
    """Apply `rewrite` to the code between string literals and comments, never inside them."""
    assert callable(rewrite)
    parts: list[str] = []
    code: list[str] = []
    for token in _TOKEN.findall(sql):
        if token[:1] in ("'", '"') or token.startswith("--"):
            parts.append(rewrite("".join(code)))
            code = []
            parts.append(token)
        else:
            code.append(token)
    parts.append(rewrite("".join(code)))
    return "".join(parts)


# `X.rank` is left as this marker until the placeholders are numbered (below).
_RANK_MARK = "\x00"
_RANK_MARKED = re.compile(f"{_RANK_MARK}(\\w+){_RANK_MARK}")
_MATCHED = re.compile(r"\b(posts_fts|posts_norm|articles_fts)\.tsv @@ (tg_\w+_query)\($")


def _ranks(sql: str, matched: dict[str, tuple[str, int]]) -> str:
    """FTS5's rank (bm25: lower is better) as PostgreSQL's: ts_rank of the table's tsvector against the
    same query, normalised by the document's length (1 + log of it, as bm25 favours short documents).
    The query is the statement's `X MATCH ?` parameter, referenced again by number (`$n`: psycopg
    numbers its `%s` in order and passes a written `$n` through). Without a MATCH on X, SQLite's rank
    is NULL; so is this."""

    def one(m: re.Match[str]) -> str:
        table = m.group(1)
        if table not in matched:
            return "NULL::real"
        function, number = matched[table]
        return f"(-ts_rank({table}.tsv, {function}(${number}), 1))"

    return _RANK_MARKED.sub(one, sql)


def _placeholders(sql: str) -> str:
    out: list[str] = []
    matched: dict[str, tuple[str, int]] = {}  # full-text table -> (its tsquery function, its MATCH parameter)
    count = 0
    for token in _TOKEN.findall(sql):
        if token == "?":
            count += 1
            found = _MATCHED.search(out[-1]) if out else None
            if found is not None:
                matched.setdefault(found.group(1), (found.group(2), count))
            out.append("%s")
        elif token == "%":
            out.append("%%")
        elif token[:1] == "'":
            out.append(token.replace("%", "%%"))  # psycopg reads placeholders inside literals too
        else:
            out.append(token)
    text = "".join(out)
    return _ranks(text, matched) if _RANK_MARK in text else text
