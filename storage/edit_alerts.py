"""The `edit_alerts` table: one decision per (post, version, chat) for edit and deletion alerts.

Every edit or deletion the alerter looks at gets a row, whatever it decides ('skipped' when it is not
worth an alert; every other status spends the chat's alert budget, shared with new-post alerts in
storage/alerts.py), so the candidates are simply the changes noticed since a point in time that have no
row yet for the chat. A row is written *before* the message is sent (status 'sending') and marked
'sent' after: a crash between the two loses that one alert rather than sending it twice (at most
once per version). A change stored just before a crash has no row, so the next run finds it and sends
it, once. Version 0 stands for the deletion.

Changes are handed out per post (`pending`): however often a post was edited, it is one candidate,
and the one alert sent for it decides every version it covers at once ('coalesced' for all but the
claimed one, in the claim's transaction). A post alerted within the last `cooldown` is not a
candidate, so a post edited every few seconds gives one alert per window, not one per edit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlite_utils

from bot.models import PostChange
from storage.db import transaction
from storage.timefmt import from_db_time, to_db_time
from storage.versions import EDITS_SQL, change_of


def _key(chat_id: int) -> str:
    return f"edit_alerts_since:{chat_id}"


SPENT = "('sending', 'sent', 'failed')"  # decisions that spent an alert ('skipped', 'coalesced' did not)
_UNDECIDED = "NOT EXISTS (SELECT 1 FROM edit_alerts a WHERE a.post_id = {p} AND a.version = {v} AND a.chat_id = ?)"
_PENDING_VERSIONS = (
    "SELECT v.version + 1 AS version FROM post_versions v WHERE v.post_id = ? AND v.replaced_at >= ? AND "
    + _UNDECIDED.format(p="v.post_id", v="v.version + 1")
)


@dataclass(frozen=True, slots=True)
class PendingPost:
    """A post with undecided edits or a deletion, noticed since alerts started for the chat."""

    post_id: int
    first_noticed: datetime
    first_version: int | None  # the lowest version an undecided edit produced (None: no edit)
    last_version: int | None  # the highest one
    edits: int
    deleted: bool


class EditAlertLog:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def since(self, chat_id: int) -> datetime | None:
        """When edit alerts started for this chat: nothing noticed before is alerted."""
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [_key(chat_id)]).fetchone()
        return from_db_time(row[0]) if row else None

    def start(self, chat_id: int, now: datetime) -> datetime:
        """Set the start once (a restart keeps the first one, so what it missed is still owed)."""
        with transaction(self.db):
            self.db.execute(
                "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO NOTHING",
                [_key(chat_id), to_db_time(now)],
            )
        found = self.since(chat_id)
        assert found is not None
        return found

    def candidates(self, chat_id: int, since: datetime, limit: int) -> list[PostChange]:
        """Edits and deletions noticed since `since` with no decision for this chat, oldest first."""
        after = to_db_time(since)
        undecided = (
            "NOT EXISTS (SELECT 1 FROM edit_alerts a WHERE a.post_id = {p} AND a.version = {v} AND a.chat_id = ?)"
        )
        rows = self.db.execute(
            "SELECT v.post_id, v.version + 1, v.replaced_at, "
            "CASE WHEN n.post_id IS NULL THEN p.edit_date ELSE n.edit_date END "
            "FROM post_versions v JOIN posts p ON p.id = v.post_id "
            "LEFT JOIN post_versions n ON n.post_id = v.post_id AND n.version = v.version + 1 "
            f"WHERE v.replaced_at >= ? AND {undecided.format(p='v.post_id', v='v.version + 1')} "
            "UNION ALL "
            "SELECT p.id, 0, p.deleted_at, NULL FROM posts p "
            f"WHERE p.deleted_at >= ? AND {undecided.format(p='p.id', v='0')} "
            "ORDER BY 3, 1, 2 LIMIT ?",
            [after, chat_id, after, chat_id, limit],
        ).fetchall()
        return [change_of(r) for r in rows]

    def pending(self, chat_id: int, since: datetime, cooldown_since: datetime, limit: int) -> list[PendingPost]:
        """Posts with undecided changes noticed since `since`, the longest waiting first; not those
        alerted for this chat after `cooldown_since` (their changes wait, to be coalesced)."""
        after = to_db_time(since)
        rows = self.db.execute(
            "WITH c(post_id, version, noticed) AS ("
            "  SELECT v.post_id, v.version + 1, v.replaced_at FROM post_versions v "
            f"  WHERE v.replaced_at >= ? AND {_UNDECIDED.format(p='v.post_id', v='v.version + 1')} "
            "  UNION ALL "
            "  SELECT p.id, 0, p.deleted_at FROM posts p "
            f"  WHERE p.deleted_at >= ? AND {_UNDECIDED.format(p='p.id', v='0')}) "
            "SELECT post_id, min(noticed), min(nullif(version, 0)), max(nullif(version, 0)), "
            "count(nullif(version, 0)), min(version) = 0 FROM c "
            "WHERE post_id NOT IN (SELECT post_id FROM edit_alerts "
            f"  WHERE chat_id = ? AND decided_at > ? AND status IN {SPENT}) "
            "GROUP BY post_id ORDER BY min(noticed), post_id LIMIT ?",
            [after, chat_id, after, chat_id, chat_id, to_db_time(cooldown_since), limit],
        ).fetchall()
        found = []
        for r in rows:
            noticed = from_db_time(r[1])
            assert noticed is not None
            found.append(PendingPost(r[0], noticed, r[2], r[3], r[4], bool(r[5])))
        return found

    def change(self, post_id: int, version: int) -> PostChange | None:
        """One edit (version >= 2) or the deletion (0), with its dates."""
        if version == 0:
            sql = "SELECT id, 0, deleted_at, NULL FROM posts WHERE id = ? AND deleted_at IS NOT NULL"
            row = self.db.execute(sql, [post_id]).fetchone()
        else:
            sql = f"{EDITS_SQL} WHERE v.post_id = ? AND v.version = ?"
            row = self.db.execute(sql, [post_id, version - 1]).fetchone()
        return change_of(row) if row is not None else None

    def claim(
        self, change: PostChange, chat_id: int, since: datetime, now: datetime, others: Sequence[int] = ()
    ) -> bool:
        """'sending' for `change` and 'coalesced' for every other undecided change of its post (and of
        the `others` posts one alert also covers) noticed since `since`, in one transaction; False
        when the claim was already decided."""
        with transaction(self.db):
            cur = self.db.execute(
                "INSERT OR IGNORE INTO edit_alerts(post_id, version, chat_id, status, decided_at) "
                "VALUES (?, ?, ?, 'sending', ?)",
                [change.post_id, change.version, chat_id, to_db_time(now)],
            )
            if cur.rowcount != 1:
                return False
            for post_id in (change.post_id, *others):
                self._decide_rest(post_id, chat_id, since, "coalesced", now)
        return True

    def decide_all(self, post_id: int, chat_id: int, since: datetime, status: str, now: datetime) -> int:
        """Decide every undecided change of the post noticed since `since` (not worth an alert)."""
        with transaction(self.db):
            return self._decide_rest(post_id, chat_id, since, status, now)

    def _decide_rest(self, post_id: int, chat_id: int, since: datetime, status: str, now: datetime) -> int:
        after, at = to_db_time(since), to_db_time(now)
        cur = self.db.execute(
            "INSERT OR IGNORE INTO edit_alerts(post_id, version, chat_id, status, decided_at) "
            f"SELECT ?, version, ?, ?, ? FROM ({_PENDING_VERSIONS} UNION ALL "
            f"SELECT 0 FROM posts p WHERE p.id = ? AND p.deleted_at >= ? AND {_UNDECIDED.format(p='p.id', v='0')})",
            [post_id, chat_id, status, at, post_id, after, chat_id, post_id, after, chat_id],
        )
        return int(cur.rowcount)

    def last_alerted(self, post_id: int, chat_id: int, below: int) -> int | None:
        """The latest version of the post an alert covered below `below` (its text is where the next
        alert's diff starts; versions between may have been dropped from the history since)."""
        row = self.db.execute(
            f"SELECT max(version) FROM edit_alerts WHERE post_id = ? AND chat_id = ? AND version BETWEEN 2 AND ? "
            f"AND status IN {SPENT}",
            [post_id, chat_id, below - 1],
        ).fetchone()
        return int(row[0]) if row[0] is not None else None

    def spent_since(self, chat_id: int, since: datetime) -> int:
        """Edit and deletion alerts sent to the chat since then (their own budget, bot/app/edit_alerts.py)."""
        row = self.db.execute(
            f"SELECT count(*) FROM edit_alerts WHERE chat_id = ? AND decided_at > ? AND status IN {SPENT}",
            [chat_id, to_db_time(since)],
        ).fetchone()
        return int(row[0])

    def decide(self, change: PostChange, chat_id: int, status: str, now: datetime) -> bool:
        """Record a decision; False when one was already there (another run got to it first)."""
        with transaction(self.db):
            cur = self.db.execute(
                "INSERT OR IGNORE INTO edit_alerts(post_id, version, chat_id, status, decided_at) "
                "VALUES (?, ?, ?, ?, ?)",
                [change.post_id, change.version, chat_id, status, to_db_time(now)],
            )
        return cur.rowcount == 1

    def finish(self, change: PostChange, chat_id: int, status: str, message_id: int | None = None) -> None:
        with transaction(self.db):
            self.db.execute(
                "UPDATE edit_alerts SET status = ?, message_id = ? WHERE post_id = ? AND version = ? AND chat_id = ?",
                [status, message_id, change.post_id, change.version, chat_id],
            )

    def release(self, change: PostChange, chat_id: int, others: Sequence[int] = ()) -> None:
        """Undo a claim whose send certainly failed, and what it coalesced, so it is tried again later."""
        with transaction(self.db):
            claimed = self.db.execute(
                "SELECT decided_at FROM edit_alerts WHERE post_id = ? AND version = ? AND chat_id = ?",
                [change.post_id, change.version, chat_id],
            ).fetchone()
            if claimed is None:
                return
            for post_id in (change.post_id, *others):
                self.db.execute(
                    "DELETE FROM edit_alerts WHERE post_id = ? AND chat_id = ? AND status = 'coalesced' "
                    "AND decided_at = ?",
                    [post_id, chat_id, claimed[0]],
                )
            self.db.execute(
                "DELETE FROM edit_alerts WHERE post_id = ? AND version = ? AND chat_id = ?",
                [change.post_id, change.version, chat_id],
            )

    def decisions(self, chat_id: int) -> list[tuple[int, int, str, int | None]]:
        """(post id, version, status, message id) in the order they were decided."""
        rows = self.db.execute(
            "SELECT post_id, version, status, message_id FROM edit_alerts WHERE chat_id = ? ORDER BY decided_at, "
            "post_id, version",
            [chat_id],
        ).fetchall()
        return [(r[0], r[1], r[2], r[3]) for r in rows]
