"""/spread, /amplifiers and /sources: who carries a statement, who amplifies whom, who feeds the channels.

The figures are bot/app/analytics.py's, as `tgmonitor spread/amplifiers/sources` prints them; here they
are shortened to what a chat message holds (the longest lists are cut with "and N more").
"""

from __future__ import annotations

import html
from datetime import datetime

from bot.app.analytics import RefError, amplifiers_json, analyse, resolve_ref, sources_json, spread_json
from bot.commands.deps import CommandDeps, UsageError
from bot.commands.text import label, reply_of, short
from bot.core.numbers import ascii_int
from bot.core.spread import humanize
from bot.core.spread_render import KIND_MARK, carried_line
from bot.models import Chat, Reply, User
from storage.spread_reads import SpreadReads

MAX_CARRIERS = 25  # carriers listed in one reply; the rest are counted
MAX_ROWS = 10  # amplifiers and sources listed
MAX_DAYS = 366


def _link(url: object, text: str) -> str:
    if isinstance(url, str) and url.startswith("https://t.me/"):
        return f'<a href="{html.escape(url, quote=True)}">{html.escape(text)}</a>'
    return html.escape(text)


def cmd_spread(args: str, chat: Chat, user: User, deps: CommandDeps, offset: int = 0) -> Reply:
    ref = args.strip()
    if not ref:
        raise UsageError("Which post? Give its number or link, like /spread 42 or /spread https://t.me/mfa_russia/101.")
    try:
        shown = spread_json(deps.store, resolve_ref(SpreadReads(deps.store), ref))
    except RefError as exc:
        return reply_of(html.escape(str(exc)[0].upper() + str(exc)[1:]) + ".")
    statement, carriers = shown["statement"], shown["carriers"]
    origin = statement["origin"]
    when = html.escape(deps.when(datetime.fromisoformat(origin["date"])))
    lines = [
        f"<b>{html.escape(short(' '.join(str(statement['text']).split()), 200) or '[no text]')}</b>",
        f"Origin: {_link(origin['url'], label(origin['channel']))} · <i>{when}</i>",
    ]
    summary = carried_line(carriers)
    lines += [html.escape(summary[0].upper() + summary[1:]) if summary else "Carried by no other channel.", ""]
    for c in carriers[:MAX_CARRIERS]:
        delay = "origin" if c["kind"] == "origin" else "+" + humanize(int(c["delay_seconds"]))
        where = _link(c["url"], label(c["channel"]))
        lines.append(f"{KIND_MARK[c['kind']]} {html.escape(delay)} · {where} · {html.escape(c['kind'])}")
    if len(carriers) > MAX_CARRIERS:
        lines.append(f"… and {len(carriers) - MAX_CARRIERS} more (tgmonitor spread lists them all)")
    return reply_of("\n".join(lines))


def _days(args: str, default: int) -> int:
    word = args.strip()
    if not word:
        return default
    days = ascii_int(word, limit=MAX_DAYS)  # the length is checked first: int() of 5,000 digits raises
    if days is None or days < 1:
        raise UsageError(f"Give a number of days from 1 to {MAX_DAYS}, like /amplifiers 7.")
    return days


def cmd_amplifiers(args: str, chat: Chat, user: User, deps: CommandDeps, offset: int = 0) -> Reply:
    days = _days(args, 7)
    analysis = analyse(deps.store, None, None, days=days)
    rows = amplifiers_json(analysis)
    head = f"<b>Amplifiers, last {days} day{'s' if days != 1 else ''} of the archive</b>"
    if not rows:
        return reply_of(f"{head}\nNo channel carried another channel's statement in that window.")
    lines = [head, "statements carried · first · median delay · share of its posts"]
    for n, r in enumerate(rows[:MAX_ROWS], start=1):
        median = humanize(r["median_delay_seconds"]) if r["median_delay_seconds"] is not None else "-"
        lines.append(
            f"{n}. {html.escape(label(r['channel']))} — {r['statements']} ({r['forwards']} fwd, {r['copies']} copies)"
            f" · first {r['first']} · {html.escape(median)} · {round(100 * r['carried_share'])}%"
        )
    if len(rows) > MAX_ROWS:
        lines.append(f"… and {len(rows) - MAX_ROWS} more")
    return reply_of("\n".join(lines))


def cmd_sources(args: str, chat: Chat, user: User, deps: CommandDeps, offset: int = 0) -> Reply:
    days = _days(args, 30)
    analysis = analyse(deps.store, None, None, days=days)
    rows = sources_json(analysis, deps.store, limit=MAX_ROWS)
    head = f"<b>Sources your channels forward but you do not monitor, last {days} days</b>"
    if not rows:
        return reply_of(f"{head}\nNone: every forward came from a monitored channel.")
    lines = [head]
    for n, r in enumerate(rows, start=1):
        ident = f"@{r['username']}" if r["username"] else (f"id {r['tg_id']}" if r["tg_id"] else "no id known")
        example = r["examples"][0] if r["examples"] else None
        lines.append(
            f"{n}. {html.escape(label(r['name']))} ({html.escape(ident)}) — forwarded by {r['channels']} "
            f"channel{'s' if r['channels'] != 1 else ''}, {r['forwards']} time{'s' if r['forwards'] != 1 else ''}"
            + (f" · {_link(example, 'example')}" if example else "")
        )
    if any(r["username"] for r in rows):
        lines.append("Admins add one with /watch @name.")
    return reply_of("\n".join(lines))
