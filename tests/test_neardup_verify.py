"""The writer's faster band keys and candidate checks give the very keys and verdicts of the plain code.

Band keys are stored (post_bands) and verdicts decide clusters, so the copied salted hashers and the
bin count on whole integers (bot/core/neardup.py) are checked here against the computations they
replaced, written out: blake2b built with its salt per band, and bins unpacked and compared one by one.
"""

from __future__ import annotations

import hashlib
import random
import struct
from operator import eq

import pytest

from bench.corpus import generate
from bot.core.neardup import MinHasher, NearDupParams, Signature


def plain_band_keys(hasher: MinHasher, signature: Signature) -> list[int]:
    raw = signature.to_bytes()
    width = 4 * hasher.params.rows
    keys = [
        int.from_bytes(
            hashlib.blake2b(raw[i * width : (i + 1) * width], digest_size=8, salt=salt).digest(), "little", signed=True
        )
        for i, salt in enumerate(hasher._band_salt[:-1])
    ]
    return keys + ([signature.lead] if signature.lead is not None else [])


def plain_verdict(hasher: MinHasher, a: Signature, blob: bytes, shingles: int, marks: str, lead: int | None) -> bool:
    j = sum(map(eq, a.values, struct.unpack(f"<{len(blob) // 4}I", blob))) / len(a.values)
    return hasher._similar(a, shingles, lead, j) and hasher.is_match(a, Signature.from_row(blob, shingles, marks, lead))


def test_band_keys_are_the_salted_blake2b_of_each_band() -> None:
    for params in (NearDupParams(), NearDupParams(num_perm=64, bands=16, rows=4, seed=7)):
        hasher = MinHasher(params)
        signatures = [s for s in (hasher.signature(raw.text) for raw in generate(200)) if s is not None]
        assert len(signatures) > 150
        for signature in signatures:
            assert hasher.band_keys(signature) == plain_band_keys(hasher, signature)


def test_matching_rows_agrees_with_comparing_bins_one_by_one() -> None:
    hasher = MinHasher()
    k = hasher.params.num_perm
    rng = random.Random(5)
    corpus = [s for s in (hasher.signature(raw.text) for raw in generate(300, posts_per_day=400)) if s is not None]
    cases: list[tuple[Signature, list[tuple[bytes, int, str, int | None]]]] = []
    for a in corpus[:60]:
        cases.append((a, [(b.to_bytes(), b.shingles, b.marks, b.lead) for b in corpus]))
    for _ in range(300):
        # bins that agree at random shares, and bins differing in a single bit anywhere in the 32
        values = [rng.getrandbits(32) for _ in range(k)]
        a = Signature(tuple(values), rng.randrange(4, 80), (1120,) if rng.random() < 0.3 else (), (), None)
        share = rng.random()
        other = [v if rng.random() < share else rng.getrandbits(32) for v in values]
        other = [v ^ (1 << rng.randrange(32)) if rng.random() < 0.1 else v for v in other]
        marks = "1121;" if rng.random() < 0.3 else ";"
        cases.append((a, [(struct.pack(f"<{k}I", *other), rng.randrange(4, 80), marks, None)]))
    matched = 0
    for a, rows in cases:
        verdicts = hasher.matching_rows(a, rows)
        assert verdicts == [plain_verdict(hasher, a, *row) for row in rows]
        assert verdicts == [hasher.matches_row(a, *row) for row in rows]
        matched += sum(verdicts)
    assert 0 < matched < sum(len(rows) for _, rows in cases)  # both verdicts occur
    # a blob of another length (not this hasher's) is refused as matches_row refuses it
    a = corpus[0]
    short = (a.to_bytes()[: 4 * (k - 1)], a.shingles, a.marks, a.lead)
    with pytest.raises(struct.error):
        hasher.matches_row(a, *short)
    with pytest.raises(struct.error):
        hasher.matching_rows(a, [short])
