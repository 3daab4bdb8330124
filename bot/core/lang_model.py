"""A general language identifier for every language the archive meets beyond the five it follows.

py3langid (a maintained fork of langid.py: a naive Bayes model over byte n-grams, 97 languages, its
model file inside the package, nothing fetched at run time) guesses what the project's own rules
cannot: Spanish, Arabic, Persian, Hindi, Chinese … Measured against lingua (lingua-language-detector)
on the project's labelled posts and on real exports (bench/lang_id.py, bench/lang_id.md): lingua was
less accurate there and needs 26–70 s and ~860 MB to load all its languages, over the 512 MB the
deployment allows; py3langid loads in ~1–5 s and ~100 MB (numpy included).

Loaded once (by Pipeline.load) and passed in; `detect_lang` calls it only for text its own rules do
not settle.  The model's own arrays are scored by `_Scorer` (same answers, same probabilities, to the
bit, at about half the library's cost: bench/ingest.md, fourth pass).
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import unicodedata
from collections import Counter
from typing import Any

import numpy as np
import numpy.typing as npt

GENERAL_SAMPLE_CHARS = 600

# The model's n-gram automaton forgets everything older than this many bytes: from ANY state, reading
# the same WINDOW bytes ends in the same state as from the start state (checked by propagating every
# pair of states over all 256 bytes until none differ: tests/test_lang_model.py, ~10 s, so not at load
# time).  Keyed by a digest of the automaton, so another model (a py3langid release with other
# n-grams) is never walked with a window that was not proved for it: it gets the library's classify.
_WINDOW_BY_AUTOMATON = {"2199b7f5d3039ad573da927d8c541310": 6}


def automaton_digest(nextmove: Any, rows: Any) -> str:
    """blake2b of the automaton's transition rows and state → row map (~40 MB, ~0.1 s)."""
    digest = hashlib.blake2b(memoryview(nextmove).cast("B"))
    digest.update(memoryview(rows).cast("B"))
    return digest.hexdigest()[:32]


class GeneralLanguageId:
    """`(code, probability)` for a text: an ISO 639-1 code. The model (~100 MB with numpy, 1–5 s) is
    read on the first call, so commands that never meet a new post do not pay for it."""

    def __init__(self, identifier: Any = None, windows: dict[str, int] | None = None) -> None:
        """`identifier`: py3langid's (no type hints of its own), used as it is; `windows`: proved windows
        by automaton digest (default: the installed model's)."""
        self._identifier = identifier
        self._windows = _WINDOW_BY_AUTOMATON if windows is None else windows
        self._scorer: _Scorer | None = None

    @classmethod
    def load(cls) -> GeneralLanguageId | None:
        """The identifier, or None when py3langid is not installed (our own rules only, as before)."""
        return cls() if importlib.util.find_spec("py3langid") is not None else None

    @staticmethod
    def library_identifier() -> Any:
        """py3langid's own identifier, restricted to the languages the archive labels."""
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        # Only languages with an ISO 639-1 code, the archive's labels: its regional and three-letter
        # ones (Moroccan and Egyptian Arabic, Wu Chinese, Nigerian Pidgin …) split one language's
        # posts under several names, and take English chat lines for Pidgin.
        identifier.set_languages([code for code in identifier.labels if len(code) == 2])
        return identifier

    @property
    def scorer(self) -> _Scorer | Any:
        """What `classify`s: `_Scorer` over the model's arrays, or the library's identifier itself for
        a model whose automaton was not checked (its window unknown)."""
        if self._scorer is None and self._identifier is None:
            identifier = self.library_identifier()
            window = self._windows.get(automaton_digest(identifier.tk_nextmove, identifier.tk_row))
            if window is None:
                self._identifier = identifier
            else:  # the identifier itself is dropped: its float16 tables (~50 MB) are not needed
                self._scorer = _Scorer(identifier, window)
        return self._scorer if self._scorer is not None else self._identifier

    @property
    def labels(self) -> list[str]:
        """Every label this identifier can give."""
        return list(dict.fromkeys(self.scorer.nb_classes))

    def __call__(self, text: str) -> tuple[str, float]:
        # Its cost grows with the text (~3 ms for 2,000 characters); a post's opening tells as well.
        code, probability = self.scorer.classify(text[:GENERAL_SAMPLE_CHARS])
        return str(code), float(probability)


class _Scorer:
    """py3langid 0.4's `LanguageIdentifier.classify` (norm_probs=True) on the same arrays, cheaper.

    Own code rather than the library's because its two costs are avoidable without changing a bit:
    its feature walk is a Python loop over every byte (~0.4 µs a byte), and its class table after
    `set_languages` is a float16 column slice in Fortran order, so every feature's row is gathered
    from 116 places ~200 kB apart and cast on every call.  Here the walk runs for all positions at
    once in numpy (the automaton's state at a byte depends only on the last `window` bytes), and the
    table is one C-ordered float32 copy (the float16 values exactly).  The scoring that follows is
    the library's, operation for operation and in the same order (features in order of first
    occurrence, as its Counter), so scores and probabilities are the same floats
    (tests/test_lang_model.py; 60,000+ texts in bench/ingest.md's fourth pass)."""

    def __init__(self, identifier: Any, window: int) -> None:
        typecode = identifier.tk_nextmove.typecode
        self._nextmove = np.frombuffer(identifier.tk_nextmove, dtype=np.dtype(typecode))
        self._rowbase = np.frombuffer(identifier.tk_row, dtype=np.dtype(identifier.tk_row.typecode)).astype(
            self._nextmove.dtype
        ) << np.array(8, dtype=self._nextmove.dtype)
        self._root = int(self._rowbase[0])
        self._output = np.asarray(identifier.tk_output, dtype=np.int32)
        self._table = np.ascontiguousarray(identifier.nb_ptc, dtype=np.float32)
        self._prior: npt.NDArray[np.float32] = identifier.nb_pc
        self.nb_classes: list[str] = list(identifier.nb_classes)
        self._alias_pairs: list[tuple[int, int]] = list(identifier._alias_pairs)
        self._pad = bytes(window - 1)  # byte 0 leaves the start state as it is (checked in the tests)
        self._window = window

    def features(self, data: bytes) -> Counter[int]:
        """Feature → count, in order of first occurrence: the library's `visit_counts`."""
        n = len(data)
        padded = np.frombuffer(self._pad + data, dtype=np.uint8).astype(self._nextmove.dtype)
        position = padded[:n] + self._root
        for k in range(1, self._window):
            position = self._rowbase[self._nextmove[position]] + padded[k : k + n]
        found = self._output[self._nextmove[position]]
        return Counter(found[found >= 0].tolist())

    def classify(self, text: str) -> tuple[str, float]:
        if text.isupper():
            text = text.lower()
        data = unicodedata.normalize("NFC", text).encode("utf8", errors="surrogatepass")
        visits = self.features(data)
        if visits:
            ids = np.fromiter(visits.keys(), dtype=np.intp, count=len(visits))
            counts = np.fromiter(visits.values(), dtype=np.float32, count=len(visits))
            scores = np.log1p(counts) @ self._table[ids] + self._prior
        else:
            scores = np.full(len(self.nb_classes), 0.0, dtype=np.float32)
        scores *= 1.0 / math.sqrt(len(data) or 1)
        np.exp(scores - scores.max(), out=scores)
        scores /= scores.sum()
        for i, j in self._alias_pairs:
            scores[i] += scores[j]
            scores[j] = 0.0
        best = int(scores.argmax())
        return self.nb_classes[best], float(scores[best])
