"""How long the strings of a JSON text are and how deep it nests, measured on its bytes as they are
read, before a streaming parser (yajl, through ijson) is given them: the JSON counterpart of
bot/core/html_shape.py.

Why: yajl copies a token that spans its read buffers again at every buffer, so a string of n bytes
costs n^2 / buffer (a 16 MB one took 43 s, and so did 16 MB of `\\"` escapes, which a guard looking
for the next `"` byte let through); and ijson builds each event's prefix (`messages.item.x.item…`)
anew and keeps one per open level, so time and memory grow with the square of the depth (100,000
nested arrays: 10 GB and minutes, 10,000: 250 MB). Both are refused here from the bytes.

Exact for valid JSON (strings and their escapes are followed across chunks, brackets inside strings
do not count); on invalid JSON it only has to stop where the parser would not have stopped sooner.
Each chunk costs a few C-speed regex and bytes operations, not a Python step per byte: only the
brackets outside strings are looked at one by one, and an export has a handful per message.
"""

from __future__ import annotations

import re
from itertools import accumulate

__all__ = ["JsonRefused", "JsonScanner"]

# The rest of a string begun in an earlier chunk (to its closing quote, exclusive).
_STRING_REST = re.compile(rb'(?:[^"\\]++|\\.)*+', re.DOTALL)
# A string, closed or running to the end of the text; always matches from its quote, so `sub` never
# scans a string twice.
_ANY_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+(?:"|\Z)', re.DOTALL)
# Up to the last quote with no backslash before it. In valid JSON that is where a string left open at
# the end begins: a quote outside strings never follows a backslash, and every quote inside the open
# string is escaped (an unescaped one would have closed it). Backtracks from the end: linear.
_LAST_OPENING = re.compile(rb'.*(?<!\\)"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = [0] * 256
_STEP[ord("[")] = _STEP[ord("{")] = 1
_STEP[ord("]")] = _STEP[ord("}")] = -1


class JsonRefused(ValueError):
    """The text has a string or a nesting past the limits; `kind` says which ("string" or "depth"),
    `offset` is the byte where it was seen."""

    def __init__(self, message: str, kind: str, offset: int) -> None:
        super().__init__(message)
        self.kind = kind
        self.offset = offset


class JsonScanner:
    """Fed a JSON text chunk by chunk (`feed`); raises JsonRefused as soon as a string is longer than
    `max_string_bytes` (as written, escapes included) or arrays and objects nest deeper than `max_depth`."""

    def __init__(self, max_string_bytes: int, max_depth: int) -> None:
        self.max_string_bytes = max_string_bytes
        self.max_depth = max_depth
        self.offset = 0  # bytes fed before the current chunk
        self.depth = 0
        self.in_string = False
        self.escaped = False  # the last chunk ended inside a string on a lone backslash
        self.string_bytes = 0  # of the string still open at the end of the last chunk

    def feed(self, chunk: bytes) -> None:
        start = 0
        if self.in_string:
            start = self._string_rest(chunk)
            if self.in_string:
                return
        # Every string taken out in one pass, a string left open at the chunk's end included: with a
        # NUL after the chunk (never raw in JSON text) such a string runs to the end and takes it along.
        rest = chunk[start:]
        outside = _ANY_STRING.sub(b"", rest + b"\0") if b'"' in rest else rest + b"\0"
        if outside.endswith(b"\0"):
            outside = outside[:-1]
        else:  # the open string begins at the last quote with no backslash before it (see _LAST_OPENING)
            opening = _LAST_OPENING.match(rest)
            tail = rest[opening.end() if opening is not None else 0 :]
            self.in_string, self.string_bytes = True, len(tail) + 1  # its quote included
            self.escaped = tail.endswith(b"\\") and _ends_in_escape(tail)
            self._check_string(len(chunk))
        brackets = outside.translate(None, _NOT_BRACKETS)
        if brackets:
            deepest = max(accumulate(map(_STEP.__getitem__, brackets), initial=self.depth))
            if deepest > self.max_depth:
                raise JsonRefused(
                    f"arrays and objects nested over {self.max_depth:,} deep",
                    "depth",
                    self.offset + _depth_offset(chunk, start, self.depth, self.max_depth),
                )
            self.depth += brackets.count(b"[") + brackets.count(b"{") - brackets.count(b"]") - brackets.count(b"}")
        self.offset += len(chunk)

    def _string_rest(self, chunk: bytes) -> int:
        """Follow the open string into `chunk`; where it closes (just past its quote), or len(chunk)."""
        start = 1 if self.escaped and chunk else 0
        self.escaped = False
        match = _STRING_REST.match(chunk, start)
        end = match.end() if match is not None else start
        if end < len(chunk) and chunk[end : end + 1] == b'"':
            self.in_string = False
            self.string_bytes += end + 1
            self._check_string(end)
            return end + 1
        self.string_bytes += len(chunk)
        self.escaped = end < len(chunk)  # stopped on a backslash that is the chunk's last byte
        self._check_string(len(chunk))
        self.offset += len(chunk)
        return len(chunk)

    def _check_string(self, at: int) -> None:
        if self.string_bytes > self.max_string_bytes:
            raise JsonRefused(f"a string of over {self.max_string_bytes:,} bytes", "string", self.offset + at)


def _ends_in_escape(tail: bytes) -> bool:
    """Whether an unclosed string's bytes end on a backslash that escapes the next chunk's first byte."""
    match = _STRING_REST.match(tail)
    return match is not None and match.end() < len(tail)


def _depth_offset(chunk: bytes, start: int, depth: int, max_depth: int) -> int:
    """Where in `chunk` the nesting first goes past `max_depth` (a step per byte: only once, to refuse)."""
    in_string = escaped = False
    for index in range(start, len(chunk)):
        byte = chunk[index]
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        else:
            depth += _STEP[byte]
            if depth > max_depth:
                return index
    return start
