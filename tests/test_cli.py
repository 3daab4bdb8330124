from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main


def run(capsys: pytest.CaptureFixture[str], tmp_path: Path, *args: str) -> tuple[int, str, str]:
    code = main(["--db", str(tmp_path / "demo.db"), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_demo_end_to_end(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, tmp_path, "demo")
    assert code == 0
    digest = out.split("search 'Kosovo'")[0]
    # every post once, paragraphs once, no boilerplate
    assert digest.count("On November 20, Foreign Minister Sergey Lavrov held talks") == 1
    assert "seen in 2 channels" in digest
    for junk in ("VIEW IN TELEGRAM", "Forwarded from", "Read in full", "РЕКЛАМА", "Сподели", "Коментари"):
        assert junk not in out
    assert "#RussiaSerbia" in digest
    search = out.split("search 'Kosovo'")[1]
    # the MFA statement both channels forwarded is one hit, not two; the matching words are marked,
    # the Russian "Косово" too (one script for search)
    assert search.count("a **Kosovo** settlement must rest on international law") == 1
    assert "ситуацию в **Косово**" in search
    assert "seen in 2 channels: Balkan Diplomacy Watch, Serbia Today" in search
    # a second demo run imports nothing new
    code, out, _ = run(capsys, tmp_path, "demo")
    assert "0 new" in out


def test_search_stats_digest_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    run(capsys, tmp_path, "demo")
    code, out, _ = run(capsys, tmp_path, "search", "Сърбия", "--json")
    assert code == 0
    found = json.loads(out)
    assert found and all("Сърбия" in p["text"] or "сърби" in p["text"].lower() for p in found)
    code, out, _ = run(capsys, tmp_path, "stats", "--json")
    stats = json.loads(out)
    assert stats["channels"] == 2 and stats["posts"] > stats["items"]
    code, out, _ = run(capsys, tmp_path, "digest", "--since", "2026-11-01", "--json")
    digest = json.loads(out)
    assert digest["items"] < digest["posts"]
    code, out, _ = run(capsys, tmp_path, "search", "Kosovo", "--tag", "#RussiaSerbia", "--channel", "@nobody")
    assert code == 1


def test_errors_are_one_line_with_exit_codes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, tmp_path, "import", str(tmp_path / "missing.json"))
    assert code == 1 and err.strip().count("\n") == 0 and "missing.json" in err
    code, _, err = run(capsys, tmp_path, "search", "x", "--since", "last tuesday")
    assert code == 2 and "cannot read time" in err  # a usage error
    with pytest.raises(SystemExit) as exit_info:
        main(["no-such-command"])
    assert exit_info.value.code == 2
    for command in ("show", "history"):  # int() read "٣" and "1_0"; 20 digits overflowed SQLite (a traceback)
        for bad in ("9" * 20, "٣", "1_0"):
            with pytest.raises(SystemExit) as exit_info:
                main(["--db", str(tmp_path / "demo.db"), command, bad])
            assert exit_info.value.code == 2 and "argument POST_ID: expected a whole number" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["search"], ["export"], ["digest"], ["feeds", "build", "site"]])
def test_a_tag_filter_that_is_no_text_is_a_usage_error_naming_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: list[str]
) -> None:
    """Undecodable bytes in argv arrive as lone surrogates: a codec error from SQLite, naming nothing, before."""
    for bad, says in (("a\udcffb", "'a\\udcffb' is not valid text"), ("#", "expected a tag name like serbia")):
        with pytest.raises(SystemExit) as exit_info:
            main(["--db", str(tmp_path / "a.db"), *command, "--tag", bad])
        assert exit_info.value.code == 2 and f"argument --tag: {says}" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args",
    [
        ["search", "x", "--since", "0001-01-01"],
        ["export", "--until", "9999-12-31"],
        ["digest", "--since", "0001-01-01"],
    ],
)
def test_a_date_at_datetime_s_ends_is_a_usage_error_in_any_time_zone(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    """0001-01-01 in Tokyo is year 0 in UTC: an OverflowError traceback, before."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    code, _, err = run(capsys, tmp_path, *args)
    assert code == 2 and "cannot read time" in err and "give a date from 1970 to 2999" in err, err


def test_show_explains_topic_tags(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Issue 35.6: `show --explain-tags` names the words and the rule behind each tag."""
    run(capsys, tmp_path, "demo")
    code, out, _ = run(capsys, tmp_path, "show", "1", "--explain-tags")
    assert code == 0
    assert "hashtag #RussiaSerbia: written in the post" in out
    assert "topic Diplomacy: “Foreign Minister”, “held talks” (rule: held talks, foreign minister*)" in out


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["show", "99999999999999999999999"], "POST_ID"),  # OverflowError from SQLite: a traceback, before
        (["history", "-9223372036854775809"], "POST_ID"),
        (["show", "٣"], "POST_ID"),  # int() read Arabic-Indic digits
        (["show", "0"], "POST_ID"),
        (["articles", "status", "--limit", "99999999999999999999999"], "--limit"),
        (["reindex", "--batch", "0"], "--batch"),
        (["reindex", "--batch", "1_000"], "--batch"),
        (["reclean", "--batch", "-1"], "--batch"),
        (["feeds", "build", "out", "--items", "0"], "--items"),
        (["feeds", "build", "out", "--top-tags", "-1"], "--top-tags"),
        (["web", "--query-seconds", "nan"], "--query-seconds"),  # served with no query limit, before
        (["web", "--port", "٣"], "--port"),
        (["backfill-web", "@balkan_watch", "--delay", "-inf"], "--delay"),
        (["migrate-to", "postgresql://u@127.0.0.1:9/x", "--batch", "0"], "--batch"),
    ],
)
def test_a_bad_number_is_a_usage_error_naming_the_option(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], option: str
) -> None:
    """Robustness sweep: every numeric option reads ASCII digits within range, or exit 2 before anything runs."""
    with pytest.raises(SystemExit) as usage:
        main(["--db", str(tmp_path / "none.db"), *argv])
    err = capsys.readouterr().err
    assert usage.value.code == 2 and "Traceback" not in err
    (line,) = [line for line in err.splitlines() if "error:" in line]
    assert f"argument {option}" in line
    assert not (tmp_path / "none.db").exists()


def test_extreme_but_well_formed_values_are_answered_not_tracebacks(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Robustness sweep: the largest --limit/--offset overflowed SQLite's integers (limit + offset), a
    20-digit spread REF too, and --until 9999-12-31 (its next midnight) or 0001-01-01 (30 days before) datetime's."""
    run(capsys, tmp_path, "demo")
    big = "9223372036854775807"
    code, out, err = run(capsys, tmp_path, "search", "Kosovo", "--limit", big)
    assert code == 0 and "Kosovo" in out
    code, out, err = run(capsys, tmp_path, "search", "Kosovo", "--limit", big, "--offset", big)
    assert code == 0 and "no posts found" in out
    code, _, err = run(capsys, tmp_path, "spread", "9" * 23)
    assert code == 1 and err.strip() == f"tgmonitor: error: there is no post {'9' * 23} in the archive"
    for argv in (["digest", "--until", "9999-12-31"], ["amplifiers", "--until", "0001-01-01"]):
        code, _, err = run(capsys, tmp_path, *argv)
        assert code == 2 and "--until: cannot read time" in err and "give a date from 1970 to 2999" in err
