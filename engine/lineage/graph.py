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
from typing import Any

import networkx as nx

VALUE_KINDS = ("direct", "expression", "aggregate", "masked")
_RANK = {k: i for i, k in enumerate(VALUE_KINDS)}
INDIRECT_KINDS = frozenset({"filter", "join", "group_by", "sort", "window", "conditional", "indirect"})
JOB_KINDS = frozenset({"input", "output"})
#: Edges that carry a whole table (a column reaches them through its table).
WHOLE_TABLE_KINDS = frozenset({"opaque", "training", "evaluation"})


class LineageGraph:
    """The graph plus the state derived from it (tags, problems, statistics).

    ``facts(kind, id)`` and ``subject()`` are what the input document reads (docs/contracts.md).
    """

    def __init__(self) -> None:
        self.g = nx.DiGraph()
        self.columns_of: dict[str, set[str]] = {}  # table -> its column node ids
        self.dataset_tags: dict[str, set[str]] = {}  # table -> tags declared for every column
        self.cards: dict[str, dict] = {}  # table node -> dataset card (data)
        self.unresolved: list[dict] = []  # {"file", "line", "message"}
        self.sources: list[dict] = []  # {"type", "files", "statements" | "events" | ...}
        self.statements = 0
        self._tags = None  # engine.lineage.tags.Propagation, computed on demand

    # -- building -------------------------------------------------------------------------------

    def add_table(self, table: str, **attrs: Any) -> str:
        g = self.g
        if table not in g:
            g.add_node(table, type="table", tags=set())
            self.columns_of.setdefault(table, set())
        if attrs:
            g.nodes[table].update(attrs)
        return table

    def add_column(self, table: str, column: str) -> str:
        node = f"{table}.{column}"
        g = self.g
        if node not in g:
            self.add_table(table)
            g.add_node(node, type="column", table=table, tags=set())
            self.columns_of[table].add(node)
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

    def walk(self, start: str, *, reverse: bool = False, depth: int | None = None,
             expand: bool = True) -> dict[str, int]:
        """Nodes reachable from ``start`` (upstream if ``reverse``) with their distance.

        With ``expand``, a table stands for its columns and a column for its share of its table,
        the way tags flow: the upstream of a table includes the upstream of each of its columns
        (and a model's, the columns of the tables it was trained on); downstream, a column reaches
        what consumes its whole table (models trained on it, opaque table edges), but not what
        reads only the table's other columns.
        """
        g = self.g
        adj = g._pred if reverse else g._succ
        seeds = [start]
        if expand:
            seeds += sorted(self.columns_of.get(start, ()))
        dist = dict.fromkeys(seeds, 0)
        if expand and reverse and g.nodes[start]["type"] == "model":
            for table, data in sorted(g._pred[start].items()):
                if data["kind"] in ("training", "evaluation"):
                    for column in sorted(self.columns_of.get(table, ())):
                        dist.setdefault(column, 1)
        rolled: set[str] = set()  # tables reached from one of their columns (downstream)
        queue = deque(dist)
        while queue:
            node = queue.popleft()
            d = dist[node]
            if depth is not None and d >= depth:
                continue
            whole = node not in rolled
            for nxt, data in adj[node].items():
                if not whole and data["kind"] not in WHOLE_TABLE_KINDS:
                    continue
                if nxt not in dist:
                    dist[nxt] = d + 1
                    queue.append(nxt)
            if expand and not reverse:
                table = g._node[node].get("table")
                if table is not None and table not in dist:
                    dist[table] = d
                    rolled.add(table)
                    queue.append(table)
        for seed in seeds:
            dist.pop(seed, None)
        return dist

    def path(self, a: str, b: str) -> list[str] | None:
        """A shortest path from ``a`` to ``b`` (through a table's columns when needed)."""
        g = self.g
        starts = [a, *sorted(self.columns_of.get(a, ()))]
        targets = {b, *self.columns_of.get(b, ())}
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
            for nxt in g._succ[node]:
                if nxt not in parent:
                    parent[nxt] = node
                    queue.append(nxt)
        return None

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
