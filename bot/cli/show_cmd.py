"""`tgmonitor show POST_ID`: one post in full, with the archived text of the pages it links to."""

from __future__ import annotations

import argparse
import json

from bot.cli import argtypes
from bot.cli.context import CliContext
from bot.cli.output import full_article_json, post_head, post_json
from bot.core.tag_explain import TagReason, explain_topics
from bot.core.text_links import with_targets
from bot.models import Tag


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser("show", help="one post in full, with its linked articles' text")
    parser.add_argument(
        "post_id", type=argtypes.positive_int, metavar="POST_ID", help="the number search results show in [brackets]"
    )
    parser.add_argument(
        "--explain-tags",
        action="store_true",
        help="say which words of the post made each topic tag, and the rule's keywords",
    )
    parser.add_argument("--json", action="store_true")
    return parser


def explain_lines(reasons: list[TagReason], tags: tuple[Tag, ...]) -> list[str]:
    """`topic Diplomacy: "talks", "met with" (rules: talks, met with)`; hashtags are the post's own."""
    lines = [f"hashtag {t.display}: written in the post" for t in tags if t.kind == "hashtag"]
    for reason in reasons:
        words = ", ".join(f"“{w}”" for w in reason.words)
        how = "a form of one of" if reason.by_form else "rule"
        lines.append(f"topic {reason.tag.display}: {words or '(another form)'} ({how}: {', '.join(reason.keywords)})")
    archived = {t.key for t in tags if t.kind == "topic"} - {r.tag.key for r in reasons}
    lines += [f"topic {key}: archived with it, not given by the current rules" for key in sorted(archived)]
    return lines or ["no hashtags or topics"]


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    post = ctx.store.get_post(args.post_id)
    if post is None:
        raise ValueError(f"there is no post {args.post_id} in the archive")
    articles = ctx.store.articles.for_post(post.id)
    if args.json:
        shown = post_json(post) | {"articles": [full_article_json(a) for a in articles]}
        print(json.dumps(shown, ensure_ascii=False, indent=2))
        return 0
    lines = [post_head(post), post.url or "", ""]
    if post.approx_time:
        lines.insert(1, "time approximate: imported from an export without UTC offsets (the exporter's clock)")
    tags = " ".join(t.display for t in post.tags if t.kind != "lang")
    if tags:
        lines[1] = f"{lines[1]}  {tags}".strip()
    # hidden links beside their words, `words [URL]` (bot/core/text_links.py)
    lines.append(with_targets(post.text, post.text_links) or f"[{post.media_kind or 'media'} without text]")
    if args.explain_tags:
        lines += ["", *explain_lines(explain_topics(post.text, ctx.pipeline.keywords, post.lang), post.tags)]
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
