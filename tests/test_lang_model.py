"""The general language model's own scorer (bot/core/lang_model._Scorer) gives py3langid's answers to the bit.

Its feature walk looks only at the last few bytes before each position; the window it uses is proved
here for the installed model by propagating every pair of automaton states, and its answers are
compared with the library's classify on texts in many scripts and on random mixes of them."""

from __future__ import annotations

import random

import numpy as np
import pytest

from bot.core.lang_model import _WINDOW_BY_AUTOMATON, GeneralLanguageId, automaton_digest

pytest.importorskip("py3langid", reason="py3langid is not installed (pip install -e .)")

LIBRARY = GeneralLanguageId.library_identifier()
OURS = GeneralLanguageId()

TEXTS = [
    "",
    "   ",
    "12345 !!! 🇷🇸🇷🇺",
    "How are you?",
    "HELLO WORLD, THIS IS ALL CAPS",
    "El presidente del Gobierno se reunió hoy con los líderes europeos.",
    "قال الشيخ رحمه الله تعالى إن الصبر مفتاح الفرج",
    "سلام دوستان کسی کودا رو با زبان پایتون کار کرده؟",
    "चंद्रयान 3 सफलतापूर्वक लॉन्च किया गया",
    "一位加拿大法官表示竖起大拇指表情符号代表接受合同",
    "Der Bundeskanzler hat heute mit dem französischen Präsidenten gesprochen.",
    "Vučić je rekao da Srbija neće priznati Kosovo",
    "Спасибо",
    "Президент заявил, что переговоры продолжатся на следующей неделе.",
    "Ǆemal ǈubav ǋego",  # letters NFC leaves alone, upper and title case
    "e\u0301te\u0301 cafe\u0301",  # decomposed accents: NFC composes them, as the library does
    "\x00\x00 zero bytes \x00",
    "x" * 700,
]
PARTS = [
    "the",
    "and",
    "је",
    "su",
    "čćšžđ",
    "Сербия",
    "ы",
    "ї",
    "ў",
    "#tag",
    "@me",
    "https://x.y",
    "مرحبا",
    "你好",
    "कि",
    "é",
    "ü",
    "ł",
    "12",
    "🇷🇸",
    "\n",
    "  ",
    "Ελλάδα",
    "ქართული",
    "日本語",
    "한국어",
    "ไทย",
    "עברית",
    "\x00",
]


def _random_texts(n: int) -> list[str]:
    rng = random.Random(34)
    return [
        "".join(rng.choice(PARTS) + rng.choice(("", " ", ", ")) for _ in range(rng.randint(1, 60))) for _ in range(n)
    ]


@pytest.mark.parametrize("text", TEXTS)
def test_same_answer_as_the_library(text: str) -> None:
    assert OURS(text) == LIBRARY.classify(text[:600])


def test_same_answers_and_probabilities_on_random_mixes() -> None:
    texts = _random_texts(3000)
    assert [OURS(text) for text in texts] == [LIBRARY.classify(text[:600]) for text in texts]


def test_an_unproved_automaton_gets_the_library() -> None:
    unproved = GeneralLanguageId(windows={})
    assert unproved.scorer is not OURS.scorer
    assert type(unproved.scorer).__name__ == "LanguageIdentifier"
    assert unproved("Президент заявил, что переговоры продолжатся") == OURS(
        "Президент заявил, что переговоры продолжатся"
    )


def test_labels_are_the_libraries() -> None:
    assert OURS.labels == LIBRARY.labels


@pytest.mark.slow
def test_the_window_is_proved_for_the_installed_model() -> None:
    """From every state, the same `window` bytes lead to the same state as from the start state: the pairs
    (state reached from s, state reached from the start) over all s and all byte strings are all equal
    after `window` bytes, and not one byte sooner (~10 s).  Byte 0, which pads the walk's start, leaves
    the start state where it is."""
    nextmove = np.frombuffer(LIBRARY.tk_nextmove, dtype=np.dtype(LIBRARY.tk_nextmove.typecode)).astype(np.int64)
    rowbase = np.frombuffer(LIBRARY.tk_row, dtype=np.dtype(LIBRARY.tk_row.typecode)).astype(np.int64) << 8
    states = len(rowbase)
    assert nextmove[rowbase[0] + 0] == 0
    columns = np.arange(256)
    pairs = np.arange(states, dtype=np.int64) * states  # (s, start) as s * states + start, start = 0
    steps = 0
    while len(pairs):
        steps += 1
        left = nextmove[rowbase[pairs // states][:, None] + columns].ravel()
        right = nextmove[rowbase[pairs % states][:, None] + columns].ravel()
        differ = left != right
        pairs = np.unique(left[differ] * states + right[differ])
    assert _WINDOW_BY_AUTOMATON[automaton_digest(LIBRARY.tk_nextmove, LIBRARY.tk_row)] == steps
