"""Learned boilerplate: paragraphs one channel repeats under many of its own posts.

The rules in bot/data/boilerplate.toml catch junk every channel shares; each channel also has its
own sign-off ("Subscribe to Serbia Today", "👉 Read in full: <link>", "Join us: @balkan_watch") that
nobody can list in advance.  A paragraph is learned as boilerplate for a channel when it appears in
at least `min_posts` of the channel's recent posts *and* in at least `min_share` of them: the count
keeps a new channel's third post from teaching anything, the share keeps a statement the channel
re-posted a few times from being taken for a sign-off.  Hashtag-only paragraphs are never learned:
they are the channel's topic labels (tags come from them and snippets already skip them).

Learned paragraphs are not removed from the archive (the clean text stays what the channel wrote);
they are skipped when a post is shown and when its near-duplicate signature is computed.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from bot.core.clean import is_hashtag_only
from bot.models import StoredPost

_URL = re.compile(r"(?:https?://|www\.|t\.me/)\S+", re.IGNORECASE)
_WORD = re.compile(r"[^\W_]+")

MIN_POSTS = 5
MIN_SHARE = 0.2


@dataclass(frozen=True, slots=True)
class LearnedParagraph:
    key: str  # loose_key of the paragraph
    example: str  # the paragraph as the channel last wrote it
    posts: int  # how many of the sampled posts carry it
    share: float  # posts / sampled posts


def loose_key(paragraph: str) -> str:
    """Identity of a sign-off across its variants: no links, emoji or punctuation.

    "👉 Read in full: https://site/123" and "Read in full — https://site/124" are one paragraph.
    Numbers stay: "Headline 5 …" under a channel's every post is news, not a sign-off.
    A paragraph with no words (an emoji separator) keeps its own spacing-folded text as the key.
    """
    folded = paragraph.casefold()
    # Most paragraphs hold no link; three substring tests are 5x cheaper than running the regex,
    # and this runs on every paragraph of a digest window (the folded text is what _URL sees).
    if "://" in folded or "www." in folded or "t.me/" in folded:
        folded = _URL.sub(" ", folded)
    words = _WORD.findall(folded)
    return " ".join(words) or " ".join(paragraph.split())


_EDGE = 32  # characters read at each end of a paragraph for its coarse key
# Markers in a coarse-key cache (no coarse key has an empty word)
SKIP: tuple[str, str] = ("", "skip")  # a hashtag-only paragraph: never learned
_UNSEEN: tuple[str, str] = ("", "unseen")  # not in the cache yet


def _may_hold_link(paragraph: str) -> bool:
    """loose_key's "www." / "t.me/" test without folding the whole paragraph (rare pairs first)."""
    if "w." in paragraph or "W." in paragraph or "e/" in paragraph or "E/" in paragraph:
        folded = paragraph.casefold()
        return "www." in folded or "t.me/" in folded
    return False


def _coarse_key(paragraph: str) -> tuple[str, str] | None:
    """First and last word of the loose key, read from the paragraph's two ends only.

    Paragraphs with one loose key have one first and one last word, so counting these is an upper
    bound on counting loose keys; `loose_key` word-splits the whole paragraph (~10 µs on 200
    Cyrillic characters), this only 2 × 32 characters. None where the ends cannot tell: a link
    (the key drops it), or no complete word at an end. Case folding maps each character on its
    own, so folding an end gives that end of the folded paragraph.
    """
    if "://" in paragraph or _may_hold_link(paragraph):
        return None
    if len(paragraph) <= 2 * _EDGE:
        words = _WORD.findall(paragraph.casefold())
        return (words[0], words[-1]) if words else None
    head = _WORD.findall(paragraph[:_EDGE].casefold())[:-1]  # the last word may run on past the cut
    tail = _WORD.findall(paragraph[-_EDGE:].casefold())[1:]  # the first word may have begun before it
    return (head[0], tail[-1]) if head and tail else None


def learn_boilerplate(
    posts: Iterable[Sequence[str]],
    *,
    min_posts: int = MIN_POSTS,
    min_share: float = MIN_SHARE,
    key_cache: dict[str, str] | None = None,
    coarse_cache: dict[str, tuple[str, str] | None] | None = None,
) -> list[LearnedParagraph]:
    """`posts`: the paragraphs of each recent post of one channel. Most frequent first.

    Two passes, because a digest window learns from ~16,000 paragraphs and nearly all of them are
    news: the first counts cheap coarse keys, the second computes loose keys only for paragraphs
    whose coarse key is frequent enough to pass (counting every post with an unknown coarse key
    in its favour, so nothing that would be learned is missed). `key_cache` (paragraph -> loose
    key) may be shared between channels: a statement forwarded by ten channels is the same
    paragraphs ten times. `coarse_cache` (stripped paragraph -> its coarse key, `SKIP`: hashtag-only)
    may be kept between calls for one channel's samples: each sample re-reads mostly the paragraphs
    the last one read (the near-duplicate index samples a channel every few posts).
    """
    cache: dict[str, str] = {} if key_cache is None else key_cache
    coarse_of: dict[str, tuple[str, str] | None] = {} if coarse_cache is None else coarse_cache
    coarse_counts: Counter[tuple[str, str]] = Counter()
    unknown_posts = 0
    kept: list[list[tuple[str, tuple[str, str] | None]]] = []
    for paragraphs in posts:
        entries = []
        seen_coarse: set[tuple[str, str] | None] = set()
        for paragraph in paragraphs:
            paragraph = paragraph.strip()
            if not paragraph:
                continue
            coarse = coarse_of.get(paragraph, _UNSEEN)
            if coarse is _UNSEEN:
                coarse = SKIP if is_hashtag_only(paragraph) else _coarse_key(paragraph)
                coarse_of[paragraph] = coarse
            if coarse is SKIP:
                continue
            entries.append((paragraph, coarse))
            if coarse not in seen_coarse:
                seen_coarse.add(coarse)
                if coarse is None:
                    unknown_posts += 1
                else:
                    coarse_counts[coarse] += 1
        kept.append(entries)
    total = len(kept)
    need = max(min_posts, math.ceil(min_share * total))
    counts: Counter[str] = Counter()
    examples: dict[str, str] = {}
    for entries in kept:
        seen: set[str] = set()
        for paragraph, coarse in entries:
            if coarse is not None and coarse_counts[coarse] + unknown_posts < need:
                continue
            key = _cached_key(paragraph, cache)
            if key not in seen:
                seen.add(key)
                counts[key] += 1
                examples.setdefault(key, paragraph)
    found = [LearnedParagraph(k, examples[k], n, n / total) for k, n in counts.items() if n >= need]
    return sorted(found, key=lambda p: (-p.posts, p.key))


def strip_paragraphs(text: str, keys: frozenset[str] | set[str], key_cache: dict[str, str] | None = None) -> str:
    """The text without learned paragraphs; a post that is nothing but boilerplate is left whole."""
    if not keys:
        return text
    paragraphs = text.split("\n\n")
    cache: dict[str, str] = {} if key_cache is None else key_cache
    kept = [p for p in paragraphs if not p.strip() or _cached_key(p.strip(), cache) not in keys]
    if len(kept) == len(paragraphs) or not any(p.strip() for p in kept):
        return text
    return "\n\n".join(p for p in kept if p.strip())


def _cached_key(paragraph: str, cache: dict[str, str]) -> str:
    key = cache.get(paragraph)
    if key is None:
        key = cache[paragraph] = loose_key(paragraph)
    return key


def strip_learned(
    posts: Iterable[StoredPost],
    keys_by_channel: Mapping[int, frozenset[str]],
    key_cache: dict[str, str] | None = None,
) -> list[StoredPost]:
    """Posts as they should be shown: each channel's learned paragraphs left out of `text`."""
    result = []
    for post in posts:
        text = strip_paragraphs(post.text, keys_by_channel.get(post.channel_id, frozenset()), key_cache)
        result.append(post if text == post.text else replace(post, text=text))
    return result


def window_boilerplate(
    posts: Iterable[StoredPost], key_cache: dict[str, str] | None = None
) -> dict[int, frozenset[str]]:
    """Boilerplate learned from the given posts alone, per channel: what a digest window can tell."""
    by_channel: dict[int, list[list[str]]] = {}
    for post in posts:
        by_channel.setdefault(post.channel_id, []).append(post.text.split("\n\n"))
    cache: dict[str, str] = {} if key_cache is None else key_cache
    learned = {
        channel: frozenset(p.key for p in learn_boilerplate(texts, key_cache=cache))
        for channel, texts in by_channel.items()
    }
    return {channel: keys for channel, keys in learned.items() if keys}
