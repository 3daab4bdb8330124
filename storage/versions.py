"""Edit history: earlier texts of posts (`post_versions`) and the edits and deletions noticed.

Written only from inside `Store._upsert` and `Store.mark_deleted`, in the same transaction as the
post row, so every source gets it and a crash can never store a new text without its old one.
Mixed into `Store`, like the channel table.

At most KEEP_FIRST + KEEP_LAST earlier versions are kept per post (issue #27 item 3: one post edited
3,000 times held 24 MB of versions): the first ones (what was originally said) and the latest ones
(what is being changed now); the middle is dropped as new ones arrive. Version numbers are never
reused, so what was dropped shows as a gap ("versions 11 to 2,950 not kept"), and readers load only
the versions they show (`version_texts`, `versions_page`), never all of them per edit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlite_utils

from bot.models import PostChange, PostVersion
from storage.in_lists import chunks
from storage.timefmt import from_db_time

KEEP_FIRST = 10  # earliest versions of a post always kept
KEEP_LAST = 40  # latest earlier versions kept; the ones between are dropped


# The edit that produced version k+1 is on row k; its Telegram date is version k+1's own edit date:
# on row k+1, or on the post when k+1 is the current version.
EDITS_SQL = (
    "SELECT v.post_id, v.version + 1, v.replaced_at, "
    "CASE WHEN n.post_id IS NULL THEN p.edit_date ELSE n.edit_date END "
    "FROM post_versions v JOIN posts p ON p.id = v.post_id "
    "LEFT JOIN post_versions n ON n.post_id = v.post_id AND n.version = v.version + 1 "
)


def change_of(row: Sequence[Any]) -> PostChange:
    noticed = from_db_time(row[2])
    assert noticed is not None
    return PostChange(row[0], row[1], noticed, from_db_time(row[3]))


class VersionTable:
    """Mixed into `Store`; needs `db`."""

    db: sqlite_utils.Database

    def _keep_version(
        self, post_id: int, text: str, raw_text: str, edit_date: str | None, seen_at: str | None, now: str
    ) -> None:
        """The stored text is about to be replaced: keep it as the next earlier version."""
        self.db.execute(
            "INSERT INTO post_versions(post_id, version, text, raw_text, edit_date, seen_at, replaced_at) "
            "SELECT ?, coalesce(max(version), 0) + 1, ?, ?, ?, ?, ? FROM post_versions WHERE post_id = ?",
            [post_id, text, raw_text, edit_date, seen_at, now, post_id],
        )
        # Past the cap, the oldest of the "latest" ones goes: the one KEEP_LAST + 1 from the end, when
        # it is not among the first KEEP_FIRST (index look-ups on UNIQUE (post_id, version)).
        self.db.execute(
            "DELETE FROM post_versions WHERE post_id = ? AND version = ("
            "  SELECT version FROM post_versions WHERE post_id = ? ORDER BY version DESC LIMIT 1 OFFSET ?"
            ") AND version > ("
            "  SELECT coalesce(max(version), 0) FROM ("
            "    SELECT version FROM post_versions WHERE post_id = ? ORDER BY version LIMIT ?))",
            [post_id, post_id, KEEP_LAST, post_id, KEEP_FIRST],
        )

    def version_count(self, post_id: int) -> int:
        """How many earlier versions are kept (the current text not counted)."""
        return int(self.db.execute("SELECT count(*) FROM post_versions WHERE post_id = ?", [post_id]).fetchone()[0])

    def version_texts(self, post_id: int, numbers: Iterable[int]) -> dict[int, tuple[int, str]]:
        """(number, clean text) of each version asked for (the current one included), by the number
        asked; a dropped number gives the nearest kept version below it. Loads only those rows."""
        current = self.db.execute(
            "SELECT text, (SELECT coalesce(max(version), 0) + 1 FROM post_versions WHERE post_id = ?) "
            "FROM posts WHERE id = ?",
            [post_id, post_id],
        ).fetchone()
        if current is None:
            return {}
        found: dict[int, tuple[int, str]] = {}
        for number in numbers:
            if number >= current[1]:
                found[number] = (current[1], current[0])
                continue
            row = self.db.execute(
                "SELECT version, text FROM post_versions WHERE post_id = ? AND version <= ? "
                "ORDER BY version DESC LIMIT 1",
                [post_id, number],
            ).fetchone()
            if row is not None:
                found[number] = (row[0], row[1])
        return found

    def versions_page(self, post_id: int, offset: int, limit: int) -> list[PostVersion]:
        """Earlier versions, newest first, one page of them (the current text is the post itself)."""
        rows = self.db.execute(
            "SELECT version, text, raw_text, edit_date, seen_at, replaced_at FROM post_versions "
            "WHERE post_id = ? ORDER BY version DESC LIMIT ? OFFSET ?",
            [post_id, limit, offset],
        ).fetchall()
        return [
            PostVersion(post_id, r[0], r[1], r[2], from_db_time(r[3]), from_db_time(r[4]), from_db_time(r[5]))
            for r in rows
        ]

    def versions(self, post_id: int) -> list[PostVersion]:
        """Every text the post has had, oldest first, the current one last; [] for an unknown post."""
        current = self.db.execute(
            "SELECT text, raw_text, edit_date, text_seen_at FROM posts WHERE id = ?", [post_id]
        ).fetchone()
        if current is None:
            return []
        rows = self.db.execute(
            "SELECT version, text, raw_text, edit_date, seen_at, replaced_at FROM post_versions "
            "WHERE post_id = ? ORDER BY version",
            [post_id],
        ).fetchall()
        found = [
            PostVersion(post_id, r[0], r[1], r[2], from_db_time(r[3]), from_db_time(r[4]), from_db_time(r[5]))
            for r in rows
        ]
        number = found[-1].number + 1 if found else 1
        text, raw_text, edit_date, seen_at = current
        found.append(PostVersion(post_id, number, text, raw_text, from_db_time(edit_date), from_db_time(seen_at)))
        return found

    def changes_of(self, post_ids: Iterable[int]) -> list[PostChange]:
        """The edits and deletions noticed on these posts, in the order they were noticed."""
        ids = sorted(set(post_ids))
        found: list[PostChange] = []
        for chunk in chunks(ids):
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(f"{EDITS_SQL} WHERE v.post_id IN ({marks})", list(chunk)).fetchall()
            rows += self.db.execute(
                f"SELECT id, 0, deleted_at, NULL FROM posts WHERE id IN ({marks}) AND deleted_at IS NOT NULL",
                list(chunk),
            ).fetchall()
            found += [change_of(r) for r in rows]
        return sorted(found, key=lambda c: (c.noticed_at, c.post_id, c.version))
