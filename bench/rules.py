"""What alert rules cost per post: 1,000 rules against 10, indexed by their terms (target: at most 2x).

Rules are written the way analysts write them (bot/core/rules.py): names and words drawn from the
corpus's own vocabulary (past its few hundred most frequent words, as watch words are), in the shapes
`a b`, `a OR b`, `(a OR b) -c`, `NEAR(a b, 5)`, `"a b"`, `#tag a`, `lang:xx a`, plus a few filters
only (`lang:bg #tag`) that every post must wake.  Posts are the synthetic corpus (bench/corpus.py, en/
ru/bg/sr/uk) through the real pipeline.  Per post is `RuleSet.matching` (bot/core/rule_match.py),
tokens included; the first 10 rules of the 1,000 are the small set; runs interleave small and large
in chunks of 50 posts after a warm-up, so the normaliser's caches and the machine's load are alike
for both.  The naive line evaluates every rule on
every post (what the index avoids), and the indexed result is checked equal to it.

    .venv/bin/python -m bench.rules [--posts 2000] [--rules 1000] [--runs 3]
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence

from bench._util import log, machine_line, median, save_result, table
from bench.corpus import generate
from bot.core.pipeline import Pipeline
from bot.core.rule_match import Matcher, PostFacts, RuleSet
from bot.core.rules import Rule, RuleError, parse_rule
from bot.core.textnorm import TextNormaliser

SHAPES: tuple[Callable[[random.Random, list[str], list[str]], str], ...] = (
    lambda r, w, t: f"{r.choice(w)} {r.choice(w)}",
    lambda r, w, t: f"{r.choice(w)} OR {r.choice(w)}",
    lambda r, w, t: f"({r.choice(w)} OR {r.choice(w)}) -{r.choice(w)}",
    lambda r, w, t: f"NEAR({r.choice(w)} {r.choice(w)}, 5)",
    lambda r, w, t: f'"{r.choice(w)}"',
    lambda r, w, t: f"#{r.choice(t)} {r.choice(w)}",
    lambda r, w, t: f"lang:{r.choice(['en', 'ru', 'bg', 'sr'])} {r.choice(w)}",
    lambda r, w, t: r.choice(w),
)


def make_rules(count: int, words: list[str], tags: list[str], normaliser: TextNormaliser, seed: int) -> list[Rule]:
    rng = random.Random(seed)
    rules: list[Rule] = []
    while len(rules) < count:
        if len(rules) % 200 == 199:  # a few rules of filters only: no word to index them by
            text = f"lang:{rng.choice(['bg', 'sr'])} #{rng.choice(tags)}"
        else:
            text = rng.choice(SHAPES)(rng, words, tags)
        try:
            rules.append(parse_rule(text, normaliser))
        except RuleError:
            continue
    return rules


def per_post(ruleset: RuleSet, posts: Sequence[PostFacts]) -> tuple[float, int]:
    started = time.perf_counter()
    hits = sum(len(ruleset.matching(p)) for p in posts)
    return (time.perf_counter() - started) / len(posts), hits


def woken(ruleset: RuleSet, posts: Sequence[PostFacts]) -> float:
    """Rules evaluated per post on average: those filed under one of its tokens, and those without an anchor."""
    total = 0
    for post in posts:
        tokens = ruleset.matcher.tokens(post)
        total += len(ruleset._always) + len({i for t in tokens for i in ruleset._by_token.get(t, ())})
    return total / len(posts)


def naive(matcher: Matcher, rules: Sequence[Rule], posts: Sequence[PostFacts]) -> tuple[float, list[list[str]]]:
    started = time.perf_counter()
    found = []
    for post in posts:
        tokens = matcher.tokens(post)
        found.append([r.text for r in rules if matcher.matches(r, post, tokens)])
    return (time.perf_counter() - started) / len(posts), found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--small", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    log(f"pipeline over {args.posts} corpus posts")
    pipeline = Pipeline.load()
    normaliser = TextNormaliser()
    processed = [pipeline.process(raw) for raw in generate(args.posts, seed=args.seed)]
    posts = [PostFacts(p.text, p.lang, frozenset(t.key for t in p.tags)) for p in processed]
    # Watch words are specific (names, places, terms): words whose forms are in at most 1% of the posts.
    # Judged on index tokens, as matching is: a stem shared by common words would make a firehose rule.
    matcher = Matcher(normaliser)
    token_sets = [matcher.tokens(p) for p in posts]
    document_frequency = Counter(t for tokens in token_sets for t in tokens)
    surface = {w.lower() for p in processed for w in p.text.split() if w.isalpha() and len(w) > 4}
    limit = max(1, args.posts // 100)
    words = sorted(w for w in surface if max(document_frequency[t] for t in normaliser.word_alternatives(w)) <= limit)
    log(f"{len(words)} watch-word candidates of {len(surface)} distinct words")
    tags = [t for t, _ in Counter(k for p in posts for k in p.tags).most_common(200)]
    rules = make_rules(args.rules, words, tags, normaliser, args.seed)
    large = RuleSet(tuple(rules), matcher)
    small = RuleSet(tuple(rules[: args.small]), matcher)
    per_post(large, posts)  # warm-up: every post's tokens in the normaliser's memo, for both sets alike
    per_post(small, posts)
    # Interleaved in chunks of 50 posts, the order swapped each chunk, so the shared machine's slow
    # phases fall on both sets alike (whole-run alternation gave 0.7x to 5.6x on a loaded machine).
    times: dict[str, list[float]] = {"small": [], "large": []}
    hits: dict[str, int] = {"small": 0, "large": 0}
    for run in range(args.runs):
        spent = {"small": 0.0, "large": 0.0}
        for chunk, start in enumerate(range(0, len(posts), 50)):
            part = posts[start : start + 50]
            order = [("small", small), ("large", large)]
            for name, ruleset in order if (chunk + run) % 2 == 0 else order[::-1]:
                seconds, found = per_post(ruleset, part)
                spent[name] += seconds * len(part)
                hits[name] += found if run == 0 else 0
        for name in spent:
            times[name].append(spent[name] / len(posts))
    naive_time, expected = naive(matcher, rules, posts)
    indexed = [[r.text for r in large.matching(p)] for p in posts]
    assert indexed == expected, "the index must not change what matches"
    small_us, large_us = median(times["small"]) * 1e6, median(times["large"]) * 1e6
    ratio = large_us / small_us
    best_ratio = min(times["large"]) / min(times["small"])  # the fastest run of each: the least disturbed
    rows = [
        [f"{args.small} rules, indexed", f"{small_us:.1f}", "1.00", hits["small"]],
        [f"{args.rules} rules, indexed", f"{large_us:.1f}", f"{ratio:.2f}", hits["large"]],
        [
            f"{args.rules} rules, every rule on every post",
            f"{naive_time * 1e6:.1f}",
            f"{naive_time * 1e6 / small_us:.2f}",
            hits["large"],
        ],
    ]
    print(machine_line())
    print(f"{args.posts} posts, {args.runs} runs interleaved in chunks of 50 (median), rules from seed {args.seed}")
    print(table(["rules", "µs per post", "× 10 rules", "matches"], rows))
    print(f"fastest runs: {best_ratio:.2f}x; woken per post: {woken(large, posts):.1f} rules of {len(rules)}")
    print(f"target 1,000 rules ≤ 2× 10 rules: {'met' if ratio <= 2 else 'MISSED'} ({ratio:.2f}x, medians)")
    save_result(
        "rules",
        {"posts": args.posts, "rules": args.rules, "small_us": small_us, "large_us": large_us, "ratio": ratio,
         "best_ratio": best_ratio, "naive_us": naive_time * 1e6},
    )  # fmt: skip


if __name__ == "__main__":
    main()
