"""The process and its supervisor: sd_notify(3) without libsystemd, stop signals, and the shutdown watchdog."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable, Iterator, Mapping

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


class StopSignals:
    """SIGTERM/SIGINT ask for a clean stop; a second one exits at once (128 + signal).

    Both are safe for the archive: signal handlers run between loop callbacks, never inside a store
    write, and every write is a transaction anyway.
    """

    def __init__(self, request_stop: Callable[[str], None], stopping: Callable[[], bool], log: logging.Logger) -> None:
        self.request_stop = request_stop
        self.stopping = stopping
        self.log = log
        self.installed: list[int] = []

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.on_signal, sig)
                self.installed.append(sig)

    def remove(self, loop: asyncio.AbstractEventLoop) -> None:
        for sig in self.installed:
            loop.remove_signal_handler(sig)
        self.installed = []

    def on_signal(self, sig: int) -> None:
        name = signal.Signals(sig).name
        if self.stopping():
            self.log.critical("second signal (%s): exiting now without cleanup; the archive is safe", name)
            flush_logs()
            os._exit(128 + sig)
        self.log.info("%s received: stopping (a second signal exits at once)", name)
        self.request_stop(name)


@contextlib.contextmanager
def watchdog(deadline: float, log: logging.Logger) -> Iterator[None]:
    """Ends the process (exit 1) if the block takes longer than `deadline` seconds: a hung close must
    not keep a stopping service alive past the supervisor's patience."""

    def expire() -> None:
        log.critical("shutdown did not finish within %.1fs: exiting now", deadline)
        flush_logs()
        os._exit(1)

    timer = threading.Timer(deadline, expire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
