"""The lineage graph as JSON, Graphviz DOT, GraphML or Mermaid (``gavel lineage export``). Deterministic."""

from __future__ import annotations

import io
import json

import networkx as nx

from engine.errors import UsageError

FORMATS = ("json", "dot", "graphml", "mermaid")


def view(lg, level: str = "column") -> nx.DiGraph:
    """A plain DiGraph with string/int attributes; at ``table`` level columns fold into their tables."""
    g = lg.g
    out = nx.DiGraph()

    def keep(node: str) -> str:
        data = g._node[node]
        return data["table"] if level == "table" and data["type"] == "column" else node

    for node in sorted(g.nodes):
        data = g._node[node]
        if level == "table" and data["type"] == "column":
            continue
        out.add_node(node, type=data["type"], tags=",".join(lg.tags_of(node)),
                     declared=",".join(sorted(lg.propagation.declared.get(node, ()))))
    for u, v in sorted(g.edges):
        data = g.edges[u, v]
        a, b = keep(u), keep(v)
        if level == "table" and a == b and (u != a or v != b):
            continue
        if out.has_edge(a, b):
            continue
        attrs = {"kind": data["kind"]}
        for key in ("file", "line", "job"):
            if data.get(key) is not None:
                attrs[key] = data[key]
        out.add_edge(a, b, **attrs)
    return out


def render(lg, fmt: str, *, level: str = "column") -> str:
    if fmt not in FORMATS:
        raise UsageError(f"unknown export format '{fmt}' (one of {', '.join(FORMATS)})")
    g = view(lg, level)
    if fmt == "json":
        nodes = [{"id": n, **d} for n, d in g.nodes(data=True)]
        for n in nodes:
            n["tags"] = n["tags"].split(",") if n["tags"] else []
            n["declared"] = n["declared"].split(",") if n["declared"] else []
        edges = [{"source": u, "target": v, **d} for u, v, d in g.edges(data=True)]
        return json.dumps({"level": level, "nodes": nodes, "edges": edges}, indent=2) + "\n"
    if fmt == "graphml":
        buf = io.BytesIO()
        nx.write_graphml(g, buf)
        return buf.getvalue().decode("utf-8")
    if fmt == "dot":
        return _dot(g)
    return _mermaid(g)


_SHAPES = {"table": "box", "column": "ellipse", "model": "doubleoctagon", "job": "cds"}


def _q(text: str) -> str:
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _dot(g: nx.DiGraph) -> str:
    lines = ["digraph lineage {", "  rankdir=LR;", "  node [fontname=Helvetica];"]
    for node, data in g.nodes(data=True):
        # The line break is DOT's own escape (\n inside the quotes); everything else is escaped text.
        label = _q(node)[:-1] + (r"\n" + _q(f"[{data['tags']}]")[1:] if data["tags"] else '"')
        lines.append(f"  {_q(node)} [shape={_SHAPES[data['type']]}, label={label}];")
    for u, v, data in g.edges(data=True):
        lines.append(f"  {_q(u)} -> {_q(v)} [label={_q(data['kind'])}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


_MERMAID_SHAPES = {"table": ('["', '"]'), "column": ('("', '")'), "model": ('{{"', '"}}'), "job": ('[["', '"]]')}


def _mermaid(g: nx.DiGraph) -> str:
    ids = {node: f"n{i}" for i, node in enumerate(g.nodes)}
    lines = ["flowchart LR"]
    for node, data in g.nodes(data=True):
        left, right = _MERMAID_SHAPES[data["type"]]
        label = node.replace('"', "#quot;") + (f"<br/>[{data['tags']}]" if data["tags"] else "")
        lines.append(f"  {ids[node]}{left}{label}{right}")
    for u, v, data in g.edges(data=True):
        lines.append(f"  {ids[u]} -->|{data['kind']}| {ids[v]}")
    return "\n".join(lines) + "\n"
