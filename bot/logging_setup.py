"""Process-wide logging for the long-running service: one line per event, secrets never written.

A service log ends up in journald, `docker logs` or a log shipper, where a multi-line traceback is
several unrelated events and a leaked bot token is a stolen bot. So every record becomes exactly one
line (text: newlines escaped; json: one object), and a filter on the handler (not on a logger, so it
sees records from every library too) replaces each secret in the message, its args and its
traceback before any formatter runs.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, TextIO

from bot.config import Settings

REDACTED = "[redacted]"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Libraries that log every request or job run at INFO; at INFO the service log should read as
# tgmonitor's own story. LOG_LEVEL=DEBUG lets them through.
_CHATTY = ("httpx", "httpcore", "telethon", "apscheduler", "asyncio")


class RedactSecrets(logging.Filter):
    """Replace every secret in a record's message, arguments, traceback and stack with `[redacted]`.

    The message is rendered (`msg % args`) first, so a secret split across the format string and an
    argument, or hidden in an argument's `repr`, is caught too; args are then dropped.
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        # Longest first: a secret that contains another is replaced whole.
        self.secrets = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))
        self._exc_formatter = logging.Formatter()

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not leak its args through logging's error report
            message = f"{record.msg} (unformattable args: {record.args!r})"
        record.msg = self.redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._exc_formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


class OneLineFormatter(logging.Formatter):
    """The usual text line, with newlines inside the message or traceback escaped as `\\n`."""

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace("\r", "").replace("\n", "\\n")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts (UTC, ISO 8601), level, logger, msg, and exc when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exc"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        return json.dumps(line, ensure_ascii=False)


def make_handler(
    *, level: str = "INFO", log_format: str = "text", secrets: Iterable[str] = (), stream: TextIO | None = None
) -> logging.Handler:
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else OneLineFormatter(TEXT_FORMAT))
    handler.addFilter(RedactSecrets(secrets))
    handler.setLevel(level)
    handler.set_name("tgmonitor")
    return handler


def setup_logging(settings: Settings, stream: TextIO | None = None) -> logging.Handler:
    """Install the one root handler from LOG_LEVEL / LOG_FORMAT; calling it again replaces it."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "tgmonitor"]:
        root.removeHandler(old)
        old.close()
    handler = make_handler(
        level=settings.log_level, log_format=settings.log_format, secrets=settings.secrets, stream=stream
    )
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    quiet = logging.DEBUG if settings.log_level == "DEBUG" else logging.WARNING
    for name in _CHATTY:
        logging.getLogger(name).setLevel(quiet)
    return handler
