"""Edit and deletion alerts (ALERT_EDITS): the diff of a substantive edit, or the text of a deleted post.

`check()` looks at every post with an edit or deletion noticed since edit alerts started for the
chat (at most `max_age` ago) that has no decision yet, longest waiting first, and decides all of the
post's undecided changes at once (one decision row per (post, version)):
* not in a watched channel, not substantive (bot/core/wordiff.py), an edit Telegram dates older
  than `max_age` (an export re-imported long after), or the deletion of a post older than
  `deletion_max_age` (a channel clearing its history is not news): 'skipped';
* otherwise one alert: a claim ('sending') on the latest change before the message goes out, 'sent'
  after, and 'coalesced' for the post's other undecided changes in the claim's transaction, so a
  version is alerted at most once; a crash between storing a version and this run leaves it
  undecided and the next run (after a restart too) sends it, once;
* coalescing (issue #27 item 3: one post edited 3,000 times gave 3,000 alerts): several edits of a
  post are one alert, the diff from before the first to after the last; a post alerted less than
  `cooldown` ago waits, so a post edited every few seconds gives one alert per `cooldown`; a
  deletion covers the post's pending edits too;
* budgets: edit and deletion alerts may use at most half of ALERT_RATE_PER_MINUTE (counted over
  their own kind), and stop when both kinds together reach it, so new-post alerts always keep at
  least half of it and are never starved; what does not fit stays undecided for a later run; a send
  that certainly failed (network, flood wait too long) is released and retried, any other error
  gives that alert up;
* each alert loads only the two texts it compares (storage/versions.py `version_texts`), never the
  post's whole history.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

from bot.app.alerts import TRANSIENT_ERRORS, utc_now
from bot.config import Settings
from bot.core.edits import AlertPost, EditWatch, render_deletion_alert, render_deletions_alert, render_edit_alert
from bot.core.versions import edit_time
from bot.core.wordiff import word_diff
from bot.models import PostChange, StoredPost
from bot.outputs import MessageSender
from bot.scheduler import Scheduler
from storage.edit_alerts import PendingPost
from storage.store import Store

_log = logging.getLogger(__name__)
JOB_ID = "alerts:edits"
COOLDOWN = timedelta(minutes=10)  # a post alerted is not alerted again sooner: its edits are coalesced
DELETION_GROUP = 3  # this many deletions pending in one channel are one alert listing them
DELETION_MAX_AGE = timedelta(days=7)  # deletions of posts older than this are history, not news


@dataclass
class EditAlertRun:
    sent: list[tuple[int, int]] = field(default_factory=list)  # (post id, version; 0 = deleted), in order
    skipped: list[tuple[int, int]] = field(default_factory=list)
    coalesced: list[tuple[int, int]] = field(default_factory=list)  # deletions listed in another's alert
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
        cooldown: timedelta = COOLDOWN,
        deletion_max_age: timedelta = DELETION_MAX_AGE,
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
        self.cooldown = cooldown
        self.deletion_max_age = deletion_max_age
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
            # Each post taken is decided or enters its cooldown, so it does not come back this run;
            # one that does (another process decided its claim first) is not taken twice.
            taken: set[int] = set()
            while pending := self.log.pending(self.chat_id, since, self.clock() - self.cooldown, self.batch):
                pending = [item for item in pending if item.post_id not in taken]
                if not pending:
                    break
                taken.update(item.post_id for item in pending)
                groups = self._deletion_groups(pending, watched)
                grouped = {post.id for group in groups.values() for post in group}
                for item in pending:
                    if item.post_id in groups:
                        ok = await self._group(groups[item.post_id], since, run)
                    elif item.post_id in grouped:
                        continue
                    else:
                        ok = await self._one(item, since, watched, run)
                    if not ok:
                        return run
        return run

    def _deletion_groups(self, pending: list[PendingPost], watched: set[int]) -> dict[int, list[StoredPost]]:
        """Recent posts deleted in one channel, DELETION_GROUP or more: keyed by the first one's id."""
        by_channel: dict[int, list[StoredPost]] = {}
        for item in pending:
            if not item.deleted:
                continue
            post = self.store.get_post(item.post_id)
            change = self.log.change(item.post_id, 0)
            if post is None or change is None or post.channel_id not in watched:
                continue
            if post.date >= change.noticed_at - self.deletion_max_age:
                by_channel.setdefault(post.channel_id, []).append(post)
        return {posts[0].id: posts for posts in by_channel.values() if len(posts) >= DELETION_GROUP}

    async def _group(self, posts: list[StoredPost], since: datetime, run: EditAlertRun) -> bool:
        """One alert for many deletions in a channel (a channel clearing a day's posts)."""
        changes = [c for c in (self.log.change(p.id, 0) for p in posts) if c is not None]
        shown = [(AlertPost(p.channel_label, p.date, p.url), p.text) for p in posts]
        noticed = max(c.noticed_at for c in changes)
        messages = render_deletions_alert(posts[0].channel_label, shown, noticed_at=noticed, tz=self.tz)
        others = [p.id for p in posts[1:]]
        ok = await self._send(changes[0], messages, since, run, others)
        if ok and (changes[0].post_id, 0) in run.sent:
            run.coalesced += [(post_id, 0) for post_id in others]
        return ok

    def _watched_channels(self) -> set[int]:
        return {c.id for c in self.store.channels() if self.watch.covers(c.username, c.tg_id)}

    def _over_budget(self, now: datetime) -> bool:
        minute_ago = now - timedelta(minutes=1)
        own = max(1, self.rate_per_minute // 2)
        return (
            self.log.spent_since(self.chat_id, minute_ago) >= own
            or self.store.alert_log.sent_since(self.chat_id, minute_ago) >= self.rate_per_minute
        )

    async def _one(self, item: PendingPost, since: datetime, watched: set[int], run: EditAlertRun) -> bool:
        """Decide one post's pending changes; False when the run must stop (budget, transient failure)."""
        now = self.clock()
        post = self.store.get_post(item.post_id)
        alert = self._alert(item, post, now) if post is not None and post.channel_id in watched else None
        if alert is None:
            if self.log.decide_all(item.post_id, self.chat_id, since, "skipped", now):
                run.skipped.append((item.post_id, item.last_version or 0))
            return True
        return await self._send(*alert, since, run)

    async def _send(
        self, change: PostChange, messages: list[str], since: datetime, run: EditAlertRun, others: Sequence[int] = ()
    ) -> bool:
        """Claim, send and record one alert; False when the run must stop (budget, transient failure)."""
        now = self.clock()
        key = (change.post_id, change.version)
        if self._over_budget(now):
            run.backlog = True
            return False
        if not self.log.claim(change, self.chat_id, since, now, others):
            return True
        first_id: int | None = None
        try:
            for message in messages:
                message_id = await self.sender.send_html(self.chat_id, message)
                first_id = message_id if first_id is None else first_id
        except TRANSIENT_ERRORS as exc:
            if first_id is None:  # nothing reached the chat: try it again later
                self.log.release(change, self.chat_id, others)
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

    def _alert(self, item: PendingPost, post: StoredPost, now: datetime) -> tuple[PostChange, list[str]] | None:
        """The change to claim and the alert's messages, or None when nothing pending is worth one."""
        shown = AlertPost(post.channel_label, post.date, post.url)
        if item.deleted:
            change = self.log.change(post.id, 0)
            if change is None or post.date < change.noticed_at - self.deletion_max_age:
                return None  # an old post cleared away: history, not news
            return change, render_deletion_alert(shown, post.text, noticed_at=change.noticed_at, tz=self.tz)
        if item.first_version is None or item.last_version is None:
            return None
        change = self.log.change(post.id, item.last_version)
        if change is None:
            return None
        when = edit_time(change, post.date)
        if when < now - self.max_age:
            return None  # an old edit learned late (an export re-imported): history, not news
        # From what the last alert showed (or the version before the first pending edit): the versions
        # between may have been dropped from the history (storage/versions.py keeps 50 a post).
        before_number = self.log.last_alerted(post.id, self.chat_id, item.first_version) or item.first_version - 1
        texts = self.store.version_texts(post.id, [before_number, item.last_version])
        if before_number not in texts or item.last_version not in texts:
            return None
        (shown_before, before), (_, after) = texts[before_number], texts[item.last_version]
        diff = word_diff(before, after)
        if not diff.substantive:
            return None
        edits = item.last_version - shown_before
        messages = render_edit_alert(shown, diff, version=item.last_version, edited_at=when, tz=self.tz, edits=edits)
        return change, messages

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
