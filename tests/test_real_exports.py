"""Every real sample in ../shared/real-exports imported as a user would (issue #26): no crash, every
message the file holds is in the archive, the JSON and HTML exports of one channel give the same rows,
and importing again changes nothing.

Samples are found, not listed (PROVENANCE.md there says where each comes from), so a new one dropped
into that folder is covered without a change here: a folder with `result.json` is a JSON export, one
with `messages.html` or `index.html` an HTML export, any other `.html` a saved t.me/s page. What the
file holds is counted from the file itself, the way PROVENANCE.md counts: JSON messages of type
`message`, HTML `div.message.default` blocks, t.me `div.tgme_widget_message` blocks that are not
service messages. The project never commits these files; without ../shared this module is skipped.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.cli import main
from storage.store import Store

pytestmark = pytest.mark.realdata

REAL = Path(__file__).resolve().parents[2] / "shared" / "real-exports"
if not REAL.is_dir():
    pytest.skip(f"no real samples: {REAL} is absent (see tests/test_real_exports.py)", allow_module_level=True)

_HTML_BLOCK = re.compile(rb'<div class="message default[^"]*" id="message([0-9]+)"')
_TME_BLOCK = re.compile(rb'<div class="tgme_widget_message ([^"]*)"[^>]*data-post="')
_PAGE = re.compile(r"messages([0-9]*)\.html|index\.html")
# A synthetic channel id for an HTML export with no JSON export beside it (HTML names no channel id).
_HTML_ONLY_ID = 4_000_000_000


@dataclass(frozen=True)
class Sample:
    name: str
    kind: str  # json | html | tme
    path: Path

    @property
    def id(self) -> str:
        return f"{self.name}/{self.path.name}:{self.kind}"


def samples() -> list[Sample]:
    found = []
    for folder in sorted(p for p in REAL.iterdir() if p.is_dir()):
        if (folder / "result.json").is_file():
            found.append(Sample(folder.name, "json", folder / "result.json"))
        pages = [p for p in folder.glob("*.html") if _PAGE.fullmatch(p.name)]
        if pages:
            found.append(Sample(folder.name, "html", folder))
        for page in sorted(folder.glob("*.html")):
            if not _PAGE.fullmatch(page.name):
                found.append(Sample(folder.name, "tme", page))
    return found


SAMPLES = samples()


def expected_posts(sample: Sample) -> int:
    """What the file holds, counted from the file, not by the importer."""
    if sample.kind == "json":
        data = json.loads(sample.path.read_text(encoding="utf-8"))
        return sum(1 for m in data["messages"] if m.get("type") == "message")
    if sample.kind == "html":
        return sum(
            len(_HTML_BLOCK.findall(p.read_bytes())) for p in sample.path.glob("*.html") if _PAGE.fullmatch(p.name)
        )
    blocks = _TME_BLOCK.findall(sample.path.read_bytes())
    return sum(1 for classes in blocks if b"service_message" not in classes.split())


def json_channel_id(sample: Sample) -> int | None:
    export = sample.path / "result.json"
    if not export.is_file():
        return None
    return int(json.loads(export.read_text(encoding="utf-8"))["id"])


def run(db: Path, *args: object) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--db", str(db), *map(str, args)])
    return code, out.getvalue(), err.getvalue()


def import_args(sample: Sample) -> list[object]:
    if sample.kind == "html":
        return ["import", "--json", "--channel", json_channel_id(sample) or _HTML_ONLY_ID, sample.path]
    return ["import", "--json", sample.path]


def post_rows(db: Path, columns: str) -> list[tuple[object, ...]]:
    store = Store.open(db)
    try:
        query = f"SELECT {columns} FROM posts p JOIN channels c ON c.id = p.channel_id ORDER BY c.tg_id, p.message_id"
        return [tuple(r) for r in store.db.execute(query).fetchall()]
    finally:
        store.close()


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, int, str, str]]:
    """Each sample imported once into its own archive: (archive, exit code, stdout, stderr)."""
    done = {}
    for sample in SAMPLES:
        db = tmp_path_factory.mktemp("real") / "archive.db"
        done[sample.id] = (db, *run(db, *import_args(sample)))
    return done


@pytest.mark.parametrize("sample", SAMPLES, ids=[s.id for s in SAMPLES])
def test_every_message_in_the_file_is_in_the_archive(
    sample: Sample, imported: dict[str, tuple[Path, int, str, str]]
) -> None:
    db, code, out, err = imported[sample.id]
    expected = expected_posts(sample)
    if sample.kind == "tme" and expected == 0:  # an inner fragment saved alone: no message block in it
        assert code == 1 and len(err.strip().splitlines()) == 1, err
        assert err.startswith(f"tgmonitor: error: {sample.path}: not a Telegram web preview page"), err
        return
    assert code == 0, err
    assert "Traceback" not in err
    cut_off = len(re.findall(r"message [0-9]+ is cut off and skipped", err))  # a page cut inside a message
    (result,) = json.loads(out).values()
    assert result["inserted"] == expected - cut_off, (result, expected, err)
    assert len(post_rows(db, "p.id")) == expected - cut_off


@pytest.mark.parametrize("sample", SAMPLES, ids=[s.id for s in SAMPLES])
def test_importing_again_changes_nothing(sample: Sample, imported: dict[str, tuple[Path, int, str, str]]) -> None:
    db, code, _, _ = imported[sample.id]
    if code != 0:
        pytest.skip("not importable (checked by the count test)")
    columns = "p.message_id, p.date, p.text, p.raw_text, p.tag_list, p.lang, p.edit_date, c.tg_id"
    before = post_rows(db, columns)
    again, out, err = run(db, *import_args(sample))
    assert again == 0, err
    (result,) = json.loads(out).values()
    assert result["inserted"] == 0 and result["updated"] == 0, result
    assert post_rows(db, columns) == before


BOTH = [s.name for s in SAMPLES if s.kind == "html" and (s.path / "result.json").is_file()]


@pytest.mark.parametrize("name", BOTH)
def test_json_and_html_exports_of_one_channel_give_identical_rows(
    name: str, imported: dict[str, tuple[Path, int, str, str]]
) -> None:
    """Everything but the edit dates, which the HTML export does not have."""
    (json_sample,) = (s for s in SAMPLES if s.name == name and s.kind == "json")
    (html_sample,) = (s for s in SAMPLES if s.name == name and s.kind == "html")
    columns = (
        "p.message_id, p.date, p.text, p.raw_text, p.url, p.origin_key, p.forward_name, p.lang, "
        "p.content_hash, p.media_kind, p.tag_list, p.source, c.tg_id"
    )
    from_json = post_rows(imported[json_sample.id][0], columns)
    from_html = post_rows(imported[html_sample.id][0], columns)
    assert len(from_json) == expected_posts(json_sample)
    assert from_json == from_html
