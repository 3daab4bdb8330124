"""What real exports did that the project's own never had (issue #26), each on a small fixture of our own
written after the real format: a page uploaded without its closing tags, a published export whose first
page is `index.html`, characters `str.isdigit()` takes for digits, ids and dates the archive cannot
hold, and a post the pipeline fails on. The real files are read by tests/test_real_exports.py.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

import bot.core.pipeline
from bot.cli import main
from storage.store import Store

ROOT = Path(__file__).resolve().parents[1]
BG = ROOT / "tests" / "data" / "tdesktop_export" / "bg_channel"
BG_ID = "1500000201"
BLOCK = re.compile(rb'<div class="message default[^"]*" id="message(\d+)"')


def dump(db: Path) -> str:
    store = Store.open(db)
    try:
        return store.dump_json()
    finally:
        store.close()


def message_ids(db: Path) -> list[int]:
    store = Store.open(db)
    try:
        return [r["message_id"] for r in store.db.query("SELECT message_id FROM posts ORDER BY message_id")]
    finally:
        store.close()


COLUMNS = (
    "p.message_id, p.date, p.text, p.raw_text, p.url, p.origin_key, p.forward_name, p.lang, p.content_hash, "
    "p.media_kind, p.tag_list, p.source, p.edit_date, c.tg_id, c.title"
)


def rows(db: Path) -> list[tuple[object, ...]]:
    """Every post as stored, without the times of the import itself."""
    store = Store.open(db)
    try:
        query = f"SELECT {COLUMNS} FROM posts p JOIN channels c ON c.id = p.channel_id ORDER BY c.tg_id, p.message_id"
        return [tuple(r) for r in store.db.execute(query).fetchall()]
    finally:
        store.close()


def html_copy(tmp_path: Path, name: str = "html") -> Path:
    folder = tmp_path / name
    shutil.copytree(BG / "html", folder)
    return folder


# ------------------------------------------------------------------------- a page without its closing tags
def test_a_page_cut_right_after_a_complete_message_imports_everything_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """As the real 4-page export was uploaded: the last page ends after a message's closing </div>."""
    whole = tmp_path / "whole.db"
    assert main(["--db", str(whole), "import", "--channel", BG_ID, str(BG / "html")]) == 0
    folder = html_copy(tmp_path)
    page = folder / "messages4.html"
    data = page.read_bytes()
    last = list(BLOCK.finditer(data))[-1]
    end = data.index(b"\n     </div>\n", last.start()) + len(b"\n     </div>\n")  # the block's own closing tag
    page.write_bytes(data[:end])
    capsys.readouterr()
    cut = tmp_path / "cut.db"
    assert main(["--db", str(cut), "import", "--channel", BG_ID, str(folder)]) == 0
    err = capsys.readouterr().err
    note = [line for line in err.splitlines() if "closing tags" in line]
    assert len(note) == 1, err
    assert note[0].startswith(f"{page}: the page ends without its closing tags after message {last.group(1).decode()}")
    assert "nothing else was skipped" in note[0]
    assert message_ids(cut) == message_ids(whole)


def test_a_page_cut_inside_a_message_imports_the_complete_ones_and_names_the_cut_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    whole = tmp_path / "whole.db"
    assert main(["--db", str(whole), "import", "--channel", BG_ID, str(BG / "html")]) == 0
    folder = html_copy(tmp_path)
    page = folder / "messages2.html"
    data = page.read_bytes()
    blocks = list(BLOCK.finditer(data))
    inside = blocks[2].start() + 400  # in the third message's body
    page.write_bytes(data[:inside])
    capsys.readouterr()
    cut = tmp_path / "cut.db"
    assert main(["--db", str(cut), "import", "--channel", BG_ID, str(folder)]) == 0
    err = capsys.readouterr().err
    lost = int(blocks[2].group(1))
    assert f"{page}: the page ends without its closing tags after message {int(blocks[1].group(1))}" in err
    assert f"message {lost} is cut off and skipped" in err
    # the rest of that page is not in the file at all; everything else is imported
    on_page_after = {int(b.group(1)) for b in blocks[2:]}
    assert set(message_ids(cut)) == set(message_ids(whole)) - on_page_after
    # importing the whole export afterwards completes it
    assert main(["--db", str(cut), "import", "--channel", BG_ID, str(BG / "html")]) == 0
    assert message_ids(cut) == message_ids(whole)


# ------------------------------------------------------------------------- a published export: index.html
@pytest.mark.parametrize("named", ["folder", "index.html", "messages2.html"])
def test_a_published_export_whose_first_page_is_index_html(tmp_path: Path, named: str) -> None:
    whole = tmp_path / "whole.db"
    assert main(["--db", str(whole), "import", "--channel", BG_ID, str(BG / "html")]) == 0
    folder = html_copy(tmp_path, "site")
    (folder / "messages.html").rename(folder / "index.html")  # the other pages still link to messages.html
    target = folder if named == "folder" else folder / named
    db = tmp_path / "site.db"
    assert main(["--db", str(db), "import", "--channel", BG_ID, str(target)]) == 0
    assert rows(db) == rows(whole)


def test_a_folder_with_an_index_html_that_is_no_export_is_still_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "index.html").write_text("<html><body><h1>My blog</h1></body></html>", encoding="utf-8")
    assert main(["--db", str(tmp_path / "a.db"), "import", str(folder)]) == 1
    assert "directory has no result.json, messages.html or index.html of an export" in capsys.readouterr().err


# ------------------------------------------------------------------------- characters isdigit() takes for digits
ODD_DIGITS = "❶ ① ² ¹ ٣ ৩ ૩ ꧓ 𝟑 ³⁄₄ Ⅻ"


def channel_json(*texts: str, channel_id: int = 1_700_000_001) -> dict[str, object]:
    messages = [
        {
            "id": number,
            "type": "message",
            "date": f"2024-03-0{1 + number % 9}T10:00:00",
            "date_unixtime": str(1_709_280_000 + number * 60),
            "from": "Books",
            "from_id": f"channel{channel_id}",
            "text": text,
            "text_entities": [{"type": "plain", "text": text}],
        }
        for number, text in enumerate(texts, start=1)
    ]
    return {"name": "Books", "type": "public_channel", "id": channel_id, "messages": messages}


def test_every_script_s_digits_and_enclosed_numbers_import(tmp_path: Path) -> None:
    """The real channel numbered its points ❶ ❷ and its notes ¹ ²: the import stopped at post 200 of 908."""
    texts = [
        f"第{c}章 书目推荐 {c} 本书 ❶ 经典 ❷ 现代 {ODD_DIGITS}" for c in ODD_DIGITS.split()
    ]  # near-identical posts that differ in an odd digit: the near-duplicate number guard reads them
    export = tmp_path / "result.json"
    export.write_text(json.dumps(channel_json(*texts), ensure_ascii=False), encoding="utf-8")
    db = tmp_path / "a.db"
    assert main(["--db", str(db), "import", str(export)]) == 0
    assert len(message_ids(db)) == len(texts)
    assert main(["--db", str(db), "import", str(export)]) == 0  # again: idempotent
    assert len(message_ids(db)) == len(texts)


@pytest.mark.parametrize("value", ["t.me/c/²/5", "-100²", "❶", "٣٣٣٣٣", "c/①/1", "1" * 5000, "99999999999999999999"])
def test_channel_option_with_odd_digits_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    assert main(["--db", str(tmp_path / "a.db"), "import", f"--channel={value}", str(BG / "html")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("tgmonitor: error: --channel") and len(err.splitlines()) == 1 and len(err) < 400, err


# ------------------------------------------------------------------------- a post the pipeline fails on
def test_a_pipeline_failure_names_the_file_and_message_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in the pipeline (the real one was the number guard's int('❶')) stops the import in the
    check pass, before a single post of any file named is written, and the error says where."""
    good = tmp_path / "good.json"
    good.write_text(json.dumps(channel_json("Первый пост.", "Второй пост.", channel_id=9)), encoding="utf-8")
    texts = [f"Post number {n} of the channel, plain text." for n in range(1, 400)]
    texts[349] = "The post the pipeline trips over."
    bad = tmp_path / "result.json"
    bad.write_text(json.dumps(channel_json(*texts)), encoding="utf-8")
    db = tmp_path / "a.db"
    assert main(["--db", str(db), "import", str(good)]) == 0
    before = dump(db)
    real = bot.core.pipeline.detect_lang

    def failing(text: str, *args: object, **kwargs: object) -> str | None:
        if "trips over" in text:
            raise ValueError("invalid literal for int() with base 10: '❶'")
        return real(text, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(bot.core.pipeline, "detect_lang", failing)
    capsys.readouterr()
    assert main(["--db", str(db), "import", str(good), str(bad)]) == 1
    err = capsys.readouterr().err.strip()
    assert err == (
        f"tgmonitor: error: {bad}: message 350: processing failed "
        "(ValueError: invalid literal for int() with base 10: '❶')"
    )
    assert dump(db) == before


def test_a_json_export_saved_with_a_bom_imports(tmp_path: Path) -> None:
    """An editor may save result.json with a UTF-8 byte order mark; json.loads refused it, the stream skips it."""
    export = tmp_path / "result.json"
    export.write_bytes(b"\xef\xbb\xbf" + json.dumps(channel_json("Первый пост.", "Второй пост.")).encode())
    db = tmp_path / "a.db"
    assert main(["--db", str(db), "import", str(export)]) == 0
    assert message_ids(db) == [1, 2]
