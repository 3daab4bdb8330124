"""Re-run cleaning over stored posts, so an archive built with an older cleaner gets today's.

Each post is re-cleaned from its `raw_text`; when the clean text changes, so do its content hash,
language, tags, FTS row (through the posts trigger) and near-duplicate cluster (the index signs it
again).  Batches are one transaction each, together with the low-water mark in `meta`: a crash or
Ctrl-C resumes after the last committed batch, and a finished run stays finished until the cleaner
itself changes (the mark is stored with a fingerprint of the rules and the model).

Hashtags: Telegram's entity hashtags are not stored apart from those written in the text.  An
existing hashtag that the old clean text does not contain can only have come from an entity (or a
web-preview link), so it is kept; the others are derived again from the new clean text, so a
hashtag that only page junk carried goes with the junk.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.app.neardup_index import NearDupIndex
from bot.core.clean import CLEANER_VERSION
from bot.core.fingerprint import content_hash
from bot.core.lang import lang_tag
from bot.core.pipeline import Pipeline
from bot.core.tags import extract_hashtags, topic_tags
from bot.models import Tag
from storage.store import Store

MARK_KEY = "reclean_after_id"
CLEANER_KEY = "reclean_cleaner"

Progress = Callable[[int, int], None]  # (posts looked at, posts changed) since the last call


@dataclass(frozen=True, slots=True)
class RecleanResult:
    seen: int
    changed: int
    resumed_after: int


def cleaner_fingerprint(pipeline: Pipeline) -> str:
    """Changes whenever the cleaning code, the rules or the page model do: a finished reclean runs again."""
    parts = [f"code {CLEANER_VERSION}"]
    parts += [repr(r.name) + r.kind + r.regex.pattern for r in pipeline.boilerplate.rules]
    if pipeline.page is not None:
        parts.append(repr((pipeline.page.first, pipeline.page.second, pipeline.page.threshold, pipeline.page.chain)))
    parts.append(repr(pipeline.keywords.rules))
    return hashlib.blake2b("\n".join(parts).encode("utf-8"), digest_size=8).hexdigest()


def retag(pipeline: Pipeline, text: str, old_text: str, old_tags: Sequence[Tag]) -> tuple[str | None, list[Tag]]:
    """Language and tags of a re-cleaned text, as `Pipeline.process` gives them (see the module doc)."""
    old_words = old_text.casefold()
    entity = [t.display for t in old_tags if t.kind == "hashtag" and t.display.casefold() not in old_words]
    lang = pipeline.detect_lang(text)
    tags = [*extract_hashtags(text, entity), *topic_tags(text, pipeline.keywords)]
    if lang:
        tags.append(lang_tag(lang))
    return lang, tags


def start_mark(store: Store, pipeline: Pipeline) -> int:
    """Where a run starts: after the last committed batch of a run with this same cleaner, else at 0."""
    if store.meta_get(CLEANER_KEY) != cleaner_fingerprint(pipeline):
        return 0
    return int(store.meta_get(MARK_KEY) or 0)


def pending(store: Store, pipeline: Pipeline) -> int:
    return store.count_posts_after(start_mark(store, pipeline))


def reclean(
    store: Store,
    pipeline: Pipeline,
    neardup: NearDupIndex | None = None,
    *,
    batch_size: int = 500,
    progress: Progress | None = None,
) -> RecleanResult:
    fingerprint = cleaner_fingerprint(pipeline)
    mark = start_mark(store, pipeline)
    resumed_after = mark
    seen = changed = 0
    while True:
        rows = store.posts_after(mark, batch_size)
        if not rows:
            break
        touched = []
        with store.transaction():
            for post_id, raw_text, old_text, origin, old_tags in rows:
                text = pipeline.clean(raw_text)
                if text == old_text:
                    continue
                digest = content_hash(text)
                lang, tags = retag(pipeline, text, old_text, old_tags)
                if origin.startswith("fwd:"):  # a Desktop-export forward: name + text hash (fingerprint.py)
                    origin = f"{origin.rsplit('/', 1)[0]}/{digest}"
                store.update_cleaning(post_id, text=text, content_hash=digest, lang=lang, origin_key=origin, tags=tags)
                touched.append(post_id)
            if neardup is not None and touched:
                neardup.index(touched)
            mark = rows[-1][0]
            store.meta_set(MARK_KEY, str(mark))
            store.meta_set(CLEANER_KEY, fingerprint)
        seen += len(rows)
        changed += len(touched)
        if progress is not None:
            progress(len(rows), len(touched))
    return RecleanResult(seen, changed, resumed_after)
