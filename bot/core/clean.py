"""Turn a post's raw text into clean paragraphs.

Sources hand us text with page chrome ("VIEW IN TELEGRAM"), site junk ("РЕКЛАМА", "Сподели:") and,
for copy-pasted or link-previewed posts, the whole body twice.  Everything downstream (tags,
fingerprints, digests, search) must see the text a reader would, so this runs before all of it.
"""

from __future__ import annotations

import importlib
import re
import tomllib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from bot.core.blocks import Block, segment
from bot.core.lang import detect_lang
from bot.core.page_clean import MIN_BLOCKS, MIN_CHARS, MIN_LABELS, Removed, is_furniture, judge, page_gate
from bot.core.page_model import PageModel
from bot.core.spaces import collapse_spaces

RuleKind = Literal["drop", "drop_with_next", "cut", "strip"]
_KINDS: tuple[RuleKind, ...] = ("drop", "drop_with_next", "cut", "strip")
DEFAULT_RULES_FILE = Path(__file__).resolve().parent.parent / "data" / "boilerplate.toml"

_INVISIBLE_CHARS = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
_HASHTAG_ONLY = re.compile(r"(?:#\w+\s*)+")
_BARE_LINK = re.compile(r"(?:https?://|www\.|t\.me/)\S+", re.IGNORECASE)
# Bumped when the cleaning code (not the rules or the model) changes what it keeps, so that a finished
# `tgmonitor reclean` runs again over archives built before (bot/app/reclean.py cleaner_fingerprint).
# 2: issue #26 (the page gate needs chrome, only repeats of substance go, link-only posts keep links).
# 3: issue #30 (lines the rules drop are page-model signals; the about box and author bio shapes).
# 4: issue #30, round 4 (pages without word spaces keep their run of long lines, not the whole page).
# 5: issue #30, round 5 (long prose inside the main run goes when the model is sure it is not the article).
CLEANER_VERSION = 5
# A repeated paragraph goes only when it is this long (unique_paragraphs); shorter ones are speech.
SUBSTANTIAL_WORDS = 6
SUBSTANTIAL_CHARS = 50


class BoilerplateError(ValueError):
    """A boilerplate rules file is unusable; the message names the file and the rule."""


@dataclass(frozen=True, slots=True)
class BoilerplateRule:
    name: str
    kind: RuleKind
    regex: re.Pattern[str]
    # Characters every match contains (`required_chars`): a `strip` rule skips a line without one of
    # them. The default photo-credit rule needs "©"; its regex tried at every position of every line
    # was ~45 us of a 1,500-character post's ~140 us of cleaning, for a match in almost no post.
    needs: str = field(default="", init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "needs", required_chars(self.regex))


@dataclass(frozen=True, slots=True)
class BoilerplateRules:
    rules: tuple[BoilerplateRule, ...]
    # The line rules (all but `strip`) as one alternation, and the rule behind each of its groups: one
    # C-level fullmatch a line instead of a Python loop over a dozen (~40 us a post). An alternation's
    # fullmatch takes the first alternative that matches the whole line, i.e. the first rule that does.
    # None when a pattern refers to a group by number or name (it would not survive being combined).
    _lines: tuple[re.Pattern[str], dict[int, BoilerplateRule]] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    strips: tuple[BoilerplateRule, ...] = field(default=(), init=False, repr=False, compare=False)  # in order

    def __post_init__(self) -> None:
        object.__setattr__(self, "_lines", _combined([r for r in self.rules if r.kind != "strip"]))
        object.__setattr__(self, "strips", tuple(r for r in self.rules if r.kind == "strip"))

    def __add__(self, other: BoilerplateRules) -> BoilerplateRules:
        return BoilerplateRules(self.rules + other.rules)

    def line_rule(self, line: str) -> BoilerplateRule | None:
        """The first line rule (not `strip`) whose pattern matches the whole line."""
        if self._lines is None:
            return next((r for r in self.rules if r.kind != "strip" and r.regex.fullmatch(line)), None)
        pattern, rule_of_group = self._lines
        found = pattern.fullmatch(line)
        return None if found is None else rule_of_group[found.lastindex or 0]


# The standard library's own parser of regular expressions (what `re.compile` runs); imported by name
# because it is private (`sre_parse`, its public alias, warns since Python 3.11).
_RE_PARSER = importlib.import_module("re._parser")


def required_chars(regex: re.Pattern[str]) -> str:
    """Characters that occur in every match of `regex`, as far as its top level shows (may be ""):
    literal characters outside any alternative, repeat or assertion, that no case rule maps to
    another (so IGNORECASE matches them only as they are). Never more than what is required: a line
    without one of them cannot match, so skipping it changes nothing."""
    try:
        parsed = _RE_PARSER.parse(regex.pattern, regex.flags)
    except Exception:  # compiled already; should the parser disagree, no shortcut
        return ""
    found: list[str] = []

    def walk(items: Any) -> None:
        for op, av in items:
            if op is _RE_PARSER.LITERAL:
                char = chr(av)
                if char.lower() == char == char.upper() and not unicodedata.category(char).startswith("L"):
                    found.append(char)
            elif op is _RE_PARSER.SUBPATTERN:
                walk(av[-1])

    walk(parsed.data)
    return "".join(dict.fromkeys(found))


_GROUP_REFERENCE = re.compile(r"\\(?:\d|g<)|\(\?P=|\(\?\(")


def _combined(rules: list[BoilerplateRule]) -> tuple[re.Pattern[str], dict[int, BoilerplateRule]] | None:
    """`rules` as one pattern (see BoilerplateRules._lines); None where that could change a match."""
    if not rules or any(
        _GROUP_REFERENCE.search(r.regex.pattern) or r.regex.flags != rules[0].regex.flags for r in rules
    ):
        return None
    try:
        pattern = re.compile(
            "|".join(f"(?P<_rule{i}>{r.regex.pattern})" for i, r in enumerate(rules)), rules[0].regex.flags
        )
    except re.error:
        return None
    return pattern, {pattern.groupindex[f"_rule{i}"]: r for i, r in enumerate(rules)}


def load_boilerplate(path: Path | None = None) -> BoilerplateRules:
    path = path or DEFAULT_RULES_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BoilerplateError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:  # BOILERPLATE_FILE saved as cp1251: the message named no file
        raise BoilerplateError(f"{path}: not UTF-8 text: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise BoilerplateError(f"{path}: invalid TOML: {exc}") from exc
    entries = data.get("rule", [])
    if not isinstance(entries, list):
        raise BoilerplateError(f"{path}: 'rule' must be an array of tables ([[rule]])")
    rules = []
    for index, entry in enumerate(entries, start=1):
        where = f"{path}: rule #{index}"
        if not isinstance(entry, dict):
            raise BoilerplateError(f"{where}: must be a table")
        name = entry.get("name") or f"rule-{index}"
        where = f"{where} ({name})"
        kind = entry.get("kind", "drop")
        if kind not in _KINDS:
            raise BoilerplateError(f"{where}: kind must be one of {', '.join(_KINDS)}, got {kind!r}")
        pattern = entry.get("pattern")
        if not isinstance(pattern, str) or not pattern.strip():
            raise BoilerplateError(f"{where}: 'pattern' must be a non-empty string")
        try:
            regex = re.compile(pattern if kind == "strip" else rf"(?:{pattern})", re.IGNORECASE)
        except re.error as exc:
            raise BoilerplateError(f"{where}: bad regular expression: {exc}") from exc
        rules.append(BoilerplateRule(str(name), kind, regex))
    return BoilerplateRules(tuple(rules))


def normalize(text: str) -> str:
    """NFC, one kind of newline, no invisible characters, single spaces, trimmed lines.

    Invisible characters go before NFC: one between a letter and its accent would otherwise keep
    them apart, and cleaning the result again would compose them (clean_text must be idempotent).
    `in` + `replace` instead of `str.translate`, and split/join instead of a regex per line, because
    this runs on every post and those are 10-20 times faster on Cyrillic text; the result is the
    same (str.split and the regex's \\s agree on what whitespace is).
    """
    for char in _INVISIBLE_CHARS:
        if char in text:
            text = text.replace(char, "")
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join([" ".join(line.split()) for line in text.split("\n")])


def strip_boilerplate(
    lines: Iterable[str],
    rules: BoilerplateRules,
    removed: list[Removed] | None = None,
    signals: list[tuple[int, str, bool]] | None = None,
) -> list[str]:
    """Lines without the rules' matches; blank lines stay (they tell a page's blocks apart).

    `removed`, when given, collects what went and which rule took it (for `tgmonitor clean --explain`).
    `signals`, when given, collects where it went: (index of the kept line it came before or was part
    of, the text, whether it was part of that line), for the page model (bot/core/blocks.py segment):
    a share line or a comments counter the rules drop still marks the end of the article.  The lines
    after a `cut` rule's match are not signals (the cut line is).
    """
    kept: list[str] = []
    skip_next: str | None = None
    cut: str | None = None
    for line in lines:
        if cut is not None:
            if line and removed is not None:
                removed.append(Removed(line, f"after {cut}"))
            continue
        if skip_next is not None and line:
            if removed is not None:
                removed.append(Removed(line, f"rule {skip_next} (the line after)"))
            skip_next = None
            continue
        for rule in rules.strips:
            if rule.needs and not all(map(line.__contains__, rule.needs)):
                stripped = line.strip()  # what sub would leave: the rule cannot match here
            else:
                stripped = rule.regex.sub("", line).strip()
            if stripped != line:
                if removed is not None:
                    removed.append(Removed(line, f"rule {rule.name} (part of the line)"))
                if signals is not None:
                    signals.append((len(kept), line[len(stripped) :] if line.startswith(stripped) else line, True))
            line = stripped
        hit = rules.line_rule(line)
        if hit is None:
            kept.append(line)
            continue
        if removed is not None:
            removed.append(Removed(line, f"rule {hit.name}"))
        if signals is not None:
            signals.append((len(kept), line, False))
        if hit.kind == "cut":
            cut = f"rule {hit.name}"
        elif hit.kind == "drop_with_next":
            skip_next = hit.name
    return kept


def paragraph_key(paragraph: str) -> str:
    """Two paragraphs are 'the same' when they differ only in case and spacing."""
    return collapse_spaces(paragraph.casefold())


def is_substantial(paragraph: str) -> bool:
    """A paragraph whose repeat is a repeated body, not speech: "She said:", "{" and "}" come back in
    any dialogue or code; a sentence of six words or fifty characters does not by chance."""
    return len(paragraph) >= SUBSTANTIAL_CHARS or len(paragraph.split()) >= SUBSTANTIAL_WORDS


def unique_paragraphs(lines: Iterable[str], removed: list[Removed] | None = None) -> list[str]:
    """Each paragraph once, in the original order: a body pasted twice (a web preview's copy) goes.

    Only repeats of substance go, and short lines inside a run of repeats that holds one (the second
    copy's short title or caption): a short line said again between new lines ("She said:" before
    another quote, a second `}`) is part of the text, and dropping it made the next quote read as the
    previous speaker's (issue #26).
    """
    paragraphs = [line for line in lines if line]
    keys = list(map(paragraph_key, paragraphs))
    if len(set(keys)) == len(keys):
        return paragraphs  # no repeats (almost every post): nothing to drop
    seen: set[str] = set()
    repeat = []
    for key in keys:
        repeat.append(key in seen)
        seen.add(key)
    drop = [r and is_substantial(p) for r, p in zip(repeat, paragraphs, strict=True)]
    start = 0
    while start < len(paragraphs):  # runs of consecutive repeats: one of substance takes the short ones along
        if not repeat[start]:
            start += 1
            continue
        end = start
        while end < len(paragraphs) and repeat[end]:
            end += 1
        if any(drop[start:end]):
            drop[start:end] = [True] * (end - start)
        start = end
    result = []
    for paragraph, dropped in zip(paragraphs, drop, strict=True):
        if not dropped:
            result.append(paragraph)
        elif removed is not None:
            removed.append(Removed(paragraph, "repeated paragraph"))
    return result


@dataclass(frozen=True, slots=True)
class CleanReport:
    text: str
    removed: tuple[Removed, ...]
    gate: str = ""  # the page gate's decision and its figures, when the text was long enough to ask it


def clean_text(text: str, rules: BoilerplateRules, page: PageModel | None = None) -> str:
    """Clean text: paragraphs (one per source line) separated by a blank line.

    With `page`, a text that looks like a pasted web page also loses the blocks the page classifier
    judges not to be the article; anything shorter than a page is left as the rules leave it.
    """
    return "\n\n".join(_clean(text, rules, page, None))


def clean_report(text: str, rules: BoilerplateRules, page: PageModel | None = None) -> CleanReport:
    """The clean text and every removed line with its reason, in the order they were removed."""
    removed: list[Removed] = []
    gate: list[str] = []
    return CleanReport("\n\n".join(_clean(text, rules, page, removed, gate)), tuple(removed), "".join(gate))


def page_blocks(text: str, rules: BoilerplateRules) -> list[Block]:
    """The blocks the page classifier judges: after the rules, first occurrences only (for training)."""
    signals: list[tuple[int, str, bool]] = []
    lines = strip_boilerplate(normalize(text).split("\n"), rules, None, signals)
    return _first_blocks(lines, signals)


def _first_blocks(lines: list[str], signals: list[tuple[int, str, bool]]) -> list[Block]:
    """First occurrences only; what the rules dropped before a repeat carries over to the next block."""
    seen: set[str] = set()
    blocks = []
    carried: tuple[str, ...] = ()
    for block in segment(lines, signals):
        key = paragraph_key(block.text)
        if key in seen:
            carried += block.dropped
            continue
        seen.add(key)
        if carried:
            block = replace(block, dropped=carried + block.dropped)
            carried = ()
        blocks.append(block)
    return blocks


def _clean(
    text: str,
    rules: BoilerplateRules,
    page: PageModel | None,
    removed: list[Removed] | None,
    gate: list[str] | None = None,
) -> list[str]:
    """The kept paragraphs; a post that is only links keeps them (_links_only)."""
    kept = _clean_lines(text, rules, page, removed, gate)
    return kept or _links_only(text, removed)


def _links_only(text: str, removed: list[Removed] | None) -> list[str]:
    """A post that is nothing but links is its links: the rules drop a bare URL line as chrome under a
    text, but alone it is what the post says, and with an empty text a digest showed "+ 1 post"."""
    links = list(dict.fromkeys(line for line in normalize(text).split("\n") if _BARE_LINK.fullmatch(line)))
    if removed is not None and links:
        removed[:] = [r for r in removed if r.text not in links]
    return links


def _clean_lines(
    text: str,
    rules: BoilerplateRules,
    page: PageModel | None,
    removed: list[Removed] | None,
    gate: list[str] | None = None,
) -> list[str]:
    signals: list[tuple[int, str, bool]] = []
    lines = strip_boilerplate(normalize(text).split("\n"), rules, removed, signals)
    # The cheap gate first: most posts are far from a page's size and never get segmented.
    if page is None or len(lines) < MIN_BLOCKS or sum(map(len, lines)) < MIN_CHARS:
        if gate is not None and page is not None:
            gate.append(
                f"not a page: {len(lines)} lines, {sum(map(len, lines)):,} characters (a page has at least "
                f"{MIN_BLOCKS} blocks and {MIN_CHARS:,} characters)"
            )
        return unique_paragraphs(lines, removed)
    furniture = sum(1 for line in lines if line and is_furniture(line))
    if furniture < MIN_LABELS:
        if gate is not None:
            gate.append(f"not a page: {furniture} furniture lines (a page has at least {MIN_LABELS})")
        return unique_paragraphs(lines, removed)
    blocks = _first_blocks(lines, signals)
    is_page, why = page_gate(blocks, page.vocabulary.furniture)
    if gate is not None:
        gate.append(why)
    if not is_page:
        return unique_paragraphs(lines, removed)
    if removed is not None:
        unique_paragraphs(lines, removed)  # only to report the repeats
    verdicts = judge(blocks, page, detect_lang("\n".join(b.text for b in blocks)))
    kept = []
    for block, verdict in zip(blocks, verdicts, strict=True):
        if verdict is None:
            kept.append(block.text)
        elif removed is not None:
            removed.append(Removed(block.text, verdict))
    return kept


def is_hashtag_only(paragraph: str) -> bool:
    return bool(_HASHTAG_ONLY.fullmatch(paragraph))
