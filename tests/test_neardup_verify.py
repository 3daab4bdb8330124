"""The writer's faster band keys, candidate checks and boilerplate samples give what the plain code gave.

Band keys are stored (post_bands) and verdicts decide clusters, so the copied salted hashers and the
bin count on whole integers (bot/core/neardup.py) are checked here against the computations they
replaced, written out: blake2b built with its salt per band, and bins unpacked and compared one by one.
Learned boilerplate decides what is signed, so a coarse-key cache kept between samples must not
change what a sample learns.
"""

from __future__ import annotations

import hashlib
import random
import struct
from operator import eq

import pytest

from bench.corpus import generate
from bot.core.learned_boilerplate import learn_boilerplate
from bot.core.neardup import MinHasher, NearDupParams, Signature
from bot.core.pipeline import Pipeline
from storage.signatures import Signatures
from storage.store import Store
from tests.conftest import make_ingest


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


def test_a_coarse_key_cache_kept_between_samples_learns_the_same() -> None:
    rng = random.Random(11)
    signoffs = ["👉 Read in full: https://site.example/1", "Subscribe to Serbia Today", "#news #serbia", "🔻🔻🔻"]
    texts = []
    for raw in generate(400, posts_per_day=400):
        paragraphs = raw.text.split("\n\n")
        for signoff in signoffs:
            if rng.random() < 0.4:
                paragraphs.append(signoff.replace("1", str(rng.randrange(9))))
        texts.append("\n\n".join(paragraphs))
    cache: dict[str, tuple[str, str] | None] = {}
    learned_any = False
    for start in range(0, 300, 7):  # overlapping samples, as a channel is re-sampled every few posts
        sample = [text.split("\n\n") for text in texts[start : start + 60 + start % 50]]
        with_cache = learn_boilerplate(sample, min_posts=3, min_share=0.2, coarse_cache=cache)
        assert with_cache == learn_boilerplate(sample, min_posts=3, min_share=0.2)
        learned_any = learned_any or bool(with_cache)
    assert learned_any and cache


def test_band_lookups_without_sqlites_json_functions_read_the_same_rows(store: Store, pipeline: Pipeline) -> None:
    """An SQLite built without json_each (optional before 3.38) reads the keys from VALUES lists."""
    make_ingest(store, pipeline).save(generate(600, seed=7))
    stored = [k for (k,) in store.db.execute("SELECT DISTINCT band_key FROM post_bands").fetchall()]
    keys = [*stored[:700], 123456789, -5]  # more than one VALUES chunk, and keys without rows
    assert len(stored) > 500
    with_json, without = Signatures(store.db, json_keys=True), Signatures(store.db, json_keys=False)
    assert Signatures(store.db).json_keys  # this machine's SQLite has them
    for count in (1, 3, 40):
        assert with_json.newest(keys, count) == without.newest(keys, count)
    assert without.newest(keys, 3) and 123456789 not in without.newest(keys, 3)
