"""`tgmonitor sinks`: the SINK_<NAME>s (secrets redacted), their health; `sinks test NAME`; `sinks resume NAME`."""

from __future__ import annotations

import argparse
import asyncio

from bot.app.sink_delivery import SinkDelivery, make_sink_delivery
from bot.cli.argtypes import UsageError
from bot.cli.context import CliContext
from bot.outputs.sinks import SinkError

WRITES = True  # test and resume record the sink's health


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser("sinks", help="list the sinks (SINK_<NAME>, secrets redacted); test or resume one")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    test = actions.add_parser("test", help="send a test message to NAME and show what the service answered")
    test.add_argument("name")
    resume = actions.add_parser("resume", help="unpause NAME and send what it is owed now")
    resume.add_argument("name")
    return parser


def _delivery(ctx: CliContext) -> SinkDelivery | None:
    try:
        return make_sink_delivery(ctx.settings, ctx.store.sink_outbox)
    except SinkError as exc:
        raise ValueError(str(exc)) from None


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    settings = ctx.settings
    delivery = _delivery(ctx)
    targets = delivery.targets if delivery is not None else {}
    if args.action is None:
        digests, alerts = _to(settings.digest_to, "telegram"), _to(settings.alert_to, "telegram")
        print(f"telegram  the chat (DIGEST_CHAT/ALERT_CHAT)  digests: {digests}  alerts: {alerts}")
        for name, target in targets.items():
            health = ctx.store.sink_outbox.health(name)
            state = "PAUSED" if health.paused_at else ("failing" if health.failures else "ok")
            print(
                f"{name}  {target.shown}  format {target.format}, {target.limit} characters a message  "
                f"digests: {_to(settings.digest_to, name)}  alerts: {_to(settings.alert_to, name)}  "
                f"{state}; {health.sent} sent, {health.pending} owed"
                + (f"; last error: {health.last_error}" if health.last_error else "")
            )
        if not targets:
            print("no SINK_<NAME> set: digests and alerts go to the Telegram chat only (docs/sinks-and-rules.md)")
        return 0
    if delivery is None or args.name not in targets:
        known = ", ".join(targets) or "none"
        raise UsageError(f"no sink named {args.name!r} (defined: {known}; set SINK_{args.name.upper()}=<url>)")
    if args.action == "resume":
        ctx.store.sink_outbox.resume(args.name)
        runs = asyncio.run(delivery.deliver(args.name))
        delivery.close()
        print(
            f"{args.name}: resumed; {len(runs.sent)} delivered now"
            + (f"; failed: {runs.failed}" if runs.failed else "")
        )
        return 0 if runs.failed is None else 1
    accepted, answer = asyncio.run(delivery.test(args.name))
    delivery.close()
    print(f"{args.name} ({targets[args.name].shown}): {'accepted' if accepted else 'NOT accepted'}: {answer}")
    return 0 if accepted else 1


def _to(names: tuple[str, ...], name: str) -> str:
    return "yes" if name in names else "no"
