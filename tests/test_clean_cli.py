"""`tgmonitor clean` and `tgmonitor reclean`, through the real entry point (a subprocess) and the real store."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from bot.app.reclean import MARK_KEY, reclean
from bot.core.pipeline import Pipeline
from bot.models import Forward
from storage.store import Store
from tests.conftest import DATA, make_ingest, raw_post
from tests.pg_backend import location
from tests.test_page_clean import page_text

pytestmark = pytest.mark.both_backends


def tgmonitor(*args: str, stdin: str | None = None, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).with_name("tgmonitor")), *args],  # no settings file: none is read unless named
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        env={"PATH": "/usr/bin:/bin"},
    )


def test_clean_files_stdin_json_and_explain(tmp_path: Path) -> None:
    page = tmp_path / "page.txt"
    page.write_text(page_text(), encoding="utf-8")
    post = DATA / "mfa_forward_paste.txt"
    pipeline = Pipeline.load()

    one = tgmonitor("clean", str(page), cwd=tmp_path)
    assert one.returncode == 0, one.stderr
    assert one.stdout == pipeline.clean(page_text()) + "\n"
    assert "F-16" not in one.stdout

    piped = tgmonitor("clean", "-", stdin=post.read_text(encoding="utf-8"), cwd=tmp_path)
    assert piped.stdout == pipeline.clean(post.read_text(encoding="utf-8")) + "\n"

    both = tgmonitor("clean", "--json", str(page), str(post), cwd=tmp_path)
    data = json.loads(both.stdout)
    assert [d["file"] for d in data] == [str(page), str(post)]
    assert data[1]["text"] == pipeline.clean(post.read_text(encoding="utf-8"))
    reasons = {r["text"]: r["reason"] for r in data[0]["removed"]}
    assert reasons["F-16 jets delivered to the air base ahead of schedule, officials say…"].startswith(
        "list under a section marker"
    )
    assert reasons["Subscribe to our newsletter"] == "rule newsletter-footer"
    assert {r["reason"] for r in data[1]["removed"]} >= {"rule view-in-telegram", "repeated paragraph"}

    explained = tgmonitor("clean", "--explain", str(post), cwd=tmp_path).stdout.splitlines()
    assert "[- rule view-in-telegram] VIEW IN TELEGRAM" in explained
    assert explained[-1] == "[- repeated paragraph] #RussiaSerbia" or "#RussiaSerbia" in explained


def test_clean_bad_file_is_one_error_and_no_output(tmp_path: Path) -> None:
    good = tmp_path / "good.txt"
    good.write_text("Lavrov met Vucic.", encoding="utf-8")
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff\xfe not text")
    result = tgmonitor("clean", str(good), str(bad), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert f"{bad}: not UTF-8 text" in result.stderr
    missing = tgmonitor("clean", str(tmp_path / "nope.txt"), cwd=tmp_path)
    assert missing.returncode == 1 and "nope.txt: cannot read" in missing.stderr
    assert not (tmp_path / "data").exists()  # cleaning never creates an archive


def test_reclean_updates_text_search_tags_and_is_idempotent(tmp_path: Path, store: Store) -> None:
    rules_only = replace(Pipeline.load(), page=None)
    today = Pipeline.load()
    article = page_text().replace("Football: Red Star", "#Sport Football: Red Star")
    raws = [
        raw_post(1, article),
        raw_post(2, (DATA / "mfa_forward_paste.txt").read_text(encoding="utf-8")),
        raw_post(3, "Short flash about Serbia. #RussiaSerbia", hashtags=("RussiaSerbia", "FromEntity")),
        raw_post(4, article, forward=Forward(name="Example News")),
    ]
    make_ingest(store, rules_only).save(raws)
    assert store.search("derby")
    before = {p.message_id: p for p in store.search(limit=10)}
    assert "sport" in {t.key for t in before[1].tags}
    ingest = make_ingest(store, today)

    result = reclean(store, today, ingest.neardup, batch_size=2)
    assert (result.seen, result.changed) == (4, 2)
    after = {p.message_id: p for p in store.search(limit=10)}
    assert "F-16" not in after[1].text and after[1].text == today.clean(article)
    assert not store.search("derby")  # FTS followed the text
    assert "sport" not in {t.key for t in after[1].tags}  # the hashtag came only from the junk
    assert after[2].text == before[2].text and after[2].tags == before[2].tags
    assert {t.key for t in after[3].tags} == {t.key for t in before[3].tags}  # entity hashtag kept
    assert after[4].origin_key.startswith("fwd:example news/") and after[4].origin_key != before[4].origin_key
    assert after[4].content_hash == after[1].content_hash
    assert after[4].cluster_id == after[1].cluster_id

    # The same as ingesting afresh with today's cleaner.
    fresh = Store.open(tmp_path / "fresh.db")
    make_ingest(fresh, today).save(raws)
    again = {p.message_id: p for p in fresh.search(limit=10)}
    for message_id in (1, 2, 4):
        assert (again[message_id].text, again[message_id].tags) == (after[message_id].text, after[message_id].tags)
    fresh.close()

    dump = store.dump_json()
    assert reclean(store, today, ingest.neardup).seen == 0  # finished: nothing to redo
    store.meta_set(MARK_KEY, "0")
    assert reclean(store, today, ingest.neardup).changed == 0  # idempotent when forced again
    assert store.dump_json() == dump


def test_reclean_resumes_after_the_last_committed_batch(store: Store) -> None:
    rules_only = replace(Pipeline.load(), page=None)
    today = Pipeline.load()
    make_ingest(store, rules_only).save([raw_post(i, page_text() + f"\n\nTag {i}") for i in range(1, 6)])
    calls = []

    def interrupt(seen: int, changed: int) -> None:
        calls.append(seen)
        if len(calls) == 2:
            raise KeyboardInterrupt

    with contextlib.suppress(KeyboardInterrupt):
        reclean(store, today, None, batch_size=2, progress=interrupt)
    assert store.meta_get(MARK_KEY) is not None
    resumed = reclean(store, today, None, batch_size=2)
    assert resumed.resumed_after > 0 and resumed.seen == 1
    assert all("F-16" not in p.text for p in store.search(limit=10))


def test_reclean_command(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    opened = Store.open(db)
    make_ingest(opened, replace(Pipeline.load(), page=None)).save([raw_post(1, page_text())])
    opened.close()
    first = tgmonitor("--db", location(db), "reclean", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "recleaned 1 posts: 1 changed"
    second = tgmonitor("--db", location(db), "reclean", cwd=tmp_path)
    assert second.stdout.strip() == "recleaned 0 posts (resumed after post 1): 0 changed"
