"""A digest or an alert as each kind of sink wants it. Pure.

Apprise (bot/outputs/sinks.py) delivers; what it does not decide is the shape:
* `telegram`: Telegram HTML, the chat's own messages (bot/core/digest_render.py, bot/core/alerts.py);
* `markdown`: chat apps (Slack, Discord, Mattermost, Matrix, Rocket.Chat, ntfy...): `**bold**`, `[open](url)`,
  the archive's text backslash-escaped so a post cannot add markup;
* `email`: one HTML document per digest (Apprise adds the text/plain alternative from it), links written
  out as their own URL so the text part keeps them too;
* `json`: one JSON document, schema `tgmonitor.sink/1` (docs/sinks-and-rules.md), as the message;
* `text`: plain lines.
Chat formats are split at item boundaries under the service's own limit (Apprise's `body_maxlen`);
email and JSON are never split: one digest is one email, one document.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import Literal

from bot.core.alerts import render_alert
from bot.core.digest import Digest, DigestItem
from bot.core.digest_render import (
    MEDIA_HEADING,
    digest_json,
    render_html,
    render_item_text,
    render_media_text,
    render_text,
    snippet,
)
from bot.core.digest_render import _tag_label as section_label
from bot.core.telegram_text import strip_bidi
from bot.models import StoredPost

SinkFormat = Literal["telegram", "markdown", "email", "json", "text"]
SCHEMA = "tgmonitor.sink/1"
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|>~<])")


@dataclass(frozen=True, slots=True)
class Rendered:
    title: str
    parts: tuple[str, ...]  # the messages, in order (one for email and JSON)


def md(text: str) -> str:
    """Archive text inside Markdown: every markup character escaped, bidi controls dropped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", strip_bidi(text))


def split_blocks(header: str, blocks: Sequence[tuple[str | None, str]], limit: int) -> tuple[str, ...]:
    """Header and (heading, line) blocks packed into messages of at most `limit` characters, split only
    between blocks; a section's heading is repeated where it continues; a block too long alone is cut."""
    messages: list[str] = []
    current, heading_now = header[:limit], None
    for heading, line in blocks:
        addition = (f"\n\n{heading}" if heading != heading_now and heading else "") + f"\n{line}"
        if len(current) + len(addition) > limit:
            messages.append(current)
            addition = (f"{heading}\n" if heading else "") + line
            current = addition[: limit - 1] + "…" if len(addition) > limit else addition
        else:
            current += addition
        heading_now = heading
    messages.append(current)
    return tuple(m for m in messages if m.strip())


def _md_item(item: DigestItem, tz: tzinfo) -> str:
    post = item.first
    when = post.date.astimezone(tz).strftime("%d %b %H:%M")
    text = snippet(post.text) or f"[{post.media_kind or 'media'}]"
    line = f"- _{when}_ · {md(post.channel_label)} — {md(text)}"
    if item.link:
        line += f" [open]({item.link})"
    if item.seen_in > 1:
        line += f" · seen in {item.seen_in} channels"
    return line


def _email_item(item: DigestItem, tz: tzinfo) -> str:
    post = item.first
    esc = html.escape
    when = post.date.astimezone(tz).strftime("%d %b %H:%M")
    text = snippet(post.text) or f"[{post.media_kind or 'media'}]"
    line = f"<li><i>{esc(when)}</i> · {esc(strip_bidi(post.channel_label))} — {esc(strip_bidi(text))}"
    if item.link:
        line += f' <a href="{esc(item.link, quote=True)}">{esc(item.link)}</a>'
    if item.seen_in > 1:
        line += f" · seen in {item.seen_in} channels"
    return line + "</li>"


def render_digest(digest: Digest, tz: tzinfo, fmt: SinkFormat, limit: int) -> Rendered:
    """One digest window for one sink."""
    header_lines = (
        render_text(digest, tz).split("\n", 2)[:2] if not digest.empty else render_text(digest, tz).split("\n")
    )
    title = header_lines[0]
    if fmt == "telegram":
        return Rendered(title, tuple(render_html(digest, tz)))
    if fmt == "json":
        body = {"schema": SCHEMA, "kind": "digest", "title": title, "digest": digest_json(digest)}
        return Rendered(title, (json.dumps(body, ensure_ascii=False),))
    if fmt == "email":
        esc = html.escape
        out = [f"<h2>{esc(title)}</h2>", *(f"<p>{esc(line)}</p>" for line in header_lines[1:])]
        for section in digest.sections:
            out.append(f"<h3>{esc(section_label(section.tag))} ({len(section.items)})</h3>")
            out.append("<ul>" + "".join(_email_item(item, tz) for item in section.items) + "</ul>")
        if digest.media:
            out.append(f"<h3>{MEDIA_HEADING}</h3>")
            out.append(
                "<ul>" + "".join(f"<li>{esc(render_media_text(run, tz))}</li>" for run in digest.media) + "</ul>"
            )
        return Rendered(title, ("\n".join(out),))
    blocks: list[tuple[str | None, str]] = []
    if fmt == "markdown":
        header = "\n".join([f"**{md(title)}**", *map(md, header_lines[1:])])
        for section in digest.sections:
            heading = f"**{md(section_label(section.tag))}** ({len(section.items)})"
            blocks.extend((heading, _md_item(item, tz)) for item in section.items)
        blocks.extend((f"**{MEDIA_HEADING}**", "- " + md(render_media_text(run, tz))) for run in digest.media)
    else:
        header = "\n".join(header_lines)
        for section in digest.sections:
            heading = f"{section_label(section.tag)} ({len(section.items)})"
            blocks.extend((heading, render_item_text(item, tz)) for item in section.items)
        blocks.extend((MEDIA_HEADING, render_media_text(run, tz)) for run in digest.media)
    return Rendered(title, split_blocks(header, blocks, limit))


def render_alert_notice(post: StoredPost, reasons: list[str], tz: tzinfo, fmt: SinkFormat, limit: int) -> Rendered:
    """One alert for one sink: never split (a snippet, a few lines), cut to the limit if need be."""
    title = "Alert: " + " · ".join(reasons)
    when = post.date.astimezone(tz).strftime("%d %b %H:%M")
    text = snippet(post.text) or f"[{post.media_kind or 'media'}]"
    if fmt == "telegram":
        body = render_alert(post, reasons, tz)
    elif fmt == "json":
        document = {
            "schema": SCHEMA,
            "kind": "alert",
            "title": title,
            "alert": {
                "reasons": reasons,
                "post_id": post.id,
                "date": post.date.isoformat(),
                "channel": post.channel_label,
                "text": text,
                "link": post.url,
                "lang": post.lang,
                "tags": [t.display for t in post.tags],
            },
        }
        return Rendered(title, (json.dumps(document, ensure_ascii=False),))
    elif fmt == "email":
        esc = html.escape
        link = f'<p><a href="{esc(post.url, quote=True)}">{esc(post.url)}</a></p>' if post.url else ""
        body = (
            f"<h2>{esc(title)}</h2><p><i>{esc(when)}</i> · {esc(strip_bidi(post.channel_label))}</p>"
            f"<p>{esc(strip_bidi(text))}</p>{link}"
        )
        return Rendered(title, (body,))
    elif fmt == "markdown":
        body = f"**{md(title)}**\n_{when}_ · {md(post.channel_label)}\n{md(text)}"
        body += f"\n[open]({post.url})" if post.url else ""
    else:
        body = f"{title}\n{when} · {post.channel_label}\n{text}" + (f"\n{post.url}" if post.url else "")
    return Rendered(title, (body if len(body) <= limit else body[: limit - 1] + "…",))


def render_test(name: str, fmt: SinkFormat) -> Rendered:
    """What `tgmonitor sinks test NAME` sends."""
    title = "tgmonitor test"
    line = f"Test message for sink '{name}': if you read this, digests and alerts will arrive here."
    if fmt == "json":
        return Rendered(title, (json.dumps({"schema": SCHEMA, "kind": "test", "title": title, "text": line}),))
    if fmt in ("telegram", "email"):
        return Rendered(title, (f"<b>{html.escape(title)}</b>\n{html.escape(line)}",))
    if fmt == "markdown":
        return Rendered(title, (f"**{title}**\n{md(line)}",))
    return Rendered(title, (line,))
