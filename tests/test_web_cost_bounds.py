"""Issue #27 item 9: what a request may cost the viewer. Varying `days`/`weeks` cannot defeat the
charts cache (few parameter sets, one computation per set at a time, at most two at once), and
highlighting stays within the page's time budget."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

import bot.web.pages as pages
from bot.web.cache import ChartCache, ChartsBusy
from bot.web.forms import CHART_DAY_STEPS, CHART_WEEK_STEPS, chart_span
from bot.web.state import Reader
from storage.browse import MARK_OPEN, Browse
from storage.readonly import ReadOnlyArchive
from tests.web_archive import fill_archive
from tests.web_server import client as client_for


@pytest.fixture(scope="module")
def archive_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fill_archive(tmp_path_factory.mktemp("cost") / "archive.db")


@pytest.fixture(scope="module")
def http(archive_path: Path) -> Iterator[httpx.Client]:
    with client_for(archive_path) as client:
        yield client


def test_any_span_asked_for_is_one_of_a_few_steps() -> None:
    days = {chart_span({"days": str(n)}, "days", 30, CHART_DAY_STEPS) for n in range(1, 367)}
    weeks = {chart_span({"weeks": str(n)}, "weeks", 12, CHART_WEEK_STEPS) for n in range(1, 54)}
    assert days == set(CHART_DAY_STEPS) and weeks == set(CHART_WEEK_STEPS)  # 7 x 5 chart sets, not 366 x 53
    assert chart_span({"days": "17"}, "days", 30, CHART_DAY_STEPS) == 30  # rounded up: at least what was asked


def test_the_pages_draw_the_step_and_say_so(http: httpx.Client) -> None:
    for n in ("1", "5", "7"):
        assert "the last 7 up to the day of the newest post" in http.get("/charts", params={"days": n}).text
    assert http.get("/channel/1", params={"days": "45"}).status_code == 200


class Slow:
    """A computation that takes a while and records how many ran at once."""

    def __init__(self, seconds: float = 0.2) -> None:
        self.seconds, self.running, self.most, self.calls = seconds, 0, 0, 0
        self.lock = threading.Lock()

    def __call__(self) -> str:
        with self.lock:
            self.running += 1
            self.calls += 1
            self.most = max(self.most, self.running)
        time.sleep(self.seconds)
        with self.lock:
            self.running -= 1
        return "svg"


def test_eight_different_uncached_charts_compute_two_at_a_time() -> None:
    cache, slow = ChartCache(max_computing=2, wait=10), Slow()
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda n: cache.get(("charts", n), slow), range(8)))
    assert [value for value, _ in results] == ["svg"] * 8
    assert (slow.calls, slow.most) == (8, 2)


def test_eight_requests_for_one_chart_compute_it_once() -> None:
    cache, slow = ChartCache(max_computing=2, wait=10), Slow()
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: cache.get(("charts", 30, 12), slow), range(8)))
    assert slow.calls == 1 and cache.computed == 1 and {v for v, _ in results} == {"svg"}


def test_a_request_that_cannot_start_in_time_is_told_to_come_back() -> None:
    cache, slow = ChartCache(max_computing=1, wait=0.05), Slow(seconds=0.5)
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(cache.get, "a", slow)
        time.sleep(0.1)
        with pytest.raises(ChartsBusy):
            cache.get("b", slow)
        assert first.result()[0] == "svg"


def test_highlighting_reads_a_bounded_prefix_and_stops_at_the_deadline(
    archive_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ReadOnlyArchive(archive_path).store(time_limit=10)
    try:
        reader = Reader(store, Browse(store))
        post = store.get_post(1)
        assert post is not None
        long_posts = [dataclasses.replace(post, id=i, text="Kosovo statement. " * 6_000) for i in range(100)]  # 108k
        seen: list[int] = []
        real = pages.match_spans
        monkeypatch.setattr(pages, "match_spans", lambda text, *a: seen.append(len(text)) or real(text, *a))
        marks = pages._marks(reader, "Kosovo", long_posts, deadline=time.monotonic() + 60)
        assert len(marks) == 100 and all(MARK_OPEN in m for m in marks.values())
        assert max(seen) == pages.HIGHLIGHT_CHARS  # 20,000 of each 108,000 characters
        seen.clear()
        ticks = iter(range(1000))
        marks = pages._marks(reader, "Kosovo", long_posts, deadline=10.0, clock=lambda: float(next(ticks)))
        assert len(seen) == 11 and len(marks) == 11  # the budget ran out: the rest show unmarked
    finally:
        store.close()
