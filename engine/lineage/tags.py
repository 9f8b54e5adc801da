"""Tag propagation: tags declared on datasets and columns flow downstream along the lineage.

What flows where (docs/lineage.md, "Tag propagation"):

- along column edges (direct, expression, aggregate, masked), unless a rule stops the tag at that
  kind of edge (``propagation.stop: {pii: [masked, aggregate]}``);
- from a column to its table (a table holds what its columns hold);
- along ``opaque`` table edges (a statement or event whose column lineage is unknown: every tag
  of the source flows into the table and into each of its columns, fail closed), and from tables
  and columns to the models that use them;
- along filter and join keys only if ``propagation.indirect: true``.

Every tag of a dataset card (``tags``, and ``region`` as ``region:<value>``) is declared on the table
and on each of its columns. The pass is a work list of tag deltas: each (node, tag) pair is pushed
along each out-edge at most once, so cycles (a MERGE into its own source) end and lose nothing.
"""

from __future__ import annotations

import fnmatch
from collections import deque
from collections.abc import Iterable

from engine.lineage.graph import INDIRECT_KINDS, JOB_KINDS

#: Edge kinds along which tags never flow: structure, not data.
STRUCTURAL = frozenset({"columns"} | JOB_KINDS)
CONTAINS = "contains"  # the virtual edge from a column to its table
OPAQUE = {"kind": "opaque"}  # the virtual edges from an opaque edge's source to the columns of its table


class Rules:
    """Which tags stop at which edge kinds. Built from ``lineage.propagation`` in gavel.yaml."""

    def __init__(self, stop: dict[str, Iterable[str]] | None = None, indirect: bool = False):
        self.stop = {pattern: frozenset(kinds) for pattern, kinds in (stop or {}).items()}
        self.indirect = indirect
        self._blocked: dict[tuple[str, str], bool] = {}
        self._memo: dict[tuple[str, frozenset], frozenset] = {}

    @classmethod
    def from_config(cls, section: dict | None) -> Rules:
        section = section or {}
        return cls(section.get("stop"), bool(section.get("indirect", False)))

    def blocks(self, tag: str, kind: str) -> bool:
        key = (tag, kind)
        found = self._blocked.get(key)
        if found is None:
            if kind in STRUCTURAL or (kind in INDIRECT_KINDS and not self.indirect):
                found = True
            else:
                found = any(kind in kinds and fnmatch.fnmatchcase(tag, pattern)
                            for pattern, kinds in self.stop.items())
            self._blocked[key] = found
        return found

    def passing(self, tags: frozenset, kind: str) -> frozenset:
        """The subset of ``tags`` that flows along an edge of ``kind`` (memoised)."""
        key = (kind, tags)
        found = self._memo.get(key)
        if found is None:
            found = frozenset(t for t in tags if not self.blocks(t, kind))
            self._memo[key] = found
        return found


class Propagation:
    """Tags of every node, and the node each tag first arrived from (for example paths)."""

    def __init__(self, lg, rules: Rules | None = None):
        self.lg = lg
        self.rules = rules or Rules()
        self.declared: dict[str, frozenset] = {}  # node -> tags declared on it
        self.tags: dict[str, set[str]] = {}
        self.run()

    def run(self) -> None:
        lg, g, rules = self.lg, self.lg.g, self.rules
        nodes = g._node
        declared: dict[str, frozenset] = {}
        for node, data in nodes.items():
            own = data.get("tags")
            if own:
                declared[node] = frozenset(own)
        for table, tags in lg.dataset_tags.items():
            if tags:
                for column in lg.columns_of.get(table, ()):
                    declared[column] = declared.get(column, frozenset()) | frozenset(tags)
        self.declared = declared
        tags: dict[str, set[str]] = {node: set(t) for node, t in declared.items()}
        pending: dict[str, set[str]] = {node: set(t) for node, t in declared.items()}
        queue = deque(sorted(pending))
        succ = g._succ
        passing = rules.passing
        into_columns = lg._shortcuts().into_columns
        while queue:
            node = queue.popleft()
            delta = frozenset(pending.pop(node))
            targets = list(succ[node].items())
            table = nodes[node].get("table")
            if table is not None:
                targets.append((table, {"kind": CONTAINS}))
            # An opaque edge into a table reaches each of its columns: which got the data is unknown.
            targets += [(column, OPAQUE) for column in into_columns.get(node, ())]
            for nxt, data in targets:
                flowing = passing(delta, data["kind"])
                if not flowing:
                    continue
                have = tags.get(nxt)
                if have is None:
                    new = flowing
                    tags[nxt] = set(new)
                else:
                    new = flowing - have
                    if not new:
                        continue
                    have |= new
                # Update the queued delta in place (a fresh set when there is none): rebinding a
                # name to ``waiting | new`` would record the tag on the node but never send it on.
                waiting = pending.get(nxt)
                if waiting is None:
                    pending[nxt] = set(new)
                    queue.append(nxt)
                else:
                    waiting.update(new)
        self.tags = tags

    # -- explanations -----------------------------------------------------------------------------

    def sources(self, node: str, tag: str, limit: int | None = None) -> list[tuple[str, list[str]]]:
        """The nodes that declare ``tag`` and reach ``node``, each with one shortest path.

        A breadth-first walk upstream over states ``(node, declaring)``: ``declaring`` marks a table
        reached as the declarer of its column's inherited dataset tag (the first hop of a path, so
        the walk stops there). The same table reached through the data (a column feeding it, an
        opaque edge) is another state and walks on: keying the walk by node alone lost the sources
        behind it.
        """
        lg, g, rules = self.lg, self.lg.g, self.rules
        if tag not in self.tags.get(node, ()):
            return []
        opaque_in = lg._shortcuts().opaque_in
        start = (node, False)
        parent: dict[tuple[str, bool], tuple[str, bool] | None] = {start: None}
        queue = deque([start])
        found: dict[str, tuple[str, bool]] = {}  # source -> the state it was first reached in
        while queue:
            state = queue.popleft()
            current, declaring = state
            if current not in found and tag in self.declared.get(current, ()) and self._declares(current, tag):
                found[current] = state
            if declaring:
                continue
            preds: list[tuple[str, str]] = [(p, d["kind"]) for p, d in g._pred[current].items()]
            preds += [(p, "opaque") for p in opaque_in.get(current, ())]
            data = g._node[current]
            if data["type"] == "table":
                preds += [(c, CONTAINS) for c in sorted(lg.columns_of.get(current, ()))]
            elif data["type"] == "column" and tag in lg.dataset_tags.get(data["table"], ()):
                preds.append((data["table"], "declared"))
            for prev, kind in preds:
                nxt = (prev, kind == "declared")
                if nxt in parent or tag not in self.tags.get(prev, ()):
                    continue
                if kind != "declared" and rules.blocks(tag, kind):
                    continue
                parent[nxt] = state
                queue.append(nxt)
        out = []
        for source in sorted(found):
            state = found[source]
            path = [state[0]]
            while parent[state] is not None:
                state = parent[state]
                path.append(state[0])
            out.append((source, path))
            if limit is not None and len(out) >= limit:
                break
        return out

    def _declares(self, node: str, tag: str) -> bool:
        """True where the tag is declared on the node itself, not inherited from its dataset."""
        data = self.lg.g._node[node]
        if tag in data.get("tags", ()):
            return True
        return data["type"] != "column"
