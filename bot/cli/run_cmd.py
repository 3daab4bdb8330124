"""`tgmonitor run`: the background service (what systemd and the container start)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.cli.context import CliContext
from bot.config import SettingsError
from bot.core.clean import BoilerplateError
from bot.core.tags import RulesError
from bot.service.logging_setup import setup_logging
from bot.service.run import EX_CONFIG, Service, pause_before_retry
from storage.db import ArchiveUnreachableError

WRITES = True  # may create the archive (bot/cli/context.py)
SETTINGS_ERROR_EXIT = EX_CONFIG  # invalid settings: a supervisor must not restart it in a loop


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    return sub.add_parser(
        "run",
        help="run the monitor: poll or listen, schedule digests and alerts, answer the bot (SIGTERM stops)",
        description=(
            "Runs until SIGTERM/SIGINT. Start-up logs what runs and what is off and why. Exit codes: 0 clean "
            "stop, 1 error, 78 configuration problem (fix the settings; restarting will not help)."
        ),
    )


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    try:
        settings = ctx.settings
    except SettingsError as exc:
        # A supervisor restarting a service with bad settings only fills the journal; 78 stops that.
        print(f"tgmonitor: error: {exc}", file=sys.stderr)
        return EX_CONFIG
    settings = settings.with_archive(ctx.location)  # --db wins, and start-up names the real archive
    setup_logging(settings)
    try:
        archive = ctx.archive
    except ArchiveUnreachableError as exc:  # the database server is down or restarting
        return asyncio.run(pause_before_retry(str(exc)))
    except (RulesError, BoilerplateError) as exc:  # RULES_FILE / BOILERPLATE_FILE: settings too, so 78
        print(f"tgmonitor: error: {exc}", file=sys.stderr)
        return EX_CONFIG
    return asyncio.run(Service(settings, archive).run())
