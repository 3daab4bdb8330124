"""The WHERE clauses of the posts filters that search and export share: tags, channel, language, time.

One builder, so the two cannot drift apart (a filter added to search and forgotten by export would
export other posts than the search listed). The tag clause comes in two forms with the same result:
`EXISTS` probes each post walked in date order (fast when the tags keep many posts), `IN` reads the
few tagged posts first (fast when they keep few); the caller picks (storage/search.py `_filter_where`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from storage.timefmt import to_db_time

TagForm = Literal["exists", "in"]


def tag_keys(tags: Sequence[str]) -> list[str]:
    """Tags as post_tags stores them: without '#', case-folded, each once."""
    return list(dict.fromkeys(tag.lstrip("#").casefold() for tag in tags))


def filter_clauses(
    *,
    tags: Sequence[str] = (),
    tag_form: TagForm = "exists",
    channel_id: int | None = None,
    lang: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[list[str], list[Any]]:
    """(clauses to AND, their parameters) on `posts p`: any of `tags` (post_tags keys), the channel's
    row id, the language, `since` <= date < `until`."""
    where: list[str] = []
    params: list[Any] = []
    if tags:  # several tags: posts with any of them (as digests, subscriptions and alerts read them)
        marks = ", ".join("?" * len(tags))
        if tag_form == "exists":
            where.append(f"EXISTS (SELECT 1 FROM post_tags t WHERE t.tag IN ({marks}) AND t.post_id = p.id)")
        else:
            where.append(f"p.id IN (SELECT post_id FROM post_tags WHERE tag IN ({marks}))")
        params.extend(tags)
    if channel_id is not None:
        where.append("p.channel_id = ?")
        params.append(channel_id)
    if lang is not None:
        where.append("p.lang = ?")
        params.append(lang)
    if since is not None:
        where.append("p.date >= ?")
        params.append(to_db_time(since))
    if until is not None:
        where.append("p.date < ?")
        params.append(to_db_time(until))
    return where, params
