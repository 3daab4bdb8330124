from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from storage.store import Store

pytestmark = pytest.mark.both_backends


def run(capsys: pytest.CaptureFixture[str], tmp_path: Path, *args: str) -> tuple[int, str, str]:
    env = tmp_path / ".env"
    named = ["--env", str(env)] if env.exists() else []  # a settings file is read only when named
    code = main([*named, "--db", str(tmp_path / "demo.db"), *args])
    out, err = capsys.readouterr()
    return code, out, err


def digests_rows(tmp_path: Path) -> int:
    store = Store.open(tmp_path / "demo.db")
    try:
        return int(store.db.execute("SELECT count(*) FROM digests").fetchone()[0])
    finally:
        store.close()


def test_dry_run_prints_exactly_what_send_sends_and_neither_is_recorded(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("TZ", "BOT_TOKEN", "DIGEST_CHAT", "DIGEST_OUTPUT", "DIGEST_TAGS", "DIGEST_EMPTY"):
        monkeypatch.delenv(name, raising=False)
    out_file = tmp_path / "sent.txt"
    (tmp_path / ".env").write_text(f"TZ=Europe/Sofia\nDIGEST_OUTPUT={out_file}\n", encoding="utf-8")
    run(capsys, tmp_path, "demo")
    code, dry, err = run(capsys, tmp_path, "digest", "--dry-run", "--since", "2026-11-01")
    assert code == 0 and "nothing sent" in err
    assert dry.startswith("<b>Digest 2026-11-01 00:00 → ") and "seen in 2 channels" in dry
    assert not out_file.exists()
    code, _, err = run(capsys, tmp_path, "digest", "--send", "--since", "2026-11-01")
    assert code == 0 and "sent 1 message(s)" in err
    sent = out_file.read_text(encoding="utf-8")
    assert sent == "----- message 1 to 0 -----\n" + dry
    assert digests_rows(tmp_path) == 0  # ad hoc: the schedule is untouched
    # the scheduled path: a new subscription owes nothing from before it existed
    code, _, err = run(capsys, tmp_path, "digest", "--due")
    assert code == 0 and "nothing due" in err
    assert digests_rows(tmp_path) == 0


def test_send_with_a_bot_token_needs_a_chat(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("BOT_TOKEN", "DIGEST_CHAT", "DIGEST_OUTPUT"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / ".env").write_text("", encoding="utf-8")
    run(capsys, tmp_path, "demo")
    (tmp_path / ".env").write_text("BOT_TOKEN=123456789:AAE_abcdefghijklmnopqrstuvwxyz\n", encoding="utf-8")
    code, _, err = run(capsys, tmp_path, "digest", "--send")
    assert code == 1 and "DIGEST_CHAT is not set" in err


def test_digest_narrows_by_until_channel_and_caps_each_section(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 35.8: `--until` (a date is that whole local day), `--channel`, and "… and N more"."""
    for name in ("TZ", "DIGEST_TAGS", "DIGEST_SECTION_ITEMS"):
        monkeypatch.delenv(name, raising=False)
    run(capsys, tmp_path, "demo")
    code, out, _ = run(capsys, tmp_path, "digest", "--since", "2026-11-20", "--until", "2026-11-20")
    assert code == 0 and out.startswith("Digest 2026-11-20 00:00 → 2026-11-21 00:00 (UTC)\n")
    assert "21 Nov" not in out and "20 Nov 18:45" in out  # the day, whole, and nothing after it
    code, out, _ = run(
        capsys, tmp_path, "digest", "--since", "2026-11-01", "--channel", "Serbia Today", "--per-section", "0"
    )
    assert code == 0 and "Balkan Diplomacy Watch:" not in out and out.count("- 2") == 3
    code, out, _ = run(
        capsys, tmp_path, "digest", "--since", "2026-11-20", "--until", "2026-11-20", "--per-section", "1"
    )
    assert "#РоссияСербия (2)\n- 20 Nov 12:00 Serbia Today:" in out and "\n… and 1 more\n" in out
    code, _, err = run(capsys, tmp_path, "digest", "--since", "2026-11-20", "--until", "2026-11-19")
    assert code == 2 and "--until 2026-11-19 (2026-11-20 00:00 UTC) is not after the start" in err
    code, _, err = run(capsys, tmp_path, "digest", "--since", "2026-11-01", "--channel", "nosuch")
    assert code == 1 and "no channel 'nosuch' in the archive" in err and "Traceback" not in err
    (tmp_path / ".env").write_text("DIGEST_SECTION_ITEMS=٣\n", encoding="utf-8")
    code, _, err = run(capsys, tmp_path, "digest")
    assert code != 0 and "DIGEST_SECTION_ITEMS" in err
