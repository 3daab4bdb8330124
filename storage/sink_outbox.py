"""The sink outbox: what each sink owes, and each sink's health.  The record behind "exactly once".

A delivery is one row per (sink, key), the key naming what it is: `digest:<subscription>:<window end>`,
`alert:<chat>:<post>`, `alert:user<id>:<post>`.  Inserting it is idempotent (the pair is unique), so
deciding twice, after a crash or in two processes, owes it once.  Its messages are frozen as rendered
for that sink when it is decided; `parts_sent` moves after each message the service accepted, so a
crash resumes from the next one and re-sends at most the one in flight (the digests table's promise,
storage/digests.py).

`sink_state` counts failures in a row per sink; bot/app/sink_delivery.py pauses a sink past a limit and
`tgmonitor status` reports it.  Nothing owed is dropped while a sink is paused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlite_utils

from storage.db import transaction
from storage.timefmt import from_db_time, to_db_time

_COLUMNS = "id, sink, key, kind, title, parts, parts_sent, status, attempts, next_try_at, last_error, sent_at"


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    sink: str
    key: str
    kind: str  # digest | alert | test
    title: str
    parts: tuple[str, ...]
    parts_sent: int
    status: str  # pending | sent
    attempts: int
    next_try_at: datetime
    last_error: str | None
    sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class SinkHealth:
    sink: str
    failures: int  # in a row
    paused_at: datetime | None
    last_error: str | None
    last_ok_at: datetime | None
    pending: int  # deliveries owed
    sent: int


def _now() -> datetime:
    return datetime.now(UTC)


class SinkOutbox:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def enqueue(
        self, sink: str, key: str, kind: str, title: str, parts: tuple[str, ...], *, now: datetime | None = None
    ) -> bool:
        """Owe `parts` to `sink` under `key`; False (and nothing changed) when it was owed already."""
        at = to_db_time(now or _now())
        with transaction(self.db):
            cur = self.db.execute(
                "INSERT OR IGNORE INTO sink_deliveries(sink, key, kind, title, parts, next_try_at, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [sink, key, kind, title, json.dumps(list(parts), ensure_ascii=False), at, at],
            )
        return cur.rowcount == 1

    def _rows(self, where: str, params: list[object], limit: int | None = None) -> list[Delivery]:
        page = "" if limit is None else f" LIMIT {int(limit)}"  # no LIMIT -1 for "all": PostgreSQL refuses it
        rows = self.db.execute(f"SELECT {_COLUMNS} FROM sink_deliveries WHERE {where} ORDER BY id{page}", params)
        out = []
        for r in rows.fetchall():
            parts = tuple(json.loads(r[5]))
            due = from_db_time(r[9]) or _now()
            out.append(Delivery(r[0], r[1], r[2], r[3], r[4], parts, r[6], r[7], r[8], due, r[10], from_db_time(r[11])))
        return out

    def due(self, sink: str, now: datetime, limit: int = 20) -> list[Delivery]:
        return self._rows("sink = ? AND status = 'pending' AND next_try_at <= ?", [sink, to_db_time(now)], limit)

    def get(self, sink: str, key: str) -> Delivery | None:
        found = self._rows("sink = ? AND key = ?", [sink, key])
        return found[0] if found else None

    def all(self, sink: str | None = None) -> list[Delivery]:
        return self._rows("sink = ?", [sink]) if sink else self._rows("1", [])

    def next_due(self, sink: str) -> datetime | None:
        row = self.db.execute(
            "SELECT min(next_try_at) FROM sink_deliveries WHERE sink = ? AND status = 'pending'", [sink]
        ).fetchone()
        return from_db_time(row[0]) if row and row[0] else None

    def part_sent(self, delivery_id: int, index: int) -> None:
        """Message `index` accepted by the service; a repeated call for the same index changes nothing."""
        with transaction(self.db):
            self.db.execute(
                "UPDATE sink_deliveries SET parts_sent = ? WHERE id = ? AND parts_sent = ?",
                [index + 1, delivery_id, index],
            )

    def finish(self, delivery_id: int, *, now: datetime | None = None) -> None:
        with transaction(self.db):
            self.db.execute(
                "UPDATE sink_deliveries SET status = 'sent', sent_at = ?, last_error = NULL WHERE id = ?",
                [to_db_time(now or _now()), delivery_id],
            )

    def retry_later(self, delivery_id: int, error: str, at: datetime) -> None:
        with transaction(self.db):
            self.db.execute(
                "UPDATE sink_deliveries SET attempts = attempts + 1, last_error = ?, next_try_at = ? WHERE id = ?",
                [error[:500], to_db_time(at), delivery_id],
            )

    # ------------------------------------------------------------------ health
    def health(self, sink: str) -> SinkHealth:
        row = self.db.execute(
            "SELECT failures, paused_at, last_error, last_ok_at FROM sink_state WHERE sink = ?", [sink]
        ).fetchone()
        counts = dict(
            self.db.execute(
                "SELECT status, count(*) FROM sink_deliveries WHERE sink = ? GROUP BY status", [sink]
            ).fetchall()
        )
        if row is None:
            return SinkHealth(sink, 0, None, None, None, counts.get("pending", 0), counts.get("sent", 0))
        return SinkHealth(
            sink,
            row[0],
            from_db_time(row[1]),
            row[2],
            from_db_time(row[3]),
            counts.get("pending", 0),
            counts.get("sent", 0),
        )

    def record_failure(self, sink: str, error: str) -> int:
        """One more failure in a row; returns how many now."""
        with transaction(self.db):
            self.db.execute(
                "INSERT INTO sink_state(sink, failures, last_error) VALUES (?, 1, ?) ON CONFLICT(sink) DO UPDATE "
                "SET failures = sink_state.failures + 1, last_error = excluded.last_error",
                [sink, error[:500]],
            )
        return self.health(sink).failures

    def record_ok(self, sink: str, now: datetime | None = None) -> None:
        with transaction(self.db):
            self.db.execute(
                "INSERT INTO sink_state(sink, failures, last_ok_at) VALUES (?, 0, ?) ON CONFLICT(sink) DO UPDATE "
                "SET failures = 0, last_ok_at = excluded.last_ok_at, paused_at = NULL",
                [sink, to_db_time(now or _now())],
            )

    def pause(self, sink: str, now: datetime | None = None) -> None:
        with transaction(self.db):
            self.db.execute(
                "INSERT INTO sink_state(sink, paused_at) VALUES (?, ?) ON CONFLICT(sink) DO UPDATE "
                "SET paused_at = excluded.paused_at",
                [sink, to_db_time(now or _now())],
            )

    def resume(self, sink: str, now: datetime | None = None) -> None:
        """Unpause and make everything owed due now."""
        with transaction(self.db):
            self.db.execute("UPDATE sink_state SET paused_at = NULL, failures = 0 WHERE sink = ?", [sink])
            self.db.execute(
                "UPDATE sink_deliveries SET next_try_at = ? WHERE sink = ? AND status = 'pending'",
                [to_db_time(now or _now()), sink],
            )

    def sinks_known(self) -> list[str]:
        rows = self.db.execute("SELECT sink FROM sink_state UNION SELECT DISTINCT sink FROM sink_deliveries")
        return sorted(r[0] for r in rows.fetchall())
