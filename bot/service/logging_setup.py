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
import re
import sys
import urllib.parse
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, TextIO

from bot.config import Settings
from bot.core.numbers import is_ascii_digits

REDACTED = "[redacted]"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Libraries that log every request or job run at INFO; at INFO the service log should read as
# tgmonitor's own story. LOG_LEVEL=DEBUG lets them through.
_CHATTY = ("httpx", "httpcore", "telethon", "apscheduler", "asyncio")


def secret_forms(secret: str) -> set[str]:
    """The ways a secret shows up in text: as is, URL-encoded (a token in a request URL), and for a bot
    token `123:ABC…` its secret half alone (the id before the colon is public)."""
    forms = {secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret)}
    head, colon, tail = secret.partition(":")
    if colon and is_ascii_digits(head) and len(tail) >= 8:
        forms.add(tail)
    return {form for form in forms if form}


class RedactSecrets(logging.Filter):
    """Replace every secret in a record's message, arguments, traceback and stack with `[redacted]`.

    The message is rendered (`msg % args`) first, so a secret split across the format string and an
    argument, or hidden in an argument's `repr`, is caught too; args are then dropped. Matching
    ignores case (an API hash is the same secret in upper case) and knows encoded forms.
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        forms = {form for secret in secrets if secret for form in secret_forms(secret)}
        # Longest first: a secret that contains another is replaced whole.
        self.secrets = tuple(sorted(forms, key=len, reverse=True))
        self._pattern = re.compile("|".join(map(re.escape, self.secrets)), re.IGNORECASE) if forms else None
        self._exc_formatter = logging.Formatter()

    def redact(self, text: str) -> str:
        return self._pattern.sub(REDACTED, text) if self._pattern is not None else text

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


# What a hostile channel title or post may carry into a log line to rewrite the operator's terminal
# (ANSI escapes), hide text (C1 controls) or start a fake line (Unicode line/paragraph separators).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def _escape_unsafe(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


class OneLineFormatter(logging.Formatter):
    """The usual text line: newlines escaped as `\\n`, other control characters as `\\xNN`/`\\uNNNN`."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record).replace("\r\n", "\n").replace("\n", "\\n")
        return _UNSAFE.sub(_escape_unsafe, line)


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
