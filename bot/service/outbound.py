"""What `tgmonitor run` sends: sinks (SINK_<NAME>), digests, rule alerts and edit alerts.

They start after the bot, because the bot is their Telegram sender (without it: stdout or the
DIGEST_OUTPUT file), and they react to what the source stored: a poll (`polled`), a live update
(`live_saved`), an article that became readable (`articles_stored`). Start-up returns one line per
part (on, or off with the reason), which the service logs with its own. A service with no bot and
DIGEST_OUTPUT=off sends nothing at all, so a team's listener never claims a window that the bot's
service is there to send (docs/team.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from bot.app.access import AccessPolicy
from bot.app.alerts import JOB_ID as ALERTS_JOB
from bot.app.alerts import Alerter, alert_chat_id, make_alerter
from bot.app.digest_jobs import DigestRunner, DigestScheduler, sync_settings_subscription
from bot.app.edit_alerts import EditAlerter, make_edit_alerter
from bot.app.rule_alerts import rule_filter
from bot.app.sink_delivery import SinkDelivery, make_sink_delivery
from bot.config import Settings
from bot.core.alerts import AlertRules
from bot.core.edits import EditWatch
from bot.core.rules import RuleError
from bot.outputs import MessageSender
from bot.outputs.sinks import SinkError
from bot.scheduler import Scheduler
from bot.service.parts import ServiceConfigError, plural, sink_label
from storage.store import Store

ALERT_DRAIN_EVERY = 30.0  # seconds between alert runs that drain a rate-limited backlog
_OFF_HERE = "off here (no BOT_TOKEN and DIGEST_OUTPUT=off: the service with the bot sends them)"


class Outbound:
    """Sinks, digests, alerts and edit alerts of one service run; each None while off."""

    def __init__(self, settings: Settings, store: Store, scheduler: Scheduler, stop: asyncio.Event) -> None:
        self.settings = settings
        self.store = store
        self.scheduler = scheduler
        self._stop = stop
        self.digests: DigestScheduler | None = None
        self.alerter: Alerter | None = None
        self.sinks: SinkDelivery | None = None
        self.edit_alerter: EditAlerter | None = None
        self._sink_task: asyncio.Task[None] | None = None
        self._has_bot = False

    async def start(self, sender: MessageSender, *, has_bot: bool) -> list[str]:
        """Sinks first (digests and alerts owe them deliveries), then digests, alerts, edit alerts."""
        self._has_bot = has_bot
        return [
            self._start_sinks(),
            await self._start_digests(sender),
            await self._start_alerts(sender),
            await self._start_edit_alerts(sender),
        ]

    def _only_archives(self) -> bool:
        """No bot and DIGEST_OUTPUT=off: this process sends nothing."""
        return not self._has_bot and self.settings.digest_output is None

    async def _start_digests(self, sender: MessageSender) -> str:
        s = self.settings
        if self._only_archives():
            return "digests: " + _OFF_HERE
        if s.digest_rule:
            try:
                rule_filter(self.store, s.digest_rule)
            except RuleError as exc:
                raise ServiceConfigError(f"DIGEST_RULE: {exc}") from None
        subscriptions = self.store.subscriptions
        await sync_settings_subscription(s, subscriptions, sender)
        runner = DigestRunner(
            store=self.store,
            sender=sender,
            empty=s.digest_empty,
            may_receive=AccessPolicy(s).may_receive,
            amplification=s.digest_amplification,
            sinks=self.sinks,
            per_section=s.digest_section_items or None,
        )
        self.digests = DigestScheduler(runner, self.scheduler)
        self.digests.start(catch_up=False)  # caught up after the first poll: see `polled`
        subs = subscriptions.list()
        if not subs:
            return "digests: off (no subscription: set DIGEST_CHAT" + (
                ", or /subscribe in the bot)" if self._has_bot else ", or DIGEST_OUTPUT=- to print)"
            )
        first = subs[0]
        more = f" and {len(subs) - 1} more" if len(subs) > 1 else ""
        return (
            f"digests: on, {plural(len(subs), 'subscription')} (daily {first.time:%H:%M} {first.tz.key}{more}) "
            f"→ {sink_label(sender)}; missed windows go out after the first poll"
        )

    def _start_sinks(self) -> str:
        """SINK_<NAME>s, each delivered by its own task and thread (bot/app/sink_delivery.py)."""
        try:
            self.sinks = make_sink_delivery(self.settings, self.store.sink_outbox)
        except SinkError as exc:
            raise ServiceConfigError(str(exc)) from None
        if self.sinks is None:
            return "sinks: none (digests and alerts go to the Telegram chat only)"
        self._sink_task = asyncio.create_task(self.sinks.run(self._stop))
        shown = ", ".join(f"{t.name} ({t.format})" for t in self.sinks.targets.values())
        return (
            f"sinks: {shown}; DIGEST_TO={','.join(self.settings.digest_to)} ALERT_TO={','.join(self.settings.alert_to)}"
        )

    async def _start_alerts(self, sender: MessageSender) -> str:
        s = self.settings
        if self._only_archives():
            return "alerts: " + _OFF_HERE
        try:
            rules = AlertRules.from_settings(s.alert_tags, s.alert_words, rules=s.alert_rules)
        except ValueError as exc:
            raise ServiceConfigError(str(exc)) from None
        users = self.store.alert_rules.every()
        if not rules.active and not users and not self._has_bot:
            return "alerts: off (no ALERT_TAGS or ALERT_WORDS, no ALERT_RULES or /alert rules)"
        chat = await alert_chat_id(s, sender)
        if chat is None and ("telegram" not in s.alert_to or not rules.active):
            chat = 0  # ALERT_TO names sinks only, or only users' /alert rules (sent to their own chats)
        if chat is None:
            return "alerts: off (no ALERT_CHAT or DIGEST_CHAT to send to, and no DIGEST_OUTPUT)"
        self.alerter = make_alerter(s, self.store, sender, chat, self.sinks)
        self.alerter.schedule(self.scheduler, every=ALERT_DRAIN_EVERY)
        watching = f"{plural(len(rules.tags), 'tag')}, {plural(len(rules.words), 'word')}"
        watching += f", {plural(len(s.alert_rules), 'rule')}" if s.alert_rules else ""
        watching += f", {plural(len(users), 'user rule')}" if users else ""
        return f"alerts: on ({watching}) → {sink_label(sender)}, at most {s.alert_rate_per_minute} a minute"

    async def _start_edit_alerts(self, sender: MessageSender) -> str:
        s = self.settings
        watch = EditWatch.parse(s.alert_edits)
        if not watch.active:
            return "edit alerts: off (no ALERT_EDITS)"
        if self._only_archives():
            return "edit alerts: " + _OFF_HERE
        chat = await alert_chat_id(s, sender)
        if chat is None:
            return "edit alerts: off (no ALERT_CHAT or DIGEST_CHAT to send to, and no DIGEST_OUTPUT)"
        self.edit_alerter = make_edit_alerter(s, self.store, sender, chat)
        self.edit_alerter.start()  # before the first poll, so the edits it finds are alerted
        self.edit_alerter.schedule(self.scheduler, every=ALERT_DRAIN_EVERY)
        return (
            f"edit alerts: on ({watch.describe()}: substantive edits and deletions) → {sink_label(sender)}, "
            f"sharing the limit of {s.alert_rate_per_minute} a minute"
        )

    # ------------------------------------------------------------- reacting
    async def polled(self, new_ids: Sequence[int], *, first: bool) -> None:
        """After a poll: the missed digest windows after the first one, alerts for what it stored, edits."""
        if first and self.digests is not None:
            # Digest windows missed while down, now that the archive holds what arrived meanwhile.
            self.scheduler.add_once("digest-catch-up", self.digests.runner.catch_up)
        if self.alerter is not None and new_ids:
            await self.alerter.check(new_ids)
        if self.edit_alerter is not None:
            await self.edit_alerter.check()

    async def articles_stored(self) -> None:
        """Articles became readable: posts that match only through them may deserve an alert now."""
        if self.alerter is not None:
            await self.alerter.check_articles()

    def live_saved(self, post_ids: Sequence[int]) -> None:
        """A live update stored new posts: their alerts go out now, not at the next poll or drain run."""
        if self.alerter is not None:
            self.scheduler.run_soon(ALERTS_JOB)

    def subscriptions_changed(self) -> None:
        if self.digests is not None:
            self.digests.reload()

    async def close(self) -> None:
        if self._sink_task is not None:
            self._sink_task.cancel()
            await asyncio.gather(self._sink_task, return_exceptions=True)
        if self.sinks is not None:
            self.sinks.close()
