"""The lineage graph: one networkx ``DiGraph`` of table, column, model and job nodes.

Node ids (**contract**, docs/lineage.md): tables by their qualified lowercase name (``raw.customers``),
columns ``<table>.<column>`` (``raw.customers.email``), models ``model:<id>``, jobs ``job:<name>``.
Node attributes: ``type`` (table, column, model, job), ``table`` (for columns), ``tags`` (declared
tags, a set), ``temporary``. Edge attributes: ``kind`` (see below), ``file`` and ``line`` (or
``job``) of the first statement or event that created the edge, and ``count`` (how many did).

Edge kinds:
  column -> column   direct, expression, aggregate, masked        (value lineage)
  column -> table    filter, join (and OpenLineage's other INDIRECT subtypes)
  table  -> table    columns (column edges describe it), opaque (they do not: tags flow per table)
  table  -> model    training, evaluation;   column -> model   feature
  table  -> job -> table   input, output     (OpenLineage and dbt jobs)
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import networkx as nx

VALUE_KINDS = ("direct", "expression", "aggregate", "masked")
_RANK = {k: i for i, k in enumerate(VALUE_KINDS)}
INDIRECT_KINDS = frozenset({"filter", "join", "group_by", "sort", "window", "conditional", "indirect"})
JOB_KINDS = frozenset({"input", "output"})
#: Edges that carry a whole table (a column reaches them through its table).
WHOLE_TABLE_KINDS = frozenset({"opaque", "training", "evaluation"})


@dataclass
class Shortcuts:
    """What whole-table edges imply, by node: ``into_columns`` (source -> the columns an opaque edge
    from it reaches: which columns got the data is unknown, so any may hold it), ``opaque_in``
    (column -> the sources of opaque edges into its table), ``whole_in`` (node -> the tables with a
    whole-table edge into it or, for opaque edges, into its table)."""

    into_columns: dict[str, list[str]]
    opaque_in: dict[str, list[str]]
    whole_in: dict[str, list[str]]


class LineageGraph:
    """The graph plus the state derived from it (tags, problems, statistics).

    ``facts(kind, id)`` and ``subject()`` are what the input document reads (docs/contracts.md).
    """

    def __init__(self) -> None:
        self.g = nx.DiGraph()
        self.columns_of: dict[str, set[str]] = {}  # table -> its column node ids
        self.table_of: dict[str, str] = {}  # column node id -> its table
        self.dataset_tags: dict[str, set[str]] = {}  # table -> tags declared for every column
        self.cards: dict[str, dict] = {}  # table node -> dataset card (data)
        self.unresolved: list[dict] = []  # {"file", "line", "message"}
        self.sources: list[dict] = []  # {"type", "files", "statements" | "events" | ...}
        self.statements = 0
        self._tags = None  # engine.lineage.tags.Propagation, computed on demand
        self._cuts: Shortcuts | None = None  # see _shortcuts

    # -- building -------------------------------------------------------------------------------

    def add_table(self, table: str, **attrs: Any) -> str:
        g = self.g
        if table not in g._node:  # the node dict itself: ``in g`` is a Python call (a build makes ~1M)
            g.add_node(table, type="table", tags=set())
            self.columns_of.setdefault(table, set())
        if attrs:
            g.nodes[table].update(attrs)
        return table

    def add_column(self, table: str, column: str) -> str:
        node = f"{table}.{column}"
        g = self.g
        if node not in g._node:
            self.add_table(table)
            g.add_node(node, type="column", table=table, tags=set())
            self.columns_of[table].add(node)
            self.table_of[node] = table
        return node

    def add_model(self, model_id: str) -> str:
        node = f"model:{model_id}"
        if node not in self.g:
            self.g.add_node(node, type="model", tags=set())
        return node

    def add_job(self, name: str) -> str:
        node = f"job:{name}"
        if node not in self.g:
            self.g.add_node(node, type="job", tags=set())
        return node

    def add_edge(self, src: str, dst: str, kind: str, *, file: str | None = None, line: int | None = None,
                 job: str | None = None) -> None:
        """Add (or strengthen) an edge. Of two value kinds the weaker protection wins: one plain copy
        of a column is enough for its tags to flow."""
        self._cuts = None
        succ = self.g._succ[src]
        data = succ.get(dst)
        if data is None:
            attrs: dict[str, Any] = {"kind": kind, "count": 1}
            if file is not None:
                attrs["file"] = file
                attrs["line"] = line
            if job is not None:
                attrs["job"] = job
            # Both ends exist (add_table/add_column/...): set the adjacency directly, as
            # DiGraph.add_edge would, without its per-call checks (a third of a warm build).
            succ[dst] = attrs
            self.g._pred[dst][src] = attrs
            return
        data["count"] += 1
        old = data["kind"]
        if old == kind:
            return
        if old in _RANK and kind in _RANK:
            if _RANK[kind] < _RANK[old]:
                data["kind"] = kind
        elif kind == "opaque" and old == "columns":
            data["kind"] = "opaque"
        elif kind == "join" and old == "filter":
            data["kind"] = "join"

    def tag(self, node: str, tags: Iterable[str]) -> None:
        self.g.nodes[node]["tags"].update(tags)
        self._tags = None

    # -- derived state ----------------------------------------------------------------------------

    def node_type(self, node: str) -> str | None:
        data = self.g.nodes.get(node)
        return data["type"] if data else None

    def resolve(self, name: str) -> str | None:
        """The node id a user or a card means: a node id, a model id, a job name (case-insensitive)."""
        for candidate in (name, name.lower(), f"model:{name}", f"job:{name}"):
            if candidate in self.g:
                return candidate
        return None

    @property
    def propagation(self):
        if self._tags is None:
            from engine.lineage.tags import Propagation

            self._tags = Propagation(self, self.rules)
        return self._tags

    rules: Any = None  # engine.lineage.tags.Rules, set by build()

    def tags_of(self, node: str) -> list[str]:
        return sorted(self.propagation.tags.get(node, ()))

    def walk(self, start: str, *, reverse: bool = False, depth: int | None = None) -> dict[str, int]:
        """Nodes reachable from ``start`` (upstream if ``reverse``) with their distance.

        A table stands for its columns, and a column for its share of its table, the way data
        flows (docs/lineage.md, "Derived facts"): a node reached as itself passes data along every
        out-edge; a table reached only through one of its columns (at the column's distance)
        passes on only what consumes the whole table (models trained on it, opaque table edges),
        not what reads only its other columns. Upstream is the exact reverse: ``u`` is upstream of
        ``x`` iff ``x`` is downstream of ``u`` (or of one of ``u``'s columns), so the table of an
        upstream column is upstream too (a model that names only feature columns still has source
        tables). tests/lineage/reference.py checks both against that definition.
        """
        seeds = [start, *sorted(self.columns_of.get(start, ()))]
        dist = self._upstream(seeds, depth) if reverse else self._downstream(seeds, depth)
        if reverse:
            # The table of each column reached, at its nearest column: ``dist`` is in breadth-first
            # order, so built from the far end the nearest column's distance is the one kept (in C).
            far_first = list(reversed(dist))
            tables = dict(zip(map(self.table_of.get, far_first), map(dist.__getitem__, far_first), strict=True))
            own = self.table_of.get(start, start)  # a table is not upstream of its own columns
            for table, d in tables.items():
                if table is not None and table != own and (table not in dist or d < dist[table]):
                    dist[table] = d
            dist.pop(own, None)  # even when an opaque edge of the table into itself feeds the column
        for seed in seeds:
            dist.pop(seed, None)
        return dist

    def _downstream(self, seeds: list[str], depth: int | None) -> dict[str, int]:
        """Breadth first over two states per table: reached as itself (``whole``: every out-edge)
        or only through a column (``part``: whole-table edges only, at the column's distance)."""
        nodes, succ = self.g._node, self.g._succ
        into_columns = self._shortcuts().into_columns
        whole: dict[str, int] = dict.fromkeys(seeds, 0)
        part: dict[str, int] = {}
        queue: deque[tuple[str, bool]] = deque((s, True) for s in seeds)
        while queue:
            node, is_whole = queue.popleft()
            if is_whole:
                d = whole[node]
                table = nodes[node].get("table")
                if table is not None and part.get(table, d + 1) > d:
                    part[table] = d  # a zero-length step: to the front of the queue
                    queue.appendleft((table, False))
            else:
                d = part[node]
            if depth is not None and d >= depth:
                continue
            nd = d + 1
            for nxt, data in succ[node].items():
                if nxt not in whole and (is_whole or data["kind"] in WHOLE_TABLE_KINDS):
                    whole[nxt] = nd
                    queue.append((nxt, True))
            for column in into_columns.get(node, ()):  # opaque edges reach every column
                if column not in whole:
                    whole[column] = nd
                    queue.append((column, True))
        for node, d in part.items():
            if d < whole.get(node, d + 1):
                whole[node] = d
        return whole

    def _upstream(self, seeds: list[str], depth: int | None) -> dict[str, int]:
        """Breadth first along in-edges; a whole-table edge (training, opaque) out of a table also
        reaches back into each of that table's columns, and a column is fed by what an opaque edge
        brings its table."""
        pred, columns_of = self.g._pred, self.columns_of
        shortcuts = self._shortcuts()
        whole_in, opaque_in = shortcuts.whole_in, shortcuts.opaque_in
        dist: dict[str, int] = dict.fromkeys(seeds, 0)
        expanded: set[str] = set()  # tables whose columns are already in
        queue = deque(seeds)
        while queue:
            node = queue.popleft()
            d = dist[node]
            if depth is not None and d >= depth:
                continue
            nd = d + 1
            for prev in pred[node]:
                if prev not in dist:
                    dist[prev] = nd
                    queue.append(prev)
            for prev in opaque_in.get(node, ()):
                if prev not in dist:
                    dist[prev] = nd
                    queue.append(prev)
            for table in whole_in.get(node, ()):
                if table not in expanded:
                    expanded.add(table)
                    for column in columns_of.get(table, ()):
                        if column not in dist:
                            dist[column] = nd
                            queue.append(column)
        return dist

    def _shortcuts(self) -> Shortcuts:
        """Precomputed for the walks (kept until the next edge is added: a per-edge check in the
        walk touched every edge's data and doubled its time)."""
        if self._cuts is None:
            nodes, columns_of = self.g._node, self.columns_of
            cuts = Shortcuts({}, {}, {})
            for u, v, kind in self.g.edges(data="kind"):
                if kind not in WHOLE_TABLE_KINDS:
                    continue
                columns = sorted(columns_of.get(v, ())) if kind == "opaque" else []
                if columns:
                    cuts.into_columns.setdefault(u, []).extend(columns)
                    for column in columns:
                        cuts.opaque_in.setdefault(column, []).append(u)
                if nodes[u]["type"] == "table":
                    for target in (v, *columns):
                        cuts.whole_in.setdefault(target, []).append(u)
            self._cuts = cuts
        return self._cuts

    def path(self, a: str, b: str) -> list[str] | None:
        """A shortest path from ``a`` to ``b`` (through a table's columns when needed)."""
        g = self.g
        starts = [a, *sorted(self.columns_of.get(a, ()))]
        targets = {b, *self.columns_of.get(b, ())}
        into_columns = self._shortcuts().into_columns
        parent: dict[str, str | None] = dict.fromkeys(starts)
        queue = deque(starts)
        while queue:
            node = queue.popleft()
            if node in targets:
                out = [node]
                while parent[out[-1]] is not None:
                    out.append(parent[out[-1]])
                out.reverse()
                if out[0] != a:
                    out.insert(0, a)
                if out[-1] != b:
                    out.append(b)
                return out
            for nxt in (*g._succ[node], *into_columns.get(node, ())):
                if nxt not in parent:
                    parent[nxt] = node
                    queue.append(nxt)
        return None

    def step(self, a: str, b: str) -> dict:
        """The edge data of one step of a path: a graph edge, an opaque edge into the table of
        column ``b`` (it reaches every column), or a column's ``contains`` step to its table."""
        g = self.g
        if g.has_edge(a, b):
            return g.edges[a, b]
        table = g._node[b].get("table")
        if table is not None and g.has_edge(a, table) and g.edges[a, table]["kind"] == "opaque":
            return g.edges[a, table]
        return {"kind": "contains"}

    def table_graph(self) -> nx.DiGraph:
        """Tables only, with an edge where data flows from one table to another (through jobs too)."""
        tg = nx.DiGraph()
        g = self.g
        for node, data in g.nodes(data=True):
            if data["type"] == "table" and not data.get("temporary"):
                tg.add_node(node)
        for u, v in g.edges():
            tu, tv = g.nodes[u]["type"], g.nodes[v]["type"]
            if tu == "table" and tv == "table":
                tg.add_edge(u, v)
            elif tu == "job" and tv == "table":
                for w in g._pred[u]:
                    if g.nodes[w]["type"] == "table":
                        tg.add_edge(w, v)
        return tg

    # -- the input document -----------------------------------------------------------------------

    def facts(self, kind: str, id: str) -> dict:
        from engine.lineage.facts import facts

        return facts(self, kind, id)

    def subject(self) -> dict:
        from engine.lineage.facts import subject

        return subject(self)

    def stats(self) -> dict:
        counts = {"tables": 0, "columns": 0, "models": 0, "jobs": 0}
        for _, t in self.g.nodes(data="type"):
            counts[t + "s"] += 1
        edges: dict[str, int] = {}
        for _, _, k in self.g.edges(data="kind"):
            edges[k] = edges.get(k, 0) + 1
        return {"nodes": counts, "edges": dict(sorted(edges.items()))}
