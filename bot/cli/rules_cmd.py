"""`tgmonitor rules check "RULE" [--last N]`: how a rule reads, and which recent posts it matches.

The rule is judged the way alerts judge it (bot/core/rule_match.py, in memory) over the last N posts,
and the count a search with the same rule finds among them is printed beside, so a difference between
the two (which tests/test_rules.py rules out) would show.  A rule that does not parse exits 2 with
the position of the mistake.
"""

from __future__ import annotations

import argparse

from bot.app.rule_alerts import channel_resolver
from bot.cli import argtypes
from bot.cli.argtypes import UsageError
from bot.cli.context import CliContext
from bot.cli.output import post_line
from bot.core.highlight import Highlighter
from bot.core.rule_match import Matcher, PostFacts
from bot.core.rules import RuleError, parse_rule
from storage.store import QueryError


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser("rules", help="check a rule of the search/alert language against recent posts")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = actions.add_parser("check", help="show how RULE parses and which of the last posts it matches")
    check.add_argument("rule", help="a rule like (Vucic OR Вучич) -sport, NEAR(Lavrov Vucic, 5), #Kosovo lang:sr")
    check.add_argument("--last", type=argtypes.positive_int, default=200, help="judge the last N posts (default 200)")
    return parser


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    store = ctx.store
    normaliser = store.search_index.normaliser
    try:
        rule = parse_rule(args.rule, normaliser)
    except RuleError as exc:
        raise UsageError(str(exc)) from None
    print(f"parsed: {rule}")
    posts = store.search(None, limit=min(args.last, 100_000))
    matcher = Matcher(normaliser, channel_resolver(store))
    tg_ids = {c.id: c.tg_id for c in store.channels()}
    hits = [p for p in posts if matcher.matches(rule, PostFacts.of(p, tg_ids.get(p.channel_id)))]
    ids = {p.id for p in posts}
    try:  # the newest matches of the archive include every match among its newest posts
        searched = {p.id for p in store.search(args.rule, limit=max(1, len(posts))) if p.id in ids}
    except QueryError as exc:
        raise UsageError(str(exc)) from None
    same = "the same posts" if searched == {p.id for p in hits} else f"{len(searched)} posts (DIFFERENT: a bug)"
    print(f"matches {len(hits)} of the last {len(posts)} posts as an alert; as a search: {same}")
    highlighter = Highlighter.of(normaliser, args.rule)
    for post in hits[:50]:
        print(post_line(post, highlighter))
    if len(hits) > 50:
        print(f"... and {len(hits) - 50} more (`tgmonitor search` with the same rule pages through them)")
    return 0
