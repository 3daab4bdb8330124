"""The page classifier's knowledge: stop words, section markers, feature vectors and learned weights.

Everything is read once at start-up: the stop-word lists from the installed `justext` package, the
section markers and the weights written by `tools/train_page_model.py` from `bot/data/`; scoring is plain Python, a
logistic model in two stages: the first reads each block by itself and its neighbours' shapes, the
second adds the first stage's verdicts on the blocks around it (a run of teasers is junk together,
a short line between two paragraphs is body).
"""

from __future__ import annotations

import json
import math
import pkgutil
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.core.block_context import CONTEXT_NAMES, Context, context, judgeable, unspaced_letters
from bot.core.blocks import Block, Shape, cohesion, log1, main_run, shape
from bot.core.page_crf import ChainModel, attributes

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
# The followed languages, then the web's other big Latin-script ones: an article pasted from a site in
# Portuguese or Italian is judged with its own function words, not as a text of no known language.
LANGS = ("en", "bg", "ru", "uk", "sr", "de", "fr", "es", "pt", "it", "pl", "id", "nl", "tr")
# Each language's list in the justext package (justext/stoplists/<Name>.txt).
JUSTEXT_NAMES = {
    "en": "English",
    "bg": "Bulgarian",
    "ru": "Russian",
    "uk": "Ukrainian",
    "sr": "Serbian",
    "de": "German",
    "fr": "French",
    "es": "Spanish",
    "pt": "Portuguese",
    "it": "Italian",
    "pl": "Polish",
    "id": "Indonesian",
    "nl": "Dutch",
    "tr": "Turkish",
}
CYRILLIC_LANGS = frozenset({"bg", "ru", "uk"})
# Below this share of words on any list, the text is in none of them: the union of all lists is used.
MIN_COVERAGE = 0.15
# The most frequent words of each list are function words; a content word is any other (for cohesion).
FUNCTION_WORDS = 150
MARKER_MAX_WORDS = 5
CLOSING_ANYWHERE_WORDS = 3
_LETTERS = re.compile(r"[^\W\d_]+")
_LATIN_LETTERS = "a b v g d đ e ž z i j k l lj m n nj o p r s t ć u f h c č dž š"
_CYR_TO_LAT = dict(zip("абвгдђежзијклљмнњопрстћуфхцчџш", _LATIN_LETTERS.split(), strict=True))

SELF_FEATURES = (
    "bias",
    "log_words",
    "log_chars",
    "prose",
    "stop_share",
    "title_share",
    "digit_share",
    "url",
    "sentence_end",
    "log_breaks",
    "truncated",
    "stamp",
    "short_no_end",
    "repeated",
    "log_group",
    "marker",
    "under_marker",
    "cohesion",
    "cohesion_long",
    "in_run",
    "before_run",
    "after_run",
    "log_dist_before",
    "log_dist_after",
    "prev_prose",
    "next_prose",
    "prev_truncated",
    "next_truncated",
    "prev_stamp",
    "next_stamp",
    "prev_log_words",
    "next_log_words",
    "furniture",
    "separators",
    "window_stamps",
    "window_furniture",
    "window_prose",
    "after_x_cohesion",
    "after_x_prose",
    "before_x_log_words",
    "run_share",
)
# The first stage reads the sequence shapes too (end markers, teasers, the about box); a model file
# written before they existed (SELF_FEATURES only) still loads and scores as it did.
FIRST_FEATURES = SELF_FEATURES + CONTEXT_NAMES
CONTEXT_FEATURES = ("p_self", "p_prev", "p_next", "p_prev2", "p_next2", "p_window")


def transliterate(word: str) -> str:
    """Serbian is written in both alphabets; the jusText list is Cyrillic."""
    return "".join(_CYR_TO_LAT.get(c, c) for c in word)


def justext_stoplist(name: str) -> tuple[str, ...]:
    """jusText's list for a language, in its file's order (most frequent words first).

    Read as `justext.get_stoplist` reads it (pkgutil.get_data), not through it: that returns a set,
    and the order is what tells function words (the head) from content words. Kept: lower-cased
    entries that are one run of letters (`България,`, `°C`, `р.` are dropped), first occurrence only.
    """
    raw = pkgutil.get_data("justext", f"stoplists/{name}.txt")
    if raw is None:
        raise ValueError(f"the justext package has no stop-word list {name!r}")
    words = (line.strip().lower() for line in raw.decode("utf-8").splitlines())
    return tuple(dict.fromkeys(w for w in words if _LETTERS.fullmatch(w)))


def load_stopwords() -> dict[str, tuple[str, ...]]:
    """Each language's jusText list, in frequency order; Serbian gets its Latin spelling added."""
    lists = {}
    for lang in LANGS:
        words = justext_stoplist(JUSTEXT_NAMES[lang])
        if lang == "sr":
            words = tuple(dict.fromkeys(words + tuple(transliterate(w) for w in words)))
        lists[lang] = words
    return lists


def load_markers(path: Path | None = None) -> tuple[str, ...]:
    path = path or DATA_DIR / "section_markers.txt"
    lines = (line.strip().casefold() for line in path.read_text(encoding="utf-8").splitlines())
    return tuple(dict.fromkeys(line for line in lines if line and not line.startswith("#")))


@dataclass(frozen=True, slots=True)
class Stage:
    """A logistic model over named features, standardised with the training set's mean and spread."""

    names: tuple[str, ...]
    weights: tuple[float, ...]
    means: tuple[float, ...]
    scales: tuple[float, ...]

    def prob(self, row: Sequence[float]) -> float:
        z = self.weights[0]
        for x, w, m, s in zip(row[1:], self.weights[1:], self.means[1:], self.scales[1:], strict=True):
            z += w * (x - m) / s
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def to_json(self) -> dict[str, object]:
        return {
            "features": list(self.names),
            "weights": [round(w, 6) for w in self.weights],
            "means": [round(m, 6) for m in self.means],
            "scales": [round(s, 6) for s in self.scales],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], *allowed: tuple[str, ...]) -> Stage:
        names = tuple(data["features"])
        if names not in allowed:
            raise ValueError("page model: its features are not the ones this code computes; retrain it")
        return cls(
            names,
            tuple(map(float, data["weights"])),
            tuple(map(float, data["means"])),
            tuple(map(float, data["scales"])),
        )


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Stop words of each language plus the section markers: what features are computed from."""

    stopwords: dict[str, frozenset[str]]
    function_words: dict[str, frozenset[str]]
    markers: re.Pattern[str]
    closing: re.Pattern[str]
    furniture: re.Pattern[str]

    @classmethod
    def load(cls, markers: Path | None = None) -> Vocabulary:
        lists = load_stopwords()
        every = frozenset(w for words in lists.values() for w in words)
        common = frozenset(w for words in lists.values() for w in words[:FUNCTION_WORDS])
        stopwords = {lang: frozenset(words) for lang, words in lists.items()}
        functions = {lang: frozenset(words[:FUNCTION_WORDS]) for lang, words in lists.items()}
        stopwords[""], functions[""] = every, common
        closing = load_markers(markers)
        headings = closing + load_markers(DATA_DIR / "furniture_markers.txt")
        stems = sorted(load_markers(DATA_DIR / "furniture_words.txt"), key=len, reverse=True)
        spaced = [w for w in stems if not unspaced_letters(w)]
        unspaced = [w for w in stems if unspaced_letters(w)]  # no word starts to anchor them at
        furniture = re.compile(
            r"\b(?:" + "|".join(map(re.escape, spaced)) + r")" + "".join("|" + re.escape(w) for w in unspaced)
        )
        return cls(stopwords, functions, _phrases(headings), _phrases(closing), furniture)

    def is_marker(self, text: str, s: Shape) -> bool:
        return _heading(s) and bool(self.markers.match(text.lstrip("#>» ")))

    def is_closing(self, text: str, s: Shape) -> bool:
        """A heading after which an article does not go on: "Related", "Comments", "Още от рубриката"."""
        if not _heading(s):
            return False
        # Anywhere in a short heading: "Top Rated Comments", "[ 167 comments ]", "Още от рубриката".
        return bool(self.closing.search(text) if s.words <= CLOSING_ANYWHERE_WORDS else self.closing.match(text))


def _heading(s: Shape) -> bool:
    return s.words <= MARKER_MAX_WORDS and not s.sentence_breaks


def _phrases(phrases: Sequence[str]) -> re.Pattern[str]:
    ordered = sorted(dict.fromkeys(phrases), key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(p) for p in ordered) + r")\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class PageFeatures:
    """Feature rows of every block, and what explanations need (shapes, the run, cohesion)."""

    shapes: list[Shape]
    rows: list[list[float]]
    run: tuple[int, int]
    markers: list[bool]
    under_marker: list[bool]
    cohesion: list[float]
    context: Context
    judgeable: bool  # False: no stop-word list or no word spaces; every block is kept (block_context.py)


def stoplist_language(blocks: Sequence[Block], vocabulary: Vocabulary, lang: str | None) -> str:
    """Whose stop words to count: the post detector's answer for Cyrillic text (it tells bg/ru/uk
    apart better than list coverage), else the list covering most of the page's words."""
    if lang in CYRILLIC_LANGS:
        return lang
    words = Counter(w.lower() for b in blocks for w in _LETTERS.findall(b.text))
    total = sum(words.values()) or 1
    best, best_share = "", MIN_COVERAGE
    for key in LANGS:
        share = sum(n for w, n in words.items() if w in vocabulary.stopwords[key]) / total
        if share > best_share or (share == best_share and key == lang):
            best, best_share = key, share
    return best


def page_features(blocks: Sequence[Block], vocabulary: Vocabulary, lang: str | None) -> PageFeatures:
    key = stoplist_language(blocks, vocabulary, lang)
    stop, functions = vocabulary.stopwords[key], vocabulary.function_words[key]
    shapes = [shape(b.text, stop, functions, vocabulary.furniture) for b in blocks]
    markers = [vocabulary.is_marker(b.text, s) for b, s in zip(blocks, shapes, strict=True)]
    closing = [vocabulary.is_closing(b.text, s) for b, s in zip(blocks, shapes, strict=True)]
    start, end = main_run(shapes, closing)
    vocab: Counter[str] = Counter()
    for s in shapes[start:end]:
        vocab.update(s.stems)
    # Under a marker until the next prose block: the list the marker opened.
    under, inside = [], False
    for s, marker in zip(shapes, markers, strict=True):
        if s.prose and s.words >= 25:
            inside = False
        under.append(inside and not marker)
        inside = inside or marker
    coh = []
    for i, s in enumerate(shapes):
        if start <= i < end:
            own = Counter(s.stems)
            coh.append(cohesion(s.stems, vocab - own))
        else:
            coh.append(cohesion(s.stems, vocab))
    rows = []
    count = len(blocks)
    run_words = sum(s.words for s in shapes[start:end]) / (sum(s.words for s in shapes) or 1)
    for i, (b, s) in enumerate(zip(blocks, shapes, strict=True)):
        prev = shapes[i - 1] if i > 0 else None
        nxt = shapes[i + 1] if i + 1 < count else None
        window = [shapes[j] for j in range(max(0, i - 3), min(count, i + 4)) if j != i]
        share = 1.0 / len(window) if window else 0.0
        after = float(i >= end)
        row = [
            1.0,
            log1(s.words),
            log1(s.chars),
            float(s.prose),
            s.stop_share,
            s.title_share,
            s.digit_share,
            float(s.url),
            float(s.sentence_end),
            log1(s.sentence_breaks),
            float(s.truncated),
            float(s.stamp),
            float(s.words < 6 and not s.sentence_end),
            float(b.repeats > 1),
            log1(b.group_size - 1),
            float(markers[i]),
            float(under[i]),
            coh[i],
            coh[i] * log1(s.words),
            float(start <= i < end),
            float(i < start),
            float(i >= end),
            log1(start - i) if i < start else 0.0,
            log1(i - end + 1) if i >= end else 0.0,
            float(prev.prose) if prev else 0.0,
            float(nxt.prose) if nxt else 0.0,
            float(prev.truncated) if prev else 0.0,
            float(nxt.truncated) if nxt else 0.0,
            float(prev.stamp) if prev else 0.0,
            float(nxt.stamp) if nxt else 0.0,
            log1(prev.words) if prev else 0.0,
            log1(nxt.words) if nxt else 0.0,
            s.furniture,
            log1(s.separators),
            share * sum(w.stamp for w in window),
            share * sum(w.furniture for w in window),
            share * sum(w.prose for w in window),
            after * coh[i],
            after * float(s.prose),
            float(i < start) * log1(s.words),
            run_words,
        ]
        rows.append(row)
    ctx = context(blocks, shapes, markers, (start, end))
    return PageFeatures(shapes, rows, (start, end), markers, under, coh, ctx, judgeable(blocks, key))


def context_rows(probs: Sequence[float]) -> list[list[float]]:
    """Second-stage rows: a block's own first-stage verdict and those of the blocks around it."""
    n = len(probs)

    def at(i: int) -> float:
        return probs[i] if 0 <= i < n else 0.0

    rows = []
    for i in range(n):
        window = [probs[j] for j in range(max(0, i - 3), min(n, i + 4)) if j != i]
        rows.append(
            [1.0, probs[i], at(i - 1), at(i + 1), at(i - 2), at(i + 2), sum(window) / len(window) if window else 0.0]
        )
    return rows


@dataclass(frozen=True, slots=True)
class PageModel:
    """Either the two logistic stages or the chain (CRF); the JSON file says which."""

    vocabulary: Vocabulary
    first: Stage | None
    second: Stage | None
    threshold: float
    chain: ChainModel | None = None

    @classmethod
    def load(cls, path: Path | None = None, vocabulary: Vocabulary | None = None) -> PageModel:
        path = path or DATA_DIR / "page_model.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if "chain" in data:
                return cls(
                    vocabulary or Vocabulary.load(),
                    None,
                    None,
                    float(data["threshold"]),
                    ChainModel.from_json(data["chain"]),
                )
            return cls(
                vocabulary or Vocabulary.load(),
                Stage.from_json(data["first"], FIRST_FEATURES, SELF_FEATURES),
                Stage.from_json(data["second"], ("bias", *CONTEXT_FEATURES)),
                float(data["threshold"]),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}: unusable page model: {exc}") from exc

    def score(self, features: PageFeatures) -> list[float]:
        """Each block's probability of being article text; 1 for every block of a page it cannot judge."""
        if not features.judgeable:
            return [1.0] * len(features.rows)
        if self.chain is not None:
            return self.chain.marginals(chain_items(features))
        if self.first is None or self.second is None:
            raise ValueError("page model without weights")
        first = [self.first.prob(row) for row in first_rows(features, self.first.names)]
        return [self.second.prob(row) for row in context_rows(first)]


def first_rows(features: PageFeatures, names: Sequence[str] = FIRST_FEATURES) -> list[list[float]]:
    """The first stage's rows: the block's own features, then (FIRST_FEATURES) its sequence shapes."""
    if len(names) == len(SELF_FEATURES):
        return features.rows
    return [row + ctx for row, ctx in zip(features.rows, features.context.rows, strict=True)]


def chain_items(features: PageFeatures) -> list[dict[str, float]]:
    """The chain's attributes of each block (the same function builds them for training)."""
    return attributes(
        SELF_FEATURES, features.rows, CONTEXT_NAMES, features.context.rows, [s.words for s in features.shapes]
    )
