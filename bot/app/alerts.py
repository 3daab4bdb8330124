"""Alerts: one short message per new post matching ALERT_TAGS/ALERT_WORDS, soon after it is stored.

`check(new_post_ids)` examines every post above the watermark (the ids are a wake-up call and the
start point on the very first run), in arrival order:
* old posts (a Desktop import, a backfill after days down) are passed over: alerts are news, the
  digest covers the rest (`max_age`, 24 h);
* a statement already alerted (same origin, same text or near-duplicate cluster: the forwards of one
  MFA post) is not alerted again;
* at most ALERT_RATE_PER_MINUTE messages in any minute, counted from `alerts_sent` so a restart
  does not reset it; the rest stay above the watermark and go out on a later run (`schedule()`
  adds a periodic run so a backlog drains even when no new posts arrive). Nothing is dropped;
* never twice for the same post: the `alerts_sent` row is written before sending (a crash in
  between loses that alert instead of repeating it). A send that certainly failed (network,
  flood wait too long) releases the row and stops the run, to be retried; any other error
  (the bot was removed from the chat...) is logged and the alert is given up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

from bot.app.access import AccessPolicy
from bot.app.rule_alerts import UserRules, channel_resolver
from bot.app.sink_delivery import SinkDelivery
from bot.config import Settings
from bot.core.alerts import AlertRules, render_alert
from bot.core.rule_match import Matcher
from bot.models import StoredPost
from bot.outputs import MessageSender
from bot.scheduler import Scheduler
from bot.telegram.retry import CONNECTION_ERRORS, FloodWaitTooLong
from storage.alerts import AlertLog
from storage.store import Store

_log = logging.getLogger(__name__)
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (*CONNECTION_ERRORS, FloodWaitTooLong)
JOB_ID = "alerts:flush"
ARTICLE_MARK = "alerts_article_watermark:{chat}"  # meta key: the last article (done_seq) examined


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class AlertRun:
    sent: list[int] = field(default_factory=list)  # post ids alerted, in order
    folded: list[int] = field(default_factory=list)  # matched, but their origin was already alerted
    failed: list[int] = field(default_factory=list)  # given up after a permanent send error
    backlog: bool = False  # stopped by the rate limit or a transient error; a later run continues


class Alerter:
    def __init__(
        self,
        *,
        store: Store,
        sender: MessageSender,
        chat_id: int,
        rules: AlertRules,
        tz: tzinfo,
        rate_per_minute: int = 20,
        max_age: timedelta = timedelta(hours=24),
        clock: Callable[[], datetime] = utc_now,
        batch: int = 500,
        log: AlertLog | None = None,
        logger: logging.Logger = _log,
        destinations: tuple[str, ...] = ("telegram",),
        sinks: SinkDelivery | None = None,
        user_rules: UserRules | None = None,
    ) -> None:
        self.store = store
        self.sender = sender
        self.chat_id = chat_id
        self.rules = rules
        self.tz = tz
        self.rate_per_minute = rate_per_minute
        self.max_age = max_age
        self.clock = clock
        self.batch = batch
        self.log = log or store.alert_log
        self.logger = logger
        self.destinations = destinations  # ALERT_TO: 'telegram' (this chat) and/or sinks
        self.sinks = sinks
        self.user_rules = user_rules  # /alert add: each user's rules, alerted to their own chat
        self._lock = asyncio.Lock()

    async def check(self, new_post_ids: Sequence[int] = ()) -> AlertRun:
        run = AlertRun()
        if not self.rules.active and not (self.user_rules and self.user_rules.active()):
            return run
        async with self._lock:
            mark = self.log.watermark(self.chat_id)
            if mark is None:  # first run: alerts start now, not from the archive's first post
                mark = min(new_post_ids) - 1 if new_post_ids else self.log.max_post_id()
            try:
                mark = await self._scan(mark, run)
            finally:
                self.log.set_watermark(self.chat_id, mark)
        return run

    async def _scan(self, mark: int, run: AlertRun) -> int:
        while candidates := self.log.candidates(mark, self.batch):
            for candidate in candidates:
                now = self.clock()
                post = None
                if not candidate.deleted and candidate.date >= now - self.max_age:
                    post = self.store.get_post(candidate.post_id)
                if post is not None and not await self._consider(post, now, run):
                    return mark
                if post is not None and self.user_rules is not None:
                    await self._consider_users(post, now, run)
                mark = candidate.post_id
        return mark

    async def _consider(self, post: StoredPost, now: datetime, run: AlertRun) -> bool:
        """Alert `post` if it deserves one; False when the run must stop here (rate limit, send error)."""
        texts = self.store.articles.texts(post.id) if post.articles else []
        reasons = self.rules.reasons(post, texts, self._tg_id(post.channel_id)) if self.rules.active else []
        if not reasons:
            return True
        if self.log.origin_alerted(self.chat_id, post) or self.store.articles.alerted_through_article(
            self.chat_id, post.id
        ):
            run.folded.append(post.id)
            return True
        if self.log.sent_since(self.chat_id, now - timedelta(minutes=1)) >= self.rate_per_minute:
            run.backlog = True
            return False
        others = [n for n in self.destinations if n != "telegram"]
        if self.sinks is not None and others:  # owed before the claim: owing twice is a no-op, losing it is not
            self.sinks.enqueue_alert(f"alert:{self.chat_id}:{post.id}", post, reasons, self.tz, others)
        if not self.log.claim(post.id, self.chat_id, now):
            return True
        if "telegram" not in self.destinations:
            self.log.confirm(post.id, self.chat_id, 0)
            run.sent.append(post.id)
            return True
        try:
            message_id = await self.sender.send_html(self.chat_id, render_alert(post, reasons, self.tz))
        except TRANSIENT_ERRORS as exc:
            self.log.release(post.id, self.chat_id)
            self.logger.warning("alert for post %d not sent, will retry: %s", post.id, exc)
            run.backlog = True
            return False
        except Exception:
            self.logger.exception("alert for post %d failed; giving it up", post.id)
            run.failed.append(post.id)
        else:
            self.log.confirm(post.id, self.chat_id, message_id)
            run.sent.append(post.id)
        return True

    def _tg_id(self, channel_id: int) -> int | None:
        row = self.store.channel_by_id(channel_id)  # channel:ID and from: compare Telegram ids
        return row.tg_id if row is not None else None

    async def _consider_users(self, post: StoredPost, now: datetime, run: AlertRun) -> None:
        """Users' own rules (/alert add): one alert per post and user chat, whatever the number of rules."""
        assert self.user_rules is not None
        for chat_id, texts in self.user_rules.matching(post, self._tg_id(post.channel_id)).items():
            if self.log.sent_since(chat_id, now - timedelta(minutes=1)) >= self.rate_per_minute:
                continue  # this user's minute is full: the chat's own alerts are not held up for it
            if not self.log.claim(post.id, chat_id, now):
                continue
            try:
                message_id = await self.sender.send_html(chat_id, render_alert(post, texts, self.tz))
            except TRANSIENT_ERRORS as exc:
                self.log.release(post.id, chat_id)
                self.logger.warning("user alert for post %d to %d not sent: %s", post.id, chat_id, exc)
            except Exception:
                self.logger.exception("user alert for post %d to %d failed; giving it up", post.id, chat_id)
            else:
                self.log.confirm(post.id, chat_id, message_id)
                run.sent.append(post.id)

    async def check_articles(self) -> AlertRun:
        """Posts whose linked article became readable since the last look, judged again with its text.

        A post is examined when it arrives, usually before its article is fetched; this second look
        (from its own watermark over the order articles became readable, so it survives restarts)
        alerts a post that matches only through its article. Never twice: `alerts_sent` still holds.
        """
        run = AlertRun()
        if not self.rules.active:
            return run
        key = ARTICLE_MARK.format(chat=self.chat_id)
        async with self._lock:
            stored = self.store.meta_get(key)
            mark = int(stored) if stored is not None else self.store.articles.max_done_seq()
            try:
                while batch := self.store.articles.done_after(mark, self.batch):
                    for seq, _article_id, post_ids in batch:
                        for post_id in post_ids:
                            now = self.clock()
                            post = self.store.get_post(post_id)
                            if post is None or post.deleted or post.date < now - self.max_age:
                                continue
                            if not await self._consider(post, now, run):
                                return run
                        mark = seq
            finally:
                self.store.meta_set(key, str(mark))
        return run

    def schedule(self, scheduler: Scheduler, *, every: float = 30.0) -> None:
        """A periodic run on the service's scheduler, so a rate-limited backlog drains on its own."""
        scheduler.add_interval(JOB_ID, self.check, seconds=every)


async def alert_chat_id(settings: Settings, sender: MessageSender) -> int | None:
    """ALERT_CHAT, else DIGEST_CHAT, as a numeric id; chat 0 in no-credentials mode (DIGEST_OUTPUT)."""
    chat = settings.alert_chat if settings.alert_chat is not None else settings.digest_chat
    if chat is None and settings.digest_output and not settings.bot_token:
        chat = 0
    return None if chat is None else await sender.resolve_chat(chat)


def make_alerter(
    settings: Settings, store: Store, sender: MessageSender, chat_id: int, sinks: SinkDelivery | None = None
) -> Alerter:
    """ValueError naming the rule for an ALERT_RULES entry that does not parse."""
    normaliser = store.search_index.normaliser
    resolve = channel_resolver(store)
    return Alerter(
        store=store,
        sender=sender,
        chat_id=chat_id,
        rules=AlertRules.from_settings(
            settings.alert_tags, settings.alert_words, normaliser, settings.alert_rules, channels=resolve
        ),
        tz=settings.tz,
        rate_per_minute=settings.alert_rate_per_minute,
        destinations=settings.alert_to,
        sinks=sinks,
        user_rules=UserRules(store.alert_rules, Matcher(normaliser, resolve), AccessPolicy(settings).may_be_alerted),
    )
