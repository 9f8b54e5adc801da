"""A slow, obvious reference for every derived lineage fact (test-only).

Gavel computes tags, upstream/downstream, root sources and tagged-source paths with one-pass work
lists (engine/lineage/tags.py, graph.py, facts.py). This module computes the same facts from the
definitions in docs/lineage.md ("Derived facts"), one node and one tag at a time, with plain
networkx calls (``nx.ancestors``, ``nx.descendants``, ``nx.shortest_path_length``) on small
auxiliary graphs built from those definitions. It shares no code with engine/lineage beyond the
graph it reads and the edge-kind constants, so a bug in the fast path cannot hide here.
"""

from __future__ import annotations

import fnmatch

import networkx as nx

from engine.lineage.graph import INDIRECT_KINDS, JOB_KINDS, WHOLE_TABLE_KINDS

#: Edge kinds that carry no data for tags: structure, not data (docs/lineage.md).
NO_TAGS = frozenset({"columns"}) | JOB_KINDS
#: How many example sources a fact keeps per tag (engine.lineage.facts.MAX_SOURCES_PER_TAG).
SOURCES_PER_TAG = 25


# -- tags -------------------------------------------------------------------------------------------

def declared(lg) -> dict[str, set[str]]:
    """Tags declared on each node: its own, and for a column those of its dataset."""
    out: dict[str, set[str]] = {}
    for node, data in lg.g.nodes(data=True):
        tags = set(data.get("tags") or ())
        if data["type"] == "column":
            tags |= set(lg.dataset_tags.get(data["table"], ()))
        if tags:
            out[node] = tags
    return out


def blocked(lg, tag: str, kind: str) -> bool:
    """Does ``tag`` stop at an edge of ``kind``? (structure, indirect keys, propagation.stop)."""
    rules = lg.rules
    if kind in NO_TAGS:
        return True
    if kind in INDIRECT_KINDS and not (rules is not None and rules.indirect):
        return True
    stop = rules.stop if rules is not None else {}
    return any(kind in kinds and fnmatch.fnmatchcase(tag, pattern) for pattern, kinds in stop.items())


def into(lg, v: str, kind: str) -> list[str]:
    """Where an edge of ``kind`` into ``v`` delivers data: ``v``, and for an ``opaque`` edge into a
    table each of its columns too (which columns got the data is unknown: any of them may hold it)."""
    if kind == "opaque":
        return [v, *sorted(lg.columns_of.get(v, ()))]
    return [v]


def flow_graph(lg, tag: str) -> nx.DiGraph:
    """The edges ``tag`` flows along: graph edges it does not stop at (an opaque edge into a table
    reaching its columns too), and column -> its table."""
    h = nx.DiGraph()
    h.add_nodes_from(lg.g.nodes)
    for u, v, kind in lg.g.edges(data="kind"):
        if not blocked(lg, tag, kind):
            for w in into(lg, v, kind):
                h.add_edge(u, w)
    for node, table in lg.g.nodes(data="table"):
        if table is not None and not blocked(lg, tag, "contains"):
            h.add_edge(node, table)
    return h


def all_tags(lg) -> set[str]:
    return set().union(*declared(lg).values()) if declared(lg) else set()


def tags(lg) -> dict[str, set[str]]:
    """Every node's tags: a node holds tag t iff it declares t or a declarer of t is its ancestor."""
    decl = declared(lg)
    out: dict[str, set[str]] = {node: set() for node in lg.g}
    for tag in all_tags(lg):
        h = flow_graph(lg, tag)
        for node in lg.g:
            if any(tag in decl.get(a, ()) for a in nx.ancestors(h, node) | {node}):
                out[node].add(tag)
    return out


# -- upstream and downstream ------------------------------------------------------------------------

def state_graph(lg) -> nx.DiGraph:
    """Where data goes, as states ``(node, whole)``: a node reached as itself follows every out-edge;
    a table reached only through one of its columns (``whole=False``) passes on only what consumes
    the whole table (training, evaluation, opaque)."""
    s = nx.DiGraph()
    g = lg.g
    for node in g:
        s.add_node((node, True))
        if g.nodes[node]["type"] == "table":
            s.add_node((node, False))
    for u, v, kind in g.edges(data="kind"):
        for w in into(lg, v, kind):
            s.add_edge((u, True), (w, True))
            if kind in WHOLE_TABLE_KINDS and (u, False) in s:
                s.add_edge((u, False), (w, True))
    for node, table in g.nodes(data="table"):
        if table is not None:
            s.add_edge((node, True), (table, False), weight=0)  # at the column's distance
    return s


def _seeds(lg, node: str) -> set[str]:
    """A table stands for its columns."""
    return {node, *lg.columns_of.get(node, ())}


def downstream(lg, node: str, s: nx.DiGraph | None = None) -> set[str]:
    """Nodes data of ``node`` (or of one of its columns, for a table) reaches."""
    s = s if s is not None else state_graph(lg)
    seeds = _seeds(lg, node)
    reached = set()
    for seed in seeds:
        reached |= {n for n, _ in nx.descendants(s, (seed, True))}
    return reached - seeds


def upstream(lg, node: str, s: nx.DiGraph | None = None) -> set[str]:
    """Nodes whose data reaches ``node``: ``u`` is upstream iff ``node`` is downstream of ``u``
    (the definition, checked for every node of the graph)."""
    s = s if s is not None else state_graph(lg)
    return {u for u in lg.g if u not in _seeds(lg, node) and node in downstream(lg, u, s)}


def distances(lg, node: str, s: nx.DiGraph, *, reverse: bool) -> dict[str, int]:
    """Fewest edges from ``node`` to each node downstream (to ``node`` from each upstream), a
    column's table counting at the column's distance (Dijkstra over the weighted states)."""
    seeds = _seeds(lg, node)
    starts = {(n, True) for n in seeds}
    if reverse:
        s = s.reverse(copy=False)
        starts |= {(n, False) for n in seeds if (n, False) in s}
    reached = nx.multi_source_dijkstra_path_length(s, starts, weight=lambda u, v, d: d.get("weight", 1))
    out: dict[str, int] = {}
    for (n, _), d in reached.items():
        out[n] = min(d, out.get(n, d))
    if reverse:
        own = lg.g.nodes[node].get("table", node)
        for n, d in list(out.items()):
            table = lg.g.nodes[n].get("table")
            if table is not None and table != own:
                out[table] = min(d, out.get(table, d))
        out.pop(own, None)  # a table is not upstream of its own columns (upstream(), by definition)
    return {n: d for n, d in out.items() if n not in seeds}


# -- root sources -----------------------------------------------------------------------------------

def root_sources(lg, node: str, up: set[str]) -> set[str]:
    """Tables upstream of ``node`` (and a model's training/evaluation tables) into which nothing
    flows from another table, job or model."""
    g = lg.g
    candidates = {n for n in up if g.nodes[n]["type"] == "table" and not g.nodes[n].get("temporary")}
    if g.nodes[node]["type"] == "model":
        candidates |= {t for t, _, k in g.in_edges(node, data="kind") if k in ("training", "evaluation")}
    roots = set()
    for table in candidates:
        feeders = set(g.predecessors(table))
        for column in lg.columns_of.get(table, ()):
            feeders |= set(g.predecessors(column))
        if all(g.nodes[f]["type"] == "column" and g.nodes[f]["table"] == table for f in feeders):
            roots.add(table)
    return roots


# -- tagged sources and their paths -----------------------------------------------------------------

def declares(lg, node: str, tag: str) -> bool:
    """A source of ``tag``: a node with it in its own tags (a column inheriting its dataset's tag is
    not a source: its table is)."""
    return tag in (lg.g.nodes[node].get("tags") or ())


def source_starts(lg, source: str, tag: str) -> list[tuple[str, int]]:
    """Where a path from ``source`` may begin, with the hops already taken: the source itself, and
    for a dataset-level tag its columns (the first hop ``table -> column`` is the declaration)."""
    starts = [(source, 0)]
    if tag in lg.dataset_tags.get(source, ()):
        starts += [(c, 1) for c in lg.columns_of.get(source, ())]
    return starts


def tagged_sources(lg, node: str, tag: str, h: nx.DiGraph | None = None) -> dict[str, int]:
    """Each declarer of ``tag`` whose tag reaches ``node``, with the length of a shortest path."""
    h = h if h is not None else flow_graph(lg, tag)
    out = {}
    for source in lg.g:
        if source == node or not declares(lg, source, tag):
            continue
        lengths = [hops + nx.shortest_path_length(h, start, node)
                   for start, hops in source_starts(lg, source, tag) if nx.has_path(h, start, node)]
        if lengths:
            out[source] = min(lengths)
    return out


def check_path(lg, path: list[str], tag: str, source: str, node: str, h: nx.DiGraph | None = None) -> None:
    """``path`` is a real path along which ``tag`` flows, from ``source`` to ``node``."""
    h = h if h is not None else flow_graph(lg, tag)
    assert path[0] == source and path[-1] == node, path
    assert len(set(path)) == len(path), f"path repeats a node: {path}"
    for i, (a, b) in enumerate(zip(path, path[1:], strict=False)):
        first_declared = (i == 0 and tag in lg.dataset_tags.get(a, ())
                          and lg.g.nodes[b].get("table") == a)
        assert first_declared or h.has_edge(a, b), f"{a} -> {b} is not a step {tag!r} flows along in {path}"
