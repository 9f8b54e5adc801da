"""Lineage facts: the ``lineage`` key of each model and dataset input document, and the ``lineage`` subject.

A model or dataset's facts (``input.lineage``; every list sorted, so reports are reproducible):

- ``node``: its node id (``raw.customers``, ``model:credit-scorer``), ``in_graph``: whether lineage knows it
- ``upstream`` / ``downstream``: ``[{id, type, tags}]``: tables, columns and models it reads from,
  transitively / that read from it (a table stands for its columns too)
- ``tagged_sources``: ``[{tag, source, path}]``: each node declaring a tag that reaches this subject,
  with one shortest path (node ids, source first)
- ``tags``: every tag that reaches it
- ``downstream_models``: model ids it feeds; ``upstream_models``: models feeding it
- ``sources``: the root tables upstream (nothing upstream of them), with what their dataset cards
  say: ``{id, declared, registered, legal_basis, region, file}``
"""

from __future__ import annotations

from typing import Any

from engine.context import EMPTY_LINEAGE

#: Most example paths kept per tag for one subject (the full list is on the command line).
MAX_SOURCES_PER_TAG = 25


def node_of(lg, kind: str, id: str) -> str:
    return f"model:{id}" if kind == "model" else id.lower()


def _entry(lg, node: str) -> dict:
    data = lg.g._node[node]
    return {"id": node, "type": data["type"], "tags": lg.tags_of(node)}


def facts(lg, kind: str, id: str) -> dict[str, Any]:
    node = node_of(lg, kind, id)
    if node not in lg.g:
        return {**EMPTY_LINEAGE, "node": node, "in_graph": False, "downstream_models": [],
                "upstream_models": [], "sources": []}
    up = lg.walk(node, reverse=True)
    down = lg.walk(node)
    data_types = ("table", "column", "model")
    upstream = [_entry(lg, n) for n in sorted(up) if lg.g._node[n]["type"] in data_types]
    downstream = [_entry(lg, n) for n in sorted(down) if lg.g._node[n]["type"] in data_types]
    tags = lg.tags_of(node)
    tagged = []
    for tag in tags:
        for source, path in lg.propagation.sources(node, tag, limit=MAX_SOURCES_PER_TAG):
            if source != node:
                tagged.append({"tag": tag, "source": source, "path": path})
    return {
        "node": node,
        "in_graph": True,
        "upstream": upstream,
        "downstream": downstream,
        "tagged_sources": tagged,
        "tags": tags,
        "downstream_models": sorted(n[6:] for n in down if n.startswith("model:")),
        "upstream_models": sorted(n[6:] for n in up if n.startswith("model:")),
        "sources": root_sources(lg, node, up),
    }


def root_sources(lg, node: str, up: dict[str, int]) -> list[dict]:
    """Tables upstream of ``node`` with no table upstream of them: where its data comes from.

    ``up`` is the upstream walk, which holds the tables of upstream columns too, so a model that
    names only ``features:`` columns has sources like one trained on the whole table."""
    g = lg.g
    candidates = [n for n in up if g._node[n]["type"] == "table" and not g._node[n].get("temporary")]
    if g._node[node]["type"] == "model":
        candidates += [t for t, d in g._pred[node].items() if d["kind"] in ("training", "evaluation")]
    roots = set()
    for table in candidates:
        if not any(g._node[p]["type"] in ("table", "job", "model") or
                   (g._node[p]["type"] == "column" and g._node[p]["table"] != table)
                   for p in _table_preds(lg, table)):
            roots.add(table)
    return [source_entry(lg, t) for t in sorted(roots)]


def _table_preds(lg, table: str):
    g = lg.g
    yield from g._pred[table]
    for column in lg.columns_of.get(table, ()):
        yield from g._pred[column]


def source_entry(lg, table: str) -> dict:
    card = lg.cards.get(table)
    data = card.data if card is not None else {}
    provenance = data.get("provenance") or {}
    return {
        "id": table,
        "declared": card is not None,
        "registered": bool(provenance.get("registered", False)),
        "legal_basis": data.get("legal_basis"),
        "region": data.get("region"),
        "file": card.source.file if card is not None else None,
    }


def subject(lg) -> dict[str, Any]:
    """The body of the one ``lineage`` subject: the whole graph, for graph-wide policies."""
    import networkx as nx

    tg = lg.table_graph()
    cycles = []
    for component in nx.strongly_connected_components(tg):
        if len(component) < 2:
            continue
        members = sorted(component)
        sub = tg.subgraph(members)
        try:
            example = [u for u, _ in nx.find_cycle(sub, source=members[0])]
        except nx.NetworkXNoCycle:  # pragma: no cover - a strongly connected component has one
            example = members
        cycles.append({"tables": members, "path": [*example, example[0]]})
    cycles.sort(key=lambda c: c["tables"])
    self_loops = sorted(n for n in tg.nodes if tg.has_edge(n, n))
    g = lg.g
    orphans = []
    for table in sorted(tg.nodes):
        if tg.degree(table) - (2 if tg.has_edge(table, table) else 0) > 0:
            continue
        if any(g._node[s]["type"] == "model" for s in g._succ[table]):
            continue
        columns = lg.columns_of.get(table, ())
        if any(g._succ[c] or g._pred[c] for c in columns):
            continue
        card = lg.cards.get(table)
        orphans.append({"id": table, "declared": card is not None,
                        "file": card.source.file if card is not None else g._node[table].get("file")})
    models = sorted(n for n, t in g.nodes(data="type") if t == "model")
    tagged_models = [{"model": m[6:], "tags": lg.tags_of(m)} for m in models if lg.tags_of(m)]
    stats = lg.stats()
    return {
        "nodes": stats["nodes"],
        "edges": stats["edges"],
        "statements": lg.statements,
        "sources": lg.sources,
        "cycles": cycles,
        "self_loops": self_loops,
        "orphans": orphans,
        "unresolved": lg.unresolved[:200],
        "unresolved_count": len(lg.unresolved),
        "tagged_models": tagged_models,
    }
