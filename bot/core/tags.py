"""Tags for a post: the hashtags its channel chose and the topics its words point at.

Channels write about the same things in English, Bulgarian and Russian, with or without hashtags; topic
tags let a digest or an alert put "Сърбия", "сербской" and "Serbian" under one "Serbia".  Rules live in
a TOML file (bot/data/rules.toml documents the format) so users can change them without touching code.

Keywords match as written (the Aho-Corasick scanners below) and also through search's normaliser
(bot/core/textnorm.py): a one-word non-English keyword without '*' matches the inflected forms of its word
("Косово" finds "Косова", ё or е alike) when its stem has at least _MIN_STEM letters (shorter stems
collide: "посла" and "после" share "посл"); in Serbian posts every keyword also matches in the other
script ("Србиј*" finds "Srbija", "Vučić" finds "Вучић").
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ahocorasick

from bot.core.textnorm import TextNormaliser, fold
from bot.models import Tag

DEFAULT_RULES_FILE = Path(__file__).resolve().parent.parent / "data" / "rules.toml"

# URLs come first in the alternation so their "#fragment" is swallowed with them; the lookbehind keeps
# "page#section" (no scheme), "/#route" and "&#39;" (HTML entities) from being read as hashtags.  It
# sits after the '#' so every branch starts with a literal and re can jump from candidate to candidate.
_HASHTAG = re.compile(r"https?://\S+|www\.\S+|#(?<![\w/&]#)(\w+)")
_TAG_CHARS = re.compile(r"\w+")
_TAG_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
_RESERVED_KEYS = frozenset({"tag", "display"})


class RulesError(ValueError):
    """A keyword rules file is unusable; the message names the file, the rule and what is wrong."""


@dataclass(frozen=True, slots=True)
class TopicRule:
    """One [[topic]] table.  `pattern` finds any of its keywords on its own; `topic_tags` uses the
    faster combined scanners, and the tests hold the two to the same answers."""

    tag: Tag
    keywords: tuple[str, ...]
    pattern: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class _Scanner:
    """Every keyword of one case mode in one Aho-Corasick automaton (pyahocorasick, C) of their fixed
    starts (`_key`), so a post is read once per mode instead of once per rule. Each start found where a
    word may begin (after a non-word character, as `\\W` has it) is then checked with its keywords'
    own regexes (`\\s+` between words, `\\w*` for '*', no word character after). The rules found are
    those with a keyword matching at a word start: what the rule's own pattern finds (TopicRule), and
    what the prefix-tree regex this replaced found, in 60 % of its time on the corpus
    (bench/ingest.md, third pass). Every match is reported, so rules may share keywords or stems."""

    automaton: Any  # ahocorasick.Automaton: key -> (len(key) - 1, ((keyword regex's match, rule index), ...))
    case_sensitive: bool  # False: run on the lowercased text, keywords were lowercased too

    def scan(self, text: str, found: set[int]) -> None:
        """Add to `found` the rules with a keyword in `text` (which starts with a non-word character)."""
        for end, (back, candidates) in self.automaton.iter(text):
            start = end - back
            before = text[start - 1]
            if before.isalnum() or before == "_":  # re's \w, as its own code defines it
                continue
            for match, rule in candidates:
                if rule not in found and match(text, start):
                    found.add(rule)


@dataclass(frozen=True, slots=True)
class KeywordRules:
    rules: tuple[TopicRule, ...]
    scanners: tuple[_Scanner, ...]
    source: str = "<rules>"
    normaliser: TextNormaliser | None = None
    # script ("latin" / "cyrillic") -> index token -> rules: one-word keywords by their stems
    stems: Mapping[str, Mapping[str, frozenset[int]]] = dataclasses.field(default_factory=dict)
    folded: tuple[_Scanner, ...] = ()  # every keyword in the one-script skeleton, for Serbian posts


# --- hashtags -------------------------------------------------------------------------------------


def extract_hashtags(text: str, entity_tags: Iterable[str] = ()) -> list[Tag]:
    """Hashtags written in the text plus those the source reported (Telegram entities, web-preview
    links), which may cover text we never saw; one Tag per case-insensitive name, first form wins."""
    seen: dict[str, Tag] = {}
    names = [m.group(1) for m in _HASHTAG.finditer(text) if m.group(1)] if "#" in text else []
    names += [raw.strip().lstrip("#") for raw in entity_tags]
    for name in names:
        if not _TAG_CHARS.fullmatch(name) or not any(c.isalpha() for c in name):
            continue  # "#1", "#2024": counters and numbering, not topics
        key = name.casefold()
        if key not in seen:
            seen[key] = Tag(key, "#" + name, "hashtag")
    return list(seen.values())


# --- rules file -----------------------------------------------------------------------------------


def load_rules(path: Path | None = None, normaliser: TextNormaliser | None = None) -> KeywordRules:
    """Read and compile a rules file once; everything after this is pure."""
    path = path or DEFAULT_RULES_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise RulesError(f"{path}: not UTF-8 text: {exc}") from exc
    return parse_rules(text, str(path), normaliser)


def parse_rules(text: str, source: str = "<rules>", normaliser: TextNormaliser | None = None) -> KeywordRules:
    """The pure half of `load_rules`, for rules that do not come from a file."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{source}: invalid TOML: {exc}") from exc
    extra = sorted(set(data) - {"topic"})
    if extra:
        raise RulesError(f"{source}: unknown top-level key {extra[0]!r}; rules are [[topic]] tables")
    entries = data.get("topic")
    if not isinstance(entries, list) or not entries:
        raise RulesError(f"{source}: no [[topic]] tables")
    rules: list[TopicRule] = []
    first_index: dict[str, int] = {}
    for index, entry in enumerate(entries, start=1):
        rule = _parse_rule(entry, f"{source}: topic #{index}")
        if rule.tag.key in first_index:
            first = first_index[rule.tag.key]
            raise RulesError(f"{source}: topic #{index} ({rule.tag.key}): tag already used by topic #{first}")
        first_index[rule.tag.key] = index
        rules.append(rule)
    normaliser = normaliser or TextNormaliser()
    return KeywordRules(
        tuple(rules),
        _build_scanners(rules),
        source,
        normaliser,
        _stem_index(rules, normaliser),
        _build_scanners([_folded_rule(r) for r in rules], modes=(False,)),
    )


_MIN_STEM = 5


def _stem_index(rules: list[TopicRule], normaliser: TextNormaliser) -> dict[str, dict[str, frozenset[int]]]:
    index: dict[tuple[str, str], set[int]] = {}
    for number, rule in enumerate(rules):
        for keyword in rule.keywords:
            if keyword.startswith("=") or "*" in keyword or len(keyword.split()) != 1 or keyword.isascii():
                continue  # English stemmers also strip -ism, -ation: English keywords list their forms
            script = "cyrillic" if re.search("[\u0400-\u04ff]", keyword) else "latin"
            for token in normaliser.word_alternatives(keyword):  # the exact form is the scanners' job
                if len(token) >= _MIN_STEM:
                    index.setdefault((script, token), set()).add(number)
    by_script: dict[str, dict[str, frozenset[int]]] = {"latin": {}, "cyrillic": {}}
    for (script, token), numbers in index.items():
        by_script[script][token] = frozenset(numbers)
    return by_script


def _folded_rule(rule: TopicRule) -> TopicRule:
    keywords = tuple(fold(k) for k in rule.keywords if not k.startswith("="))
    return TopicRule(rule.tag, keywords, rule.pattern)


def _parse_rule(entry: Any, where: str) -> TopicRule:
    if not isinstance(entry, dict):
        raise RulesError(f"{where}: must be a table")
    tag = entry.get("tag")
    if tag is None:
        raise RulesError(f"{where}: missing 'tag'")
    if not isinstance(tag, str) or not _TAG_NAME.fullmatch(tag):
        raise RulesError(f"{where}: 'tag' must be lowercase ASCII letters, digits, '-' or '_', got {_shown(tag)}")
    where = f"{where} ({tag})"
    display = entry.get("display", tag)
    if not isinstance(display, str) or not display.strip():
        raise RulesError(f"{where}: 'display' must be a non-empty string, got {_shown(display)}")
    keywords: list[str] = []
    for key, value in entry.items():
        if key in _RESERVED_KEYS:
            continue
        if not isinstance(value, list):
            raise RulesError(f"{where}: {key!r} must be a list of keywords, got {type(value).__name__}")
        if not value:
            raise RulesError(f"{where}: {key!r} is an empty keyword list")
        for number, keyword in enumerate(value, start=1):
            keywords.append(_check_keyword(keyword, f"{where}: {key!r} keyword #{number}"))
    if not keywords:
        raise RulesError(f'{where}: no keywords; add a list such as en = ["..."]')
    return TopicRule(Tag(tag, display.strip(), "topic"), tuple(keywords), _rule_pattern(keywords))


def _shown(value: object) -> str:
    """A value as an error quotes it, cut at 60 characters: a 10,000-character keyword is not echoed."""
    text = repr(value)
    return text[:60] + "…" if len(text) > 60 else text


def _check_keyword(keyword: Any, where: str) -> str:
    if not isinstance(keyword, str):
        raise RulesError(f"{where}: must be a string, got {type(keyword).__name__} {_shown(keyword)}")
    keyword = " ".join(keyword.split())
    shown = _shown(keyword)
    words = keyword.removeprefix("=").split()
    if not words:
        raise RulesError(f"{where}: empty keyword")
    for word in words:
        stem = word.removesuffix("*")
        if "*" in stem:
            raise RulesError(f"{where}: {shown}: '*' may only end a word")
        if not re.search(r"\w", stem):
            raise RulesError(f"{where}: {shown}: every word needs a letter or digit")
    return str(keyword)


# --- compiling ------------------------------------------------------------------------------------

_WS = " "  # token for "one or more spaces"; keywords are split on whitespace, so it cannot be a char
_STAR = "*"  # token for "any word ending"; '*' is only allowed at the end of a word


def _tokens(keyword: str) -> list[str]:
    """A keyword as the tokens its regex is built from: single characters, _WS and _STAR."""
    tokens: list[str] = []
    for word in keyword.split():
        if tokens:
            tokens.append(_WS)
        tokens.extend(word.removesuffix("*"))
        if word.endswith("*"):
            tokens.append(_STAR)
    return tokens


def _token_regex(token: str) -> str:
    return r"\s+" if token == _WS else r"\w*" if token == _STAR else re.escape(token)


def _split_case(keyword: str) -> tuple[bool, str]:
    """'=UN' -> (True, 'UN'): the '=' marks abbreviations that are ordinary words in lowercase."""
    return (True, keyword[1:]) if keyword.startswith("=") else (False, keyword)


def _rule_pattern(keywords: Iterable[str]) -> re.Pattern[str]:
    """The rule on its own: one alternation, case-insensitive except for '=' keywords."""
    folded: list[str] = []
    exact: list[str] = []
    for keyword in keywords:
        case_sensitive, body = _split_case(keyword)
        regex = "".join(map(_token_regex, _tokens(body)))
        (exact if case_sensitive else folded).append(regex)
    branches = ([f"(?i:{'|'.join(folded)})"] if folded else []) + exact
    return re.compile(rf"(?<!\w)(?:{'|'.join(branches)})(?!\w)")


def _key(tokens: list[str]) -> str:
    """What a keyword must begin with, literally, wherever it matches: its first word up to a '*'
    (a space between words stands for any run of whitespace, so it ends the literal part too)."""
    end = next((i for i, token in enumerate(tokens) if token in (_WS, _STAR)), len(tokens))
    return "".join(tokens[:end])


def _build_scanners(rules: list[TopicRule], modes: tuple[bool, ...] = (False, True)) -> tuple[_Scanner, ...]:
    """One scanner per case mode: with the default rules a post is read twice in all, once lowercased,
    once as written for '=' keywords."""
    scanners = []
    for case_sensitive in modes:
        candidates: dict[str, list[tuple[Callable[[str, int], Any], int]]] = {}
        for index, rule in enumerate(rules):
            for keyword in rule.keywords:
                exact, body = _split_case(keyword)
                if exact == case_sensitive:
                    tokens = _tokens(body if exact else body.lower())
                    keyword_regex = re.compile("".join(map(_token_regex, tokens)) + r"(?!\w)")
                    candidates.setdefault(_key(tokens), []).append((keyword_regex.match, index))
        if candidates:
            automaton = ahocorasick.Automaton()
            for key, found in candidates.items():
                automaton.add_word(key, (len(key) - 1, tuple(found)))
            automaton.make_automaton()
            scanners.append(_Scanner(automaton, case_sensitive))
    return tuple(scanners)


# --- matching -------------------------------------------------------------------------------------


def topic_tags(text: str, rules: KeywordRules, lang: str | None = None) -> list[Tag]:
    """Topics whose keywords occur in the text, in the order of the rules file (stable for digests).

    `lang` (the post's) picks the stemmer for inflected forms; in Serbian ("sr") posts keywords also
    match in the other script."""
    found: set[int] = set()
    padded = " " + text
    lowered = padded.lower()
    for scanner in rules.scanners:
        scanner.scan(padded if scanner.case_sensitive else lowered, found)
    if rules.normaliser is not None and rules.stems and text:
        latin, cyrillic = rules.normaliser.tokens_by_script(text, lang)
        if lang == "sr":  # one language, two scripts: either keyword script matches either word script
            latin = cyrillic = latin | cyrillic
        for script, tokens in (("latin", latin), ("cyrillic", cyrillic)):
            keywords = rules.stems.get(script, {})
            for token in tokens.intersection(keywords):  # a set operation in C, then the few hits
                found.update(keywords[token])
        if lang == "sr":
            folded = " " + fold(text)
            for scanner in rules.folded:
                scanner.scan(folded, found)
    return [rule.tag for index, rule in enumerate(rules.rules) if index in found]
