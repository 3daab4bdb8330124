"""A general language identifier for every language the archive meets beyond the five it follows.

py3langid (a maintained fork of langid.py: a naive Bayes model over byte n-grams, 97 languages, its
model file inside the package, nothing fetched at run time) guesses what the project's own rules
cannot: Spanish, Arabic, Persian, Hindi, Chinese … Measured against lingua (lingua-language-detector)
on the project's labelled posts and on real exports (bench/lang_id.py, bench/lang_id.md): lingua was
no more accurate there and needs ~40 s and 1.1 GB to load all its languages, over the 512 MB the
deployment allows; py3langid loads in ~1.5 s and ~80 MB.

Loaded once (by Pipeline.load) and passed in; `detect_lang` calls it only for text its own rules do
not settle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

GENERAL_SAMPLE_CHARS = 600


@dataclass(frozen=True, slots=True)
class GeneralLanguageId:
    """`(code, probability)` for a text: ISO 639-1 where the language has one."""

    identifier: Any  # py3langid.langid.LanguageIdentifier (no type hints of its own)

    @classmethod
    def load(cls) -> GeneralLanguageId | None:
        """The packaged model, or None when py3langid is not installed (own rules only, as before)."""
        try:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier
        except ImportError:
            return None
        identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        # Only languages with an ISO 639-1 code, the archive's labels: its regional and three-letter
        # ones (Moroccan and Egyptian Arabic, Wu Chinese, Nigerian Pidgin …) split one language's
        # posts under several names, and take English chat lines for Pidgin.
        identifier.set_languages([code for code in identifier.labels if len(code) == 2])
        return cls(identifier)

    def __call__(self, text: str) -> tuple[str, float]:
        # Its cost grows with the text (~3 ms for 2,000 characters); a post's opening tells as well.
        code, probability = self.identifier.classify(text[:GENERAL_SAMPLE_CHARS])
        return str(code), float(probability)
