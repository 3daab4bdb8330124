"""The JSON reader's guard (bot/core/json_shape.py): string lengths and nesting depth followed across
chunks exactly as a JSON parser reads them, so that escaped quotes and brackets inside strings neither
hide a long string or a deep nesting nor refuse a valid export, in linear time.

The truth is what `json` says of documents written by `json.dumps`, fed in chunks of every size.
"""

from __future__ import annotations

import contextlib
import json
import random
import time
from typing import Any

import pytest

from bot.core.json_shape import JsonRefused, JsonScanner


def feed(text: bytes, scanner: JsonScanner, size: int) -> None:
    for start in range(0, len(text), size):
        scanner.feed(text[start : start + size])


def truth(value: Any, depth: int = 0, ascii_only: bool = False) -> tuple[int, int]:
    """(deepest nesting, longest string in bytes as written, quotes included) of a decoded value."""
    if isinstance(value, str):
        return depth, len(json.dumps(value, ensure_ascii=ascii_only).encode())
    if isinstance(value, list | dict):
        items = list(value.values()) if isinstance(value, dict) else value
        found = [truth(item, depth + 1, ascii_only) for item in items]
        found += [truth(key, depth + 1, ascii_only) for key in (value if isinstance(value, dict) else ())]
        return max([depth + 1, *(d for d, _ in found)]), max([0, *(s for _, s in found)])
    return depth, 0


@pytest.mark.parametrize("size", [1, 2, 3, 5, 64])
def test_brackets_and_quotes_inside_strings_do_not_count(size: int) -> None:
    tricky = ["[[[{{{", '"]]]', "\\", '\\"[', "a\\\\", "\\u005b", "\u2028", "Лавров"]
    text = json.dumps({"messages": [{"id": 1, "text": tricky}]}, ensure_ascii=False).encode()
    scanner = JsonScanner(max_string_bytes=64, max_depth=4)  # the document nests exactly 4 deep
    feed(text, scanner, size)
    assert (scanner.depth, scanner.in_string) == (0, False)


@pytest.mark.parametrize("size", [1, 2, 7, 64])
def test_one_level_too_deep_is_refused_at_its_bracket(size: int) -> None:
    text = b'{"a": "[[[[", "b": [[[[1]]]], "c": {}}'
    feed(text, JsonScanner(64, 5), size)  # "b" nests 5 deep (the object counts)
    with pytest.raises(JsonRefused) as refused:
        feed(text, JsonScanner(64, 4), size)
    assert (refused.value.kind, refused.value.offset) == ("depth", text.index(b"[[[[1") + 3)


@pytest.mark.parametrize("size", [1, 2, 3, 64])
def test_a_string_is_measured_across_chunks_escapes_included(size: int) -> None:
    value = '\\"' * 40  # 80 characters, each written escaped: 160 bytes and the two quotes
    text = json.dumps([value, "x"]).encode()
    feed(text, JsonScanner(162, 8), size)
    with pytest.raises(JsonRefused) as refused:
        feed(text, JsonScanner(161, 8), size)
    assert refused.value.kind == "string"


def test_random_documents_in_random_chunks_agree_with_json() -> None:
    rng = random.Random(20261207)
    alphabet = ["a", '"', "\\", "[", "]", "{", "}", "Л", "\n", "😀", "\x01"]

    def text() -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.choice([0, 1, 3, 20, 120])))

    def value(depth: int) -> Any:
        kind = rng.randrange(7 if depth < 12 else 3)
        if kind == 0:
            return rng.randrange(-99, 99)
        if kind == 1:
            return text()
        if kind == 2:
            return None
        if kind in (3, 4):
            return [value(depth + 1) for _ in range(rng.randrange(4))]
        return {text(): value(depth + 1) for _ in range(rng.randrange(4))}

    for _ in range(1500):
        document, ascii_only = value(0), rng.random() < 0.3
        data = json.dumps(document, ensure_ascii=ascii_only, indent=rng.choice([None, 1])).encode()
        deepest, longest = truth(document, ascii_only=ascii_only)
        max_depth, max_string = rng.randrange(8), rng.randrange(64, 300)
        scanner, refused = JsonScanner(max_string, max_depth), None
        try:
            position = 0
            while position < len(data):  # chunks no longer than the string limit, as the reader's are
                step = rng.choice([1, 2, 3, 7, 64])
                scanner.feed(data[position : position + step])
                position += step
        except JsonRefused as exc:
            refused = exc.kind
        if refused is None:
            assert deepest <= max_depth and longest <= max_string, data[:200]
            assert (scanner.depth, scanner.in_string) == (0, False)
        else:
            assert (deepest > max_depth) if refused == "depth" else (longest > max_string), data[:200]


@pytest.mark.parametrize(
    "hostile",
    [
        b'["' + b'\\"' * 2_000_000,  # escaped quotes: a guard that looks for the next `"` byte sees many
        b"[" * 4_000_000,
        b'{"a":' * 1_000_000,
        b'["x", ' * 1_000_000,  # shallow and long: never refused, still linear
    ],
    ids=["escaped-quotes", "arrays", "objects", "flat"],
)
def test_hostile_shapes_cost_linear_time(hostile: bytes) -> None:
    scanner = JsonScanner(600_000, 256)
    start = time.process_time()
    with contextlib.suppress(JsonRefused):
        feed(hostile, scanner, 64 * 1024)
    assert time.process_time() - start < 2.0
