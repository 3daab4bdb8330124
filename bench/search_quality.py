"""Search quality: recall and precision of a labelled query set (en, ru, bg, sr), before and after.

Before is the literal FTS5 search tgmonitor had (`posts_fts`, every query word quoted); after is
`Store.search` over the normalised index (bot/core/textnorm.py).  Both run on one archive built through
the real pipeline from bench/data/search_quality.toml.  The same queries are also run in Python against
other normalisers (no stemming; BulStem or simplemma for the languages Snowball lacks; stems without the
word forms) with their indexing speed, which is how the default was chosen; every figure is given for
the whole set and for its two halves (odd and even queries), so a choice made on one half can be
checked on the other.

    .venv/bin/python -m bench.search_quality [--details] [--postgresql]

`--postgresql` builds the same archive on a throwaway PostgreSQL server (tools/pg_local.py) too and
reports both engines side by side, with every query whose hits differ between them.

Target: recall >= 0.95 at precision >= 0.9 (micro-averaged over the query set).
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench._util import log, machine_line, save_result, table, verdict
from bot.core.pipeline import Pipeline
from bot.core.search_query import contains_exact, parse_query
from bot.core.textnorm import TextNormaliser, default_stemmers
from bot.models import ChannelRef, RawPost
from storage.store import Store, quote_fts

DATA = Path(__file__).resolve().parent / "data" / "search_quality.toml"
TARGET_RECALL, TARGET_PRECISION = 0.95, 0.90


@dataclass(frozen=True, slots=True)
class Query:
    q: str
    lang: str
    must: frozenset[str]
    must_not: frozenset[str]


@dataclass(frozen=True, slots=True)
class Score:
    found: int  # must-find posts found
    wanted: int  # must-find posts
    wrong: int  # must-not posts found

    @property
    def recall(self) -> float:
        return self.found / self.wanted if self.wanted else 1.0

    @property
    def precision(self) -> float:
        return self.found / (self.found + self.wrong) if self.found + self.wrong else 1.0

    def __add__(self, other: Score) -> Score:
        return Score(self.found + other.found, self.wanted + other.wanted, self.wrong + other.wrong)


def load(path: Path = DATA) -> tuple[dict[str, str], list[Query]]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    posts = {p["id"]: p["text"] for p in data["post"]}
    queries = [Query(q["q"], q["lang"], frozenset(q["must"]), frozenset(q.get("must_not", []))) for q in data["query"]]
    for query in queries:
        unknown = (query.must | query.must_not) - posts.keys()
        if unknown or query.must & query.must_not:
            raise ValueError(f"{path}: query {query.q!r}: unknown or contradictory post ids {sorted(unknown)}")
    return posts, queries


def score(query: Query, found: Iterable[str]) -> Score:
    hits = set(found)
    return Score(len(hits & query.must), len(query.must), len(hits & query.must_not))


def total(queries: list[Query], found: Mapping[str, set[str]], keep: Callable[[int], bool] = lambda i: True) -> Score:
    return sum((score(q, found[q.q]) for i, q in enumerate(queries) if keep(i)), Score(0, 0, 0))


# ----------------------------------------------------------------------------------- the real archive
def build_archive(posts: dict[str, str], path: Path | str) -> tuple[Store, dict[int, str], dict[str, str | None]]:
    """Posts through the pipeline into a fresh archive; returns the store, post id -> label, languages."""
    store = Store.open(path)
    pipeline = Pipeline.load()
    channel = ChannelRef(tg_id=1001, username="quality", title="Quality set")
    start = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
    raws = [
        RawPost(channel, n, start + timedelta(minutes=n), text, "telethon")
        for n, text in enumerate(posts.values(), start=1)
    ]
    processed = [pipeline.process(r) for r in raws]
    store.save_posts(processed)
    labels = dict(zip(range(1, len(posts) + 1), posts, strict=True))
    by_message = {row[0]: labels[row[1]] for row in store.db.execute("SELECT id, message_id FROM posts").fetchall()}
    langs = {label: p.lang for label, p in zip(posts, processed, strict=True)}
    return store, by_message, langs


def before(store: Store, by_id: dict[int, str], queries: list[Query]) -> dict[str, set[str]]:
    """The search as it was: posts_fts, each query word quoted (quotes in the query are just text)."""
    sql = "SELECT rowid FROM posts_fts WHERE posts_fts MATCH ?"
    return {q.q: {by_id[r[0]] for r in store.db.execute(sql, [quote_fts(q.q)])} for q in queries}


def after(store: Store, by_id: dict[int, str], queries: list[Query]) -> dict[str, set[str]]:
    return {q.q: {by_id[p.id] for p in store.search(q.q, limit=10_000)} for q in queries}


def on_postgresql(posts: dict[str, str], queries: list[Query]) -> dict[str, dict[str, set[str]]]:
    """`before` and `after` on the same archive built on a throwaway PostgreSQL server."""
    from tools.pg_local import running

    with running() as server:
        store, by_id, _ = build_archive(posts, server.url)
        try:
            return {
                "before: literal, PostgreSQL": before(store, by_id, queries),
                "after: Store.search, PostgreSQL": after(store, by_id, queries),
            }
        finally:
            store.close()


# ----------------------------------------------------------------------------------- other normalisers
def in_python(
    normaliser: TextNormaliser, posts: dict[str, str], langs: dict[str, str | None], queries: list[Query]
) -> dict[str, set[str]]:
    """Store.search's rule without SQLite: every term meets the post's tokens, every phrase exact."""
    tokens = {label: set(normaliser.index_tokens(text, langs[label])) for label, text in posts.items()}
    found = {}
    for query in queries:
        parsed = parse_query(query.q, normaliser)
        found[query.q] = {
            label
            for label, have in tokens.items()
            if parsed.terms
            and all(term & have for term in parsed.terms)
            and all(contains_exact(posts[label], p) for p in parsed.phrases)
        }
    return found


def variants() -> dict[str, TextNormaliser]:
    """The default and what it was compared with; optional packages are skipped when missing."""
    found = {
        "Snowball + Savoy bg (default)": TextNormaliser(),
        "same, stems only (no word forms)": TextNormaliser(stem_and_word=False, name="stems-only"),
        "no stemming (case, ё, script, emoji only)": TextNormaliser(stemmers={}, name="fold-only"),
    }
    try:
        from bulstem.stem import BulStemmer

        for context in (1, 2, 3):
            rules = BulStemmer.from_file(f"stem-context-{context}", min_freq=2, left_context=context)
            stemmers = default_stemmers() | {"bg": lambda ws, r=rules: [r.stem(w) for w in ws]}
            found[f"Snowball + BulStem-{context} bg"] = TextNormaliser(stemmers=stemmers, name=f"bulstem{context}")
    except ImportError:
        log("bulstem not installed: `pip install bulstem` to compare it")
    try:
        import simplemma

        def lemmas(lang: str) -> Callable[[list[str]], list[str]]:
            return lambda ws: [simplemma.lemmatize(w, lang=lang).casefold() for w in ws]

        stemmers = {lang: lemmas(code) for lang, code in {"en": "en", "ru": "ru", "uk": "uk", "bg": "bg"}.items()}
        stemmers["sr"] = lemmas("hbs")
        found["simplemma lemmas (sr as hbs)"] = TextNormaliser(stemmers=stemmers, name="simplemma")
        found["Snowball + simplemma bg"] = TextNormaliser(
            stemmers=default_stemmers() | {"bg": lemmas("bg")}, name="snowball+simplemma-bg"
        )
    except ImportError:
        log("simplemma not installed: `pip install simplemma` to compare it")
    return found


def speed(normaliser: TextNormaliser, texts: list[tuple[str, str | None]]) -> tuple[float, float]:
    """µs per post of index_tokens: the first pass (cold memo), then a second one (warm)."""
    times = []
    for _ in range(2):
        start = time.perf_counter()
        for text, lang in texts:
            normaliser.index_tokens(text, lang)
        times.append((time.perf_counter() - start) / len(texts) * 1e6)
    return times[0], times[1]


def corpus_texts(count: int) -> list[tuple[str, str | None]]:
    from bench.corpus import generate

    pipeline = Pipeline.load()
    return [(p.text, p.lang) for p in (pipeline.process(r) for r in itertools.islice(generate(count, seed=3), count))]


# ----------------------------------------------------------------------------------- report
def row(name: str, queries: list[Query], found: Mapping[str, set[str]]) -> list[str]:
    cells = [name]
    for keep in (lambda i: True, lambda i: i % 2 == 0, lambda i: i % 2 == 1):
        s = total(queries, found, keep)
        cells.append(f"{s.recall:.3f} / {s.precision:.3f}")
    return cells


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench search_quality", description=__doc__.splitlines()[0])
    parser.add_argument("--details", action="store_true", help="list every query's misses and wrong hits")
    parser.add_argument("--speed-posts", type=int, default=2000, help="corpus posts for the speed column")
    parser.add_argument("--postgresql", action="store_true", help="the same archive on PostgreSQL too, compared")
    args = parser.parse_args(argv)

    posts, queries = load()
    with tempfile.TemporaryDirectory() as tmp:
        store, by_id, langs = build_archive(posts, Path(tmp) / "quality.db")
        try:
            results = {
                "before: literal FTS5": before(store, by_id, queries),
                "after: Store.search": after(store, by_id, queries),
            }
        finally:
            store.close()
    engines: list[tuple[str, str, str]] = []
    if args.postgresql:
        results |= on_postgresql(posts, queries)
        engines = [
            ("literal", "before: literal FTS5", "before: literal, PostgreSQL"),
            ("Store.search", "after: Store.search", "after: Store.search, PostgreSQL"),
        ]
    log(
        f"{len(queries)} queries over {len(posts)} posts; languages detected: "
        + ", ".join(f"{k} {sum(1 for v in langs.values() if v == k)}" for k in ("en", "ru", "bg", "sr", "uk", None))
    )
    others = variants()
    texts = corpus_texts(args.speed_posts)
    compared = {}
    for name, normaliser in others.items():
        compared[name] = in_python(normaliser, posts, langs, queries)
        compared[name + " speed"] = speed(normaliser, texts)  # type: ignore[assignment]
    default = compared["Snowball + Savoy bg (default)"]
    if default != results["after: Store.search"]:
        diff = [q.q for q in queries if default[q.q] != results["after: Store.search"][q.q]]
        log(f"WARNING: Store.search and the Python rule disagree on {diff}")

    headers = ["", "all: recall / precision", "even queries", "odd queries"]
    print(f"## search quality, {len(queries)} queries over {len(posts)} posts ({machine_line()})\n")
    print(table(headers, [row(name, queries, found) for name, found in results.items()]))
    print()
    by_lang = []
    for lang in ("en", "ru", "bg", "sr"):
        subset = [q for q in queries if q.lang == lang]
        b = total(subset, results["before: literal FTS5"])
        a = total(subset, results["after: Store.search"])
        by_lang.append(
            (lang, len(subset), f"{b.recall:.3f} / {b.precision:.3f}", f"{a.recall:.3f} / {a.precision:.3f}")
        )
    print(table(["typed in", "queries", "before", "after"], by_lang))
    print()
    rows = []
    for name in others:
        cold, warm = compared[name + " speed"]  # type: ignore[misc]
        rows.append([*row(name, queries, compared[name]), f"{cold:.0f}", f"{warm:.0f}"])
    print(table([*headers, "µs/post cold", "µs/post warm"], rows))
    final = total(queries, results["after: Store.search"])
    ok = final.recall >= TARGET_RECALL and final.precision >= TARGET_PRECISION
    print(
        f"\nafter: recall {final.recall:.3f}, precision {final.precision:.3f} "
        f"(target recall >= {TARGET_RECALL} at precision >= {TARGET_PRECISION}): {verdict(ok)}"
    )
    for what, sqlite_name, pg_name in engines:
        differing = [q for q in queries if results[sqlite_name][q.q] != results[pg_name][q.q]]
        print(f"\n{what}: {len(differing)} of {len(queries)} queries find other posts on PostgreSQL")
        for q in differing:
            only_sqlite = sorted(results[sqlite_name][q.q] - results[pg_name][q.q])
            only_pg = sorted(results[pg_name][q.q] - results[sqlite_name][q.q])
            print(f"- {q.q!r} ({q.lang}): only SQLite {only_sqlite}, only PostgreSQL {only_pg}")
    if args.details:
        for name in results:
            print(f"\n### {name}")
            for q in queries:
                hits = results[name][q.q]
                missed, wrong = sorted(q.must - hits), sorted(hits & q.must_not)
                if missed or wrong:
                    print(f"- {q.q!r}: missed {missed}, wrong {wrong}")
    saved = save_result(
        "search_quality",
        {
            "queries": len(queries),
            "posts": len(posts),
            "results": {
                name: {"recall": total(queries, f).recall, "precision": total(queries, f).precision}
                for name, f in [*results.items(), *((n, compared[n]) for n in others)]
            },
            "speed_us_per_post": {n: compared[n + " speed"] for n in others},
        },
    )
    log(f"results: {saved}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
