"""Which language a post is written in: the five we follow by our own rules, the rest by a general model.

The channels we watch write mostly in languages that share one alphabet, where letters only one of
them uses (ы, ъ, ї, ј) and a few short function words settle it better than a general detector
(bench/lang_id.md: py3langid alone calls short Russian posts Kazakh or Bulgarian, and Serbian Latin
Bosnian or Croatian).  Everything else (Spanish, Arabic, Persian, Chinese, Hindi …) and the Latin
text our rules cannot tell from English goes to a general identifier (bot/core/lang_model.py) when one
is given; below its confidence the answer is None ("unknown"), never a guess.  The own rules only
count, in C, and never tokenize; the model runs only on posts they do not settle.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from bot.models import Tag

# Every label detect_lang can give: ours, then the general model's (py3langid's ISO 639-1 codes).
OWN_LANGUAGES = ("en", "bg", "ru", "uk", "sr")
LANGUAGE_CODES = (
    *OWN_LANGUAGES,
    "af",
    "am",
    "an",
    "ar",
    "as",
    "az",
    "ba",
    "be",
    "bn",
    "br",
    "bs",
    "ca",
    "cs",
    "cy",
    "da",
    "de",
    "dz",
    "el",
    "eo",
    "es",
    "et",
    "eu",
    "fa",
    "fi",
    "fo",
    "fr",
    "fy",
    "ga",
    "gd",
    "gl",
    "gu",
    "ha",
    "he",
    "hi",
    "hr",
    "ht",
    "hu",
    "hy",
    "id",
    "ig",
    "is",
    "it",
    "ja",
    "jv",
    "ka",
    "kk",
    "km",
    "kn",
    "ko",
    "ku",
    "ky",
    "la",
    "lb",
    "lg",
    "ln",
    "lo",
    "lt",
    "lv",
    "mg",
    "mk",
    "ml",
    "mn",
    "mr",
    "ms",
    "mt",
    "my",
    "ne",
    "nl",
    "nn",
    "no",
    "oc",
    "om",
    "or",
    "pa",
    "pl",
    "ps",
    "pt",
    "qu",
    "ro",
    "rw",
    "sa",
    "se",
    "si",
    "sk",
    "sl",
    "sn",
    "so",
    "sq",
    "st",
    "sv",
    "sw",
    "ta",
    "te",
    "tg",
    "th",
    "tk",
    "tl",
    "tr",
    "tt",
    "ug",
    "ur",
    "uz",
    "vi",
    "vo",
    "wa",
    "xh",
    "yo",
    "zh",
    "zu",
)
# text -> (ISO 639-1 code, probability): bot/core/lang_model.GeneralLanguageId
GeneralId = Callable[[str], tuple[str, float]]
# Below this probability the general model's guess is "unknown" (None). Chosen on bench/lang_id.py's
# labelled sets: higher loses short but clear posts, lower labels emoji-and-numbers posts at random.
MIN_CONFIDENCE = 0.5
# A Latin line shorter than MIN_LETTERS ("How are you?") is left to the general model, surer of it.
SHORT_LETTERS = 8
SHORT_CONFIDENCE = 0.8
# What the general model calls Serbian written in Latin letters, or its close neighbours (it cannot
# tell them apart on a post): the project's own Serbian rule decides those.
_SERBO_CROATIAN = frozenset({"sr", "bs", "hr"})
_LETTER = re.compile(r"[^\W\d_]")

MIN_LETTERS = 20
# The start of a post decides; posts do not switch language half-way, and it bounds the cost.
_SAMPLE_CHARS = 2000

# Links, hashtags and @mentions are mostly Latin whatever the post's language, and hashtags are often
# in another language than the text ("#Serbia" under a Russian post).  Literal first characters let
# re skip to candidates quickly.
_NOISE = re.compile(r"https?://\S+|www\.\S+|t\.me/\S+|#\w+|@\w+")
_NOISE_HINTS = ("#", "@", "://", "www.", "t.me/")  # every _NOISE match holds one of these

# Letters counted on UTF-8 bytes: bytes.count is memchr-fast, a regex or a Python loop over 3000
# characters is ten times slower.  Lowercase Cyrillic а..џ and the rest of the block start with
# D0..D3; Latin letters with diacritics (À..ɏ) with C3..C9.
_CYRILLIC_LEADS = (b"\xd0", b"\xd1", b"\xd2", b"\xd3")
_LATIN_EXT_LEADS = (b"\xc3", b"\xc4", b"\xc5", b"\xc6", b"\xc7", b"\xc8", b"\xc9")
_NOT_ASCII_LETTER = bytes(b for b in range(256) if not (0x61 <= b <= 0x7A or 0x41 <= b <= 0x5A))
_NOT_LEAD = bytes(range(0xC0))  # deleted, what is left counts the characters of two bytes or more

# Letters only one of our Cyrillic languages uses.  Russian also writes ъ after a few prefixes
# (объявил, съезд), Bulgarian never writes ы/э/ё, so ъ is weak evidence and ы/э/ё strong.
_CYRILLIC_MARKERS: dict[str, tuple[str, ...]] = {
    "ru": ("ы", "э", "ё"),
    "bg": ("ъ",),
    "uk": ("ї", "є", "ґ", "і"),
    "sr": ("ђ", "ј", "љ", "њ", "ћ", "џ"),
}
# і is far more frequent in Ukrainian than ы in Russian or ъ in Bulgarian; halve it to compare fairly.
_MARKER_WEIGHT = {"ru": 1.0, "bg": 1.0, "uk": 0.5, "sr": 1.0}
# Languages we do not tag but that would otherwise pass for one we do: Belarusian (ў, with і and ы)
# and Macedonian (ѓ, ќ, ѕ, with ј, љ, њ but no ђ, ћ).
_OTHER_CYRILLIC = ("ў", "ѓ", "ќ", "ѕ")

# Function words that are frequent in one language and rare or absent in the others; shared ones
# ("на", "в", "и", "не", "по") are left out because they cannot tell anything apart.
_STOPWORDS: dict[str, str] = {
    "bg": "че се са ще да това като е към които който която във беше ги му няма трябва още вече тази този тези",
    "ru": "что это как он она они его из для который которые также был была были к же бы уже этом чтобы "
    "будет может если нет того этого еще года году заявил заявили",
    "uk": "що це та від які який яка із з й і як його вже щоб",
    "sr": "је су од као који која које што ће између",
}
_LATIN_STOPWORDS: dict[str, str] = {
    "en": "the and of to in is on for with that was by at from a an has have will after said",
    # Not "u": a Serbian preposition, and English chat's "you" ("as smart as u").
    "sr": "je su da se od za kao koji koja što sto sa ili će",
}
# Word endings of one language, for short posts whose letters are all shared (no ы, ъ, і, ј):
# Russian reflexives, infinitives and case endings (Bulgarian has no cases), the Bulgarian definite
# article and aorist.  Ukrainian and Serbian share some of them but have their letters to outweigh them.
_SUFFIXES: dict[str, str] = {
    "ru": "ся сь ого ю у ый ть",
    "bg": "ът ата ите ото ване ха",
}
# What is actually searched for in " " + text + " ": a word between spaces, an ending before one.
_WORD_NEEDLES = {lang: tuple(f" {w} " for w in words.split()) for lang, words in _STOPWORDS.items()}
_LATIN_NEEDLES = {lang: tuple(f" {w} " for w in words.split()) for lang, words in _LATIN_STOPWORDS.items()}
_SUFFIX_NEEDLES = {lang: tuple(f"{s} " for s in suffixes.split()) for lang, suffixes in _SUFFIXES.items()}
_SERBIAN_LATIN = ("č", "ć", "đ", "š", "ž")
# English words no other Latin-script language we meet writes: three different ones settle English
# without the general model (most English posts; the model costs ~2 ms a post, the rules ~0.1 ms).
_ENGLISH_SURE = tuple(
    f" {w} " for w in ("the", "and", "of", "that", "with", "was", "has", "have", "from", "for", "said", "is", "by")
)
# Stopword hits weigh more than single letters: a function word is a whole token of evidence.
_STOPWORD_WEIGHT = 2.0
# Letters alone settle a long post when the leader is this far ahead; the word counts are skipped.
_DECISIVE_LETTERS = 12
_DECISIVE_RATIO = 4


def detect_lang(text: str, general: GeneralId | None = None) -> str | None:
    """The post's language (ISO 639-1), or None when it is too short or too unclear to tell.

    Without `general`, only the languages we follow (en, bg, ru, uk, sr), as before it existed."""
    sample = text[:_SAMPLE_CHARS]
    if any(hint in sample for hint in _NOISE_HINTS):  # else _NOISE cannot match: ~10 us a post saved
        sample = _NOISE.sub(" ", sample)
    sample = sample.lower()
    raw = sample.encode("utf-8")
    cyrillic = sum(map(raw.count, _CYRILLIC_LEADS))
    latin_ext = sum(map(raw.count, _LATIN_EXT_LEADS))
    latin = len(raw.translate(None, _NOT_ASCII_LETTER)) + latin_ext
    ours = cyrillic + latin
    if general is None:
        if ours < MIN_LETTERS:
            return None
    elif _maybe_other_script(raw, ours, cyrillic + latin_ext) and (letters := len(_LETTER.findall(sample))) > ours:
        if letters < MIN_LETTERS:
            return None
        if 2 * ours < letters:  # mostly other scripts: Arabic, Persian, Chinese, Devanagari …
            return _general(general, sample)
    if ours < MIN_LETTERS:
        if general is None or latin < SHORT_LETTERS or cyrillic > latin:
            return None  # short Cyrillic is ours to tell, and too short for our rules
        code, probability = general(sample)
        if probability < SHORT_CONFIDENCE:
            return None
        return "sr" if code in _SERBO_CROATIAN else code
    padded = " " + sample.replace("\n", " ") + " "
    if cyrillic >= latin:
        found = _cyrillic(sample, padded)
        return found if found or general is None else _general(general, sample)
    found = _latin(sample, padded, latin, latin_ext)
    if general is None or (found == "en" and _at_least(3, padded, _ENGLISH_SURE)):
        return found
    code, probability = general(sample)
    if code in _SERBO_CROATIAN:
        return "sr"  # Serbian in Latin letters, or too close to it to tell apart on a post
    if found == "en" and (code == "en" or probability < MIN_CONFIDENCE):
        return "en"  # the model agrees, or is unsure where our rules saw English (a headline, a name)
    if found == "sr" and any(letter in sample for letter in _SERBIAN_LATIN):
        return "sr"  # our rule saw Serbian letters and words; the model, unsure, said something else
    return code if probability >= MIN_CONFIDENCE else None


def _maybe_other_script(raw: bytes, ours: int, ours_multibyte: int) -> bool:
    """Whether counting every letter of the sample (a regex over it, ~100 us: most of this function's
    cost on a Cyrillic post) can change the answer; from byte counts alone, and never wrong.

    Letters are at most `ours` plus the characters outside the Latin and Cyrillic blocks (`other`:
    UTF-8 lead bytes not counted in `ours`). The count decides only when it exceeds `ours` and either
    `ours` is short or the letters are more than twice `ours`; neither can happen when `other` is 0,
    or is at most `ours` while `ours` is long. The old test alone (`2 * ours < len(raw)`) was true for
    every Cyrillic post: a Cyrillic letter is one letter but two bytes."""
    if 2 * ours >= len(raw):
        return False
    other = len(raw.translate(None, _NOT_LEAD)) - ours_multibyte
    return other > 0 and (ours < MIN_LETTERS or other > ours)


def _general(general: GeneralId, sample: str) -> str | None:
    code, probability = general(sample)
    return code if probability >= MIN_CONFIDENCE else None


def _count(padded: str, needles: tuple[str, ...]) -> int:
    return sum(map(padded.count, needles))


def _at_least(n: int, padded: str, needles: tuple[str, ...]) -> bool:
    """Whether `n` of the needles occur: stops at the n-th (an absent needle costs a whole scan)."""
    for needle in needles:
        if needle in padded:
            n -= 1
            if not n:
                return True
    return False


def _cyrillic(sample: str, padded: str) -> str | None:
    if sum(map(sample.count, _OTHER_CYRILLIC)) >= 2:
        return None
    scores = {
        lang: _MARKER_WEIGHT[lang] * sum(map(sample.count, letters)) for lang, letters in _CYRILLIC_MARKERS.items()
    }
    first, second = sorted(scores.values(), reverse=True)[:2]
    if first < _DECISIVE_LETTERS or first < _DECISIVE_RATIO * second:
        for lang, needles in _WORD_NEEDLES.items():
            scores[lang] += _STOPWORD_WEIGHT * _count(padded, needles)
        for lang, needles in _SUFFIX_NEEDLES.items():
            scores[lang] += _count(padded, needles)
    best = max(scores, key=scores.__getitem__)
    return best if scores[best] > 0 else None


def _latin(sample: str, padded: str, latin: int, latin_ext: int) -> str | None:
    serbian_letters = sum(map(sample.count, _SERBIAN_LATIN))
    foreign = latin_ext - serbian_letters  # é, ü, ł...: French, German, Polish... not ours
    if foreign >= 3 and foreign * 50 > latin:
        return None
    serbian = serbian_letters + _STOPWORD_WEIGHT * _count(padded, _LATIN_NEEDLES["sr"])
    if serbian:
        english = _count(padded, _LATIN_NEEDLES["en"])
        if serbian > _STOPWORD_WEIGHT * english:
            return "sr"
        if english:
            return "en"
    elif _at_least(1, padded, _LATIN_NEEDLES["en"]):
        return "en"  # no Serbian at all: one English word is enough, not the count of all (~30 us)
    # No function words at all: a headline ("Putin-Trump summit postponed") is fine as English, a long
    # text without a single "the"/"of"/"and" is some other language.
    return "en" if padded.count(" ") < 12 and not foreign else None


def lang_tag(lang: str) -> Tag:
    """Languages are tags too, so "only Russian posts" is the same filter as "only #Serbia"."""
    return Tag(lang, lang, "lang")
