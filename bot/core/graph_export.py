"""The forward network as files other tools read: GEXF (Gephi), GraphML, CSV edges, JSON.

Pure: a graph dict (bot/app/analytics.py `graph_json`) in, text out. Written with the standard library's
ElementTree rather than networkx, whose writers would make it a runtime dependency for two small XML
shapes; the tests read both back with networkx (`read_gexf`, `read_graphml`), as Gephi users would.
"""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

FORMATS = ("gexf", "graphml", "csv", "json")
NODE_ATTRS = (
    ("title", "string"),
    ("username", "string"),
    ("tg_id", "long"),
    ("monitored", "boolean"),
    ("posts", "int"),
)
EDGE_ATTRS = (("forwards", "int"), ("copies", "int"), ("median_delay_seconds", "long"))
GEXF_NS = "http://www.gexf.net/1.2draft"
GRAPHML_NS = "http://graphml.graphdrawing.org/xmlns"


def export(graph: Mapping[str, Any], fmt: str) -> str:
    if fmt == "gexf":
        return to_gexf(graph)
    if fmt == "graphml":
        return to_graphml(graph)
    if fmt == "csv":
        return to_csv(graph)
    if fmt == "json":
        return json.dumps(graph, ensure_ascii=False, indent=2) + "\n"
    raise ValueError(f"--format {fmt!r}: one of {', '.join(FORMATS)}")


def _value(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def to_gexf(graph: Mapping[str, Any]) -> str:
    root = ET.Element("gexf", {"xmlns": GEXF_NS, "version": "1.2"})
    meta = ET.SubElement(root, "meta")
    ET.SubElement(meta, "creator").text = "tgmonitor"
    ET.SubElement(meta, "description").text = f"forward network {graph.get('since', '')} – {graph.get('until', '')}"
    body = ET.SubElement(root, "graph", {"defaultedgetype": "directed", "mode": "static"})
    for cls, attrs in (("node", NODE_ATTRS), ("edge", EDGE_ATTRS)):
        block = ET.SubElement(body, "attributes", {"class": cls})
        for name, kind in attrs:
            gexf_kind = "integer" if kind == "int" else kind  # GEXF's name; GraphML says "int"
            ET.SubElement(block, "attribute", {"id": name, "title": name, "type": gexf_kind})
    nodes = ET.SubElement(body, "nodes")
    for node in graph["nodes"]:
        element = ET.SubElement(nodes, "node", {"id": node["id"], "label": str(node["label"])})
        _attvalues(element, node, NODE_ATTRS)
    edges = ET.SubElement(body, "edges")
    for number, edge in enumerate(graph["edges"]):
        element = ET.SubElement(
            edges,
            "edge",
            {"id": str(number), "source": edge["source"], "target": edge["target"], "weight": str(edge["weight"])},
        )
        _attvalues(element, edge, EDGE_ATTRS)
    return _xml(root)


def _attvalues(element: ET.Element, item: Mapping[str, Any], attrs: tuple[tuple[str, str], ...]) -> None:
    present = [(name, item[name]) for name, _ in attrs if item.get(name) is not None]
    if present:
        values = ET.SubElement(element, "attvalues")
        for name, value in present:
            ET.SubElement(values, "attvalue", {"for": name, "value": _value(value)})


def to_graphml(graph: Mapping[str, Any]) -> str:
    root = ET.Element("graphml", {"xmlns": GRAPHML_NS})
    for name, kind in (("label", "string"), *NODE_ATTRS):
        ET.SubElement(root, "key", {"id": f"n_{name}", "for": "node", "attr.name": name, "attr.type": kind})
    for name, kind in (("weight", "int"), *EDGE_ATTRS):
        ET.SubElement(root, "key", {"id": f"e_{name}", "for": "edge", "attr.name": name, "attr.type": kind})
    body = ET.SubElement(root, "graph", {"id": "forwards", "edgedefault": "directed"})
    for node in graph["nodes"]:
        element = ET.SubElement(body, "node", {"id": node["id"]})
        for name, _ in (("label", "string"), *NODE_ATTRS):
            if node.get(name) is not None:
                ET.SubElement(element, "data", {"key": f"n_{name}"}).text = _value(node[name])
    for edge in graph["edges"]:
        element = ET.SubElement(body, "edge", {"source": edge["source"], "target": edge["target"]})
        for name, _ in (("weight", "int"), *EDGE_ATTRS):
            if edge.get(name) is not None:
                ET.SubElement(element, "data", {"key": f"e_{name}"}).text = _value(edge[name])
    return _xml(root)


def to_csv(graph: Mapping[str, Any]) -> str:
    """`source,target,weight,forwards,copies,median_delay_seconds`, sources and targets by label."""
    labels = {n["id"]: n["label"] for n in graph["nodes"]}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["source", "target", "weight", "forwards", "copies", "median_delay_seconds"])
    for e in graph["edges"]:
        delay = e["median_delay_seconds"]
        writer.writerow(
            [
                labels[e["source"]],
                labels[e["target"]],
                e["weight"],
                e["forwards"],
                e["copies"],
                "" if delay is None else delay,
            ]
        )
    return out.getvalue()


def _xml(root: ET.Element) -> str:
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
