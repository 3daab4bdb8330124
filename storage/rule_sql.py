"""A rule (bot/core/rules.py) as SQL over the archive: an FTS5 query on `posts_norm` plus SQL filters.

The tree becomes a WHERE clause node by node:
* words, and AND/OR/NOT among words only, become one FTS5 expression on `posts_norm` (each word any
  of its index tokens, every token quoted);
* "phrases" need their words there and `tg_exact(p.text, phrase)`, the very check of a plain search;
* NEAR needs its words there and `tg_near(...)`: `posts_norm` is `detail=none` (rowids only, a
  quarter of a full index), so positions are checked by bot/core/rule_match.near_match on the
  candidates the words leave;
* `#tag`/`tag:`, `lang:`, `channel:` are columns and `post_tags`; `from:` is `tg_from(...)`, again the
  function alerts call.
So a rule as a search and as an alert select the same posts (tests/test_rules.py).

The driver: what every match must hold (bot/core/rule_match.anchors' idea, as an FTS5 expression) is
joined, so FTS5 hands out candidates newest first and stops at the limit; the exact clause then only
checks those.  While the index is still being filled (`SearchIndex.pending_below`), a word is found
in posts not indexed yet through `posts_fts`, literally, as plain searches do meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.core.rules import And, Field, Near, Node, Not, Or, Phrase, Rule, Term
from storage.search_index import Clause

ChannelIds = Callable[[str], frozenset[int]]


def term_fts(term: Term) -> str:
    return "(" + " OR ".join(f'"{t}"' for t in sorted(term.tokens)) + ")"


def near_spec(node: Near) -> str:
    """What tg_near is given: the distance, then each word's tokens (tokens are letters and digits)."""
    return f"{node.distance}|" + ";".join(",".join(sorted(t.tokens)) for t in node.terms)


def pure_fts(node: Node) -> str | None:
    """The node as one FTS5 expression, when it is made of words only (None otherwise)."""
    if isinstance(node, Term):
        return term_fts(node)
    if isinstance(node, Or):
        parts = [pure_fts(c) for c in node.children]
        return None if None in parts else "(" + " OR ".join(p for p in parts if p) + ")"
    if isinstance(node, And):
        positives: list[str] = []
        negatives: list[str] = []
        for child in node.children:
            inner = pure_fts(child.child) if isinstance(child, Not) else pure_fts(child)
            if inner is None:
                return None
            (negatives if isinstance(child, Not) else positives).append(inner)
        if not positives:
            return None
        body = "(" + " AND ".join(positives) + ")"
        return body + (" NOT (" + " OR ".join(negatives) + ")" if negatives else "")
    return None


def required_fts(node: Node) -> str | None:
    """An FTS5 expression every match satisfies (a superset of the matches), or None."""
    exact = pure_fts(node)
    if exact is not None:
        return exact
    if isinstance(node, Phrase | Near):
        return "(" + " AND ".join(map(term_fts, node.terms)) + ")"
    if isinstance(node, And):
        parts = [p for p in (required_fts(c) for c in node.children) if p is not None]
        return "(" + " AND ".join(parts) + ")" if parts else None
    if isinstance(node, Or):
        sides = [required_fts(c) for c in node.children]
        return None if None in sides else "(" + " OR ".join(p for p in sides if p) + ")"
    return None


def hoist_filters(root: Node, *, tags: bool, channel: bool) -> tuple[Node | None, str | None, str | None]:
    """A rule with no word to drive it, its required `#tag` and `channel:` taken out: (the rest, tag,
    channel) for Store.search's own tag and channel filters, which know when to walk the date index and
    when to fetch the few posts and sort them (a rare tag found by scanning every post: seconds on 1M).
    `tags`/`channel`: the caller already filters by them, so nothing of that kind is taken."""
    if required_fts(root) is not None:
        return root, None, None  # FTS5 drives: the filters are checks on its candidates
    children = list(root.children) if isinstance(root, And) else [root]
    tag = next((c for c in children if isinstance(c, Field) and c.name == "tag"), None) if not tags else None
    where = next((c for c in children if isinstance(c, Field) and c.name == "channel"), None) if not channel else None
    rest = [c for c in children if c is not tag and c is not where]
    node = None if not rest else rest[0] if len(rest) == 1 else And(tuple(rest))
    return node, tag.value if tag else None, where.value if where else None


class RuleSql:
    """Compiles one rule for Store.search.  `pending`: posts below this id are not in posts_norm yet
    (-1: posts_norm cannot be used at all, every word literal)."""

    def __init__(self, channels: ChannelIds, pending: int) -> None:
        self.channels = channels
        self.pending = pending
        self.params: list[object] = []

    def clause(self, rule: Rule) -> Clause:
        root = rule.root
        driver = required_fts(root) if self.pending == 0 else None
        if driver is None:
            where = self.where(root)
            return Clause("", where, tuple(self.params), "p.id DESC", "p.id DESC", where, tuple(self.params))
        children = root.children if isinstance(root, And) else (root,)
        rest = [c for c in children if pure_fts(c) is None]  # what the driver alone does not decide
        checks = [self._top(c) for c in rest]
        params = [driver, *self.params]
        return Clause(
            "JOIN posts_norm ON posts_norm.rowid = p.id",
            " AND ".join(["posts_norm MATCH ?", *checks]),
            tuple(params),
            "posts_norm.rowid DESC",
            "posts_norm.rank",
            # The same match with no join, for newest first by date (storage/search.py): the driver as a
            # set of rowids, which also counts the candidates to choose between the date walk and a sort.
            " AND ".join(["p.id IN (SELECT rowid FROM posts_norm WHERE posts_norm MATCH ?)", *checks]),
            tuple(params),
            "SELECT rowid FROM posts_norm WHERE posts_norm MATCH ?",
            (driver,),
        )

    def _top(self, node: Node) -> str:
        """A conjunct beside the driver: a phrase's or NEAR's words are in the driver already."""
        if isinstance(node, Phrase):
            self.params.append(node.text)
            return "tg_exact(p.text, ?)"
        if isinstance(node, Near):
            self.params.append(near_spec(node))
            return "tg_near(p.text, p.lang, ?)"
        return self.where(node)

    def where(self, node: Node) -> str:
        expr = pure_fts(node)
        if expr is not None:
            return self._words(expr, node)
        if isinstance(node, And):
            return "(" + " AND ".join(map(self.where, node.children)) + ")"
        if isinstance(node, Or):
            return "(" + " OR ".join(map(self.where, node.children)) + ")"
        if isinstance(node, Not):
            return f"NOT {self.where(node.child)}"
        if isinstance(node, Phrase):
            words = self.where(And(node.terms)) if node.terms else "1"
            self.params.append(node.text)
            return f"({words} AND tg_exact(p.text, ?))"
        if isinstance(node, Near):
            words = self.where(And(node.terms))
            self.params.append(near_spec(node))
            return f"({words} AND tg_near(p.text, p.lang, ?))"
        return self._field(node)

    def _field(self, node: Node) -> str:
        assert isinstance(node, Field)
        if node.name == "tag":
            self.params.append(node.value)
            return "EXISTS (SELECT 1 FROM post_tags t WHERE t.post_id = p.id AND t.tag = ?)"
        if node.name == "lang":
            self.params.append(node.value)
            return "p.lang IS ?"
        if node.name == "channel":
            ids = sorted(self.channels(node.value))
            self.params.extend(ids)
            return f"p.channel_id IN ({', '.join('?' * len(ids))})" if ids else "0"
        self.params.append(node.value)
        return (
            "tg_from(?, p.origin_key, p.forward_name, (SELECT username FROM channels WHERE id = p.channel_id), "
            "(SELECT tg_id FROM channels WHERE id = p.channel_id), p.message_id)"
        )

    def _words(self, expr: str, node: Node) -> str:
        """Posts whose tokens satisfy `expr`; literally by posts_fts below the pending mark."""
        norm = "EXISTS (SELECT 1 FROM posts_norm WHERE posts_norm MATCH ? AND posts_norm.rowid = p.id)"
        if self.pending == 0:
            self.params.append(expr)
            return norm
        literal = _literal(node)
        fts = "EXISTS (SELECT 1 FROM posts_fts WHERE posts_fts MATCH ? AND posts_fts.rowid = p.id)"
        if self.pending < 0:
            self.params.append(literal)
            return fts
        self.params.extend([self.pending, expr, self.pending, literal])
        return f"((p.id >= ? AND {norm}) OR (p.id < ? AND {fts}))"


def _literal(node: Node) -> str:
    """The words as written, for posts_fts (no forms: what search did before an index is built)."""
    if isinstance(node, Term):
        return '"' + node.word.replace('"', "") + '"'
    if isinstance(node, Or):
        return "(" + " OR ".join(map(_literal, node.children)) + ")"
    if isinstance(node, And):
        pos = [_literal(c) for c in node.children if not isinstance(c, Not)]
        neg = [_literal(c.child) for c in node.children if isinstance(c, Not)]
        return "(" + " AND ".join(pos) + ")" + (" NOT (" + " OR ".join(neg) + ")" if neg else "")
    raise ValueError("only words")
