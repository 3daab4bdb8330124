"""Linked articles: extraction F1 on the 88 dev pages served locally, and fetch + extract + store throughput.

Quality: every page of ../shared/extraction/html/ is served by a local HTTP server on 127.0.0.1,
linked from a post, fetched by the real worker (fetcher, trafilatura, the project's cleaner, the
store) and the archived text is scored against the gold body with the extraction README's metric:
multisets of 4-token shingles (tokens are `\\w+` runs), precision and recall per document (both 1
when both are empty), averaged over documents, F1 from the two means. For comparison the same
metric on trafilatura's raw output (no cleaner) and with trafilatura's default (non-precision)
settings; the settings choice is also checked 2-fold (pick on one half, score the other).

Throughput: the pages served again under distinct URLs, fetched + extracted + stored with the
production politeness turned off (ARTICLE_RATE=0, one site) and 4 sites' worth of concurrency; the
server runs in the same process, so the figure includes serving the pages.

    .venv/bin/python -m bench articles [--copies 3]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import re
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import trafilatura

from bench._util import log, machine_line, save_result, table, verdict
from bot.app.articles import ArticleWorker
from bot.core.pipeline import Pipeline
from bot.models import ChannelRef, RawPost
from bot.sources.article_extract import extract_page
from bot.sources.article_fetcher import ArticleFetcher, FetchPolicy
from storage.store import Store

SHARED = Path(__file__).resolve().parents[2] / "shared" / "extraction"
TARGET_F1 = 0.93


def shingles(text: str) -> Counter[tuple[str, ...]]:
    tokens = re.findall(r"\w+", text)
    return Counter(tuple(tokens[i : i + 4]) for i in range(max(0, len(tokens) - 3)))


def precision_recall(gold: str, output: str) -> tuple[float, float]:
    want, got = shingles(gold), shingles(output)
    if not want and not got:
        return 1.0, 1.0
    hit = sum((want & got).values())
    precision = hit / sum(got.values()) if got else 0.0
    recall = hit / sum(want.values()) if want else 0.0
    return precision, recall


def score(pairs: list[tuple[float, float]]) -> tuple[float, float, float]:
    p = sum(x for x, _ in pairs) / len(pairs)
    r = sum(y for _, y in pairs) / len(pairs)
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


class Pages:
    """The dev pages on a local server: /<id>?copy=<n> serves page <id>."""

    def __init__(self, pages: dict[str, bytes]) -> None:
        served = pages

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                body = served.get(self.path.split("?", 1)[0].strip("/"))
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def archive(urls: list[str], db: Path, pipeline: Pipeline) -> tuple[Store, float]:
    """Posts linking `urls` saved, then the worker run; returns the store and the worker's seconds."""
    store = Store.open(db)
    channel = ChannelRef(tg_id=1, username="bench")
    now = datetime.now(UTC)
    raws = [RawPost(channel, n, now, f"Post {n}", "telethon", links=(url,)) for n, url in enumerate(urls, 1)]
    store.save_posts([pipeline.process(r) for r in raws])

    async def go() -> float:
        fetcher = ArticleFetcher(FetchPolicy(allow=("127.0.0.1",), min_gap=0.0, robots=True))
        worker = ArticleWorker(store, pipeline, fetcher, batch=1000)
        start = time.perf_counter()
        try:
            result = await worker.run()
        finally:
            await fetcher.aclose()
        took = time.perf_counter() - start
        if len(result.done) + result.failed != len(urls):
            log(f"warning: {result.summary()}")
        return took

    return store, asyncio.run(go())


def raw_extraction(pages: dict[str, bytes], gold: dict[str, dict[str, str]], **options: bool) -> dict[str, tuple]:
    out = {}
    for page_id, html in pages.items():
        doc = trafilatura.bare_extraction(html, url=gold[page_id]["url"], include_comments=False, **options)
        out[page_id] = precision_recall(gold[page_id]["articleBody"], (doc.text if doc else "") or "")
    return out


def two_fold(candidates: dict[str, dict[str, tuple]], ids: list[str]) -> list[tuple[str, str, float]]:
    """Choose settings on one half of the pages, score the choice on the other half."""
    halves = [ids[0::2], ids[1::2]]
    rows = []
    for train, test in (halves, halves[::-1]):
        best = max(candidates, key=lambda name: score([candidates[name][i] for i in train])[2])
        rows.append((best, f"{score([candidates[best][i] for i in train])[2]:.3f}",
                     score([candidates[best][i] for i in test])[2]))  # fmt: skip
    return rows


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench articles", description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=3, help="times each page is linked for the throughput run")
    args = parser.parse_args(argv)
    if not (SHARED / "gold.json").is_file():
        print(f"bench articles: {SHARED} is missing (the extraction dev set lives in ../shared)", file=sys.stderr)
        return 2
    gold = json.loads((SHARED / "gold.json").read_text(encoding="utf-8"))
    pages = {page_id: gzip.decompress((SHARED / "html" / f"{page_id}.html.gz").read_bytes()) for page_id in gold}
    ids = sorted(pages)
    pipeline = Pipeline.load()
    server = Pages(pages)
    log(f"{len(pages)} pages on {server.base}; {machine_line()}")
    results: dict[str, object] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            urls = [f"{server.base}/{page_id}" for page_id in ids]
            store, _ = archive(urls, Path(tmp) / "quality.db", pipeline)
            ours = {}
            for page_id, url in zip(ids, urls, strict=True):
                article = store.articles.by_url(url)
                text = article.text if article is not None else ""
                ours[page_id] = precision_recall(gold[page_id]["articleBody"], text)
            store.close()

            copies = [f"{server.base}/{page_id}?copy={n}" for n in range(args.copies) for page_id in ids]
            store, seconds = archive(copies, Path(tmp) / "speed.db", pipeline)
            stored = store.db.execute("SELECT count(*) FROM articles WHERE status = 'done'").fetchone()[0]
            store.close()

        extract_times = []
        for page_id in ids:
            start = time.perf_counter()
            extract_page(pages[page_id], gold[page_id]["url"])
            extract_times.append(time.perf_counter() - start)
    finally:
        server.close()

    precise = raw_extraction(pages, gold, favor_precision=True)
    default = raw_extraction(pages, gold)
    rows = []
    for name, found in (("tgmonitor worker (fetch, trafilatura precision, cleaner, store)", ours),
                        ("trafilatura alone, favor_precision", precise),
                        ("trafilatura alone, default settings", default)):  # fmt: skip
        p, r, f1 = score(list(found.values()))
        rows.append((name, f"{p:.3f}", f"{r:.3f}", f"**{f1:.3f}**"))
    p, r, f1 = score(list(ours.values()))
    print(f"## Extraction quality, {len(ids)} dev pages ({machine_line()})\n")
    print(table(("pipeline", "precision", "recall", "F1"), rows))
    print(f"\ntarget F1 ≥ {TARGET_F1}: {verdict(f1 >= TARGET_F1)}")
    folds = two_fold({"favor_precision": precise, "default": default}, ids)
    print("\n2-fold check of the settings choice (pick on one half, score the other):\n")
    print(table(("chosen on train half", "train F1", "held-out F1"), [(a, b, f"{c:.3f}") for a, b, c in folds]))

    per_page = sorted(extract_times)
    throughput = len(copies) / seconds
    print(f"\n## Fetch + extract + store, {len(copies)} links ({stored} stored)\n")
    print(
        table(
            ("figure", "value"),
            [
                ("links per second (fetch, extract, clean, store; ARTICLE_RATE=0)", f"{throughput:.1f}"),
                ("ms per link, all in", f"{1000 * seconds / len(copies):.1f}"),
                ("extraction alone, median ms per page", f"{1000 * per_page[len(per_page) // 2]:.1f}"),
                ("extraction alone, slowest page ms", f"{1000 * per_page[-1]:.0f}"),
            ],
        )
    )
    results.update(
        quality={"precision": p, "recall": r, "f1": f1, "target": TARGET_F1},
        trafilatura_precision=score(list(precise.values())),
        trafilatura_default=score(list(default.values())),
        two_fold=folds,
        throughput={"links": len(copies), "seconds": seconds, "per_second": throughput},
        extraction_ms_median=1000 * per_page[len(per_page) // 2],
    )
    log(f"saved {save_result('articles', results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
