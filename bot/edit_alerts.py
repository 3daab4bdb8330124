"""Edit and deletion alerts (ALERT_EDITS): the diff of a substantive edit, or the text of a deleted post.

`check()` looks at every edit or deletion noticed since edit alerts started for the chat (at most
`max_age` ago) that has no decision yet, oldest first, and records one decision per (post, version):
* not in a watched channel, not substantive (bot/core/wordiff.py), or an edit Telegram dates older
  than `max_age` (an export re-imported long after): 'skipped';
* otherwise a claim ('sending') before the message goes out and 'sent' after, so a version is
  alerted at most once; a crash between storing a version and this run leaves it undecided and the
  next run (after a restart too) sends it, once;
* the rate limit is the one of new-post alerts (ALERT_RATE_PER_MINUTE, counted over both kinds):
  what does not fit stays undecided for a later run; a send that certainly failed (network, flood
  wait too long) is released and retried, any other error gives that alert up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

from bot.alerts import TRANSIENT_ERRORS, utc_now
from bot.config import Settings
from bot.core.edits import AlertPost, EditWatch, render_deletion_alert, render_edit_alert
from bot.core.versions import edit_time
from bot.core.wordiff import word_diff
from bot.models import PostChange, StoredPost
from bot.outputs import MessageSender
from bot.scheduler import Scheduler
from storage.store import Store

_log = logging.getLogger(__name__)
JOB_ID = "alerts:edits"


@dataclass
class EditAlertRun:
    sent: list[tuple[int, int]] = field(default_factory=list)  # (post id, version; 0 = deleted), in order
    skipped: list[tuple[int, int]] = field(default_factory=list)
    failed: list[tuple[int, int]] = field(default_factory=list)
    backlog: bool = False  # stopped by the rate limit or a transient error; a later run continues


class EditAlerter:
    def __init__(
        self,
        *,
        store: Store,
        sender: MessageSender,
        chat_id: int,
        watch: EditWatch,
        tz: tzinfo,
        rate_per_minute: int = 20,
        max_age: timedelta = timedelta(hours=24),
        clock: Callable[[], datetime] = utc_now,
        batch: int = 200,
        logger: logging.Logger = _log,
    ) -> None:
        self.store = store
        self.sender = sender
        self.chat_id = chat_id
        self.watch = watch
        self.tz = tz
        self.rate_per_minute = rate_per_minute
        self.max_age = max_age
        self.clock = clock
        self.batch = batch
        self.log = store.edit_alert_log
        self.logger = logger
        self._lock = asyncio.Lock()
        self._since: datetime | None = None

    def start(self) -> datetime:
        """Edit alerts begin now, unless they began before (a restart still owes what it missed)."""
        if self._since is None:
            self._since = self.log.start(self.chat_id, self.clock())
        return self._since

    async def check(self) -> EditAlertRun:
        run = EditAlertRun()
        if not self.watch.active:
            return run
        async with self._lock:
            since = max(self.start(), self.clock() - self.max_age)
            watched = self._watched_channels()
            while changes := self.log.candidates(self.chat_id, since, self.batch):
                for change in changes:
                    if not await self._one(change, watched, run):
                        return run
        return run

    def _watched_channels(self) -> set[int]:
        return {c.id for c in self.store.channels() if self.watch.covers(c.username, c.tg_id)}

    async def _one(self, change: PostChange, watched: set[int], run: EditAlertRun) -> bool:
        """Decide one change; False when the run must stop (rate limit, transient failure)."""
        now = self.clock()
        key = (change.post_id, change.version)
        post = self.store.get_post(change.post_id)
        messages = self._messages(change, post, now) if post is not None and post.channel_id in watched else None
        if not messages:
            if self.log.decide(change, self.chat_id, "skipped", now):
                run.skipped.append(key)
            return True
        if self.store.alert_log.sent_since(self.chat_id, now - timedelta(minutes=1)) >= self.rate_per_minute:
            run.backlog = True
            return False
        if not self.log.decide(change, self.chat_id, "sending", now):
            return True
        first_id: int | None = None
        try:
            for message in messages:
                message_id = await self.sender.send_html(self.chat_id, message)
                first_id = message_id if first_id is None else first_id
        except TRANSIENT_ERRORS as exc:
            if first_id is None:  # nothing reached the chat: try it again later
                self.log.release(change, self.chat_id)
                self.logger.warning("edit alert for post %d not sent, will retry: %s", change.post_id, exc)
                run.backlog = True
                return False
            self.log.finish(change, self.chat_id, "failed", first_id)
            self.logger.warning("edit alert for post %d sent only in part: %s", change.post_id, exc)
            run.failed.append(key)
        except Exception:
            self.logger.exception("edit alert for post %d failed; giving it up", change.post_id)
            self.log.finish(change, self.chat_id, "failed", first_id)
            run.failed.append(key)
        else:
            self.log.finish(change, self.chat_id, "sent", first_id)
            run.sent.append(key)
        return True

    def _messages(self, change: PostChange, post: StoredPost, now: datetime) -> list[str]:
        """The alert's messages, or [] when this change is not worth one."""
        shown = AlertPost(post.channel_label, post.date, post.url)
        if change.deleted:
            return render_deletion_alert(shown, post.text, noticed_at=change.noticed_at, tz=self.tz)
        when = edit_time(change, post.date)
        if when < now - self.max_age:
            return []  # an old edit learned late (an export re-imported): history, not news
        versions = self.store.versions(post.id)
        if change.version > len(versions):
            return []
        before, after = versions[change.version - 2], versions[change.version - 1]
        diff = word_diff(before.text, after.text)
        if not diff.substantive:
            return []
        return render_edit_alert(shown, diff, version=change.version, edited_at=when, tz=self.tz)

    def schedule(self, scheduler: Scheduler, *, every: float = 30.0) -> None:
        """A periodic run: live edits arrive between polls, and a rate-limited backlog drains."""
        scheduler.add_interval(JOB_ID, self.check, seconds=every)


def make_edit_alerter(settings: Settings, store: Store, sender: MessageSender, chat_id: int) -> EditAlerter:
    return EditAlerter(
        store=store,
        sender=sender,
        chat_id=chat_id,
        watch=EditWatch.parse(settings.alert_edits),
        tz=settings.tz,
        rate_per_minute=settings.alert_rate_per_minute,
    )
