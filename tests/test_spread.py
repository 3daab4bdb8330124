"""Who carries what, on the fixture world of tests/spread_world.py: every figure asserted exactly.

The world is saved through the real ingest (pipeline and near-duplicate index) into a real SQLite
file; the commands run as `tgmonitor` runs them (bot.cli.main), their output read back as JSON, and
the graph files read back with networkx as Gephi users would.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import networkx as nx
import pytest

from bot.app.analytics import RefError, analyse, spread_json
from bot.cli import main
from bot.core.spread import humanize, median, percentile
from bot.core.spread_render import carried_line
from storage.store import Store
from tests.spread_world import DONBASS_ID, fill_world

pytestmark = pytest.mark.both_backends

SINCE = "2026-11-19"
UNTIL = "2026-11-22"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fill_world(tmp_path_factory.mktemp("spread") / "world.db")


def run_json(world: Path, capsys: pytest.CaptureFixture[str], *args: str) -> object:
    capsys.readouterr()
    assert main(["--db", str(world), *args]) == 0
    return json.loads(capsys.readouterr().out)


def run_text(world: Path, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    assert main(["--db", str(world), *args]) == 0
    return capsys.readouterr().out


CARRIERS = [
    ("@mfa_russia", "2026-11-20T09:00:00+00:00", 0, "origin", "https://t.me/mfa_russia/101", 5000),
    ("@balkan_watch", "2026-11-20T09:10:00+00:00", 600, "forward", "https://t.me/balkan_watch/11", 900),
    ("@copycat_news", "2026-11-20T09:30:00+00:00", 1800, "copy", "https://t.me/copycat_news/31", 120),
    ("@serbia_today", "2026-11-20T09:45:00+00:00", 2700, "forward", "https://t.me/serbia_today/21", 700),
    ("@retold", "2026-11-20T10:05:00+00:00", 3900, "near-duplicate", "https://t.me/retold/41", 80),
    ("@kremlin_echo", "2026-11-20T11:10:00+00:00", 7800, "forward", "https://t.me/kremlin_echo/51", 1500),
]


@pytest.mark.parametrize(
    "ref", ["1", "https://t.me/balkan_watch/11", "https://t.me/c/1000000006/41", "t.me/copycat_news/31"]
)
def test_spread_json_of_any_carrier_is_the_whole_statement(
    world: Path, capsys: pytest.CaptureFixture[str], ref: str
) -> None:
    shown = run_json(world, capsys, "spread", ref, "--json")
    assert isinstance(shown, dict)
    assert shown["statement"]["text"].startswith("Foreign Minister Sergey Lavrov held talks in Moscow")
    assert shown["statement"]["origin"] == {
        "channel": "@mfa_russia",
        "channel_id": 1,
        "date": "2026-11-20T09:00:00+00:00",
        "url": "https://t.me/mfa_russia/101",
        "post_id": 1,
        "archived": True,
    }
    got = [(c["channel"], c["date"], c["delay_seconds"], c["kind"], c["url"], c["views"]) for c in shown["carriers"]]
    assert got == CARRIERS
    assert [c["channel_id"] for c in shown["carriers"]] == [1, 2, 3, 4, 5, 6]
    assert carried_line(shown["carriers"]) == "carried by 5 channels within 2 h 10 min"


def test_spread_text_is_a_timeline(world: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = run_text(world, capsys, "spread", "https://t.me/serbia_today/21")
    lines = text.splitlines()
    assert lines[1] == "Origin: @mfa_russia · 2026-11-20 09:00"
    assert "Carried by 5 channels within 2 h 10 min" in lines
    timeline = [line for line in lines if line[:1] in "●↪≡≈" and "20" in line[:6]]
    assert [next(w for w in line.split() if w.startswith("@")) for line in timeline] == [
        "@mfa_russia",
        "@balkan_watch",
        "@copycat_news",
        "@serbia_today",
        "@retold",
        "@kremlin_echo",
    ]
    assert "+2 h 10 min" in timeline[-1] and "1,500 views" in timeline[-1]


def test_spread_of_an_unarchived_origin_counts_from_the_forward_header(
    world: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shown = run_json(world, capsys, "spread", "https://t.me/serbia_today/22", "--json")
    assert isinstance(shown, dict)
    assert shown["statement"]["origin"] == {
        "channel": "Donbass Insider",
        "channel_id": None,
        "date": "2026-11-20T06:00:00+00:00",  # the header's date, an hour before the first forward
        "url": None,  # a private channel's post: no public link
        "post_id": None,
        "archived": False,
    }
    assert [(c["channel"], c["delay_seconds"], c["kind"]) for c in shown["carriers"]] == [
        ("@balkan_watch", 3600, "forward"),
        ("@serbia_today", 5400, "forward"),
    ]


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("999", "there is no post 999 in the archive"),
        ("https://t.me/nobody_here/5", "is not in the archive"),
        ("https://example.com/x", "neither a post id nor a t.me post link"),
        ("²", "neither a post id nor a t.me post link"),
        ("9" * 20, f"there is no post {'9' * 20} in the archive"),  # an OverflowError traceback before
        (f"https://t.me/c/{'9' * 30}/5", "names a channel by its number (at most 64 bits)"),
    ],
)
def test_spread_of_a_bad_ref_is_one_line(
    world: Path, capsys: pytest.CaptureFixture[str], ref: str, message: str
) -> None:
    assert main(["--db", str(world), "spread", ref]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


AMPLIFIERS_MFA = [
    {
        "channel": "@balkan_watch",
        "channel_id": 2,
        "statements": 2,
        "forwards": 2,
        "copies": 0,
        "first": 1,
        "median_delay_seconds": 900,
        "p90_delay_seconds": 1200,
        "carried_share": 0.5,
    },
    {
        "channel": "@kremlin_echo",
        "channel_id": 6,
        "statements": 2,
        "forwards": 2,
        "copies": 0,
        "first": 1,
        "median_delay_seconds": 4050,
        "p90_delay_seconds": 7800,
        "carried_share": 0.5,
    },
    {
        "channel": "@copycat_news",
        "channel_id": 3,
        "statements": 1,
        "forwards": 0,
        "copies": 1,
        "first": 0,
        "median_delay_seconds": 1800,
        "p90_delay_seconds": 1800,
        "carried_share": 1.0,
    },
    {
        "channel": "@serbia_today",
        "channel_id": 4,
        "statements": 1,
        "forwards": 1,
        "copies": 0,
        "first": 0,
        "median_delay_seconds": 2700,
        "p90_delay_seconds": 2700,
        "carried_share": 0.25,
    },
    {
        "channel": "@retold",
        "channel_id": 5,
        "statements": 1,
        "forwards": 0,
        "copies": 1,
        "first": 0,
        "median_delay_seconds": 3900,
        "p90_delay_seconds": 3900,
        "carried_share": 1.0,
    },
]


def test_amplifiers_of_the_mfa(world: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = run_json(
        world, capsys, "amplifiers", "--since", SINCE, "--until", UNTIL, "--source", "@mfa_russia", "--json"
    )
    assert rows == AMPLIFIERS_MFA


def test_amplifiers_of_every_source(world: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = run_json(world, capsys, "amplifiers", "--since", SINCE, "--until", UNTIL, "--json")
    assert isinstance(rows, list)
    # Donbass Insider's two statements and Rybar's one join the MFA's; delays of an outside source's
    # statement count from its first sighting in the window (the index holds no header dates)
    assert [
        (r["channel"], r["statements"], r["forwards"], r["copies"], r["first"], r["median_delay_seconds"],
         r["p90_delay_seconds"], r["carried_share"])
        for r in rows
    ] == [
        ("@balkan_watch", 3, 3, 0, 2, 600, 1200, 0.75),
        ("@kremlin_echo", 3, 3, 0, 2, 300, 7800, 0.75),
        ("@serbia_today", 3, 3, 0, 1, 1800, 2700, 0.75),
        ("@copycat_news", 1, 0, 1, 0, 1800, 1800, 1.0),
        ("@retold", 1, 0, 1, 0, 3900, 3900, 1.0),
    ]  # fmt: skip
    text = run_text(world, capsys, "amplifiers", "--since", SINCE, "--until", UNTIL)
    assert "@balkan_watch           3         3       0      2     10 min      20 min      75%" in text


EDGES = [
    ("@mfa_russia", "@balkan_watch", 2, 2, 0, 900),
    ("@mfa_russia", "@kremlin_echo", 2, 2, 0, 4050),
    ("Donbass Insider", "@serbia_today", 2, 2, 0, 900),
    ("@mfa_russia", "@copycat_news", 1, 0, 1, 1800),
    ("@mfa_russia", "@serbia_today", 1, 1, 0, 2700),
    ("@mfa_russia", "@retold", 1, 0, 1, 3900),
    ("Рыбарь", "@kremlin_echo", 1, 1, 0, 0),
    ("Donbass Insider", "@balkan_watch", 1, 1, 0, 0),
]


def test_graph_csv_and_json(world: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = run_text(world, capsys, "graph", "--since", SINCE, "--until", UNTIL, "--format", "csv")
    lines = text.splitlines()
    assert lines[0] == "source,target,weight,forwards,copies,median_delay_seconds"
    assert lines[1:] == [",".join(map(str, e)) for e in EDGES]
    graph = run_json(world, capsys, "graph", "--since", SINCE, "--until", UNTIL, "--format", "json")
    assert isinstance(graph, dict)
    nodes = {n["id"]: n for n in graph["nodes"]}
    assert set(nodes) == {"c1", "c2", "c3", "c4", "c5", "c6", "@rybar", f"tg:{DONBASS_ID}"}
    assert nodes[f"tg:{DONBASS_ID}"] == {
        "id": f"tg:{DONBASS_ID}",
        "label": "Donbass Insider",
        "title": "Donbass Insider",
        "username": None,
        "tg_id": DONBASS_ID,
        "monitored": False,
        "posts": 0,
    }
    assert nodes["c2"] == {
        "id": "c2",
        "label": "@balkan_watch",
        "title": "Balkan Watch",
        "username": "balkan_watch",
        "tg_id": 1000000002,
        "monitored": True,
        "posts": 4,
    }


@pytest.mark.parametrize("fmt", ["gexf", "graphml"])
def test_graph_files_load_in_networkx(
    world: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / f"net.{fmt}"
    assert main(["--db", str(world), "graph", "--since", SINCE, "--until", UNTIL, "--format", fmt, "-o", str(out)]) == 0
    graph = nx.read_gexf(out) if fmt == "gexf" else nx.read_graphml(out)
    assert isinstance(graph, nx.DiGraph)
    assert graph.number_of_nodes() == 8 and graph.number_of_edges() == 8
    label = "label"
    names = {n: graph.nodes[n][label] for n in graph.nodes}
    got = sorted(
        (names[u], names[v], int(d["weight"]), d["forwards"], d["copies"], d["median_delay_seconds"])
        for u, v, d in graph.edges(data=True)
    )
    assert got == sorted(EDGES)
    assert graph.nodes["c1"]["monitored"] is True and graph.nodes["@rybar"]["monitored"] is False
    assert graph.nodes["c1"]["posts"] == 2 and graph.nodes["c1"]["username"] == "mfa_russia"
    # the network's hub by weighted out-degree is the MFA
    assert max(graph.nodes, key=lambda n: graph.out_degree(n, weight="weight")) == "c1"


SOURCES = [
    {
        "source": f"tg:{DONBASS_ID}",
        "name": "Donbass Insider",
        "username": None,
        "tg_id": DONBASS_ID,
        "channels": 2,
        "forwards": 3,
        "statements": 2,
        "first_seen": "2026-11-20T07:00:00+00:00",
        "last_seen": "2026-11-21T08:30:00+00:00",
        "examples": [
            "https://t.me/serbia_today/23",
            "https://t.me/serbia_today/22",
            "https://t.me/balkan_watch/13",
        ],
    },
    {
        "source": "@rybar",
        "name": "Рыбарь",
        "username": "rybar",
        "tg_id": None,
        "channels": 1,
        "forwards": 1,
        "statements": 1,
        "first_seen": "2026-11-21T11:00:00+00:00",
        "last_seen": "2026-11-21T11:00:00+00:00",
        "examples": ["https://t.me/kremlin_echo/53"],
    },
]


def test_sources_unmonitored_and_add(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    world = fill_world(tmp_path / "world.db")
    assert run_json(world, capsys, "sources", "--unmonitored", "--since", SINCE, "--until", UNTIL, "--json") == SOURCES
    assert (
        main(["--db", str(world), "sources", "--unmonitored", "--since", SINCE, "--until", UNTIL, "--add", "nobody"])
        == 2
    )
    assert "--add nobody: not among the unmonitored sources" in capsys.readouterr().err
    assert main(["--db", str(world), "sources", "--unmonitored", "--since", SINCE, "--until", UNTIL, "--add"]) == 0
    store = Store.open(world)
    try:
        watched = {(c.tg_id, c.username, c.title) for c in store.channels(watched_only=True)}
    finally:
        store.close()
    assert watched == {(DONBASS_ID, None, "Donbass Insider"), (None, "rybar", "Рыбарь")}
    # now watched: no longer unmonitored
    assert run_json(world, capsys, "sources", "--unmonitored", "--since", SINCE, "--until", UNTIL, "--json") == []


def test_window_defaults_to_thirty_days_before_the_newest_post(world: Path) -> None:
    store = Store.open(world)
    try:
        analysis = analyse(store, None, None)
        assert analysis.until == datetime(2026, 11, 21, 11, 0, 1, tzinfo=UTC)
        assert (analysis.until - analysis.since).days == 30
        with pytest.raises(RefError, match="no post 0"):
            spread_json(store, 0)
    finally:
        store.close()


def test_delay_arithmetic() -> None:
    assert median([600, 1200]) == 900 and median([300, 7800, 0]) == 300 and median([]) is None
    assert percentile([600, 1200], 90) == 1200 and percentile(list(range(1, 11)), 90) == 9
    assert percentile([5], 90) == 5 and percentile([], 90) is None
    assert [humanize(s) for s in (0, 59, 60, 3600, 7800, 90000, 86400)] == [
        "0 s",
        "59 s",
        "1 min",
        "1 h",
        "2 h 10 min",
        "1 d 1 h",
        "1 d",
    ]


def test_window_carried_groups_exactly_as_every_key(world: Path, tmp_path: Path) -> None:
    """The window read that leaves out lone own posts (SQLite finds the shared keys) gives the same
    statements and counts as folding every post's keys, on the world and on the benchmark's archive."""
    from bench.analysis import generate
    from bot.core.amplification import window_statements
    from storage.spread_reads import SpreadReads

    generated = tmp_path / "bench.db"
    generate(generated, 4000, 20, seed=5)
    for path, since, until in (
        (world, datetime(2026, 11, 19, tzinfo=UTC), datetime(2026, 11, 22, tzinfo=UTC)),
        (generated, datetime(2026, 11, 10, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC)),
    ):
        store = Store.open(path)
        try:
            reads = SpreadReads(store)
            channels = reads.channel_infos()
            every = window_statements(reads.window_keys(since, until), channels)
            keys, posts = reads.window_carried(since, until)
            carried = window_statements(keys, channels, posts)
            assert carried == every and len(keys) < len(reads.window_keys(since, until))
            assert len(every.statements) >= 5
        finally:
            store.close()
