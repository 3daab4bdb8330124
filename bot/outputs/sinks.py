"""Sinks: where digests and alerts go besides the Telegram chat, delivered by Apprise.

Apprise is the maintained library behind ~100 services, each configured by one URL (json://,
mailtos://, slack://, ntfy://, matrix://...), so tgmonitor writes no client per service.  This adapter
turns a `SINK_<NAME>` URL into a `SinkTarget` (the format the sink wants, the service's message
limit from Apprise's own `body_maxlen`) and posts one message, answering whether the service accepted
it and what it said (Apprise's log lines for that send, secrets redacted).  It blocks: callers run it
in the sink's own thread with a timeout (bot/app/sink_delivery.py), so a slow service holds up nothing else.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from bot.core.sink_format import SinkFormat
from bot.setting_values import redacted_url, sink_secrets

_MARKDOWN_APPS = frozenset(
    [
        "slack",
        "discord",
        "mmost",
        "mmosts",
        "matrix",
        "matrixs",
        "rocket",
        "rockets",
        "zulip",
        "msteams",
        "workflows",
        "gchat",
        "ntfy",
        "ntfys",
        "revolt",
        "guilded",
        "ryver",
        "twist",
        "flock",
    ]
)
_FORMATS = {"json": "json", "jsons": "json", "mailto": "email", "mailtos": "email", "tgram": "telegram"}
_EXPLICIT_FORMAT = re.compile(r"[?&]format=(\w+)")


# Where a service's real limit is below Apprise's body_maxlen: ntfy takes 4,096 bytes as a message and
# Apprise posts anything longer as a file attachment, so 2,000 characters (Cyrillic is 2 bytes a letter).
_LIMITS = {"ntfy": 2000, "ntfys": 2000}


class SinkError(ValueError):
    """A sink that cannot be used; the message names the sink and never holds its secrets."""


@dataclass(frozen=True)
class SinkTarget:
    name: str
    url: str = field(repr=False)  # holds secrets: never logged, never shown (use `shown`)
    format: SinkFormat
    limit: int  # characters per message the service takes
    shown: str  # the URL, secrets redacted

    def redact(self, text: str) -> str:
        for secret in sorted(sink_secrets(self.url), key=len, reverse=True):
            text = text.replace(secret, "[redacted]")
        return text.replace(self.url, self.shown)


def sink_format(scheme: str, url: str) -> SinkFormat:
    """What a sink is sent: by its kind, unless the URL says `format=` (Apprise's own parameter)."""
    if scheme in _FORMATS:
        return _FORMATS[scheme]  # type: ignore[return-value]
    explicit = _EXPLICIT_FORMAT.search(url)
    if explicit is not None:
        return {"html": "telegram", "markdown": "markdown"}.get(explicit.group(1).lower(), "text")  # type: ignore[return-value]
    return "markdown" if scheme in _MARKDOWN_APPS else "text"


def _apprise() -> Any:
    import apprise

    return apprise


def load_target(name: str, url: str) -> SinkTarget:
    """The sink named `name`; SinkError when Apprise cannot read its URL (the message shows it redacted)."""
    shown = redacted_url(url)
    scheme = url.split("://", 1)[0].lower()
    fmt = sink_format(scheme, url)
    if fmt == "markdown" and not _EXPLICIT_FORMAT.search(url):
        url += ("&" if "?" in url else "?") + "format=markdown"  # chat apps render it; Apprise's default is text
    plugin = _apprise().Apprise.instantiate(url)
    if plugin is None:
        raise SinkError(f"sink {name!r}: Apprise cannot use {shown} (unknown service or a malformed URL)")
    limit = min(int(plugin.body_maxlen or 32768), _LIMITS.get(scheme, 1 << 30))
    return SinkTarget(name, url, fmt, max(256, limit), shown)


class _ThreadAnswers(logging.Handler):
    """Apprise's log lines of the send running in this thread: what the service answered."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.local = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        lines = getattr(self.local, "lines", None)
        if lines is not None:
            lines.append(f"{record.levelname}: {record.getMessage()}")


class ApprisePoster:
    """Posts one message to one sink.  Thread-safe: each call builds its own Apprise object."""

    def __init__(self) -> None:
        apprise = _apprise()
        self._formats = {
            "telegram": apprise.NotifyFormat.HTML,
            "email": apprise.NotifyFormat.HTML,
            "markdown": apprise.NotifyFormat.MARKDOWN,
            "json": apprise.NotifyFormat.TEXT,
            "text": apprise.NotifyFormat.TEXT,
        }
        self._answers = _ThreadAnswers()
        logger = logging.getLogger("apprise")
        if not any(isinstance(h, _ThreadAnswers) for h in logger.handlers):
            logger.addHandler(self._answers)
        else:
            self._answers = next(h for h in logger.handlers if isinstance(h, _ThreadAnswers))
        if logger.getEffectiveLevel() > logging.INFO:
            logger.setLevel(logging.INFO)

    def post(self, target: SinkTarget, title: str, body: str) -> tuple[bool, str]:
        """(accepted, what the service answered), secrets redacted."""
        apprise = _apprise()
        sender = apprise.Apprise()
        if not sender.add(target.url):
            return False, f"Apprise cannot use {target.shown}"
        self._answers.local.lines = []
        try:
            accepted = bool(
                sender.notify(
                    body=body,
                    title=title if target.format in ("email", "json") else "",
                    body_format=self._formats[target.format],
                )
            )
        except Exception as exc:  # a plugin bug must not take the sink's thread down
            accepted = False
            self._answers.local.lines.append(f"ERROR: {type(exc).__name__}: {exc}")
        finally:
            lines: list[str] = self._answers.local.lines
            self._answers.local.lines = None
        wanted = [line for line in lines if not line.startswith("DEBUG")]
        answer = "; ".join(wanted[-3:]) or ("accepted" if accepted else "not accepted (no details)")
        return accepted, target.redact(answer)[:500]
