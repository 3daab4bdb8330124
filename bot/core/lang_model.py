"""A general language identifier for every language the archive meets beyond the five it follows.

py3langid (a maintained fork of langid.py: a naive Bayes model over byte n-grams, 97 languages, its
model file inside the package, nothing fetched at run time) guesses what the project's own rules
cannot: Spanish, Arabic, Persian, Hindi, Chinese … Measured against lingua (lingua-language-detector)
on the project's labelled posts and on real exports (bench/lang_id.py, bench/lang_id.md): lingua was
less accurate there and needs 26–70 s and ~860 MB to load all its languages, over the 512 MB the
deployment allows; py3langid loads in ~1–5 s and ~100 MB (numpy included).

Loaded once (by Pipeline.load) and passed in; `detect_lang` calls it only for text its own rules do
not settle.
"""

from __future__ import annotations

import importlib.util
from typing import Any

GENERAL_SAMPLE_CHARS = 600


class GeneralLanguageId:
    """`(code, probability)` for a text: an ISO 639-1 code. The model (~100 MB with numpy, 1–5 s) is
    read on the first call, so commands that never meet a new post do not pay for it."""

    def __init__(self, identifier: Any = None) -> None:
        self._identifier = identifier  # py3langid.langid.LanguageIdentifier (no type hints of its own)

    @classmethod
    def load(cls) -> GeneralLanguageId | None:
        """The identifier, or None when py3langid is not installed (our own rules only, as before)."""
        return cls() if importlib.util.find_spec("py3langid") is not None else None

    @property
    def identifier(self) -> Any:
        if self._identifier is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
            # Only languages with an ISO 639-1 code, the archive's labels: its regional and three-letter
            # ones (Moroccan and Egyptian Arabic, Wu Chinese, Nigerian Pidgin …) split one language's
            # posts under several names, and take English chat lines for Pidgin.
            identifier.set_languages([code for code in identifier.labels if len(code) == 2])
            self._identifier = identifier
        return self._identifier

    def __call__(self, text: str) -> tuple[str, float]:
        # Its cost grows with the text (~3 ms for 2,000 characters); a post's opening tells as well.
        code, probability = self.identifier.classify(text[:GENERAL_SAMPLE_CHARS])
        return str(code), float(probability)
