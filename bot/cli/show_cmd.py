"""`tgmonitor show POST_ID`: one post in full, with the archived text of the pages it links to."""

from __future__ import annotations

import argparse
import json

from bot.cli.context import CliContext
from bot.cli.output import full_article_json, post_json


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser("show", help="one post in full, with its linked articles' text")
    parser.add_argument("post_id", type=int, metavar="POST_ID", help="the number search results show in [brackets]")
    parser.add_argument("--json", action="store_true")
    return parser


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    post = ctx.store.get_post(args.post_id)
    if post is None:
        raise ValueError(f"there is no post {args.post_id} in the archive")
    articles = ctx.store.articles.for_post(post.id)
    if args.json:
        shown = post_json(post) | {"articles": [full_article_json(a) for a in articles]}
        print(json.dumps(shown, ensure_ascii=False, indent=2))
        return 0
    head = f"[{post.id}] {post.date:%Y-%m-%d %H:%M} {post.channel_label}"
    if post.forward_name:
        head += f" (fwd {post.forward_name})"
    lines = [head, post.url or "", ""]
    tags = " ".join(t.display for t in post.tags if t.kind != "lang")
    if tags:
        lines[1] = f"{lines[1]}  {tags}".strip()
    lines.append(post.text or f"[{post.media_kind or 'media'} without text]")
    for article in articles:
        lines += ["", "─" * 60, f"Linked article {article.id}: {article.title or '(no title)'}"]
        about = [x for x in (article.sitename, article.author, article.published, article.lang) if x]
        if about:
            lines.append(" · ".join(about))
        lines.append(article.final_url or article.url)
        if article.status == "done":
            lines += ["", article.text]
        else:
            lines.append(f"not archived: {article.status}" + (f" ({article.error})" if article.error else ""))
    print("\n".join(lines))
    return 0
