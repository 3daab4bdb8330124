"""This `tgmonitor run`'s notes in the archive, under its SERVICE_NAME: what `tgmonitor status` judges.

The keys and the rules that read them are storage/services.py. Each note is one transaction
(`Store.meta_set_many`); the notes around a failed start are best-effort, since the archive itself
may be what could not be reached.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from bot.core.numbers import ascii_int
from bot.service.logging_setup import RedactSecrets
from storage import services
from storage.store import Store
from storage.timefmt import to_db_time


def _now() -> str:
    return to_db_time(datetime.now(UTC))


class ServiceNotes:
    def __init__(self, store: Store, name: str | None, log: logging.Logger, secrets: Iterable[str] = ()) -> None:
        self.store = store
        self.name = name or services.DEFAULT_SERVICE
        self.log = log
        # A start error is stored where any reader of the archive sees it, so it gets the same redaction
        # as a log line: its wording is not trusted to leave out a token or a password.
        self._redact = RedactSecrets(secrets).redact

    def note(self, values: Mapping[str, str]) -> None:
        self.store.meta_set_many({services.key(self.name, field): value for field, value in values.items()})

    def note_safely(self, values: Mapping[str, str]) -> None:
        try:
            self.note(values)
        except Exception as exc:
            self.log.warning("could not note the service's state in the archive: %s: %s", exc.__class__.__name__, exc)

    def starting(self, poll_interval: int) -> None:
        """Before anything connects: a start that fails or hangs is then seen as this service's."""
        self._warn_if_shared()
        self.note_safely(
            {
                "state": "starting",
                "pid": str(os.getpid()),
                "host": socket.gethostname(),
                "started_at": _now(),
                "stopped_at": "",
                "error": "",
                "poll_interval": str(poll_interval),
            }
        )

    def running(self, source: str, poll_interval: int) -> None:
        self.note(
            {
                "state": "running",
                "pid": str(os.getpid()),
                "started_at": _now(),
                "source": source,
                "poll_interval": str(poll_interval),
                "heartbeat_at": "",
            }
        )

    def polled(self, read_a_channel: bool) -> None:
        now = _now()
        self.note({"last_poll_at": now, "last_poll_ok_at": now} if read_a_channel else {"last_poll_at": now})

    def heartbeat(self) -> None:
        self.note({"heartbeat_at": _now()})

    def stopped(self, *, started: bool, start_error: str | None) -> None:
        if started:
            self.note({"state": "stopped", "stopped_at": _now()})
        elif start_error is not None:
            self.note_safely({"state": "failed", "stopped_at": _now(), "error": self._redact(start_error)[:500]})
        else:  # asked to stop while starting
            self.note_safely({"state": "stopped", "stopped_at": _now()})

    def _warn_if_shared(self) -> None:
        try:
            entry = {field: self.store.meta_get(services.key(self.name, field)) for field in services.FIELDS}
        except Exception:  # the archive may be what cannot be reached; the start reports that itself
            return
        read: dict[str, object] = {**entry, "pid": ascii_int(entry["pid"] or "")}
        other = services.held_by_another(read, datetime.now(UTC), socket.gethostname(), os.getpid())
        if other is not None:
            self.log.warning(
                "another live service (%s) notes its state as %r: give each service of a team its own "
                "SERVICE_NAME, or `tgmonitor status` shows whichever wrote last",
                other,
                self.name,
            )
