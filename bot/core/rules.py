"""The rule language: one syntax for searches, alerts and subscription filters, parsed to a tree. Pure.

    sanctions Serbia              every word, any of its forms (what a search always meant)
    "провёл переговоры"           an exact phrase (bot/core/search_query.py: the very word forms)
    Kosovo OR Косово              either; AND is implied between terms and may be written
    NOT gas, -gas                 without the word
    (Vucic OR Вучич) -election    parentheses group
    NEAR(Lavrov Vucic, 5)         the words within 5 other words of each other, any order (default 10)
    #Serbia, tag:serbia           posts with that tag (hashtag, topic or language tag)
    channel:@mfa_russia           posts of that channel (also channel:ID and a bare @mfa_russia)
    lang:bg                       posts in that language
    from:@mfa_russia, from:"MFA"  forwards whose origin is that channel (username, id or shown name)

Operators are upper case (`and`, `or`, `not` in lower case are words, as in a sentence).  A word is
folded by the search normaliser (bot/core/textnorm.py), so a rule means the same in a search and in
an alert.  Errors name a 1-based character position (`unexpected ')' at 14`).  Parsing is bounded:
at most MAX_LENGTH characters, MAX_DEPTH nested groups and MAX_TERMS terms.

Bare words are not split by the parser into semantics of their own: a token like `covid-19` is one
word to the parser and two terms (covid, 19) to the normaliser, both required, exactly as a search
treated it before this language existed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from bot.core.textnorm import TextNormaliser, emoji_tokens, prepare

MAX_LENGTH = 1000
MAX_DEPTH = 20
MAX_TERMS = 64
NEAR_DEFAULT = 10
NEAR_MAX = 100
FIELDS = ("tag", "channel", "lang", "from")
_OPERATORS = ("AND", "OR", "NOT")
_WORD_CHARS = re.compile(r"[^\s()\"]+")
_NUMBER = re.compile(r"[0-9]{1,3}")
_LANG = re.compile(r"[a-z]{2,3}")
_SURROGATE = re.compile("[\ud800-\udfff]")


class RuleError(ValueError):
    """A rule that cannot be parsed; the message names the position and is safe to show."""


# ------------------------------------------------------------------ the tree
@dataclass(frozen=True, slots=True)
class Term:
    """One word (or emoji): any of `tokens` among a post's index tokens."""

    word: str
    tokens: frozenset[str]


@dataclass(frozen=True, slots=True)
class Phrase:
    text: str  # spaces collapsed; matched by search_query.exact_pattern
    terms: tuple[Term, ...]  # its words, also required (what the index can look up)


@dataclass(frozen=True, slots=True)
class Near:
    terms: tuple[Term, ...]
    distance: int  # at most this many other words between the first and the last


@dataclass(frozen=True, slots=True)
class Field:
    name: str  # tag, channel, lang, from
    value: str  # normalised: tag key, '@name' or a number, language code, forward origin


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


Node = Term | Phrase | Near | Field | Not | And | Or


@dataclass(frozen=True, slots=True)
class Rule:
    text: str  # as written
    root: Node

    def __str__(self) -> str:
        return show(self.root)


# ------------------------------------------------------------------ lexer
@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # '(' ')' 'op' 'minus' 'phrase' 'near' 'field' 'word' 'end'
    text: str
    pos: int  # 0-based; messages add 1
    value: str = ""


def _tokens(text: str) -> Iterator[_Token]:
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char.isspace():
            i += 1
        elif char in "()":
            yield _Token(char, char, i)
            i += 1
        elif char == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise RuleError(f'unterminated quote at {i + 1}: close it with "')
            yield _Token("phrase", text[i : end + 1], i, text[i + 1 : end])
            i = end + 1
        elif char == "-" and i + 1 < n and not text[i + 1].isspace() and text[i + 1] not in ")-":
            yield _Token("minus", "-", i)
            i += 1
        elif text.startswith("NEAR(", i):
            end = text.find(")", i)
            if end < 0:
                raise RuleError(f"NEAR at {i + 1} needs a closing ')'")
            yield _Token("near", text[i : end + 1], i, text[i + 5 : end])
            i = end + 1
        else:
            match = _WORD_CHARS.match(text, i)
            assert match is not None  # a character that is not space, a quote or a parenthesis
            word = match.group()
            name, colon, rest = word.partition(":")
            if colon and name.lower() in FIELDS:
                if not rest and match.end() < n and text[match.end()] == '"':  # from:"Shown Name"
                    close = text.find('"', match.end() + 1)
                    if close < 0:
                        raise RuleError(f'unterminated quote at {match.end() + 1}: close it with "')
                    yield _Token("field", text[i : close + 1], i, name.lower() + ":" + text[match.end() + 1 : close])
                    i = close + 1
                    continue
                yield _Token("field", word, i, name.lower() + ":" + rest)
            elif word in _OPERATORS:
                yield _Token("op", word, i)
            elif word.startswith("#") and len(word) > 1:
                yield _Token("field", word, i, "tag:" + word[1:])
            elif word.startswith("@") and len(word) > 1:
                yield _Token("field", word, i, "channel:" + word)
            else:
                yield _Token("word", word, i)
            i = match.end()
    yield _Token("end", "", n)


# ------------------------------------------------------------------ parser
class _Parser:
    def __init__(self, text: str, normaliser: TextNormaliser) -> None:
        self.text = text
        self.normaliser = normaliser
        self.tokens = list(_tokens(text))
        self.at = 0
        self.terms = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.at]

    def unexpected(self) -> RuleError:
        token = self.token
        if token.kind == "end":
            return RuleError(f"unexpected end of rule at {token.pos + 1}: something to find is missing")
        return RuleError(f"unexpected {token.text[:20]!r} at {token.pos + 1}")

    def parse(self) -> Node | None:
        node = self.either(0)
        if self.token.kind != "end":
            raise self.unexpected()
        return node

    def either(self, depth: int) -> Node | None:
        parts = [self.both(depth)]
        while self.token.kind == "op" and self.token.text == "OR":
            self.at += 1
            if self.token.kind in ("end", ")") or (self.token.kind == "op" and self.token.text != "NOT"):
                raise self.unexpected()
            parts.append(self.both(depth))
        kept = [p for p in parts if p is not None]
        if len(kept) < len(parts) and len(parts) > 1:
            raise RuleError(f"OR needs something to find on both sides (near {self.token.pos + 1})")
        return kept[0] if len(kept) == 1 else Or(tuple(kept)) if kept else None

    def both(self, depth: int) -> Node | None:
        parts: list[Node] = []
        first = True
        while True:
            token = self.token
            if token.kind == "op" and token.text == "AND":
                if first:
                    raise self.unexpected()
                self.at += 1
                if self.token.kind in ("end", ")") or (self.token.kind == "op" and self.token.text != "NOT"):
                    raise self.unexpected()
            elif token.kind in ("end", ")") or (token.kind == "op" and token.text == "OR"):
                if first and token.kind != "end":
                    raise self.unexpected()
                break
            node = self.unary(depth)
            first = False
            if node is not None:
                parts.append(node)
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def unary(self, depth: int) -> Node | None:
        token = self.token
        if (token.kind == "op" and token.text == "NOT") or token.kind == "minus":
            self.at += 1
            if self.token.kind in ("end", ")") or (self.token.kind == "op" and self.token.text != "NOT"):
                raise self.unexpected()
            child = self.unary(depth)
            if child is None:
                raise RuleError(f"nothing to leave out after {token.text!r} at {token.pos + 1}")
            return Not(child)
        return self.primary(depth)

    def primary(self, depth: int) -> Node | None:
        token = self.token
        self.at += 1
        if token.kind == "(":
            if depth + 1 > MAX_DEPTH:
                raise RuleError(f"too many nested parentheses at {token.pos + 1} (at most {MAX_DEPTH})")
            node = self.either(depth + 1)
            if self.token.kind != ")":
                if self.token.kind == "end":
                    raise RuleError(f"'(' at {token.pos + 1} is never closed")
                raise self.unexpected()
            self.at += 1
            if node is None:
                raise RuleError(f"empty parentheses at {token.pos + 1}")
            return node
        if token.kind == "phrase":
            terms = self.words(token.value, token.pos)
            return Phrase(" ".join(token.value.split()), tuple(terms)) if terms else None
        if token.kind == "near":
            return self.near(token)
        if token.kind == "field":
            return self.field(token)
        if token.kind == "word":
            terms = self.words(token.text, token.pos)
            return None if not terms else terms[0] if len(terms) == 1 else And(tuple(terms))
        self.at -= 1
        raise self.unexpected()

    def words(self, text: str, pos: int, *, emoji: bool = True) -> list[Term]:
        """The terms a word or phrase stands for, as a search folds them (none for bare punctuation)."""
        found = [Term(word, self.normaliser.word_alternatives(word)) for word in _words(text)]
        if emoji:
            found += [Term(token, frozenset({token})) for token in emoji_tokens(text)]
        found = [t for t in found if t.tokens]
        self.terms += len(found)
        if self.terms > MAX_TERMS:
            raise RuleError(f"too many words at {pos + 1} (at most {MAX_TERMS} in one rule)")
        return found

    def near(self, token: _Token) -> Near:
        body, comma, distance_text = token.value.rpartition(",")
        if not comma:
            body, distance_text = token.value, ""
        distance = NEAR_DEFAULT
        if distance_text.strip():
            if not _NUMBER.fullmatch(distance_text.strip()) or int(distance_text) > NEAR_MAX:
                raise RuleError(f"NEAR at {token.pos + 1}: the distance is a number from 0 to {NEAR_MAX}")
            distance = int(distance_text)
        if '"' in body:
            raise RuleError(f"NEAR at {token.pos + 1} takes words, not quoted phrases")
        terms = self.words(body, token.pos, emoji=False)  # NEAR counts words; emoji have no place among them
        if len(terms) < 2:
            raise RuleError(f"NEAR at {token.pos + 1} needs at least two words")
        return Near(tuple(terms), distance)

    def field(self, token: _Token) -> Field:
        name, _, value = token.value.partition(":")
        value = value.strip()
        if not value:
            raise RuleError(f"{name}: at {token.pos + 1} needs a value")
        if name == "tag":
            tag = value.lstrip("#").casefold()
            if not tag:  # `tag:#`, `##`: an empty tag would silently match nothing
                raise RuleError(f"tag: at {token.pos + 1} needs a tag name after the #")
            return Field("tag", tag)
        if name == "lang":
            if not _LANG.fullmatch(value.lower()):
                raise RuleError(f"lang: at {token.pos + 1} takes a language code like bg, ru, sr, en")
            return Field("lang", value.lower())
        if name == "channel":
            return Field("channel", _channel_value(value, token.pos))
        return Field("from", _origin_value(value))


def _words(text: str) -> list[str]:
    """Words as TextNormaliser.query_terms splits them (after case and ё are folded)."""
    return re.findall(r"[^\W_]+", prepare(text))


def _channel_value(value: str, pos: int) -> str:
    """'@name' (case-folded) or a number (a Telegram id, -100… chat ids included, or the archive's id)."""
    if value.startswith("-100") and value[4:].isascii() and value[4:].isdecimal():
        return value[4:]
    if value.isascii() and value.isdecimal():
        return value
    name = value.lstrip("@").lower()
    if not re.fullmatch(r"[a-z][a-z0-9_]{2,31}", name):
        raise RuleError(f"channel: at {pos + 1} takes @name or a numeric id")
    return "@" + name


def _origin_value(value: str) -> str:
    return " ".join(value.casefold().split())


def parse_rule(text: str, normaliser: TextNormaliser) -> Rule:
    """The rule in `text`; RuleError for a syntax error, an empty rule or one that only excludes."""
    if len(text) > MAX_LENGTH:
        raise RuleError(f"the rule is too long ({len(text)} characters, at most {MAX_LENGTH})")
    surrogate = _SURROGATE.search(text)  # undecodable bytes in argv become these; no database can store one
    if surrogate is not None:
        raise RuleError(f"the character at {surrogate.start() + 1} is not text (a lone surrogate: undecodable bytes?)")
    text = re.sub("[\x00-\x1f\x7f]", " ", text)
    root = _Parser(text, normaliser).parse()
    if root is None:
        raise RuleError('the rule is empty: give a word, a "phrase", a #tag or a filter')
    if not positive(root):
        raise RuleError("a rule needs something to find, not only NOT or -word")
    return Rule(text, root)


def positive(node: Node) -> bool:
    """Whether the node names something a post must have (a rule of only exclusions matches nearly all)."""
    if isinstance(node, Not):
        return False
    if isinstance(node, And):
        return any(positive(c) for c in node.children)
    if isinstance(node, Or):
        return all(positive(c) for c in node.children)
    return True


def simple_words(node: Node) -> bool:
    """Only words and phrases, all required: the plain search of before (its own fast paths apply)."""
    if isinstance(node, And):
        return all(isinstance(c, Term | Phrase) for c in node.children)
    return isinstance(node, Term | Phrase)


def wanted(node: Node) -> tuple[list[Term], list[str]]:
    """The words and phrases a match shows (those not under NOT): what results highlight."""
    if isinstance(node, Term):
        return [node], []
    if isinstance(node, Phrase):
        return list(node.terms), [node.text]
    if isinstance(node, Near):
        return list(node.terms), []
    if isinstance(node, And | Or):
        terms: list[Term] = []
        phrases: list[str] = []
        for child in node.children:
            more_terms, more_phrases = wanted(child)
            terms += more_terms
            phrases += more_phrases
        return terms, phrases
    return [], []


def show(node: Node) -> str:
    """The tree as text with every group explicit: what `tgmonitor rules check` prints."""
    if isinstance(node, Term):
        return node.word
    if isinstance(node, Phrase):
        return f'"{node.text}"'
    if isinstance(node, Near):
        return f"NEAR({' '.join(t.word for t in node.terms)}, {node.distance})"
    if isinstance(node, Field):
        return f'{node.name}:"{node.value}"' if " " in node.value else f"{node.name}:{node.value}"
    if isinstance(node, Not):
        return f"NOT {show(node.child)}"
    joiner = " AND " if isinstance(node, And) else " OR "
    return "(" + joiner.join(show(c) for c in node.children) + ")"
