"""Word-level diff between two versions of a post, and whether the edit is substantive. Pure.

Channels re-post statements with a typo fixed, a link swapped or an emoji added all the time; an
analyst wants to hear about the other edits: a number changed, a name swapped, a "not" added or
dropped, a sentence rewritten. So the diff compares *words* only:

* whitespace, punctuation, emoji and links are not words, so changing them changes nothing;
* words compare case-insensitively (NFC, ё = е), so "kosovo" → "Kosovo" is no change either;
* a misspelling fixed (same first letter, one or two letters apart, or only accents apart) is shown
  but not counted.

An edit is **substantive** when a changed word is a number (any digit, or a number word such as
"three"/"три"), a negation ("not", "не", "ne", "nije", "without", ...) or a name (a capitalised word
mid-sentence, an all-caps word, a @mention, or a capitalised sentence opener that is not a common
function word), or when at least MIN_WORDS words, or MIN_SHARE of the post's words, changed.
Hashtags are shown but never count: channels add them to old posts as housekeeping.
"""

from __future__ import annotations

import difflib
import html
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

MIN_WORDS = 3
MIN_SHARE = 0.15
TokenKind = Literal["word", "number", "negation", "name", "tag"]
SegmentKind = Literal["same", "del", "ins"]

_TOKEN = re.compile(
    r"(?P<url>(?i:(?:https?://|www\.)\S+|(?<![\w@/])(?:t|telegram)\.me/\S+))"
    r"|(?P<tag>#\w+)"
    r"|(?P<mention>@\w+)"
    r"|(?P<word>[^\W_]+(?:['’.,:/-][^\W_]+)*)"
)
_SENTENCE_END = frozenset(".!?…\n")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_NEGATIONS = _words(
    # English (apostrophes normalised to ')
    "not no never none nor neither nothing nobody cannot without can't don't doesn't didn't isn't aren't "
    "wasn't weren't won't wouldn't couldn't shouldn't haven't hasn't hadn't mustn't "
    # Russian, Ukrainian
    "не нет ни никогда ничего никто нельзя без ні немає ніколи ніщо ніхто "
    # Bulgarian
    "няма никога нищо никой нито "
    # Serbian, Croatian, Bosnian (Latin and Cyrillic)
    "ne nije nisu nema nikad nikada ništa niko nitko bez ni није нису нема никад никада ништа нико"
)
_NUMBER_WORDS = _words(
    "one two three four five six seven eight nine ten dozen dozens hundred hundreds thousand thousands million "
    "millions billion billions trillion half percent "
    "один одна одно два две три четыре пять шесть семь восемь девять десять сто тысяча тысячи тысяч миллион "
    "миллиона миллионов миллиард миллиарда миллиардов половина процент процента процентов "
    "един една едно четири пет шест седем осем девет десет хиляда хиляди милион милиона милиард милиарда "
    "половин процента"
)
# Capitalised only because they open a sentence; any other capitalised opener is taken for a name.
_OPENERS = _words(
    "a an the this that these those it its he she they we i you his her their our my there here "
    "in on at by for from to of with as and but or so if when while after before since during today "
    "yesterday tomorrow also however meanwhile according earlier later then now what who why how "
    "в во на по с со к о об от из за для и а но или что как это этот эта эти он она оно они мы я вы "
    "его ее её их также однако сегодня вчера завтра ранее затем когда где по-прежнему "
    "във със към за от из и а но или че как това този тази тези той тя те ние аз вие неговият "
    "също обаче днес вчера утре преди после след когато където "
    "u na sa za od iz i a ali ili da kako to ovo ovaj ova on ona oni mi ja vi takođe danas juče sutra"
)


@dataclass(frozen=True, slots=True)
class Token:
    text: str  # as written
    key: str  # compared: NFC, case-folded, ё = е, ’ = '
    kind: TokenKind
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Hunk:
    """Words old[old_start:old_end] were replaced by new[new_start:new_end] (either side may be empty)."""

    old_start: int
    old_end: int
    new_start: int
    new_end: int


@dataclass(frozen=True, slots=True)
class Segment:
    kind: SegmentKind
    text: str


def _key(word: str) -> str:
    return word.casefold().replace("ё", "е").replace("’", "'")


def _opens_sentence(text: str, start: int) -> bool:
    i = start - 1
    while i >= 0:
        char = text[i]
        if char in _SENTENCE_END:
            return True
        if char.isalnum():
            return False
        i -= 1
    return True


def tokenize(text: str) -> list[Token]:
    """Words of an NFC text with their kinds and spans; links and emoji are not words."""
    tokens: list[Token] = []
    for match in _TOKEN.finditer(text):
        group = match.lastgroup
        if group == "url":
            continue
        word = match.group()
        key = _key(word)
        kind: TokenKind
        if group == "tag":
            kind = "tag"
        elif group == "mention":
            kind = "name"
        elif any(c.isdecimal() for c in word) or key in _NUMBER_WORDS:
            kind = "number"
        elif key in _NEGATIONS:
            kind = "negation"
        elif word[0].isupper() and (
            (len(word) > 1 and word.isupper()) or not _opens_sentence(text, match.start()) or key not in _OPENERS
        ):
            kind = "name"
        else:
            kind = "word"
        tokens.append(Token(word, key, kind, match.start(), match.end()))
    return tokens


def _strip_accents(key: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", key) if not unicodedata.combining(c))


def _distance(a: str, b: str, cap: int) -> int:
    """Levenshtein distance, giving up (returning cap + 1) once it must exceed `cap`."""
    if abs(len(a) - len(b)) > cap:
        return cap + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > cap:
            return cap + 1
        previous = current
    return previous[-1]


def spelling_fix(old: Token, new: Token) -> bool:
    """Whether replacing `old` by `new` only fixes how a word is written (shown, but not counted)."""
    if {old.kind, new.kind} & {"number", "negation"}:
        return False
    if _strip_accents(old.key) == _strip_accents(new.key):
        return True  # Vucic / Vučić
    if old.key[:1] != new.key[:1]:
        return False  # legal / illegal, possible / impossible
    if "name" in (old.kind, new.kind):
        return min(len(old.key), len(new.key)) >= 5 and _distance(old.key, new.key, 1) <= 1
    cap = 1 if max(len(old.key), len(new.key)) <= 6 else 2
    return min(len(old.key), len(new.key)) >= 3 and _distance(old.key, new.key, cap) <= cap


def _bag(tokens: Iterable[Token], kind: TokenKind) -> Counter[str]:
    return Counter(_strip_accents(t.key) for t in tokens if t.kind == kind)


@dataclass(frozen=True, slots=True)
class WordDiff:
    old_text: str
    new_text: str
    old: tuple[Token, ...]
    new: tuple[Token, ...]
    hunks: tuple[Hunk, ...]

    def counted(self, hunk: Hunk) -> tuple[list[Token], list[Token]]:
        """The words of a hunk that count: spelling fixes and hashtags left out."""
        removed = list(self.old[hunk.old_start : hunk.old_end])
        added = list(self.new[hunk.new_start : hunk.new_end])
        if len(removed) == len(added):
            pairs = [(a, b) for a, b in zip(removed, added, strict=True) if not spelling_fix(a, b)]
            removed, added = [a for a, _ in pairs], [b for _, b in pairs]
        return [t for t in removed if t.kind != "tag"], [t for t in added if t.kind != "tag"]

    @property
    def changed_words(self) -> int:
        return sum(max(len(r), len(a)) for r, a in map(self.counted, self.hunks))

    @property
    def reasons(self) -> list[str]:
        """Why the edit is substantive, most telling first; [] when it is not."""
        kinds: set[TokenKind] = set()
        for removed, added in map(self.counted, self.hunks):
            kinds.update(t.kind for t in (*removed, *added))
        labels: tuple[tuple[TokenKind, str], ...] = (("number", "numbers"), ("negation", "negation"), ("name", "names"))
        # A word only moved (the same numbers, in another order) changed nothing of its kind.
        reasons = [label for kind, label in labels if kind in kinds and _bag(self.old, kind) != _bag(self.new, kind)]
        changed = self.changed_words
        words = max(sum(t.kind != "tag" for t in self.old), sum(t.kind != "tag" for t in self.new), 1)
        if changed >= MIN_WORDS or (changed and changed >= MIN_SHARE * words):
            reasons.append(f"{changed} word{'' if changed == 1 else 's'}")
        return reasons

    @property
    def substantive(self) -> bool:
        return bool(self.reasons)

    @property
    def empty(self) -> bool:
        return not self.hunks

    def removed(self) -> list[str]:
        return [t.text for h in self.hunks for t in self.old[h.old_start : h.old_end]]

    def added(self) -> list[str]:
        return [t.text for h in self.hunks for t in self.new[h.new_start : h.new_end]]

    def segments(self) -> list[Segment]:
        """The new text with the removed words put back where they were: same / del / ins runs.

        Joining every segment but the deletions gives the new text exactly.
        """
        out: list[Segment] = []
        cursor = 0

        def same_to(position: int) -> None:
            nonlocal cursor
            if position > cursor:
                out.append(Segment("same", self.new_text[cursor:position]))
                cursor = position

        for hunk in self.hunks:
            if hunk.new_start < len(self.new):
                same_to(self.new[hunk.new_start].start)
            elif hunk.new_start > 0:
                same_to(self.new[hunk.new_start - 1].end)
            if hunk.old_end > hunk.old_start:
                first, last = self.old[hunk.old_start], self.old[hunk.old_end - 1]
                out.append(Segment("del", self.old_text[first.start : last.end]))
            if hunk.new_end > hunk.new_start:
                first, last = self.new[hunk.new_start], self.new[hunk.new_end - 1]
                same_to(first.start)
                out.append(Segment("ins", self.new_text[first.start : last.end]))
                cursor = last.end
        same_to(len(self.new_text))
        return out


def word_diff(old_text: str, new_text: str) -> WordDiff:
    old_text = unicodedata.normalize("NFC", old_text)
    new_text = unicodedata.normalize("NFC", new_text)
    old, new = tokenize(old_text), tokenize(new_text)
    matcher = difflib.SequenceMatcher(None, [t.key for t in old], [t.key for t in new], autojunk=False)
    hunks = tuple(Hunk(i1, i2, j1, j2) for op, i1, i2, j1, j2 in matcher.get_opcodes() if op != "equal")
    return WordDiff(old_text, new_text, tuple(old), tuple(new), hunks)


# ------------------------------------------------------------------------------------------ display
def _head(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = max(cut.rfind(" "), cut.rfind("\n"))
    return (cut[:space] if space > limit // 2 else cut) + "…"


def _tail(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[-limit:]
    space = min((i for i in (cut.find(" "), cut.find("\n")) if i >= 0), default=-1)
    return "…" + (cut[space + 1 :] if 0 <= space < limit // 2 else cut)


def compact(segments: Sequence[Segment], context: int) -> list[Segment]:
    """Unchanged text cut to `context` characters around each change (a long post's one edited number)."""
    out: list[Segment] = []
    last = len(segments) - 1
    for index, segment in enumerate(segments):
        if segment.kind != "same":
            out.append(segment)
            continue
        text = segment.text
        if index == 0:
            text = _tail(text, context)
        elif index == last:
            text = _head(text, context)
        elif len(text) > 2 * context + 3:
            text = _head(text[:context], context) + " … " + _tail(text[-context:], context)
        out.append(Segment("same", text))
    return out


def _spaced(segments: Sequence[Segment]) -> list[tuple[SegmentKind, str]]:
    """Deleted words sit where no text of the new version is: give them a space on each side."""
    out: list[tuple[SegmentKind, str]] = []
    for index, segment in enumerate(segments):
        text = segment.text
        if segment.kind == "del":
            before = out[-1][1][-1:] if out else ""
            after = segments[index + 1].text[:1] if index + 1 < len(segments) else ""
            if before and not before.isspace():
                text = " " + text
            if after and (after.isalnum() or segments[index + 1].kind == "ins"):
                text += " "
        out.append((segment.kind, text))
    return out


def _wrap(text: str, open_: str, close: str, escape: bool) -> str:
    """Marks around the words, the spaces `_spaced` added outside them."""
    core = text.strip(" ")
    if not core:
        return html.escape(text) if escape else text
    left, right = text[: len(text) - len(text.lstrip(" "))], text[len(text.rstrip(" ")) :]
    return f"{left}{open_}{html.escape(core) if escape else core}{close}{right}"


_TEXT_MARKS = {"same": ("", ""), "del": ("[-", "-]"), "ins": ("{+", "+}")}
_HTML_MARKS = {"same": ("", ""), "del": ("<s>", "</s>"), "ins": ("<b>", "</b>")}


def render_text(segments: Sequence[Segment]) -> str:
    """For terminals and logs: [-removed-] and {+added+}, as `git diff --word-diff` writes them."""
    return "".join(
        text if kind == "same" else _wrap(text, *_TEXT_MARKS[kind], escape=False) for kind, text in _spaced(segments)
    )


# Escaping can make a character six (&quot;): 500 characters stay under 3,000 of Telegram's 4,096 units.
PIECE_CHARS = 500


def html_pieces(segments: Sequence[Segment], max_chars: int = PIECE_CHARS) -> list[str]:
    """Telegram HTML, one self-contained piece per segment (split at words when long): removed words
    struck through, added words bold, everything escaped. Splitting between pieces never breaks a tag."""
    pieces: list[str] = []
    for kind, text in _spaced(segments):
        for chunk in _chunks(text, max_chars):
            pieces.append(html.escape(chunk) if kind == "same" else _wrap(chunk, *_HTML_MARKS[kind], escape=True))
    return pieces


def _chunks(text: str, size: int) -> Iterable[str]:
    while len(text) > size:
        cut = text.rfind(" ", 0, size)
        cut = cut + 1 if cut > size // 2 else size
        yield text[:cut]
        text = text[cut:]
    if text:
        yield text
