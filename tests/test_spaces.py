"""collapse_spaces is `" ".join(text.split())`, whatever the text."""

from __future__ import annotations

import random
import sys

import pytest

from bot.core.spaces import collapse_spaces


def test_no_whitespace_but_the_space_is_printable() -> None:
    """The fast path's premise, over every code point Python knows."""
    printable_spaces = [c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace() and c.isprintable()]
    assert printable_spaces == [" "]


@pytest.mark.parametrize(
    "text",
    ["", " ", "a", " a", "a ", "a  b", "a b", "a\tb", "a\nb", "a\n\nb", "a\xa0b", "a\u3000b", "a\u2028b", "a\x85b",
     "a\u200bb", "soft\xadhyphen", "😀 x", "e\u0301", "İ ß"],
)  # fmt: skip
def test_same_as_split_and_join(text: str) -> None:
    assert collapse_spaces(text) == " ".join(text.split())


def test_same_on_random_mixes_of_spaces_and_letters() -> None:
    rng = random.Random(34)
    parts = ["a", "B", "ж", " ", "  ", "\n", "\n\n", "\t", "\xa0", "\u2028", "\u3000", "\x85", "\u200b", "\xad", "😀"]
    for _ in range(20_000):
        text = "".join(rng.choice(parts) for _ in range(rng.randint(0, 12)))
        assert collapse_spaces(text) == " ".join(text.split()), repr(text)


def test_content_hash_is_the_hash_of_the_split_and_joined_text() -> None:
    """What fingerprint.content_hash hashed before it used collapse_spaces (stored hashes stay valid)."""
    import hashlib

    from bot.core.fingerprint import TRIVIAL_MARK, content_hash
    from bot.core.statements import is_statement

    rng = random.Random(35)
    words = ["Vučić", "said", "Сербия", "ЗАЯВИЛ", "ß", "İstanbul", "😀", "2024", " ", "\n", "\n\n", "\n\n\n", "\t"]
    for _ in range(5_000):
        text = "".join(rng.choice(words) + rng.choice(("", " ", "\n\n")) for _ in range(rng.randint(0, 20)))
        canon = " ".join(text.casefold().split())
        digest = hashlib.blake2b(canon.encode("utf-8"), digest_size=10).hexdigest()
        assert content_hash(text) == (digest if is_statement(canon) else TRIVIAL_MARK + digest[1:]), repr(text)
