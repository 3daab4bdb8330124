"""Per-post cost of near-duplicate clustering against an index of 10k, 100k and 1M archived posts.

For each size an archive's index is built in a temporary SQLite file, then a child process clusters
`--posts` fresh, realistic posts (bench/neardup_corpus.py: MFA read-outs in en/bg/ru, 30 % of them
copies of earlier ones) exactly as `ingest` does after saving a batch, and reports the time per post
and its peak resident memory (ru_maxrss), so the figure is the clustering process alone.

How the archived posts get into the index: with `real`, by clustering generated posts one batch at
a time (the true path, but ~1 ms per post all in); otherwise *synthesized*: signature rows and band
rows with random keys, written in key order straight into `post_signatures` / `post_bands` (1M
posts = 43M band rows).  Random keys are what real band keys look like to the B-tree; what they do
not bring is near-duplicate candidates, which come from the window's copies, not from its size.
Run from the repository root:

    .venv/bin/python bench/neardup_speed.py [--sizes 10000,100000,1000000] [--real 10000] [--posts 2000]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.neardup_corpus import CorpusGenerator  # noqa: E402
from bot.app.channel_boilerplate import LearnedBoilerplate  # noqa: E402
from bot.app.neardup_index import WINDOW_DAYS, NearDupIndex  # noqa: E402
from bot.core.neardup import MinHasher  # noqa: E402
from bot.core.pipeline import Pipeline  # noqa: E402
from bot.models import ChannelRef, RawPost  # noqa: E402
from storage.db import open_db, transaction  # noqa: E402
from storage.store import Store  # noqa: E402

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SYNTHETIC_IDS = 10_000_000  # archived posts' ids start here, clear of the measured posts' ids
BATCH = 100


def raw_posts(count: int, seed: int, start: datetime, channels: int = 12, first_id: int = 1) -> list[RawPost]:
    """Generated posts spread over the channels, a minute apart."""
    stream = CorpusGenerator(seed).stream()
    refs = [ChannelRef(tg_id=5000 + c, username=f"bench_channel_{c}") for c in range(channels)]
    return [
        RawPost(
            channel=refs[i % channels],
            message_id=first_id + i,
            date=start + timedelta(minutes=i),
            text=next(stream),
            source="demo",
        )
        for i in range(count)
    ]


def synthesize(db_path: Path, size: int, seed: int) -> None:
    """`size` archived posts' index rows, band keys written in key order (an append, not a B-tree dance)."""
    db = open_db(db_path)
    hasher = MinHasher()
    NearDupIndex(Store(db), hasher)  # records the parameters, as a real index would
    rng = random.Random(seed)
    bands = hasher.params.bands + 1
    start = int((NOW - timedelta(days=WINDOW_DAYS)).timestamp())
    span = WINDOW_DAYS * 86400
    chunk = 20_000
    for first in range(0, size, chunk):
        rows = [
            (
                SYNTHETIC_IDS + i,
                start + rng.randrange(span),
                SYNTHETIC_IDS + i,
                rng.randrange(30, 300),
                ";",
                rng.getrandbits(64) - 2**63,
                rng.randbytes(4 * hasher.params.num_perm),
            )
            for i in range(first, min(size, first + chunk))
        ]
        with transaction(db):
            db.conn.executemany(
                "INSERT INTO post_signatures(post_id, ts, cluster_id, shingles, marks, lead, sig) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
    total = size * bands
    slices = max(1, total // 200_000)
    width = 2**64 // slices  # uniform keys over the signed 64-bit range, generated slice by slice in order
    for s in range(slices):
        low = -(2**63) + s * width
        count = total // slices + (1 if s < total % slices else 0)
        keys = sorted(low + rng.randrange(width) for _ in range(count))
        band_rows = [(k, SYNTHETIC_IDS + rng.randrange(size)) for k in keys]
        with transaction(db):
            db.conn.executemany("INSERT OR IGNORE INTO post_bands(band_key, post_id) VALUES (?, ?)", band_rows)
    db.conn.close()


def ingest_real(db_path: Path, size: int, seed: int) -> None:
    """`size` generated posts saved and clustered batch by batch: the index as production builds it."""
    store = Store.open(db_path)
    pipeline = Pipeline.load()
    index = NearDupIndex(store, boilerplate=LearnedBoilerplate(store))
    raws = raw_posts(size, seed + 1, NOW - timedelta(days=WINDOW_DAYS) + timedelta(minutes=1), first_id=1_000_000)
    for first in range(0, size, 500):
        with transaction(store.db):
            saved = store.save_posts([pipeline.process(r) for r in raws[first : first + 500]])
            index.index(saved.new_ids)
    store.close()


def measure(db_path: Path, posts: int, seed: int, warm: int = 2400) -> dict[str, float]:
    """Runs in a child process: `warm` posts clustered untimed (so every channel has the history its
    learned boilerplate is read from), then `posts` more saved and clustered in batches, timed."""
    store = Store.open(db_path)
    pipeline = Pipeline.load()
    raws = raw_posts(warm + posts, seed, NOW - timedelta(minutes=warm + posts))
    index = NearDupIndex(store, boilerplate=LearnedBoilerplate(store))
    for first in range(0, warm, 500):
        with transaction(store.db):
            index.index(store.save_posts([pipeline.process(r) for r in raws[first : min(warm, first + 500)]]).new_ids)
    processed = [pipeline.process(r) for r in raws[warm:]]
    ids: list[int] = []
    for first in range(0, posts, BATCH):
        ids += store.save_posts(processed[first : first + BATCH]).new_ids
    started = time.perf_counter()
    for post in processed:
        index.hasher.signature(post.text)
    signing = time.perf_counter() - started
    started = time.perf_counter()
    for first in range(0, posts, BATCH):
        index.index(ids[first : first + BATCH])
    clustering = time.perf_counter() - started
    marks = ",".join(map(str, ids))
    joined = store.db.execute(f"SELECT count(*) FROM posts WHERE cluster_id != id AND id IN ({marks})").fetchone()[0]
    store.close()
    return {
        "posts": posts,
        "us_per_post": clustering / posts * 1e6,
        "signature_us_per_post": signing / posts * 1e6,
        "joined_a_cluster": joined,
        "max_rss_mb": peak_rss_mb(),
    }


def peak_rss_mb() -> float:
    """This process's peak resident memory. VmHWM rather than ru_maxrss: on Linux a child's ru_maxrss
    starts from its parent's size at fork, and the parent here has just built a large index."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="archived posts, synthesized")
    parser.add_argument("--real", default="10000,100000", help="archived posts, clustered for real ('' for none)")
    parser.add_argument("--posts", type=int, default=2000, help="fresh posts clustered and timed per size")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.posts, args.seed)))
        return

    try:
        from bench._util import machine_line

        print(machine_line())
    except ImportError:
        pass
    runs = [(int(s), "synthesized") for s in args.sizes.split(",") if s] + [
        (int(s), "real") for s in args.real.split(",") if s
    ]
    print("| archived posts | how | build | index on disk | clustering per post | of it, signature | peak RSS |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for size, how in runs:
        with tempfile.TemporaryDirectory(prefix="neardup-bench-") as tmp:
            db_path = Path(tmp) / "archive.db"
            started = time.perf_counter()
            (synthesize if how == "synthesized" else ingest_real)(db_path, size, args.seed)
            built = time.perf_counter() - started
            on_disk = sum(f.stat().st_size for f in Path(tmp).iterdir()) / 2**20
            command = [sys.executable, __file__, "--measure", str(db_path), "--posts", str(args.posts)]
            child = subprocess.run(
                [*command, "--seed", str(args.seed)],
                check=True,
                capture_output=True,
                text=True,
            )
            r = json.loads(child.stdout)
            print(
                f"| {size:,} | {how} | {built:.0f} s | {on_disk:,.0f} MB | {r['us_per_post']:.0f} µs "
                f"| {r['signature_us_per_post']:.0f} µs | {r['max_rss_mb']:.0f} MB |",
                flush=True,
            )


if __name__ == "__main__":
    main()
