"""A throwaway PostgreSQL server for the tests and benchmarks: `initdb` into a temporary folder,
`pg_ctl start` on 127.0.0.1 and a free port, stopped and removed at the end.

Debian installs the server binaries in /usr/lib/postgresql/NN/bin (package `postgresql`), off PATH;
they are looked for there, then on PATH. `initdb` refuses to run as root, so under root the cluster
belongs to the unprivileged `postgres` user the package creates. Nothing is left running: `stop()`
(or the context manager) ends the server; a crashed test run's folder is in the system temp dir.

Run it by hand for a quick try: `python -m tools.pg_local` prints a URL and waits for Ctrl-C.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path


class NoServer(RuntimeError):
    """No PostgreSQL server binaries here (or they would not start); the message says which."""


def find_bin_dir() -> Path | None:
    override = os.environ.get("TGMONITOR_PG_BIN")
    if override:
        return Path(override)
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if versions:
        return Path(versions[-1]).parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LocalServer:
    bin_dir: Path
    root: Path
    port: int
    user: str | None  # the OS user the cluster runs as (None: this one)
    superuser: str = "tgmonitor"
    _started: bool = field(default=False, repr=False)

    @property
    def url(self) -> str:
        return f"postgresql://{self.superuser}@127.0.0.1:{self.port}/postgres"

    def url_for(self, database: str, *, user: str | None = None, password: str | None = None) -> str:
        who = user or self.superuser
        if password:
            who += f":{password}"
        return f"postgresql://{who}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=check, timeout=120)

    def start(self) -> None:
        data = self.root / "data"
        try:
            self._run(
                "initdb", "-D", str(data), "-U", self.superuser, "--auth=trust", "--encoding=UTF8",
                "--locale=C.UTF-8", "--no-sync",
            )  # fmt: skip
        except subprocess.CalledProcessError as exc:
            raise NoServer(f"initdb failed: {(exc.stderr or exc.stdout).strip().splitlines()[-1:]}") from exc
        settings = (
            f"listen_addresses = '127.0.0.1'\nport = {self.port}\nunix_socket_directories = '{self.root}'\n"
            "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 100\n"
            "shared_buffers = 128MB\n"
        )
        with open(data / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(settings)
        try:
            self._run("pg_ctl", "-D", str(data), "-l", str(self.root / "server.log"), "-w", "-t", "60", "start")
        except subprocess.CalledProcessError as exc:
            log = (self.root / "server.log").read_text(errors="replace")[-400:]
            raise NoServer(f"pg_ctl start failed: {log.strip()}") from exc
        self._started = True

    def stop(self) -> None:
        if self._started:
            self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop", check=False)
            self._started = False
        shutil.rmtree(self.root, ignore_errors=True)


def start_server() -> LocalServer:
    """Start a private server; NoServer says why it cannot (no binaries, no `postgres` user as root…)."""
    bin_dir = find_bin_dir()
    if bin_dir is None or not (bin_dir / "initdb").exists():
        raise NoServer("no PostgreSQL server binaries (Debian: apt-get install postgresql)")
    user = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise NoServer("running as root and there is no 'postgres' user to run initdb as") from None
        user = "postgres"
    root = Path(tempfile.mkdtemp(prefix="tgmonitor-pg-"))
    if user:
        shutil.chown(root, user)
    server = LocalServer(bin_dir, root, _free_port(), user)
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    return server


@contextlib.contextmanager
def running() -> Iterator[LocalServer]:
    server = start_server()
    try:
        yield server
    finally:
        server.stop()


def main() -> None:
    with running() as server:
        print(server.url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)


if __name__ == "__main__":
    main()
