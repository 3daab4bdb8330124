"""Which of the languages we follow a post is written in: en, bg, ru, uk or sr.

The channels we watch write in a handful of languages that mostly share one alphabet, so a general
detector (and its dependency) buys little: letters only one of them uses (ы, ъ, ї, ј) and a few short
function words settle it.  It runs on every post, so it only counts, in C, and never tokenizes.
"""

from __future__ import annotations

import re

from bot.models import Tag

MIN_LETTERS = 20
# The start of a post decides; posts do not switch language half-way, and it bounds the cost.
_SAMPLE_CHARS = 2000

# Links, hashtags and @mentions are mostly Latin whatever the post's language, and hashtags are often
# in another language than the text ("#Serbia" under a Russian post).  Literal first characters let
# re skip to candidates quickly.
_NOISE = re.compile(r"https?://\S+|www\.\S+|t\.me/\S+|#\w+|@\w+")

# Letters counted on UTF-8 bytes: bytes.count is memchr-fast, a regex or a Python loop over 3000
# characters is ten times slower.  Lowercase Cyrillic а..џ and the rest of the block start with
# D0..D3; Latin letters with diacritics (À..ɏ) with C3..C9.
_CYRILLIC_LEADS = (b"\xd0", b"\xd1", b"\xd2", b"\xd3")
_LATIN_EXT_LEADS = (b"\xc3", b"\xc4", b"\xc5", b"\xc6", b"\xc7", b"\xc8", b"\xc9")
_NOT_ASCII_LETTER = bytes(b for b in range(256) if not (0x61 <= b <= 0x7A or 0x41 <= b <= 0x5A))

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
    "sr": "je su da se od za kao koji koja što sto sa ili će u",
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
# Stopword hits weigh more than single letters: a function word is a whole token of evidence.
_STOPWORD_WEIGHT = 2.0
# Letters alone settle a long post when the leader is this far ahead; the word counts are skipped.
_DECISIVE_LETTERS = 12
_DECISIVE_RATIO = 4


def detect_lang(text: str) -> str | None:
    """The post's language, or None when it is too short to tell or not one we follow."""
    sample = _NOISE.sub(" ", text[:_SAMPLE_CHARS]).lower()
    raw = sample.encode("utf-8")
    cyrillic = sum(map(raw.count, _CYRILLIC_LEADS))
    latin_ext = sum(map(raw.count, _LATIN_EXT_LEADS))
    latin = len(raw.translate(None, _NOT_ASCII_LETTER)) + latin_ext
    if cyrillic + latin < MIN_LETTERS:
        return None
    padded = " " + sample.replace("\n", " ") + " "
    if cyrillic >= latin:
        return _cyrillic(sample, padded)
    return _latin(sample, padded, latin, latin_ext)


def _count(padded: str, needles: tuple[str, ...]) -> int:
    return sum(map(padded.count, needles))


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
    english = _count(padded, _LATIN_NEEDLES["en"])
    serbian = serbian_letters + _STOPWORD_WEIGHT * _count(padded, _LATIN_NEEDLES["sr"])
    if serbian > _STOPWORD_WEIGHT * english:
        return "sr"
    if english:
        return "en"
    # No function words at all: a headline ("Putin-Trump summit postponed") is fine as English, a long
    # text without a single "the"/"of"/"and" is some other language.
    return "en" if padded.count(" ") < 12 and not foreign else None


def lang_tag(lang: str) -> Tag:
    """Languages are tags too, so "only Russian posts" is the same filter as "only #Serbia"."""
    return Tag(lang, lang, "lang")
