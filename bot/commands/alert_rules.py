"""/alert add RULE, /alert list, /alert rm N: a user's own alert rules, in the language of /search.

Alerts for a user's rules go to the chat where the rule was added (bot/app/rule_alerts.py), each post once
per chat whatever the number of rules it matches, within ALERT_RATE_PER_MINUTE.  Only users on the
allow-list reach this (the router refuses the rest); each keeps at most MAX_RULES_PER_USER rules of
at most MAX_RULE_CHARS characters.
"""

from __future__ import annotations

import html

from bot.commands.args import positive
from bot.commands.deps import CommandDeps, UsageError
from bot.commands.text import reply_of, short
from bot.core.rules import RuleError, parse_rule
from bot.models import Chat, Reply, User

MAX_RULES_PER_USER = 20
MAX_RULE_CHARS = 300


def cmd_alert(args: str, chat: Chat, user: User, deps: CommandDeps, offset: int = 0) -> Reply:
    action, _, rest = args.strip().partition(" ")
    action = action.lower()
    table = deps.store.alert_rules
    if action == "add":
        text = rest.strip()
        if not text:
            raise UsageError("Give the rule after /alert add, e.g. /alert add (Vucic OR Вучич) -sport")
        if len(text) > MAX_RULE_CHARS:
            raise UsageError(f"A rule is at most {MAX_RULE_CHARS} characters; this one has {len(text)}.")
        try:
            rule = parse_rule(text, deps.store.search_index.normaliser)
        except RuleError as exc:
            raise UsageError(f"I cannot read that rule: {exc}.") from None  # the router escapes it
        number = table.add(user.id, chat.id, text, limit=MAX_RULES_PER_USER, now=deps.now())
        if number is None:
            raise UsageError(f"You have {MAX_RULES_PER_USER} rules already; /alert rm one first.")
        deps.log.info("user %s added alert rule %d in chat %s", user.label, number, chat.id)
        return reply_of(
            f"Rule {number} added: <code>{html.escape(str(rule))}</code>\n"
            "New posts matching it are alerted here. /alert list shows your rules; "
            f"<code>/search {html.escape(short(text, 100))}</code> shows what it would have found."
        )
    if action in ("list", ""):
        rules = table.of_user(user.id)
        if not rules:
            return reply_of("You have no alert rules. Add one: <code>/alert add NEAR(Lavrov Vucic, 5)</code>.")
        lines = [f"{n}. <code>{html.escape(r.rule)}</code>" for n, r in enumerate(rules, start=1)]
        return reply_of("<b>Your alert rules</b>\n" + "\n".join(lines) + "\n\n/alert rm N removes one.")
    if action in ("rm", "remove", "del"):
        number = positive(rest.strip(), "The rule number")
        gone = table.remove(user.id, number)
        if gone is None:
            return reply_of(f"You have no rule {number}. /alert list shows them.")
        deps.log.info("user %s removed alert rule %d", user.label, number)
        return reply_of(f"Removed rule {number}: <code>{html.escape(gone.rule)}</code>")
    raise UsageError("Use /alert add RULE, /alert list or /alert rm N.")
