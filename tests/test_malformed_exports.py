"""Broken, hostile and huge exports: a clear one-line error naming the file, and the archive untouched.

tests/test_desktop_export.py checks the parser's messages on an empty archive; here every case goes
through the CLI into an archive that already holds posts, and `Store.dump_json` before and after must
be identical, so a bad file named after a good one cannot leave half an import behind.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bench.corpus import desktop_export
from bot.cli import main
from storage.store import Store

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
GOOD = desktop_export(40, channel_id=1_500_000_900, name="Good Relay")
HEAD = '{"name": "Bad", "type": "public_channel", "id": 77, "messages": ['


def message(**fields: object) -> dict[str, object]:
    return {"id": 5, "type": "message", "date": "2026-11-20T10:00:00", "text": "Lavrov met Vucic.", **fields}


def as_json(data: object) -> Callable[[Path], None]:
    return lambda path: path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def as_bytes(data: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(data)


def export_with(*messages: object) -> dict[str, object]:
    return {"name": "Bad", "type": "public_channel", "id": 77, "messages": list(messages)}


GOOD_TEXT = json.dumps(GOOD, ensure_ascii=False)
CASES: list[tuple[str, Callable[[Path], None], str]] = [
    ("truncated", as_bytes(GOOD_TEXT[: len(GOOD_TEXT) // 2].encode()), "(after id 23): invalid JSON: parse error"),
    ("truncated-mid-string", as_bytes((HEAD + '{"id": 5, "text": "Lavr').encode()), "invalid JSON"),
    ("empty", as_bytes(b""), "invalid JSON"),
    ("not-utf8", as_bytes((HEAD + '{"id": 5, "text": "Лавров"}]}').encode("cp1251")), "not UTF-8"),
    # yajl passes these bytes on unchecked and ijson's decoding of them failed with a bare UnicodeDecodeError
    (
        "utf8-lone-surrogate",
        as_bytes((HEAD + '{"id": 5, "text": "a').encode() + b"\xed\xa0\x80" + b'"}]}'),
        "messages[0]: invalid JSON: not UTF-8 text",
    ),
    (
        "utf8-surrogate-in-header",
        as_bytes(b'{"name": "\xed\xa0\x80", "id": 77, "messages": []}'),
        "invalid JSON: not UTF-8 text",
    ),
    # found by fuzzing: ijson's prefixes made depth cost its square (100,000 levels: 10 GB, minutes)
    (
        "nested-100k-arrays",
        as_bytes((GOOD_TEXT[:-2] + ', {"id": 99, "reactions": ' + "[" * 100_000 + "]" * 100_000 + "}]}").encode()),
        "messages[41] (after id 41): arrays and objects nested over 256 deep near byte",
    ),
    (
        "nested-objects-in-header",
        as_bytes(b'{"id": 77, "x": ' + b'{"a":' * 50_000),
        "nested over 256 deep near byte 1,291:",
    ),
    # found by fuzzing: escaped quotes hid a long string from a guard that looked for the next `"` byte
    (
        "escaped-quotes-string",
        as_bytes((HEAD + '{"id": 5, "text": "' + '\\"' * 400_000 + '"}]}').encode()),
        "messages[0]: a string of over 604,096 bytes near byte",
    ),
    # a path that is there but is no file: it read "no such file"
    ("symlink-loop", lambda path: path.symlink_to(path.name), "not a regular file"),
    ("fifo", lambda path: os.mkfifo(path), "not a regular file"),
    # found by fuzzing: the second was saved as an edit of the first, an edit that never happened
    ("duplicate-id", as_json(export_with(message(), message(text="Another text."))), "message 5 appears twice"),
    # found by fuzzing: text was checked for what the archive cannot hold, the other strings kept were not
    # (PostgreSQL refused the NUL in the write pass, after the check pass had passed)
    ("nul-in-from", as_json(export_with(message(**{"from": "A\u0000nn", "from_id": "user5"}))), "the sender ("),
    ("nul-in-author", as_json(export_with(message(author="A\u0000nn", from_id="channel77"))), "the sender ("),
    (
        "nul-in-forwarded-from",
        as_json(export_with(message(forwarded_from="M\u0000FA"))),
        "'forwarded_from' contains a NUL",
    ),
    (
        "nul-in-hidden-link",
        as_json(export_with(message(text_entities=[{"type": "text_link", "text": "x", "href": "https://a.b/\u0000"}]))),
        "a link contains a NUL byte",
    ),
    ("nul-in-channel-name", as_json({"name": "B\u0000ad", "id": 77, "messages": [message()]}), "top-level 'name'"),
    ("raw-nul-byte", as_bytes((HEAD + '{"id": 5, "text": "a\x00b"}]}').encode()), "invalid JSON"),
    ("escaped-nul", as_json(export_with(message(text="Lavrov\u0000 met Vucic"))), "NUL byte"),
    ("nul-in-text-part", as_json(export_with(message(text=["a", {"type": "bold", "text": "\u0000"}]))), "NUL byte"),
    ("messages-not-list", as_json({"id": 77, "messages": {"1": message()}}), "'messages' must be a list"),
    ("id-is-bool", as_json(export_with(message(id=True))), "'id' must be a positive integer"),
    ("text-is-number", as_json(export_with(message(text=12))), "'text' must be a string or a list"),
    ("text-part-is-number", as_json(export_with(message(text=["a", 5]))), "'text'[1] must be a string"),
    ("entities-not-list", as_json(export_with(message(text_entities={"type": "hashtag"}))), "'text_entities'"),
    ("bad-unixtime", as_json(export_with(message(date_unixtime="soon"))), "'date_unixtime' must be a number"),
    ("date-is-number", as_json(export_with(message(date=20261120))), "'date' must be a date string"),
    ("channel-id-missing", as_json({"name": "Bad", "messages": [message()]}), "top-level 'id'"),
    ("second-message-bad", as_json(export_with(message(), message(id=6, date="yesterday"))), "messages[1] (id 6)"),
    # issue #27 item 6: what the archive cannot hold fails the check pass, not the write pass after 800 posts
    (
        "id-overflows-int64",
        as_json(export_with(*[message(id=i) for i in range(1, 900)], message(id=99999999999999999999999))),
        "messages[899] (after id 899): invalid JSON: a number beyond 64 bits",
    ),
    (
        "year-10000-in-utc",
        as_json(export_with(message(), message(id=6, date="9999-12-31T23:59:59-12:00"))),
        "messages[1] (id 6): 'date' '9999-12-31T23:59:59-12:00' is outside the dates the archive holds",
    ),
    ("year-9999", as_json(export_with(message(), message(id=6, date="9999-12-31T10:00:00"))), "is outside 1970-2200"),
    (
        "unixtime-huge",
        as_json(export_with(message(date_unixtime=10**30))),
        "messages[0]: invalid JSON: a number beyond",
    ),
    ("unixtime-year-3000", as_json(export_with(message(date_unixtime=32503680000))), "'date_unixtime' 3000-01-01"),
    ("id-in-int64-too-big", as_json(export_with(message(id=2**63))), "a number beyond 64 bits"),
    (
        "id-at-int64-max-ok-but-date-bad",
        as_json(export_with(message(id=2**63 - 1, date="x"))),
        "(id 9223372036854775807)",
    ),
    ("edited-year-9999", as_json(export_with(message(edited="9999-01-01T00:00:00"))), "'edited' 9999-01-01"),
    ("channel-id-overflows", as_json({"id": 10**20, "messages": [message()]}), "invalid JSON: a number beyond 64"),
]


@pytest.fixture
def archive(tmp_path: Path) -> tuple[Path, list[str]]:
    """An archive that already holds a good import, and the CLI arguments to reach it."""
    good = tmp_path / "good.json"
    good.write_text(GOOD_TEXT, encoding="utf-8")
    db = tmp_path / "archive.db"
    cli = ["--db", str(db)]
    assert main([*cli, "import", str(good)]) == 0
    return db, cli


def dump(db: Path) -> str:
    store = Store.open(db)
    try:
        return store.dump_json()
    finally:
        store.close()


@pytest.mark.parametrize(("name", "write", "expected"), CASES, ids=[c[0] for c in CASES])
def test_malformed_export_names_the_file_and_leaves_the_archive_unchanged(
    tmp_path: Path,
    archive: tuple[Path, list[str]],
    capsys: pytest.CaptureFixture[str],
    name: str,
    write: Callable[[Path], None],
    expected: str,
) -> None:
    db, cli = archive
    before = dump(db)
    capsys.readouterr()
    bad = tmp_path / f"{name}.json"
    write(bad)
    # A fresh good export named first: it must not be imported either, everything is checked first.
    other = tmp_path / "other.json"
    other.write_text(json.dumps(desktop_export(30, seed=7, channel_id=1_500_000_901, name="Other")), encoding="utf-8")
    assert main([*cli, "import", str(other), str(bad)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"tgmonitor: error: {bad}: "), err
    assert expected in err, err
    assert len(err.splitlines()) == 1 and len(err) < 400, "one short line, never the file's content"
    assert dump(db) == before


HUGE_CHILD = r"""
import resource, sys, time
from bot.cli import main
start = time.perf_counter()
code = main(sys.argv[1:])
print(code, time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def run_cli(*args: str) -> tuple[int, float, float, str]:
    """(exit code, seconds, peak RSS MB, stderr) of `tgmonitor ARGS` in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", HUGE_CHILD, *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    code, seconds, peak_mb = done.stdout.split()
    return int(code), float(seconds), float(peak_mb), done.stderr


@pytest.mark.parametrize("shape", ["string", "entity-parts", "escaped-quotes"])
def test_fifty_megabyte_text_field_is_refused_quickly_without_copies(
    tmp_path: Path, archive: tuple[Path, list[str]], shape: str
) -> None:
    db, cli = archive
    before = dump(db)
    bad = tmp_path / "huge.json"
    chunk = "Лавров и Вучич " * 4096  # Cyrillic: 2 bytes per character in the file, 2 in memory
    if shape == "escaped-quotes":  # a `"` byte every other byte, none of them ending the string
        chunk = '\\"' * 16384
    with bad.open("w", encoding="utf-8") as out:  # streamed: the test itself never holds 50 MB
        out.write(HEAD + '{"id": 5, "type": "message", "date": "2026-11-20T10:00:00", "text": ')
        out.write('["lead ", {"type": "bold", "text": "' if shape == "entity-parts" else '"')
        for _ in range(50 * 2**20 // len(chunk.encode())):
            out.write(chunk)
        out.write('"}]}]}' if shape == "entity-parts" else '"}]}')
    size_mb = bad.stat().st_size / 2**20
    assert size_mb > 49

    # Each import in its own process, so a peak RSS is that import's alone; a one-byte bad file gives
    # the interpreter + CLI baseline.
    tiny = tmp_path / "tiny.json"
    tiny.write_text("{", encoding="utf-8")
    _, _, baseline_mb, _ = run_cli(*cli, "import", str(tiny))
    code, seconds, peak_mb, stderr = run_cli(*cli, "import", str(bad))
    assert code == 1
    assert f"{bad}: messages[0]: a string of over 604,096 bytes near byte " in stderr, stderr
    assert seconds < 10
    # Streamed (bot/sources/desktop_json_stream.py): the run of bytes with no quote is refused while
    # reading, before the parser holds it; json.loads held the bytes, the text and the value (~2.2x the
    # file). Under a tenth of the file now.
    assert peak_mb - baseline_mb < 0.1 * size_mb, (baseline_mb, peak_mb, size_mb)
    assert dump(db) == before


# ------------------------------------------------------------------------------------------ HTML exports
HTML_GOOD = ROOT / "tests" / "data" / "tdesktop_export" / "bg_channel" / "html"
HTML_OTHER = ROOT / "tests" / "data" / "tdesktop_export" / "ru_channel" / "html"
PAGE2 = "messages2.html"


def edit(name: str, old: str | bytes, new: str | bytes, count: int = 1) -> Callable[[Path], Path]:
    """Replace `old` in page `name` of a copy of the good export; the error must name that page."""

    def apply(folder: Path) -> Path:
        page = folder / name
        data = page.read_bytes()
        before = old.encode() if isinstance(old, str) else old
        after = new.encode() if isinstance(new, str) else new
        assert before in data, old
        page.write_bytes(data.replace(before, after, count))
        return page

    return apply


def cut(name: str, keep: float) -> Callable[[Path], Path]:
    def apply(folder: Path) -> Path:
        page = folder / name
        data = page.read_bytes()
        page.write_bytes(data[: int(len(data) * keep)])
        return page

    return apply


def remove(name: str, blamed: str | None = None) -> Callable[[Path], Path]:
    def apply(folder: Path) -> Path:
        (folder / name).unlink()
        return folder / blamed if blamed else folder

    return apply


DATE8 = 'title="24.10.2026 18:30:00 UTC+03:00"'
HTML_CASES: list[tuple[str, Callable[[Path], Path], str]] = [
    ("empty-page", cut(PAGE2, 0), "empty file"),
    # A page cut short imports its complete messages (tests/test_real_formats.py); cut before any: refused
    ("truncated-before-any-message", cut(PAGE2, 0.05), "truncated: the page does not end with </html> and holds no"),
    ("missing-id", edit(PAGE2, ' id="message9"', ""), 'message block 3 (after message 8): no id="messageNNN"'),
    ("negative-id", edit(PAGE2, 'id="message9"', 'id="message-9"'), "(after message 8): no id="),
    ("impossible-date", edit(PAGE2, DATE8, 'title="31.09.2026 18:30:00 UTC+03:00"'), "message 8: date '31.09.2026"),
    ("bad-date-format", edit(PAGE2, DATE8, 'title="2026-10-24 18:30"'), "is not DD.MM.YYYY HH:MM:SS"),
    ("bad-utc-offset", edit(PAGE2, DATE8, 'title="24.10.2026 18:30:00 UTC+15:00"'), "offset beyond ±14:00"),
    ("no-date", edit(PAGE2, DATE8, ""), "message 8: no date"),
    (
        "bad-forward-date",
        edit("messages.html", "24.10.2026 10:15:00 UTC+03:00", "yesterday"),
        "message 5: forwarded date",
    ),
    ("page-gap", remove(PAGE2), "export pages missing: messages2.html (found 3 of 4)"),
    ("link-to-missing-page", remove("messages4.html", "messages3.html"), "links to messages4.html, which is missing"),
    ("nul-byte", edit(PAGE2, "Годишният", "Годиш\x00ният"), "NUL byte at byte"),
    ("not-utf8", edit(PAGE2, "Годишният".encode(), "Годишният".encode("cp1251")), "not UTF-8 text (byte"),
    (
        "other-export-page",
        edit("messages3.html", "Дипломатически преглед \n", "Друг канал \n"),
        "two different exports",
    ),
    ("not-an-export-page", edit(PAGE2, 'class="page_header"', 'class="header"'), "no div.page_header"),
    ("duplicate-id-across-pages", edit("messages3.html", 'id="message14"', 'id="message9"'), "message 9 appears twice"),
    ("unknown-block", edit(PAGE2, "message default clearfix", "message weird"), "message 8: unknown kind"),
    # found by fuzzing: what the page says was quoted whole, a 200 KB error line
    (
        "unknown-block-long-class",
        edit(PAGE2, "message default clearfix", "message " + "<br>" * 50_000),
        "(class 'message <br>",
    ),
    (
        "long-link-to-missing-page",
        edit(PAGE2, 'href="messages.html"', f'href="{"x" * 50_000}/messages9.html"'),
        "links to xxx",
    ),
    (
        "long-impossible-date",
        edit(PAGE2, DATE8, f'title="{" " * 50_000}31.09.2026 18:30:00"'),
        "message 8: date '31.09.2026",
    ),
    ("nesting-bomb", edit(PAGE2, "Годишният", "<div>" * 20_000 + "Годишният"), "tags nested"),
    # issue #27 item 2: a parser ignores stray end tags and end tags in comments; so does the guard
    ("stray-end-tag-bomb", edit(PAGE2, "Годишният", "<div></x>" * 150_000 + "Годишният"), "tags nested"),
    ("commented-end-tag-bomb", edit(PAGE2, "Годишният", "<div><!--</a>-->" * 60_000 + "Годишният"), "tags nested"),
    ("huge-text", edit(PAGE2, "Годишният", "Лавров " * 20_000), "message 9: text is over the 100,000-character"),
    # issue #27 item 6: an id or a date the archive cannot hold is refused before anything is written
    ("id-overflows-int64", edit(PAGE2, 'id="message9"', 'id="message99999999999999999999999"'), "is not a message id"),
    (
        "year-10000-in-utc",
        edit(PAGE2, DATE8, 'title="31.12.9999 23:59:59 UTC-12:00"'),
        "message 8: date '31.12.9999 23:59:59 UTC-12:00' is outside the dates",
    ),
    ("year-9999", edit(PAGE2, DATE8, 'title="31.12.9999 10:00:00 UTC+03:00"'), "message 8: date 9999-12-31 07:00"),
]


@pytest.mark.parametrize(("name", "damage", "expected"), HTML_CASES, ids=[c[0] for c in HTML_CASES])
def test_malformed_html_export_names_the_page_and_message_and_leaves_the_archive_unchanged(
    tmp_path: Path,
    archive: tuple[Path, list[str]],
    capsys: pytest.CaptureFixture[str],
    name: str,
    damage: Callable[[Path], Path],
    expected: str,
) -> None:
    db, cli = archive
    before = dump(db)
    capsys.readouterr()
    folder = tmp_path / name
    shutil.copytree(HTML_GOOD, folder)
    blamed = damage(folder)
    # A good HTML export named first is not written either: every page of both is checked first.
    assert main([*cli, "import", "--channel", "77", str(HTML_OTHER), str(folder)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"tgmonitor: error: {blamed}: "), err
    assert expected in err, err
    assert len(err.splitlines()) == 1 and len(err) < 400, "one short line, never the file's content"
    assert dump(db) == before


def test_hostile_html_pages_are_refused_quickly(tmp_path: Path, archive: tuple[Path, list[str]]) -> None:
    """A nesting bomb would keep the HTML parser busy for minutes (quadratic in depth) and a huge page
    would fill memory: both are refused from the bytes, before parsing, in a fresh interpreter."""
    db, cli = archive
    before = dump(db)
    bomb = tmp_path / "bomb"
    shutil.copytree(HTML_GOOD, bomb)
    page = bomb / PAGE2
    page.write_bytes(page.read_bytes().replace(b'<div class="text">', b"<div>" * 300_000 + b'<div class="text">', 1))
    huge = tmp_path / "huge"
    shutil.copytree(HTML_GOOD, huge)
    with (huge / PAGE2).open("ab") as out:  # 33 MB of plausible markup before the end
        out.write(b'<div class="text">' + "Лавров ".encode() * (33 * 2**20 // 13) + b"</div></html>")
    for folder, expected in ((bomb, "tags nested"), (huge, "page is 33 MB")):
        code, seconds, _, stderr = run_cli(*cli, "import", "--channel", "77", str(folder))
        assert code == 1 and f"{folder / PAGE2}: " in stderr and expected in stderr, stderr
        assert seconds < 10
    assert dump(db) == before


def test_a_named_pipe_is_never_opened(tmp_path: Path, archive: tuple[Path, list[str]]) -> None:
    """Found by fuzzing: a `messages.html` or `index.html` that is a named pipe was opened to sniff its
    head, which waits for a writer for ever. In a fresh interpreter, so a regression fails on the timeout."""
    db, cli = archive
    before = dump(db)
    (tmp_path / "pipe").mkdir()
    (tmp_path / "site").mkdir()
    os.mkfifo(tmp_path / "pipe" / "messages.html")
    os.mkfifo(tmp_path / "site" / "index.html")
    for path, expected in (
        (tmp_path / "pipe" / "messages.html", "not a regular file"),
        (tmp_path / "site", "directory has no result.json, messages.html or index.html"),
    ):
        code, _, _, stderr = run_cli(*cli, "import", str(path))
        assert code == 1 and f"tgmonitor: error: {path}: {expected}" in stderr, stderr
    assert dump(db) == before
