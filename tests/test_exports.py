"""`tgmonitor export` on a pipeline-filled archive: columns, CSV (RFC 4180, BOM), JSON Lines, Parquet,
--fold, filters, paging that loses and repeats nothing, and bad input that writes nothing."""

from __future__ import annotations

import csv
import io
import json
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app.archive import Archive
from bot.app.exports import ExportFilter, export_rows
from bot.cli import main
from bot.config import Settings
from bot.core.export_rows import COLUMN_NAMES, csv_cell
from bot.models import ChannelRef, RawPost
from storage.readonly import ReadOnlyArchive
from tests.web_archive import fill_archive

LAVROV = "Foreign Minister Sergey Lavrov held talks"


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fill_archive(tmp_path_factory.mktemp("export") / "archive.db")


def export(filled: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["--db", str(filled), "export", *args])
    out, err = capsys.readouterr()
    return code, out, err


def jsonl(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines()]


def test_csv_is_rfc4180_with_the_documented_columns(filled: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = export(filled, capsys=capsys)
    assert code == 0 and err.strip() == "export: 12 posts as csv to standard output"
    assert out.startswith(",".join(COLUMN_NAMES) + "\r\n")
    rows = list(csv.DictReader(io.StringIO(out, newline="")))
    assert len(rows) == 12
    assert [r["date_utc"] for r in rows] == sorted(r["date_utc"] for r in rows)  # oldest first
    hostile = next(r for r in rows if r["text"].startswith("Statement on"))
    assert hostile["text"].startswith("Statement on <script>")  # data, exported as archived
    assert hostile["url"] == "javascript:window.__pwned=5"  # data, not a link: exported as stored
    lavrov = [r for r in rows if LAVROV in r["text"]]
    assert len(lavrov) == 2 and {r["statement_id"] for r in lavrov} == {lavrov[0]["post_id"]}
    assert {r["carriers"] for r in lavrov} == {"2"}
    assert lavrov[0]["carrier_channels"] == "Balkan Diplomacy Watch;Serbia Today"
    assert lavrov[0]["date_utc"].endswith("Z") and lavrov[0]["deleted"] == "0"
    assert "#RussiaSerbia" in lavrov[0]["tags"].split(";")


def test_csv_quoting_and_bom(tmp_path: Path, filled: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "out.csv"
    code, _, _ = export(filled, "--bom", "-o", str(target), capsys=capsys)
    assert code == 0
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfpost_id,")
    assert b"\r\n" in raw and b'""quotes""' in raw  # a double quote inside a cell is doubled
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert rows[0] == list(COLUMN_NAMES) and all(len(r) == len(COLUMN_NAMES) for r in rows)
    assert csv_cell(None) == "" and csv_cell(True) == "1" and csv_cell(["a", "b"]) == "a;b"


def test_jsonl_fold_and_filters(filled: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, err = export(filled, "--format", "jsonl", "--fold", capsys=capsys)
    folded = jsonl(out)
    assert err.strip() == "export: 10 statements as jsonl to standard output"
    assert len({r["statement_id"] for r in folded}) == len(folded) == 10
    [lavrov] = [r for r in folded if LAVROV in str(r["text"])]
    assert lavrov["carriers"] == 2 and lavrov["statement_posts"] == 2
    assert lavrov["carrier_channels"] == ["Balkan Diplomacy Watch", "Serbia Today"]
    _, out, _ = export(filled, "--format", "jsonl", "--tag", "serbia", "--channel", "Serbia Today", capsys=capsys)
    rows = jsonl(out)
    assert rows and all(r["channel"] == "Serbia Today" and "Serbia" in r["tags"] for r in rows)  # type: ignore[operator]
    _, out, _ = export(
        filled, "--format", "jsonl", "--since", "2026-11-20T12:00", "--until", "2026-11-20T16:00", capsys=capsys
    )
    assert all("2026-11-20T12" <= str(r["date_utc"]) < "2026-11-20T16" for r in jsonl(out)) and jsonl(out)


def test_query_export_matches_search(filled: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = export(filled, "Kosovo", "--format", "jsonl", capsys=capsys)
    ids = sorted(int(r["post_id"]) for r in jsonl(out))  # type: ignore[call-overload]
    store = ReadOnlyArchive(filled).store()
    try:
        assert ids == sorted(p.id for p in store.search("Kosovo", limit=1000))
    finally:
        store.close()


def test_filter_only_export_keeps_the_posts_search_lists(filled: Path) -> None:
    """One WHERE builder for both (storage/post_filters.py): the same filters keep the same posts, oldest first."""
    store = ReadOnlyArchive(filled).store()
    try:
        serbia_today = next(c.id for c in store.channels() if c.title == "Serbia Today")
        since, until = datetime(2026, 11, 20, 12, tzinfo=UTC), datetime(2026, 11, 20, 16, tzinfo=UTC)
        selections = [
            ExportFilter(tags=("serbia",)),
            ExportFilter(tags=("#Serbia", "kosovo", "serbia")),
            ExportFilter(channel_id=serbia_today),
            ExportFilter(since=since, until=until),
            ExportFilter(tags=("serbia",), channel_id=serbia_today, since=since),
            ExportFilter(tags=("no-such-tag",)),
        ]
        kept = []
        for f in selections:
            exported = [r[0] for page in export_rows(store, f, page=3) for r in page]
            listed = store.search(
                tags=f.tags, channel=f.channel_id, since=f.since, until=f.until, order="oldest", limit=1000
            )
            assert exported == [p.id for p in listed], f
            kept.append(len(exported))
        assert min(kept[:-1]) > 0 and max(kept) < 12 and kept[-1] == 0  # each filter keeps some, not all
    finally:
        store.close()


def test_paging_loses_and_repeats_nothing(filled: Path, tmp_path: Path) -> None:
    """Small pages (and several posts in one second) give the rows one big page gives, with and without a query."""
    path = Path(shutil.copy(filled, tmp_path / "a.db"))
    same_second = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
    channel = ChannelRef(tg_id=1700000055, username="burst", title="Burst")
    raws = [
        RawPost(
            channel=channel,
            message_id=i,
            date=same_second,
            text=f"Kosovo burst number {i} of the day.",
            source="export",
        )
        for i in range(1, 8)
    ]
    archive = Archive.open(Settings(), path)
    archive.ingest.save(raws)
    archive.close()
    store = ReadOnlyArchive(path).store()
    try:
        for selection in (ExportFilter(), ExportFilter(query="Kosovo"), ExportFilter(tags=("serbia",))):
            whole = [r for page in export_rows(store, selection, page=10_000) for r in page]
            for size in (1, 2, 3):
                paged = [r for page in export_rows(store, selection, page=size) for r in page]
                assert [r[0] for r in paged] == [r[0] for r in whole], (selection, size)
            folded_small = [r[0] for page in export_rows(store, selection, fold=True, page=2) for r in page]
            assert len(folded_small) == len(set(folded_small))
    finally:
        store.close()


def test_parquet_round_trip(filled: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pq = pytest.importorskip("pyarrow.parquet", reason="the parquet extra (pyarrow) is not installed")
    target = tmp_path / "posts.parquet"
    code, _, err = export(filled, "-o", str(target), capsys=capsys)
    assert code == 0 and "as parquet" in err
    table = pq.read_table(target)
    assert table.column_names == list(COLUMN_NAMES) and table.num_rows == 12
    assert str(table.schema.field("tags").type) == "list<element: string>"
    assert str(table.schema.field("date_utc").type) == "string"


def test_parquet_without_pyarrow_is_one_clear_line(
    filled: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    code, out, err = export(filled, "--format", "parquet", "-o", str(tmp_path / "x.parquet"), capsys=capsys)
    assert code == 1 and out == ""
    assert err == "tgmonitor: error: Parquet export needs pyarrow: pip install 'tgmonitor[parquet]'\n"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--since", "2026-11-21", "--until", "2026-11-20"], 2, "--until (2026-11-20 00:00) must be after --since"),
        (["--channel", "@nosuch"], 1, "no channel '@nosuch' in the archive"),
        (["--format", "parquet"], 2, "--format parquet needs -o FILE"),
        (["--format", "jsonl", "--bom"], 2, "--bom applies to CSV only"),
        (["--since", "yesterdayish"], 2, "--since:"),
        (['"'], 1, "unterminated quote at 1"),  # the rule language's syntax error, one line
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    filled: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], code: int, message: str
) -> None:
    target = tmp_path / "out.csv"
    got, _, err = export(filled, *args, *(["-o", str(target)] if "parquet" not in args else []), capsys=capsys)
    assert got == code and message in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_missing_archive_is_not_created(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = export(tmp_path / "none.db", capsys=capsys)
    assert code == 1 and "archive not found" in err
    assert not (tmp_path / "none.db").exists()
