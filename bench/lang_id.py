"""Language identification: the project's rules, py3langid, lingua, and the rules with py3langid behind them.

Two labelled sets:

* **project**: the posts of bench/data/search_quality.toml (en, ru, bg, uk, sr in both scripts; the
  label is the id's prefix) and the sentences of tests/test_lang.py, written like the channels;
* **real**: 259 posts of ../shared/real-exports (sampled with a fixed seed, up to 40 a sample plus 40
  English chat lines with "u"), labelled by hand in bench/data/lang_real_labels.tsv (ids and labels
  only; the text is read from ../shared). A label may accept several answers ("en|ar" for a post in
  both) or none ("-": too short to tell; None is then right).

Each answer is right (in the accepted set), unknown (None where a language was expected), or wrong
(another language: worse than unknown, it misfiles the post). Also the cost: load time, memory
(RSS growth) and posts a second on the real set's texts.

    .venv/bin/python -m bench.lang_id [--no-lingua]
"""

from __future__ import annotations

import argparse
import csv
import re
import resource
import time
import tomllib
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from bench._real_posts import REAL_EXPORTS, real_posts
from bench._util import log, machine_line, save_result, table
from bot.core.lang import detect_lang
from bot.core.lang_model import GeneralLanguageId
from bot.core.pipeline import Pipeline

BENCH = Path(__file__).resolve().parent
Detector = Callable[[str], str | None]
Labelled = list[tuple[str, frozenset[str | None]]]


def project_set() -> Labelled:
    from tests.test_lang import SENTENCES

    data = tomllib.loads((BENCH / "data" / "search_quality.toml").read_text(encoding="utf-8"))
    out: Labelled = [(p["text"], frozenset({re.match(r"[a-z]+", p["id"]).group(0)})) for p in data["post"]]  # type: ignore[union-attr]
    out += [(text, frozenset({lang})) for lang, texts in SENTENCES.items() for text in texts]
    return out


def real_set(pipeline: Pipeline) -> Labelled:
    labels: dict[tuple[str, int], frozenset[str | None]] = {}
    with (BENCH / "data" / "lang_real_labels.tsv").open(encoding="utf-8") as handle:
        rows = csv.reader((line for line in handle if not line.startswith("#")), delimiter="\t")
        next(rows)
        for sample, message_id, accepted in rows:
            labels[(sample, int(message_id))] = frozenset(None if a == "-" else a for a in accepted.split("|"))
    out: Labelled = []
    for sample, raw in real_posts():
        key = (sample, raw.message_id)
        if key in labels:
            out.append((pipeline.clean(raw.text), labels.pop(key)))
    return out


def score(detector: Detector, labelled: Labelled) -> tuple[float, float, float, Counter[str]]:
    right = unknown = wrong = 0
    misses: Counter[str] = Counter()
    for text, accepted in labelled:
        got = detector(text)
        if got in accepted:
            right += 1
        elif got is None:
            unknown += 1
        else:
            wrong += 1
            misses[f"{'|'.join(sorted(str(a) for a in accepted))}→{got}"] += 1
    n = len(labelled)
    return right / n, unknown / n, wrong / n, misses


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench lang_id", description=__doc__.splitlines()[0])
    parser.add_argument("--no-lingua", action="store_true", help="skip lingua (40 s and 1.1 GB to load)")
    args = parser.parse_args(argv)
    if not REAL_EXPORTS.is_dir():
        print(f"skipped: {REAL_EXPORTS} is absent")
        return 0
    pipeline = Pipeline.load()
    sets = {"project": project_set(), "real": real_set(pipeline)}
    log(f"project set {len(sets['project'])} posts, real set {len(sets['real'])} posts")
    costs: dict[str, tuple[float, float]] = {}
    before, start = rss_mb(), time.perf_counter()
    general = GeneralLanguageId.load()
    assert general is not None, "py3langid is not installed"
    costs["py3langid"] = (time.perf_counter() - start, rss_mb() - before)

    def py3langid_any(text: str) -> str | None:
        return general(text)[0] if text.strip() else None

    def py3langid_sure(text: str) -> str | None:
        code, probability = general(text)
        return code if probability >= 0.5 else None

    detectors: dict[str, Detector] = {
        "own rules (before)": detect_lang,
        "py3langid, always a guess": py3langid_any,
        "py3langid, p >= 0.5": py3langid_sure,
        "own rules + py3langid (now)": lambda text: detect_lang(text, general),
    }
    if not args.no_lingua:
        from lingua import LanguageDetectorBuilder

        before, start = rss_mb(), time.perf_counter()
        lingua = LanguageDetectorBuilder.from_all_languages().build()
        lingua.detect_language_of("warm up: load every model")
        costs["lingua"] = (time.perf_counter() - start, rss_mb() - before)

        def lingua_sure(text: str) -> str | None:
            values = lingua.compute_language_confidence_values(text)
            if not values or values[0].value < 0.5:
                return None
            return values[0].language.iso_code_639_1.name.lower()

        detectors["lingua (all languages), p >= 0.5"] = lingua_sure
    rows: list[list[str]] = []
    results: dict[str, dict[str, object]] = {}
    all_misses: dict[tuple[str, str], Counter[str]] = {}
    texts = [text for text, _ in sets["real"]]
    for name, detector in detectors.items():
        start = time.perf_counter()
        for text in texts:
            detector(text)
        rate = len(texts) / (time.perf_counter() - start)
        figures = {set_name: score(detector, labelled) for set_name, labelled in sets.items()}
        results[name] = {
            k: {"right": v[0], "unknown": v[1], "wrong": v[2], "misses": dict(v[3])} for k, v in figures.items()
        } | {"posts_per_second": rate}
        all_misses.update({(name, k): v[3] for k, v in figures.items()})
        rows.append(
            [name]
            + [f"{figures[s][0]:.3f} / {figures[s][1]:.3f} / {figures[s][2]:.3f}" for s in sets]
            + [f"{rate:,.0f}"]
        )
    print(table(["detector", "project: right / unknown / wrong", "real: right / unknown / wrong", "posts/s"], rows))
    for (name, set_name), misses in all_misses.items():
        if misses:
            print(f"{name} · {set_name} wrong: {dict(misses.most_common(8))}")
    print("load: " + "; ".join(f"{k} {s:.1f} s, +{m:.0f} MB RSS" for k, (s, m) in costs.items()))
    print(machine_line())
    save_result("lang_id", {"results": results, "costs": costs, "sizes": {k: len(v) for k, v in sets.items()}})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
