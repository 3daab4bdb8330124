"""Talking to the supervisor: sd_notify(3) without libsystemd, and flushing logs before a hard exit."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections.abc import Mapping

_log = logging.getLogger(__name__)


def notify_systemd(message: str, environ: Mapping[str, str] | None = None) -> bool:
    """One datagram to $NOTIFY_SOCKET; a no-op outside systemd."""
    address = (environ if environ is not None else os.environ).get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # abstract namespace
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(message.encode())
    except OSError as exc:
        _log.debug("sd_notify %s failed: %s", message, exc)
        return False
    return True


def flush_logs() -> None:
    for handler in logging.getLogger().handlers:
        with contextlib.suppress(Exception):
            handler.flush()
