"""Rules (bot/core/rules.py) judged against one post in memory, and many rules indexed by their terms. Pure.

This is what alerts use; storage/rule_sql.py turns the same tree into SQL for searches, and the
functions here that SQL cannot express (NEAR, forward origin) are the very ones the search calls,
registered as SQLite functions, so a rule selects the same posts both ways (tests/test_rules.py
checks it with hypothesis).

`RuleSet` does not evaluate every rule on every post: each rule is filed under *anchor* tokens, a set
of index tokens one of which any post it matches must hold (a required word's forms; for OR, the
union of its sides' anchors).  A post then wakes only the rules filed under its own tokens, plus the
few without an anchor (only filters, say `lang:bg`), so a thousand rules cost a post about what ten do
(bench/rules.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from bot.core.rules import And, Field, Near, Node, Not, Or, Phrase, Rule, Term
from bot.core.search_query import contains_exact
from bot.core.textnorm import TextNormaliser, prepare
from bot.models import StoredPost

ChannelIds = Callable[[str], frozenset[int]]  # a channel: value ('@name' or a number) -> archive channel ids
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True, slots=True)
class PostFacts:
    """What a rule can ask of a post (a StoredPost has all of it but the channel's Telegram id)."""

    text: str
    lang: str | None
    tags: frozenset[str] = frozenset()  # tag keys, case-folded, no '#'
    channel_id: int = 0
    channel_username: str | None = None
    channel_tg_id: int | None = None
    message_id: int = 0
    origin_key: str = ""
    forward_name: str | None = None

    @classmethod
    def of(cls, post: StoredPost, channel_tg_id: int | None = None) -> PostFacts:
        return cls(
            post.text,
            post.lang,
            frozenset(t.key for t in post.tags),
            post.channel_id,
            post.channel_username,
            channel_tg_id,
            post.message_id,
            post.origin_key,
            post.forward_name,
        )


def near_match(
    text: str, lang: str | None, words: Sequence[frozenset[str]], distance: int, normaliser: TextNormaliser
) -> bool:
    """Whether one form of each word stands with at most `distance` other words between the first
    and the last, in any order.  Positions count words as the index splits them."""
    positions: list[tuple[int, int]] = []  # (word position, which term)
    for index, word in enumerate(_WORD.findall(prepare(text))):
        tokens = normaliser.word_tokens(word, lang)
        positions.extend((index, k) for k, term in enumerate(words) if term & tokens)
    need = len(words)
    counts = [0] * need
    have = 0
    left = 0
    for position, k in positions:
        counts[k] += 1
        have += counts[k] == 1
        while have == need:
            start, first = positions[left]
            if position - start - (need - 1) <= distance:
                return True
            counts[first] -= 1
            have -= counts[first] == 0
            left += 1
    return False


def from_matches(
    value: str,
    origin_key: str | None,
    forward_name: str | None,
    own_username: str | None,
    own_tg_id: int | None,
    message_id: int,
) -> bool:
    """`from:VALUE`: the post is a forward, and its origin's username or id is VALUE, or VALUE is whole
    words of the origin's shown name (case and spaces folded)."""
    if forward_name and f" {value} " in f" {' '.join(forward_name.casefold().split())} ":
        return True  # whole words of the shown name: from:"russian mfa" finds "Russian MFA 🇷🇺"
    if not origin_key or "/" not in origin_key:
        return False
    own = {f"@{own_username}/{message_id}", f"tg:{own_tg_id}/{message_id}"}
    if origin_key in own:
        return False  # not a forward: the post is its own origin
    source = origin_key.rsplit("/", 1)[0]
    name = value.lstrip("@")
    if name.startswith("-100") and name[4:].isascii() and name[4:].isdecimal():
        name = name[4:]
    return source in (f"@{name}", f"tg:{name}")


@dataclass
class Matcher:
    """Judges rules against posts; `channels` resolves `channel:` values (the archive knows them)."""

    normaliser: TextNormaliser
    channels: ChannelIds = field(default=lambda value: frozenset())

    def tokens(self, post: PostFacts) -> frozenset[str]:
        return frozenset(self.normaliser.index_tokens(post.text, post.lang))

    def matches(self, rule: Rule | Node, post: PostFacts, tokens: frozenset[str] | None = None) -> bool:
        root = rule.root if isinstance(rule, Rule) else rule
        return self._eval(root, post, self.tokens(post) if tokens is None else tokens)

    def _eval(self, node: Node, post: PostFacts, tokens: frozenset[str]) -> bool:
        if isinstance(node, Term):
            return not node.tokens.isdisjoint(tokens)
        if isinstance(node, And):
            return all(self._eval(c, post, tokens) for c in node.children)
        if isinstance(node, Or):
            return any(self._eval(c, post, tokens) for c in node.children)
        if isinstance(node, Not):
            return not self._eval(node.child, post, tokens)
        if isinstance(node, Phrase):
            return all(not t.tokens.isdisjoint(tokens) for t in node.terms) and contains_exact(post.text, node.text)
        if isinstance(node, Near):
            words = [t.tokens for t in node.terms]
            return all(not w.isdisjoint(tokens) for w in words) and near_match(
                post.text, post.lang, words, node.distance, self.normaliser
            )
        return self._field(node, post)

    def _field(self, node: Field, post: PostFacts) -> bool:
        if node.name == "tag":
            return node.value in post.tags
        if node.name == "lang":
            return post.lang == node.value
        if node.name == "channel":
            return post.channel_id in self.channels(node.value)
        return from_matches(
            node.value, post.origin_key, post.forward_name, post.channel_username, post.channel_tg_id, post.message_id
        )


def anchors(node: Node) -> frozenset[str] | None:
    """Index tokens one of which every post the node matches holds; None when there is no such set."""
    if isinstance(node, Term):
        return node.tokens
    if isinstance(node, Phrase | Near):
        return _best([t.tokens for t in node.terms])
    if isinstance(node, And):
        return _best([a for a in map(anchors, node.children) if a is not None])
    if isinstance(node, Or):
        found = [anchors(c) for c in node.children]
        if any(a is None for a in found):
            return None
        return frozenset().union(*(a for a in found if a is not None))
    return None  # NOT, filters


def _best(options: Iterable[frozenset[str]]) -> frozenset[str] | None:
    """The likely rarest of several required sets: fewest forms, then longest shortest form."""
    return min(options, key=lambda a: (len(a), -min(map(len, a))), default=None)


@dataclass
class RuleSet:
    """Many rules, filed under their anchors, judged against a post at once."""

    rules: tuple[Rule, ...]
    matcher: Matcher
    _by_token: dict[str, list[int]] = field(default_factory=dict, repr=False)
    _always: list[int] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        for index, rule in enumerate(self.rules):
            found = anchors(rule.root)
            if found is None:
                self._always.append(index)
            else:
                for token in found:
                    self._by_token.setdefault(token, []).append(index)

    def matching(self, post: PostFacts) -> list[Rule]:
        """The rules `post` satisfies, in the order they were given."""
        tokens = self.matcher.tokens(post)
        woken = set(self._always)
        by_token = self._by_token
        for token in tokens:
            hit = by_token.get(token)
            if hit is not None:
                woken.update(hit)
        return [self.rules[i] for i in sorted(woken) if self.matcher.matches(self.rules[i], post, tokens)]
