"""Users' own alert rules (/alert add): all of them judged at once, each match sent to its user's chat.

The rules live in `alert_rules` (storage/alert_rules.py); they are parsed once and indexed by their
terms (bot/core/rule_match.RuleSet), and parsed again only when the table changes, so a post costs
about the same with a thousand users' rules as with ten.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.core.rule_match import Matcher, PostFacts, RuleSet
from bot.core.rules import Rule, RuleError, parse_rule
from bot.models import StoredPost
from storage.alert_rules import AlertRuleTable, UserRule
from storage.store import Store


class UserRules:
    def __init__(
        self, table: AlertRuleTable, matcher: Matcher, allowed: Callable[[int, int], bool] | None = None
    ) -> None:
        self.table = table
        self.matcher = matcher
        # (user id, chat id) -> still on the allow-list (checked at send time, as digests are); None: all
        self.allowed = allowed
        self._seen: tuple[tuple[int, str, bool], ...] | None = None
        self._owners: list[UserRule] = []
        self._set: RuleSet | None = None

    def _load(self) -> RuleSet | None:
        rows = self.table.every()
        seen = tuple((r.id, r.rule, self.allowed(r.user_id, r.chat_id) if self.allowed else True) for r in rows)
        if seen != self._seen:
            parsed: list[Rule] = []
            owners: list[UserRule] = []
            for row in rows:
                if self.allowed is not None and not self.allowed(row.user_id, row.chat_id):
                    continue  # the user (and the chat) left the allow-list: their rules rest
                try:
                    parsed.append(parse_rule(row.rule, self.matcher.normaliser))
                except RuleError:
                    continue  # checked when added; a rule the language no longer reads is skipped
                owners.append(row)
            self._seen, self._owners = seen, owners
            self._set = RuleSet(tuple(parsed), self.matcher) if parsed else None
        return self._set

    def active(self) -> bool:
        return self._load() is not None

    def matching(self, post: StoredPost, channel_tg_id: int | None = None) -> dict[int, list[str]]:
        """Chat id -> the texts of that user's rules the post matches."""
        ruleset = self._load()
        if ruleset is None:
            return {}
        found: dict[int, list[str]] = {}
        index = {id(rule): owner for rule, owner in zip(ruleset.rules, self._owners, strict=True)}
        for rule in ruleset.matching(PostFacts.of(post, channel_tg_id)):
            owner = index[id(rule)]
            found.setdefault(owner.chat_id, []).append(rule.text)
        return found


def channel_resolver(store: Store) -> Callable[[str], frozenset[int]]:
    """`channel:` values to archive ids, remembered once found (a channel added later is found then)."""
    known: dict[str, frozenset[int]] = {}

    def resolve(value: str) -> frozenset[int]:
        if value not in known:
            row = store.find_channel(value if value.startswith("@") else int(value))
            if row is None:
                return frozenset()
            known[value] = frozenset({row.id})
        return known[value]

    return resolve


def rule_filter(store: Store, text: str) -> Callable[[Sequence[StoredPost]], list[StoredPost]]:
    """A subscription's rule (DIGEST_RULE, `/subscribe … where RULE`) as a filter over a window's posts,
    judged as alerts judge (so the same as a search); RuleError for a rule that does not parse."""
    rule = parse_rule(text, store.search_index.normaliser)
    matcher = Matcher(store.search_index.normaliser, channel_resolver(store))

    def keep(posts: Sequence[StoredPost]) -> list[StoredPost]:
        tg_ids: dict[int, int | None] = {}
        kept = []
        for post in posts:
            if post.channel_id not in tg_ids:
                row = store.channel_by_id(post.channel_id)
                tg_ids[post.channel_id] = row.tg_id if row is not None else None
            if matcher.matches(rule, PostFacts.of(post, tg_ids[post.channel_id])):
                kept.append(post)
        return kept

    return keep
