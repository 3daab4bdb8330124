"""The statement page (who carried one statement, on a time line) and the network page (amplifiers,
unmonitored sources and the forward network drawn on the server).

Figures from bot/app/analytics.py, as `tgmonitor spread/amplifiers/graph/sources` print them; drawings
from bot/core/svg_network.py (no script). The network over a window is cached like the charts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from markupsafe import Markup
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from bot.app.analytics import RefError, amplifiers_json, analyse, graph_json, sources_json, spread_json
from bot.core.spread import humanize
from bot.core.spread_render import carried_line
from bot.core.svg_network import NetEdge, NetNode, TimelinePoint, network_svg, timeline_svg
from bot.web.forms import MAX_CHART_DAYS, bounded_int, parse_number
from bot.web.state import state_of

DEFAULT_NETWORK_DAYS = 30


def statement_page(request: Request) -> Response:
    state = state_of(request)
    post_id = parse_number(request.path_params["post_id"], "post", "a post number")  # 20 digits overflow SQLite
    with state.reading() as reader:
        try:
            shown = spread_json(reader.store, post_id)
        except RefError:
            raise HTTPException(404, f"There is no post {post_id} in the archive.") from None
    tz = state.options.tz
    carriers = shown["carriers"]
    for c in carriers:
        c["when"] = datetime.fromisoformat(c["date"]).astimezone(tz)
        c["delay"] = "origin" if c["kind"] == "origin" else "+" + humanize(int(c["delay_seconds"]))
    points = [
        TimelinePoint(
            str(c["channel"]),
            int(c["delay_seconds"]),
            str(c["kind"]),
            c["when"].strftime("%Y-%m-%d %H:%M"),
            f"/post/{c['post_id']}",
        )
        for c in carriers
    ]
    origin = shown["statement"]["origin"]
    return state.page(
        "statement.html",
        post_id=post_id,
        statement=shown["statement"],
        origin=origin,
        origin_when=datetime.fromisoformat(origin["date"]).astimezone(tz),
        carriers=carriers,
        summary=carried_line(carriers),
        timeline=Markup(timeline_svg(points, "Carriers by delay from the origin")),
    )


def network_page(request: Request) -> Response:
    state = state_of(request)
    days = bounded_int(request.query_params, "days", DEFAULT_NETWORK_DAYS, 1, MAX_CHART_DAYS)
    with state.reading() as reader:
        store = reader.store

        def draw() -> dict[str, Any]:
            analysis = analyse(store, None, None, days=days)
            graph = graph_json(analysis, store)
            nodes = [
                NetNode(
                    n["id"],
                    str(n["label"]),
                    bool(n["monitored"]),
                    f"/channel/{n['id'][1:]}" if n["id"].startswith("c") else None,
                )
                for n in graph["nodes"]
            ]
            edges = [
                NetEdge(e["source"], e["target"], e["weight"], e["forwards"], e["copies"], e["median_delay_seconds"])
                for e in graph["edges"]
            ]
            return {
                "since": analysis.since,
                "until": analysis.until,
                "amplifiers": amplifiers_json(analysis),
                "sources": sources_json(analysis, store),
                "svg": network_svg(nodes, edges, f"Forward network, last {days} days of the archive"),
            }

        shown, age = state.charts.get(("network", days), draw)
    return state.page(
        "network.html",
        days=days,
        since=shown["since"],
        until=shown["until"],
        amplifiers=shown["amplifiers"],
        sources=shown["sources"],
        network=Markup(shown["svg"]),
        humanize=humanize,
        age_minutes=int(age // 60),
    )
