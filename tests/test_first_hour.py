"""A new user's first hour, through the real `tgmonitor` entry point in a subprocess (issue #14).

Each test runs the installed console script (or `python -c` with the same `main` when the script
is not on disk) in a scratch directory with none of tgmonitor's settings in the environment, as a
user with a fresh clone would; the demo archive is built once for the module.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ENV_FILE_VARIABLE, SETTING_NAMES

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path(sys.executable).with_name("tgmonitor")
ENTRY = (
    [str(SCRIPT)]
    if SCRIPT.is_file()
    else [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())"]
)
DEMO_DB = "data/demo.db"


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SETTING_NAMES and k != ENV_FILE_VARIABLE}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(ROOT)  # the checkout under test, whatever the venv points at
    return env


def tgm(cwd: Path, *args: str, timeout: float = 120, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ENTRY, *args], cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=timeout, input=stdin
    )


def one_line_error(result: subprocess.CompletedProcess[str], code: int = 1) -> str:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 or (code == 2 and lines[0].startswith("usage:")), result.stderr
    return lines[-1]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scratch directory where `tgmonitor demo` has been run, as after `./dev demo`."""
    where = tmp_path_factory.mktemp("first-hour")
    result = tgm(where, "demo")
    assert result.returncode == 0, result.stderr
    assert (where / DEMO_DB).is_file() and not (where / "data" / "tgmonitor.db").exists()
    assert f"tgmonitor --db {DEMO_DB} search Serbia" in result.stdout  # it says how to explore it
    (where / "demo.out").write_text(result.stdout, encoding="utf-8")
    return where


# ----------------------------------------------------------------------------------- README


def readme_commands() -> list[str]:
    """Every complete command line in README.md and the documentation site: fenced bash lines and inline
    `tgmonitor …` spans (the examples moved to docs/ must keep working as written too)."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    text = "\n".join(page.read_text(encoding="utf-8") for page in pages)
    found = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.DOTALL):
        for line in block.splitlines():
            line = re.sub(r"\s+#\s.*$", "", line).strip()
            if line.startswith(("tgmonitor ", "./dev ")):
                found.append(line)
    found += re.findall(r"`((?:tgmonitor|\./dev) [^`]+)`", text)
    return list(dict.fromkeys(found))


PLACEHOLDER = re.compile(r"\[|…|\\\||\b(?:[A-Z]|QUERY|PATH|CHANNEL|DATE|FILE|ARGS|NAME|COMMAND)\b")
READ_ONLY = {"search", "stats", "digest", "channels", "boilerplate", "status", "spread", "amplifiers", "sources"}


def safe_to_run(command: str) -> bool:
    """Commands that only read the archive; sending, importing, logging in and the service are not."""
    if PLACEHOLDER.search(command) or "~" in command:
        return False
    words = shlex.split(command.split("|")[0])[1:]
    while words and words[0].startswith("--"):
        words = words[2:] if words[0] in {"--db", "--env"} else words[1:]
    if not words or words[0] not in READ_ONLY:
        return False
    return not {"--send", "--due", "--add", "--forget"} & set(words)


def test_readme_lists_the_examples_a_new_user_tries() -> None:
    commands = readme_commands()
    runnable = [c for c in commands if safe_to_run(c)]
    assert "./dev --db data/demo.db search Kosovo" in runnable
    assert len(runnable) >= 8, runnable


@pytest.mark.parametrize("command", [c for c in readme_commands() if safe_to_run(c)])
def test_every_safe_readme_command_works_on_the_demo_archive(home: Path, command: str) -> None:
    """Run as written (./dev is the same command line as tgmonitor), against the demo's archive."""
    line = re.sub(r"^\./dev ", "tgmonitor ", command)
    if "--db" not in line:
        line = line.replace("tgmonitor ", f"tgmonitor --db {DEMO_DB} ", 1)
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", line.replace("tgmonitor ", shlex.join(ENTRY) + " ")],
        cwd=home,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, (line, result.stdout, result.stderr)
    assert result.stdout.strip() and "Traceback" not in result.stderr, line
    if " search Kosovo" in line and "|" not in line:
        assert "Kosovo" in result.stdout and "no posts found" not in result.stdout


def test_the_readme_digest_sample_is_what_the_demo_prints(home: Path) -> None:
    printed = (home / "demo.out").read_text(encoding="utf-8")
    digest = printed[printed.index("Digest ") : printed.index("\nsearch 'Kosovo'")].strip()
    assert digest in (ROOT / "README.md").read_text(encoding="utf-8")
    assert "1 items" not in digest and "[photo]" not in digest


# ------------------------------------------------------------------------------- archives


@pytest.mark.parametrize(
    "args", [["search", "x"], ["stats"], ["digest"], ["boilerplate"], ["channels"], ["status"], ["search", "--json"]]
)
def test_read_only_commands_never_create_an_archive(tmp_path: Path, args: list[str]) -> None:
    result = tgm(tmp_path, "--db", "typo/archive.db", *args)
    assert f"no archive at {Path('typo/archive.db')}" in one_line_error(result)
    assert list(tmp_path.iterdir()) == []  # no folder, no empty archive


def test_the_missing_default_archive_points_at_the_demo(home: Path) -> None:
    message = one_line_error(tgm(home, "search", "Kosovo"))
    assert "no archive at data/tgmonitor.db (the demo's archive is data/demo.db: add --db data/demo.db)" in message
    assert not (home / "data" / "tgmonitor.db").exists()


def test_bad_archive_paths_are_one_line_errors(tmp_path: Path) -> None:
    sample = str(ROOT / "bot" / "data" / "samples" / "serbia_today.json")
    (tmp_path / "folder").mkdir()
    (tmp_path / "notes.txt").write_text("not a database\n" * 100, encoding="utf-8")
    other = sqlite3.connect(tmp_path / "other.db")
    other.execute("CREATE TABLE photos (id INTEGER)")
    other.close()
    for db, why in (
        ("folder", "folder is a directory"),
        ("notes.txt", "notes.txt is not a tgmonitor archive (not an SQLite database)"),
        ("other.db", "other.db is an SQLite database of another program"),
        ("notes.txt/archive.db", "cannot create the archive notes.txt/archive.db: notes.txt is a file, not a folder"),
    ):
        for args in (["import", sample], ["stats"]):
            message = one_line_error(tgm(tmp_path, "--db", db, *args))
            if args[0] == "import" or "/" not in db:
                assert why in message, (db, args, message)
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8").startswith("not a database")
    tables = sqlite3.connect(tmp_path / "other.db").execute("SELECT name FROM sqlite_master").fetchall()
    assert tables == [("photos",)]  # another program's database is left as it was


def test_login_without_network_leaves_no_session_file(tmp_path: Path) -> None:
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-n", "true"]).returncode != 0:
        pytest.skip("needs `unshare -n` (a network namespace with no network)")
    (tmp_path / ".env").write_text("API_ID=12345\nAPI_HASH=0123456789abcdef0123456789abcdef\n", encoding="utf-8")
    result = subprocess.run(
        ["unshare", "-n", *ENTRY, "--env", ".env", "login"],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        input="+381600000000\n",
    )
    message = one_line_error(result)
    assert "Telegram" in message and ("Connection" in message or "could not log in" in message), message
    assert not list(tmp_path.rglob("*.session*"))


# ---------------------------------------------------------------------------- arguments


@pytest.mark.parametrize(
    ("args", "why"),
    [
        (["search", "Kosovo", "--limit", "0"], "--limit: must be a positive number, got 0"),
        (["search", "Kosovo", "--limit", "-1"], "--limit: must be a positive number, got -1"),
        (["search", "Kosovo", "--offset", "-5"], "--offset: must be 0 or more, got -5"),
        (["digest", "--since", "2999-01-01"], "--since 2999-01-01 is in the future"),
        (["search", "Kosovo", "--channel", "t.me/+AbCdEf"], "invite link: join the channel first"),
        (["boilerplate", "--recent", "0"], "--recent: must be a positive number"),
    ],
)
def test_values_that_cannot_be_right_are_usage_errors(home: Path, args: list[str], why: str) -> None:
    assert why in one_line_error(tgm(home, "--db", DEMO_DB, *args), code=2)


def test_a_named_env_file_must_exist(home: Path) -> None:
    for command in (["stats"], ["channels"], ["search", "Kosovo"]):  # even one that needs no setting
        result = tgm(home, "--env", "missing.env", "--db", DEMO_DB, *command)
        assert result.returncode == 1 and "missing.env: no such settings file" in result.stderr


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("CHANNELS=@mfa_russia, https://t.me/+AbCdEf", "is an invite link: join the channel first, then use its @name"),
        ("CHANNELS=@mfa_russia, @ab", "'@ab' is not a channel"),
        ("FORWARDS_FROM=???", "FORWARDS_FROM (.env:1)"),
        ("DIGEST_TAGS=,,,", "DIGEST_TAGS (.env:1): expected a comma-separated list of tags"),
    ],
)
def test_bad_settings_name_the_entry(tmp_path: Path, line: str, why: str) -> None:
    (tmp_path / ".env").write_text(line + "\n", encoding="utf-8")
    result = tgm(tmp_path, "--env", ".env", "--db", "a.db", "stats")
    assert result.returncode == 1 and why in result.stderr and "Traceback" not in result.stderr
    run = tgm(tmp_path, "--env", ".env", "--db", "a.db", "run", timeout=60)
    assert run.returncode == 78 and why in run.stderr  # the service: a configuration problem


def test_run_with_nothing_configured_exits_78_saying_what_to_set(tmp_path: Path) -> None:
    result = tgm(tmp_path, "run", timeout=60)
    assert result.returncode == 78, result.stderr
    assert "nothing to monitor: set CHANNELS" in result.stderr and "BOT_TOKEN" in result.stderr


def test_repeated_tags_mean_any_of_them_in_search_and_digest(home: Path) -> None:
    def ids(*args: str) -> set[int]:
        result = tgm(home, "--db", DEMO_DB, "search", *args, "--json")
        assert result.returncode == 0, result.stderr
        return {p["id"] for p in json.loads(result.stdout)}

    belarus, kosovo = ids("--tag", "belarus"), ids("--tag", "kosovo")
    assert belarus and kosovo and belarus != kosovo
    assert ids("--tag", "belarus", "--tag", "kosovo") == belarus | kosovo

    def digest_ids(*args: str) -> set[int]:
        result = tgm(home, "--db", DEMO_DB, "digest", "--since", "2026-11-01", *args, "--json")
        assert result.returncode == 0, result.stderr
        return {i for s in json.loads(result.stdout)["sections"] for item in s["items"] for i in item["post_ids"]}

    assert digest_ids("--tag", "belarus", "--tag", "kosovo") == digest_ids("--tag", "belarus") | digest_ids(
        "--tag", "kosovo"
    )
    for command in ("search", "digest"):
        shown = " ".join(tgm(home, command, "--help").stdout.split())
        assert "repeated, posts with any of them" in shown.replace("items with", "posts with")


# ------------------------------------------------------------------------------ channels


def test_channels_lists_ids_usernames_titles_and_counts(home: Path) -> None:
    result = tgm(home, "--db", DEMO_DB, "channels", "--json")
    assert result.returncode == 0, result.stderr
    listed = {c["title"]: c for c in json.loads(result.stdout)}
    assert listed["Serbia Today"]["id"] == 1700000002 and listed["Serbia Today"]["posts"] == 3
    assert listed["Balkan Diplomacy Watch"]["posts"] == 7
    text = tgm(home, "--db", DEMO_DB, "channels").stdout
    assert re.search(r"^1700000002\s+-\s+Serbia Today\s+3\s", text, flags=re.MULTILINE), text

    def hits(channel: str) -> list[int]:
        found = tgm(home, "--db", DEMO_DB, "search", "--channel", channel, "--json")
        assert found.returncode == 0, found.stderr
        return [p["id"] for p in json.loads(found.stdout)]

    by_title = hits("Serbia Today")
    assert len(by_title) == 3
    assert hits("serbia today") == hits("1700000002") == hits("-1001700000002") == by_title
    unknown = one_line_error(tgm(home, "--db", DEMO_DB, "search", "--channel", "@serbia_today"))
    assert "unknown channel" in unknown


# ------------------------------------------------------------------------------- output


def test_a_reader_that_stops_early_is_not_an_error(home: Path) -> None:
    args = [*ENTRY, "--db", DEMO_DB, "search", "--json"]
    for _ in range(5):  # the reader gone before the first write: EPIPE every time
        proc = subprocess.Popen(args, cwd=home, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        err = proc.stderr.read()
        proc.stderr.close()
        assert proc.wait(timeout=60) == 0 and err == b"", err
    piped = " ".join(shlex.quote(a) for a in args) + " | head -1"
    for _ in range(5):  # and as a user types it
        result = subprocess.run(
            ["bash", "-o", "pipefail", "-c", piped], cwd=home, env=clean_env(), capture_output=True, text=True
        )
        assert (result.returncode, result.stdout, result.stderr) == (0, "[\n", "")


def test_dev_help_is_the_help_only() -> None:
    if not (ROOT / ".venv" / "bin" / "python").is_file():
        pytest.skip("./dev has not made its .venv here")
    result = subprocess.run(["bash", str(ROOT / "dev"), "help"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0
    assert "set -euo" not in result.stdout and "./dev demo" in result.stdout and "activate" in result.stdout


def test_packaging_declares_the_licence_the_way_setuptools_wants() -> None:
    """SPDX `license` + `license-files` (no deprecation warning on install); the file is there."""
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'license = "MIT"' in pyproject and 'license-files = ["LICENSE"]' in pyproject
    assert re.search(r'"setuptools>=(\d+)', pyproject) and int(re.search(r'"setuptools>=(\d+)', pyproject)[1]) >= 77
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
