"""`tgmonitor articles fetch|status|queue`: the linked-articles queue from the command line.

`fetch` is what the service's worker does, once, now (for cron, or an archive whose service runs
with FETCH_ARTICLES=false); `status` shows the queue and what failed; `queue` finds the links in
posts archived before this feature existed (from their text: hidden links need a re-import).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.app.articles import ArticleWorker, FetchRun, policy_from_settings
from bot.cli import argtypes
from bot.cli.context import CliContext
from bot.cli.progress import ProgressBar
from bot.core.links import pick_article_links
from bot.core.timeparse import parse_since
from bot.sources.article_fetcher import ArticleFetcher


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser("articles", help="linked articles: fetch the queue now, show it, queue old posts' links")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    fetch = actions.add_parser("fetch", help="fetch every link that is due now (with progress)")
    fetch.add_argument("--limit", type=argtypes.positive_int, help="at most this many links")
    fetch.add_argument("--retry-failed", action="store_true", help="first put links that failed for good back")
    fetch.add_argument(
        "--refresh", metavar="AGE", help="also re-check archived articles not checked for AGE (e.g. 1d), conditionally"
    )
    fetch.add_argument("--json", action="store_true", help="print the counts as JSON")
    status = actions.add_parser("status", help="the queue by status, and the latest failures")
    status.add_argument("--limit", type=argtypes.non_negative_int, default=10, help="failures to list (default 10)")
    status.add_argument("--json", action="store_true")
    queue = actions.add_parser("queue", help="queue the links found in the text of posts already archived")
    queue.add_argument("--since", help="only posts from this age or date: 30d, 2026-11-01")
    queue.add_argument("--json", action="store_true")
    return parser


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    return {"fetch": _fetch, "status": _status, "queue": _queue}[args.action](args, ctx)


def _fetch(args: argparse.Namespace, ctx: CliContext) -> int:
    articles = ctx.store.articles
    now = datetime.now(UTC)
    articles.reset_skipped(now)  # settings may have changed since they were skipped
    if args.retry_failed:
        articles.retry_failed(now)
    refresh = []
    if args.refresh:
        checked_before = parse_since(args.refresh, now, ctx.settings.tz)
        refresh = articles.refresh_candidates(checked_before, None, args.limit or 1_000_000)
    due = articles.due_count(now) + len(refresh)
    total = min(due, args.limit) if args.limit else due
    bar = ProgressBar(total, "articles")
    fetcher = ArticleFetcher(policy_from_settings(ctx.settings))
    worker = ArticleWorker(ctx.store, ctx.pipeline, fetcher)

    async def go() -> FetchRun:
        try:
            result = await worker.run(limit=args.limit, progress=bar)
            if refresh:
                left = None if args.limit is None else max(0, args.limit - result.attempted)
                if left != 0:
                    more = await worker.run(limit=left, progress=bar, items=refresh)
                    result.done += more.done
                    result.unchanged += more.unchanged
                    result.failed += more.failed
            return result
        finally:
            await fetcher.aclose()

    try:
        result = asyncio.run(go())
    finally:
        bar.close()
    counts = {"attempted": result.attempted, "stored": len(result.done), **_outcomes(result)}
    if args.json:
        print(json.dumps(counts))
    elif result.attempted == 0:
        print("nothing due: the queue is empty or waiting for retries (`tgmonitor articles status`)")
    else:
        print(f"{result.attempted} links: {result.summary()}")
    return 0


def _outcomes(result: FetchRun) -> dict[str, int]:
    return {k: getattr(result, k) for k in ("unchanged", "retry", "failed", "skipped", "deferred")}


def _status(args: argparse.Namespace, ctx: CliContext) -> int:
    articles = ctx.store.articles
    now = datetime.now(UTC)
    counts = articles.counts()
    next_due = articles.next_due()
    problems = articles.problems(max(0, args.limit))
    info: dict[str, Any] = {
        "fetch_articles": ctx.settings.fetch_articles,
        "counts": counts,
        "due_now": articles.due_count(now),
        "next_due": next_due.isoformat() if next_due else None,
        "failing_hosts": articles.failing_hosts(),
        "problems": [
            {
                "id": a.id,
                "url": a.url,
                "status": a.status,
                "http_status": a.http_status,
                "error": a.error,
                "attempts": a.attempts,
                "next_try_at": a.next_try_at.isoformat() if a.next_try_at else None,
                "checked_at": a.checked_at.isoformat() if a.checked_at else None,
            }
            for a in problems
        ],
    }
    if args.json:
        print(json.dumps(info, ensure_ascii=False, indent=2))
        return 0
    order = ("done", "queued", "retry", "failed", "skipped", "alias")
    shown = " · ".join(f"{counts.get(k, 0)} {k}" for k in order if counts.get(k))
    print(f"articles: {shown or 'none yet'}" + ("" if ctx.settings.fetch_articles else " (FETCH_ARTICLES=false)"))
    when = "now" if info["due_now"] else (_ago(next_due - now) if next_due else "nothing queued")
    print(f"due now: {info['due_now']}; next: {when}")
    if info["failing_hosts"]:
        print("failing sites: " + ", ".join(f"{h} {n}" for h, n in info["failing_hosts"]))
    for a in problems:
        retry = f", retry {a.next_try_at:%Y-%m-%d %H:%M}" if a.next_try_at and a.status == "retry" else ""
        print(f"  [{a.id}] {a.status} {a.url}\n      {a.error or ''} (attempts {a.attempts}{retry})")
    return 0


def _ago(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    return f"in {minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"in {minutes}m"


def _queue(args: argparse.Namespace, ctx: CliContext) -> int:
    since = parse_since(args.since, datetime.now(UTC), ctx.settings.tz) if args.since else None
    articles = ctx.store.articles
    posts = links = 0
    last = 0
    while batch := articles.posts_with_text(since, last, 1000):
        found = [(post_id, picked) for post_id, raw_text in batch if (picked := pick_article_links((), raw_text))]
        articles.queue_links(found, datetime.now(UTC))
        posts += len(found)
        links += sum(len(picked) for _, picked in found)
        last = batch[-1][0]
    if args.json:
        print(json.dumps({"posts": posts, "links": links}))
    else:
        print(f"{links} links from {posts} posts queued (links already known are not queued twice)")
    return 0
