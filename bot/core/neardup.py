"""Near-duplicate detection: clean text -> word shingles -> MinHash signature -> LSH band keys.

Why MinHash: the same statement reaches the archive as copies that differ a little (a "⚡️BREAKING:"
header, a sign-off, a fixed typo, a cut-off tail), so neither the origin key nor the content hash
folds them.  Why this particular MinHash: it must cost well under a millisecond per post in pure
Python (no numpy in the dependencies), so it is *one-permutation* MinHash with optimal densification
(Li, Owen & Zhang 2012; Shrivastava 2017): every shingle is hashed once (blake2b), its hash picks one
of `num_perm` bins and the bin keeps its smallest value; bins left empty by short texts borrow the
value of the first filled bin in a fixed, seeded order, so two texts still agree on a bin with
probability equal to their Jaccard similarity.  Classic K-permutation MinHash computes K hashes per
shingle and was 3-8x slower here.

Why LSH with `bands` x `rows`: a copy only has to be compared with posts that share at least one
band (a run of `rows` signature values), looked up in an index; with 25 bands of 4 rows a pair is a
candidate with probability 1 - (1 - J^4)^25: 0.80 at J=0.5, 0.97 at 0.6, 0.999 at 0.7, 0.18 at 0.3,
0.04 at 0.2 (steep, so a window of look-alike read-outs yields few candidates).  One more key, the
text's first 24 words after a short header, finds the truncated copies ("lead + Read in full") that
share too few shingles to meet in a band.  Candidates are then verified on the signatures:
estimated Jaccard >= `threshold`, or estimated containment of the shorter in the longer >=
`containment` (`lead_containment` with the same opening) when the shorter is long enough to mean
something; and never when both texts name dates, or numbers, and share none of them.

Everything here is pure: text and numbers in, numbers out; bot/app/neardup_index.py applies it to saved
posts and storage/signatures.py keeps the rows.
"""

from __future__ import annotations

import hashlib
import random
import re
import struct
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import chain, compress, islice
from operator import eq, itemgetter

_URL = re.compile(r"(?:https?://|www\.|t\.me/)\S+", re.IGNORECASE)
# What every _URL match holds besides "://": a "www." or "t.me/" in any case (IGNORECASE matches w, t,
# m, e only as themselves and their capitals). Found from its literal "." at C speed, where _URL itself
# is tried at every position of the text (~30 us a post without a single link).
_URL_HINT = re.compile(r"\.(?:(?<=[wW][wW][wW]\.)|(?<=[tT]\.)(?=[mM][eE]/))")
_TAG_OR_MENTION = re.compile(r"[#@]\w+")
_MARKS = re.compile(r"[\u0300-\u036f]")  # combining accents after NFKD: "Vučić" == "Vucic"
_WORD = re.compile(r"[^\W_]+")
_EMPTY = 1 << 32  # larger than any 32-bit bin value: "this bin saw no shingle"
_MONTH_NAMES = {
    1: "january jan января январь януари januar",
    2: "february feb февраля февраль февруари februar",
    3: "march mar марта март mart",
    4: "april apr апреля апрель април",
    5: "may мая май maj",
    6: "june jun июня июнь юни",
    7: "july jul июля июль юли",
    8: "august aug августа август avgust",
    9: "september sept sep сентября сентябрь септември septembar",
    10: "october oct октября октябрь октомври oktobar",
    11: "november nov ноября ноябрь ноември novembar",
    12: "december dec декабря декабрь декември decembar",
}
_MONTHS = {name: number for number, names in _MONTH_NAMES.items() for name in names.split()}
_MONTHS["маи"] = 5  # "май" once accents are folded (й is и + breve)
_DAY = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?")
_NUMERIC_DATE = re.compile(r"\b(\d{1,2})\.(\d{1,2})\.")  # 20.11. / 20.11.2026
# Found from its literal "." at C speed; _NUMERIC_DATE (a \b first) is tried at every position, ~20 us a post
_DOT_DIGIT = re.compile(r"\.\d")
MAX_DATES = 8
MAX_NUMBERS = 32


@dataclass(frozen=True, slots=True)
class NearDupParams:
    """The knobs, with the values the quality benchmark (bench/neardup_quality.py) was tuned on.

    Changing `num_perm`, `bands`, `rows`, `shingle_words`, `max_words`, `lead_words`, `header_words`
    or `seed` changes signatures or band keys: the index notices (see `fingerprint`) and starts afresh.
    The verification thresholds can change freely.
    """

    num_perm: int = 128  # signature length (one-permutation bins)
    bands: int = 25  # LSH bands ...
    rows: int = 4  # ... of this many values each (bands * rows <= num_perm)
    shingle_words: int = 3  # word n-grams: robust to reordering of sentences, strict about wording
    threshold: float = 0.5  # estimated Jaccard that makes two posts near-duplicates
    containment: float = 0.8  # ... or estimated containment of the shorter in the longer
    containment_min_shingles: int = 12  # only when the shorter has at least this many shingles
    min_shingles: int = 4  # shorter texts are not clustered (exact copies still fold by hash)
    max_words: int = 600  # long posts are shingled on their first words only: bounds the cost
    lead_words: int = 24  # one more band: the text's first words, after a header (0: off) ...
    header_words: int = 4  # ... a header being a first paragraph of at most this many words
    lead_containment: float = 0.6  # with the same first words, this estimated containment is enough
    seed: int = 20261120

    def __post_init__(self) -> None:
        if self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands * rows ({self.bands}*{self.rows}) exceeds num_perm ({self.num_perm})")
        if min(self.num_perm, self.bands, self.rows, self.shingle_words, self.min_shingles) < 1:
            raise ValueError("num_perm, bands, rows, shingle_words and min_shingles must be positive")
        if not (0 < self.threshold <= 1 and 0 < self.containment <= 1):
            raise ValueError("threshold and containment must be in (0, 1]")

    @property
    def fingerprint(self) -> str:
        """What makes stored signatures and band keys comparable with new ones."""
        return (
            f"oph-blake2b:k{self.num_perm}:b{self.bands}:r{self.rows}:w{self.shingle_words}"
            f":m{self.max_words}:l{self.lead_words}h{self.header_words}:s{self.seed}"
        )


@dataclass(frozen=True, slots=True)
class Signature:
    values: tuple[int, ...]  # one 32-bit value per bin
    shingles: int  # how many distinct shingles the text had: turns Jaccard into containment
    dates: tuple[int, ...] = ()  # calendar dates the text names, as month * 100 + day
    numbers: tuple[int, ...] = ()  # the numbers it names (up to MAX_NUMBERS, in order of appearance)
    lead: int | None = None  # band key of the opening words: finds "lead + Read in full" teasers

    def to_bytes(self) -> bytes:
        return struct.pack(f"<{len(self.values)}I", *self.values)

    @property
    def marks(self) -> str:
        """Dates and numbers as stored beside the signature: "1120,1205;20,1244"."""
        return f"{','.join(map(str, self.dates))};{','.join(map(str, self.numbers))}"

    @classmethod
    def from_row(cls, blob: bytes, shingles: int, marks: str = ";", lead: int | None = None) -> Signature:
        dates, _, numbers = (marks or ";").partition(";")
        return cls(
            struct.unpack(f"<{len(blob) // 4}I", blob),
            shingles,
            tuple(int(d) for d in dates.split(",") if d),
            tuple(int(n) for n in numbers.split(",") if n),
            lead,
        )


def text_numbers(text: str) -> tuple[int, ...]:
    """Numbers in the text (not in links, hashtags or mentions): what a copy keeps and a sibling changes.

    "Statement 3 of …" and "Statement 4 of …", or two exchange-rate posts, are different posts that
    differ in little but a number.
    """
    return _numbers(shingle_words(text))


def _numbers(words: list[str]) -> tuple[int, ...]:
    # isdecimal, not isdigit: int() reads every script's decimal digits (٣) but not ² or ❶ (isdigit's extras)
    found = dict.fromkeys(map(int, map(_FIRST_18, filter(str.isdecimal, words))))
    return tuple(list(found)[:MAX_NUMBERS])


_FIRST_18 = itemgetter(slice(None, 18))
_FIRST = itemgetter(0)


def text_dates(text: str) -> tuple[int, ...]:
    """Day-and-month mentions ("20 November", "November 20", "20 ноября", "20.11.2026") as month*100+day.

    Why: MFA read-outs are formulaic, and the weekly briefing announcement or a second call with the
    same minister differs from the last one in little but the date.  Copies keep the date.
    """
    return _dates(shingle_words(text), text)


def _dates(words: list[str], text: str) -> tuple[int, ...]:
    """From the words (a day next to a month name) and the text (20.11.): a scan, not a 60-way regex."""
    found: set[int] = set()
    last = len(words) - 1
    # Only words that start with a digit can be a day: picked in C (map, compress), not a Python loop
    for i in compress(range(len(words)), map(str.isdecimal, map(_FIRST, words))):
        word = words[i]
        day = _DAY.fullmatch(word)
        if day is None:
            continue
        after = words[i + 1] if i < last else ""
        if after == "of" and i + 1 < last:
            after = words[i + 2]
        month = _MONTHS.get(after) or (_MONTHS.get(words[i - 1]) if i else None)
        if month is not None and 1 <= int(day.group(1)) <= 31:
            found.add(month * 100 + int(day.group(1)))
    if "." in text and _DOT_DIGIT.search(text):  # every numeric date holds a ".\d" (no link removal adds one)
        if "://" in text or "www." in text or "t.me/" in text:
            text = _URL.sub(" ", text)
        for d, m in _NUMERIC_DATE.findall(text):
            if 1 <= int(d) <= 31 and 1 <= int(m) <= 12:
                found.add(int(m) * 100 + int(d))
    return tuple(sorted(found)[:MAX_DATES])


def shingle_words(text: str) -> list[str]:
    """The words near-duplicate detection looks at: no links, hashtags, mentions, emoji or accents.

    Hashtags and mentions are what channels add to someone else's text; links differ per copy.
    """
    return _WORD.findall(_folded(text))


def _folded(text: str) -> str:
    """`shingle_words`' text before splitting into words. Every step keeps newlines where they are
    (no pattern crosses one, NFKD and casefold map characters to letters and marks), so folding a
    whole post and then splitting it into paragraphs gives each paragraph's own folding."""
    if "://" in text or _URL_HINT.search(text):  # else _URL cannot match
        text = _URL.sub(" ", text)
    if "#" in text or "@" in text:
        text = _TAG_OR_MENTION.sub(" ", text)
    folded = _MARKS.sub("", unicodedata.normalize("NFKD", text.casefold()))
    # str.replace, not translate(_FOLD): a dict translation looks up every character, ~75 us a post
    return folded.replace("ё", "е").replace("ß", "ss")


class MinHasher:
    """Signatures, band keys and verdicts for one parameter set; holds only the seeded bin order."""

    def __init__(self, params: NearDupParams | None = None) -> None:
        self.params = params or NearDupParams()
        rng = random.Random(self.params.seed)
        k = self.params.num_perm
        # Optimal densification: an empty bin i takes the value of the first filled bin in order[i].
        self._order: list[list[int]] = []
        for i in range(k):
            order = [j for j in range(k) if j != i]
            rng.shuffle(order)
            self._order.append(order)
        self._band_salt = [rng.getrandbits(64).to_bytes(8, "little") for _ in range(self.params.bands + 1)]
        # Each band's salted blake2b-8, copied for every key: a copy costs less than building one with
        # its parameters (band keys 20-30 -> 13 us a post), and gives the same digest.
        self._band_hashers = [hashlib.blake2b(digest_size=8, salt=salt) for salt in self._band_salt[:-1]]
        self._unpack = struct.Struct(f"<{k}I").unpack
        self._blake8 = hashlib.blake2b(digest_size=8)
        # Masks of each bin's low 16, 8, 4, 2 and 1 bits, for counting agreeing bins on whole integers
        self._lane_masks = [
            (shift, int.from_bytes(struct.pack(f"<{k}I", *[(1 << shift) - 1] * k), "little"))
            for shift in (16, 8, 4, 2, 1)
        ]

    def _digest(self, data: bytes) -> bytes:
        h = self._blake8.copy()
        h.update(data)
        return h.digest()

    def shingles(self, text: str) -> set[str]:
        return self._shingles(shingle_words(text))

    def _shingles(self, words: list[str]) -> set[str]:
        words = words[: self.params.max_words]
        n = self.params.shingle_words
        if len(words) <= n:
            return {" ".join(words)} if words else set()
        return set(map(" ".join, zip(*(words[i:] for i in range(n)), strict=False)))

    def signature(self, text: str) -> Signature | None:
        """None when the text is too short to judge (fewer than `min_shingles` shingles)."""
        # One fold of the whole text, then its paragraphs: as `shingle_words` of each, a fifth of the cost.
        paragraphs = [_WORD.findall(p) for p in _folded(text).split("\n\n")]
        words = list(chain.from_iterable(paragraphs))
        shingles = self._shingles(words)
        if len(shingles) < self.params.min_shingles:
            return None
        k = self.params.num_perm
        bins = [_EMPTY] * k
        # Every shingle's blake2b-8 as one little-endian run (copies of a keyed-up blake2b object are
        # cheaper than constructing one with its parameters), unpacked at once: ~15 % of the loop.
        digests = b"".join(map(self._digest, map(str.encode, shingles)))
        for h in struct.unpack(f"<{len(shingles)}Q", digests):
            b, v = h % k, h >> 32
            if v < bins[b]:
                bins[b] = v
        if _EMPTY in bins:
            filled = bins[:]
            for i, value in enumerate(filled):
                if value == _EMPTY:
                    for j in self._order[i]:  # a plain loop: twice as fast as next(generator) here
                        if filled[j] != _EMPTY:
                            bins[i] = filled[j]
                            break
        return Signature(tuple(bins), len(shingles), _dates(words, text), _numbers(words), self._lead(paragraphs))

    def _lead(self, paragraphs: list[list[str]]) -> int | None:
        """The text's opening words, after any short header paragraph ("⚡️BREAKING:", "MFA Russia:").

        A teaser (the lead and a sentence, then "Read in full") shares too few shingles with the
        whole statement to meet it in a band, but it opens with exactly the same words.
        """
        n, skip = self.params.lead_words, self.params.header_words
        if not n:
            return None
        start = next((i for i, words in enumerate(paragraphs) if len(words) > skip), len(paragraphs))
        words = list(islice(chain.from_iterable(paragraphs[start:]), n))
        if len(words) < n:
            return None
        digest = hashlib.blake2b(" ".join(words).encode(), digest_size=8, salt=self._band_salt[-1]).digest()
        return int.from_bytes(digest, "little", signed=True)

    def band_keys(self, signature: Signature) -> list[int]:
        """One signed 64-bit key per band (SQLite INTEGER), the band's number salted in; then the lead."""
        raw = signature.to_bytes()
        width = 4 * self.params.rows
        from_bytes = int.from_bytes
        keys = []
        for i, salted in enumerate(self._band_hashers):
            h = salted.copy()
            h.update(raw[i * width : (i + 1) * width])
            keys.append(from_bytes(h.digest(), "little", signed=True))
        if signature.lead is not None:
            keys.append(signature.lead)
        return keys

    @staticmethod
    def jaccard(a: Signature, b: Signature) -> float:
        """Estimated Jaccard similarity of the two shingle sets: the share of agreeing bins."""
        return float(sum(map(eq, a.values, b.values))) / len(a.values)

    @staticmethod
    def containment(a: Signature, b: Signature, jaccard: float) -> float:
        """Estimated share of the shorter text's shingles found in the longer one.

        |A ∩ B| = J (|A| + |B|) / (1 + J), so the sizes stored with the signatures are enough.
        """
        common = jaccard * (a.shingles + b.shingles) / (1 + jaccard)
        return min(1.0, common / max(1, min(a.shingles, b.shingles)))

    def is_match(self, a: Signature, b: Signature) -> bool:
        """Similar enough, and not told apart by dates or numbers (both name some, none in common)."""
        if not self._similar(a, b.shingles, b.lead, self.jaccard(a, b)):
            return False
        if a.dates and b.dates and not set(a.dates) & set(b.dates):
            return False
        return not (a.numbers and b.numbers and not set(a.numbers) & set(b.numbers))

    def matches_row(self, a: Signature, blob: bytes, shingles: int, marks: str, lead: int | None) -> bool:
        """`is_match` against a stored row; its dates and numbers are read only for a close call.

        Most LSH candidates fail on similarity, so this keeps verification to an unpack and a count.
        """
        j = sum(map(eq, a.values, self._unpack(blob))) / len(a.values)
        return self._similar(a, shingles, lead, j) and self.is_match(a, Signature.from_row(blob, shingles, marks, lead))

    def matching_rows(self, a: Signature, rows: Iterable[tuple[bytes, int, str, int | None]]) -> list[bool]:
        """`matches_row` of `a` against each stored row (blob, shingles, marks, lead), in order.

        The agreeing bins are counted on whole integers: the two signatures' bytes XORed, each bin's
        bits folded into its lowest (shift and mask), the bins left at 1 disagree. A dozen integer
        operations instead of unpacking 128 values and comparing them one by one (~6 -> ~2 us a row);
        the count, and so the estimate, is the same."""
        k = len(a.values)
        if k != self.params.num_perm:
            return [self.matches_row(a, *row) for row in rows]
        mine = int.from_bytes(a.to_bytes(), "little")
        from_bytes, masks = int.from_bytes, self._lane_masks
        verdicts = []
        for blob, shingles, marks, lead in rows:
            if len(blob) != 4 * k:  # not this hasher's: as matches_row treats it
                verdicts.append(self.matches_row(a, blob, shingles, marks, lead))
                continue
            x = mine ^ from_bytes(blob, "little")
            for shift, mask in masks:
                x = (x | (x >> shift)) & mask
            j = (k - x.bit_count()) / k
            verdicts.append(
                self._similar(a, shingles, lead, j)
                and self.is_match(a, Signature.from_row(blob, shingles, marks, lead))
            )
        return verdicts

    def _similar(self, a: Signature, b_shingles: int, b_lead: int | None, j: float) -> bool:
        p = self.params
        if j >= p.threshold:
            return True
        smaller = min(a.shingles, b_shingles)
        if smaller < p.containment_min_shingles:
            return False
        contained = min(1.0, j * (a.shingles + b_shingles) / (1 + j) / smaller)
        same_lead = a.lead is not None and a.lead == b_lead
        return contained >= (p.lead_containment if same_lead else p.containment)


def pick_cluster(candidates: Iterable[tuple[int, int, int]]) -> int | None:
    """The cluster of the earliest verified match: candidates are (timestamp, post id, cluster id).

    Earliest rather than most similar so a cluster keeps the id of (and points at) the original.
    """
    best = min(candidates, default=None)
    return best[2] if best is not None else None
