"""A light stemmer for Bulgarian, for search: Snowball has no Bulgarian algorithm.

The rules are Jacques Savoy's light stemmer from "Searching Strategies for the Bulgarian Language"
(Information Retrieval 10(6), 2007, http://members.unine.ch/jacques.savoy/Papers/BUIR.pdf), the one
Lucene's and Elasticsearch's "bulgarian" analyzers use: drop the definite article (-ът, -ят, -та,
-то, -те, -ия, -ият), then plural endings (-ове, -еве, -овци, -ища, -та, -и with the consonant
changes к→ц, г→з, х→с undone), then a final vowel, and undo the ъ of the masculine singular
(министър/министри → министр). Written here from the paper's rules (not a copy of any
implementation). Light means it keeps a word's meaning: "Сърбия", "Сърбията" and "сърбин" keep
their own stems, unlike BulStem's learned rules which were measured too (bench/search_quality.py).
"""

from __future__ import annotations

from collections.abc import Iterable


def stem(word: str) -> str:
    """The stem of one lower-case Bulgarian word; words under four letters are left alone."""
    if len(word) < 4:
        return word
    if len(word) > 5 and word.endswith("ища"):
        return word[:-3]
    word = _remove_plural(_remove_article(word))
    if len(word) > 3:
        if word.endswith("я"):
            word = word[:-1]
        if word.endswith(("а", "о", "е")):
            word = word[:-1]
    if len(word) > 4 and word.endswith("ен"):
        word = word[:-2] + "н"
    if len(word) > 5 and word[-2] == "ъ":
        word = word[:-2] + word[-1]
    return word


def stem_words(words: Iterable[str]) -> list[str]:
    return [stem(w) for w in words]


def _remove_article(word: str) -> str:
    n = len(word)
    if n > 6 and word.endswith("ият"):
        return word[:-3]
    if n > 5 and word.endswith(("ът", "то", "те", "та", "ия")):
        return word[:-2]
    if n > 4 and word.endswith("ят"):
        return word[:-2]
    return word


def _remove_plural(word: str) -> str:
    n = len(word)
    if n > 6:
        if word.endswith("овци"):
            return word[:-3]  # -овци -> -о
        if word.endswith("ове"):
            return word[:-3]
        if word.endswith("еве"):
            return word[:-3] + "й"
    if n > 5:
        if word.endswith("ища"):
            return word[:-3]
        if word.endswith("та"):
            return word[:-2]
        if word.endswith("ци"):
            return word[:-2] + "к"
        if word.endswith("зи"):
            return word[:-2] + "г"
        if word[-3] == "е" and word[-1] == "и":
            return word[:-3] + "я" + word[-2]
    if n > 4:
        if word.endswith("си"):
            return word[:-2] + "х"
        if word.endswith("и"):
            return word[:-1]
    return word
