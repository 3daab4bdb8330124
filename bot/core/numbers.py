"""Numbers typed by people or written in files, read as ASCII digits only.

`str.isdigit()` is true for `²`, `❶`, `①` and `٣`, and `int()` refuses the first three: a guard
written with it lets an ordinary character through to a crash (an import stopped on `❶`). Every
number the project parses from text goes through here, or through a regex on `[0-9]`.
"""

from __future__ import annotations

# SQLite integers (message ids, channel ids, counts) are signed 64-bit.
INT64_MAX = 2**63 - 1


def is_ascii_digits(text: str) -> bool:
    """True for one or more ASCII digits and nothing else ("12"), false for "²", "٣", "", "-1", " 1"."""
    return text.isascii() and text.isdecimal()


def ascii_int(text: str, *, limit: int = INT64_MAX) -> int | None:
    """The non-negative integer `text` spells in ASCII digits, or None (other characters, or above `limit`).

    The length is checked before `int()`, so a 5,000-digit string costs nothing and raises nothing.
    """
    if not is_ascii_digits(text) or len(text.lstrip("0")) > len(str(limit)):
        return None
    value = int(text)
    return value if value <= limit else None
