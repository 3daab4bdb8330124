"""Words separated by single spaces: the canonical spacing that hashes and repeat checks compare.

`" ".join(text.split())` builds a list of every word and joins it again; cleaning, hashing and the
repeat check run it on every post and paragraph, and almost every text they see is already spaced
that way (cleaning normalised its lines).  Proving that is cheaper than rebuilding it.
"""

from __future__ import annotations


def collapse_spaces(text: str) -> str:
    """`" ".join(text.split())`, the same string, without the split when nothing would change.

    A printable string holds no whitespace but " ": every other whitespace character (tab, newline,
    no-break and ideographic spaces, line and paragraph separators) is a control or separator
    character, which `str.isprintable` rejects (checked over every code point in tests/test_spaces.py).
    Such a string is already collapsed when it has no double space and no space at either end."""
    if text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " ":
        return text
    return " ".join(text.split())
