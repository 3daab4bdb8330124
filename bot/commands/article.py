"""/article N: a linked article's archived text; and how /post offers a post's linked articles."""

from __future__ import annotations

import html

from bot.commands.args import positive
from bot.commands.deps import CommandDeps, UsageError
from bot.commands.text import reply_of, short, split_text
from bot.core.digest import TELEGRAM_LIMIT, split_messages, utf16_len
from bot.models import Chat, LinkedArticle, Reply, User

MAX_ARTICLE_PARTS = 10  # a 60,000-character treaty text is a link, not 15 messages
_STATE = {"queued": "not fetched yet", "retry": "fetch failed, will retry", "alias": "same as another"}


def article_offer(article: LinkedArticle) -> str:
    """One linked page under a post: its title and the command that sends its archived text."""
    href = html.escape(article.final_url or article.url, quote=True)
    name = html.escape(short(article.title or article.url, 120))
    if article.status == "done":
        return f'📄 <a href="{href}">{name}</a>\nFull text: /article_{article.id}'
    return f'🔗 <a href="{href}">{name}</a> · <i>{_STATE.get(article.status, "not archived")}</i>'


def article_offers(articles: tuple[LinkedArticle, ...]) -> list[str]:
    """The messages /post adds after the post: none when it links nowhere."""
    if not articles:
        return []
    return split_messages("<b>Linked articles</b>", [(None, "\n" + article_offer(a)) for a in articles])


def cmd_article(args: str, chat: Chat, user: User, deps: CommandDeps, offset: int = 0) -> Reply:
    if not args.strip():
        raise UsageError("Which article? /post ID lists a post's linked articles with their numbers.")
    article = deps.store.articles.get(positive(args.strip(), "An article id"))
    if article is not None and article.alias_of is not None:
        article = deps.store.articles.get(article.alias_of)
    if article is None:
        return reply_of(f"There is no article {html.escape(args.strip())} in the archive.")
    href = html.escape(article.final_url or article.url, quote=True)
    head = [f"<b>{html.escape(short(article.title or 'Untitled', 300))}</b>"]
    about = [x for x in (article.sitename, article.author, article.published, article.lang) if x]
    if about:
        head.append(html.escape(short(" · ".join(about), 200)))
    head.append(f'<a href="{href}">{html.escape(short(article.final_url or article.url, 80))}</a>')
    if article.status != "done":
        why = article.error or article.status
        return reply_of("\n".join([*head, f"<i>Not archived: {html.escape(short(why, 200))}</i>"]))
    if article.fetched_at is not None:
        head.append(f"<i>Archived {html.escape(deps.when(article.fetched_at))}</i>")
    header = "\n".join(head)
    chunks = split_text(article.text, TELEGRAM_LIMIT - utf16_len(header) - 2)
    parts = [f"{header}\n\n{html.escape(chunks[0])}", *(html.escape(c) for c in chunks[1:])]
    if len(parts) > MAX_ARTICLE_PARTS:
        left = sum(len(c) for c in chunks[MAX_ARTICLE_PARTS - 1 :])
        tail = f"<i>… {left:,} more characters: open the link, or</i> <code>tgmonitor show</code>"
        parts = [*parts[: MAX_ARTICLE_PARTS - 1], tail]
    return Reply(tuple(parts))
