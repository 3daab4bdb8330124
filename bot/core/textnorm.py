"""Words as search compares them: case, ё, script, inflection and emoji folded away. Pure.

Analysts type a base form in one script; posts use inflected forms in Cyrillic or Latin, with ё or
е, and say half of what they say with flags. So each word of a post becomes *index tokens*:

1. case-folded (NFC as cleaned), ё → е, stress marks dropped;
2. stemmed by the post's language (Snowball via PyStemmer for en, ru, sr; Russian Snowball for uk,
   which Snowball lacks and whose endings it mostly shares; bot/core/bg_stem.py for bg);
3. folded to one Latin skeleton: Cyrillic by cyrtranslit's Serbian table (Вучић → vučić; the few
   letters Serbian lacks by the usual Latin spelling: я → ja, щ → šč, ы → y), then diacritics
   dropped (vučić → vucic), so "Вучич", "Вучић", "Vučić" and a typed "Vucic" are one token;

and the post is indexed under each word's stem *and* its unstemmed form (so a surname whose
nominative a stemmer cuts differently, Лавров → лавр but Лаврова → лавров, is still found by its
exact form). Flags become `flagrs` tokens, other emoji `emoji1f91d` (SQLite's unicode61 tokenizer
drops both). A query word's tokens are those of every language its script allows (a query has no
language), so "Сербия" finds the Russian post's "Сербии" and "сърбия" the Bulgarian "Сърбията".

`VERSION` changes whenever any of this would produce other tokens (including a new PyStemmer or
cyrtranslit): an index built with other tokens is rebuilt rather than queried with these.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import chain

import Stemmer
from cyrtranslit.mapping import SR_CYR_TO_LAT_DICT

from bot.core import bg_stem

LANGS = ("en", "ru", "uk", "bg", "sr")
LATIN_LANGS = ("en", "sr")
CYRILLIC_LANGS = ("ru", "bg", "uk", "sr")

StemWords = Callable[[list[str]], list[str]]

# Words: letters and digits; '_' and apostrophes split, as SQLite's unicode61 does.
_WORD = re.compile(r"[^\W_]+")
_CYRILLIC = re.compile("[\u0400-\u04ff]")
_STRESS = ("\u0301", "\u0300")  # combining acute/grave: Russian and Bulgarian stress marks
_REGIONAL = "[\U0001f1e6-\U0001f1ff]"
_TAG_LETTERS = "[\U000e0061-\U000e007a]"
# Pictographic blocks: arrows, technical, geometric shapes, misc symbols, dingbats, supplemental
# arrows, misc symbols and arrows, and the emoji planes (1F000-1FAFF); plus the loose ones.
_PICTO = (
    "\u00a9\u00ae\u203c\u2049\u2122\u2139\u2190-\u21ff\u2300-\u23ff\u24c2\u25a0-\u25ff\u2600-\u27bf"
    "\u2900-\u297f\u2b00-\u2bff\u3030\u303d\u3297\u3299\U0001f000-\U0001f1e5\U0001f200-\U0001faff"
)
_EMOJI = re.compile(
    rf"(?P<flag>{_REGIONAL}{_REGIONAL})|\U0001f3f4(?P<sub>{_TAG_LETTERS}+)\U000e007f|(?P<pic>[{_PICTO}])"
)
_SKIN_TONES = range(0x1F3FB, 0x1F400)


def _skeleton_table() -> dict[int, str]:
    """One `str.translate` table: Cyrillic to Serbian Latin, then every Latin diacritic dropped."""

    def bare(text: str) -> str:
        decomposed = unicodedata.normalize("NFD", text)
        return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("đ", "dj")

    table: dict[int, str] = {}
    for cyr, lat in SR_CYR_TO_LAT_DICT.items():
        if cyr.islower():
            table[ord(cyr)] = bare(lat)
    extra = {
        "ё": "e", "й": "j", "щ": "sc", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "ju", "я": "ja",
        "і": "i", "ї": "ji", "є": "je", "ґ": "g", "ѐ": "e", "ѝ": "i", "ѓ": "gj", "ќ": "kj", "ѕ": "dz",
        "ў": "u",
    }  # fmt: skip
    table.update({ord(k): v for k, v in extra.items()})
    for code in range(0x00C0, 0x0250):  # Latin-1 Supplement, Latin Extended-A and -B
        char = chr(code)
        if char.islower() and code not in table:
            folded = bare(char)
            if folded != char and folded.isascii():
                table[code] = folded
    table[ord("đ")] = "dj"
    table[ord("ø")] = "o"
    table[ord("ł")] = "l"
    return table


_SKELETON = _skeleton_table()


def fold(text: str) -> str:
    """Case, ё, stress marks, script and diacritics folded: the form every comparison uses."""
    return prepare(text).translate(_SKELETON)


def prepare(text: str) -> str:
    """Case-folded, ё → е, stress marks dropped: what a stemmer is given (it still needs the script)."""
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    text = text.casefold().replace("ё", "е")
    for mark in _STRESS:
        if mark in text:
            text = text.replace(mark, "")
    return text


def emoji_tokens(text: str) -> list[str]:
    """`flagrs` for 🇷🇸, `flaggbsct` for 🏴󠁧󠁢󠁳󠁣󠁴󠁿, `emoji1f91d` for 🤝 (skin tones, variation selectors
    and joiners dropped, so 👍🏽 is 👍 and a family is its members)."""
    return [token for _, _, token in emoji_spans(text)]


def emoji_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, token) of each flag and emoji in `text`."""
    found = []
    for match in _EMOJI.finditer(text):
        if match.group("flag"):
            token = "flag" + "".join(chr(ord(c) - 0x1F1E6 + 97) for c in match.group("flag"))
        elif match.group("sub"):
            token = "flag" + "".join(chr(ord(c) - 0xE0000) for c in match.group("sub"))
        elif ord(match.group("pic")) in _SKIN_TONES:
            continue
        else:
            token = f"emoji{ord(match.group('pic')):x}"
        found.append((match.start(), match.end(), token))
    return found


_ONLY = (
    (re.compile("[ђјљњћџ]"), ("sr",)),
    (re.compile("[ыэ]"), ("ru",)),
    (re.compile("[іїєґ]"), ("uk",)),
)
_SERBIAN_LATIN = re.compile("[čćšžđ]")


def script_langs(word: str) -> tuple[str, ...]:
    """Languages a query word may be in, from its letters: a word has no language of its own."""
    if word.isascii():
        return LATIN_LANGS
    if _CYRILLIC.search(word):
        for letters, langs in _ONLY:
            if letters.search(word):
                return langs
        return CYRILLIC_LANGS
    return ("sr",) if _SERBIAN_LATIN.search(word) else LATIN_LANGS


def _snowball(name: str) -> StemWords:
    stem_words: StemWords = Stemmer.Stemmer(name).stemWords
    return stem_words


def default_stemmers() -> dict[str, StemWords]:
    return {
        "en": _snowball("english"),
        "ru": _snowball("russian"),
        "uk": _snowball("russian"),
        "sr": _snowball("serbian"),
        "bg": bg_stem.stem_words,
    }


# Words whose stems pin down the stemmers' behaviour: if any dependency changes how it stems, VERSION
# changes and archives rebuild their index instead of being queried with tokens they do not hold.
_CANARY = (
    "negotiations talks sanctions Serbia's Сербии провёл Лаврова переговоров Україною Сърбията министрите "
    "президентът Србијом Vučića Вучићем 🇷🇸🤝"
)


_RECENT = 1024  # posts: more than an ingest batch (500)
_CACHE_LIMIT = 100_000  # chunks per language remembered; a post repeats most of its vocabulary


@dataclass
class TextNormaliser:
    """Turns post text and query words into index tokens.  Holds compiled stemmers and a bounded
    memo of whitespace-separated chunks ("Сербии," -> its tokens), because posts share most of
    their vocabulary and a regex plus stemmer per word is the cost of indexing; build one and reuse
    it.  `stemmers` replaces the defaults (bench/search_quality.py compares others)."""

    stemmers: dict[str, StemWords] = field(default_factory=default_stemmers)
    name: str = "snowball+savoy-bg"
    stem_and_word: bool = True  # index each word's unstemmed form beside its stem
    _memo: dict[str | None, dict[str, tuple[str, ...]]] = field(default_factory=dict, repr=False)
    _alternatives: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)
    _cyrillic: set[str] = field(default_factory=set, repr=False)  # memoized chunks with Cyrillic letters
    # The last posts' tokens: the pipeline tags a batch, then the store's trigger indexes the same
    # texts; sharing one normaliser (bot/cli/context.py does) makes the second time a lookup.
    _recent: dict[tuple[str, str | None], tuple[frozenset[str], frozenset[str]]] = field(
        default_factory=dict, repr=False
    )

    def __post_init__(self) -> None:
        canary = [t for lang in (None, *LANGS) for t in self.index_tokens(_CANARY, lang)]
        digest = hashlib.sha1(" ".join(sorted(canary)).encode() + repr(sorted(_SKELETON.items())).encode()).hexdigest()
        self.version = f"1:{self.name}:{Stemmer.version()}:{digest[:12]}"

    # --------------------------------------------------------------------------- posts
    def stems(self, words: Sequence[str], lang: str | None) -> list[str]:
        """Each word's stem in `lang`; with no language, its stems in every language its letters
        allow, space-separated (a short post's language is often unknown, its words still inflect)."""
        if lang is None:
            return [" ".join(dict.fromkeys(self._stem_each(w))) for w in words]
        stemmer = self.stemmers.get(lang)
        return stemmer(list(words)) if stemmer is not None else list(words)

    def _stem_each(self, word: str) -> Iterable[str]:
        for lang in script_langs(word):
            stemmer = self.stemmers.get(lang)
            if stemmer is not None:
                yield from stemmer([word])

    def _chunk_tokens(self, chunks: Iterable[str], lang: str | None) -> dict[str, tuple[str, ...]]:
        """Tokens of prepared whitespace chunks ("сербии,", "🇷🇺🇷🇸📞"), computed for the ones not seen
        before: the regexes and the stemmer then run once per distinct chunk, not once per word."""
        if len(self._cyrillic) > 2 * _CACHE_LIMIT:  # it spans every language's memo: all start again
            self._cyrillic.clear()
            self._memo.clear()
        memo = self._memo.get(lang)
        if memo is None or len(memo) > _CACHE_LIMIT:
            memo = self._memo[lang] = {}
        # a set's difference with a dict is one C loop of lookups: half the time of a comprehension
        missing = chunks.difference(memo) if isinstance(chunks, set) else [c for c in chunks if c not in memo]
        if missing:
            self._cyrillic.update(c for c in missing if _CYRILLIC.search(c))
            words_of = [_WORD.findall(c) for c in missing]
            flat = [w for words in words_of for w in words]
            stems = iter(self.stems(flat, lang))
            for chunk, words in zip(missing, words_of, strict=True):
                forms: list[str] = []
                for word in words:
                    forms.append(next(stems))
                    if self.stem_and_word:
                        forms.append(word)
                folded = " ".join(forms).translate(_SKELETON).split()
                memo[chunk] = tuple(dict.fromkeys([*folded, *emoji_tokens(chunk)]))
        return memo

    def index_tokens(self, text: str, lang: str | None) -> list[str]:
        """The distinct tokens a post is indexed under."""
        latin, cyrillic = self.tokens_by_script(text, lang)
        return [*latin, *cyrillic.difference(latin)]

    def tokens_by_script(self, text: str, lang: str | None) -> tuple[frozenset[str], frozenset[str]]:
        """`index_tokens` split by the script of the words they came from: (Latin and other, Cyrillic).
        Keyword rules use it to keep a Cyrillic keyword off Latin words outside Serbian posts."""
        key = (text, lang)
        known = self._recent.get(key)
        if known is not None:
            return known
        chunks = set(prepare(text).split())
        memo = self._chunk_tokens(chunks, lang)
        cyrillic_chunks = chunks & self._cyrillic
        cyrillic = frozenset(chain.from_iterable(map(memo.__getitem__, cyrillic_chunks)))
        latin = frozenset(chain.from_iterable(map(memo.__getitem__, chunks.difference(cyrillic_chunks))))
        if len(self._recent) >= _RECENT:
            self._recent.clear()
        self._recent[key] = (latin, cyrillic)
        return latin, cyrillic

    def index_text(self, text: str | None, lang: str | None) -> str:
        """`index_tokens` as one string, what the FTS5 table is given."""
        return " ".join(self.index_tokens(text or "", lang))

    # --------------------------------------------------------------------------- queries
    def word_alternatives(self, word: str) -> frozenset[str]:
        """Index tokens one query word may be found under: its own form and its stem in every
        language its letters allow."""
        known = self._alternatives.get(word)
        if known is None:
            if len(self._alternatives) > _CACHE_LIMIT:
                self._alternatives.clear()
            prepared = prepare(word)
            forms = {prepared, *self._stem_each(prepared)}
            known = self._alternatives[word] = frozenset(" ".join(forms).translate(_SKELETON).split())
        return known

    def query_terms(self, text: str) -> list[frozenset[str]]:
        """One set of alternatives per word (and per emoji) of a query, in order."""
        terms = [self.word_alternatives(w) for w in _WORD.findall(prepare(text))]
        terms += [frozenset({t}) for t in emoji_tokens(text)]
        return [t for t in terms if t]

    # --------------------------------------------------------------------------- matching text
    def word_tokens(self, word: str, lang: str | None) -> frozenset[str]:
        """The tokens one word of a post in `lang` was indexed under."""
        prepared = prepare(word)
        return frozenset(self._chunk_tokens([prepared], lang)[prepared])


def word_spans(text: str) -> Iterable[tuple[int, int, str]]:
    """(start, end, word) for each word of the original text, for highlighting."""
    for match in _WORD.finditer(text):
        yield match.start(), match.end(), match.group()
