"""Where a lineage finding comes from: the file and line of the statement, event or manifest node
that created the offending edge (docs/reports.md, "Paths").

The one ``lineage`` subject is the whole graph, declared nowhere in particular; a finding on it
(a cycle, an orphan table, an unresolved item) is anchored to the edge or node its evidence
names, so code scanning and annotations point at the SQL line to change, never at ``.``.
"""

from __future__ import annotations

import re
from dataclasses import replace

from engine.findings import Finding, Findings, Source


def _edge(lg, u: str, v: str) -> Source | None:
    attrs = lg.g._succ.get(u, {}).get(v)
    if attrs and attrs.get("file"):
        return Source(attrs["file"], attrs.get("line"))
    return None


def _members(lg, node: str) -> list[str]:
    """A table and its columns (an edge between two tables may run between their columns)."""
    return [node, *sorted(lg.columns_of.get(node, ()))]


def between(lg, a: str, b: str) -> Source | None:
    """The source of the first edge that carries data from ``a`` to ``b`` (tables, columns or
    through a job), in a stable order."""
    g = lg.g
    if a not in g or b not in g:
        return None
    targets = set(_members(lg, b))
    for x in _members(lg, a):
        for y in sorted(g._succ[x]):
            if y in targets and (found := _edge(lg, x, y)):
                return found
            if g._node[y].get("type") == "job" and targets & set(g._succ[y]):
                for z in sorted(targets & set(g._succ[y])):
                    if found := (_edge(lg, x, y) or _edge(lg, y, z)):
                        return found
    return None


def _along(lg, nodes: list) -> Source | None:
    for a, b in zip(nodes, nodes[1:], strict=False):
        if isinstance(a, str) and isinstance(b, str) and (found := _edge(lg, a, b) or between(lg, a, b)):
            return found
    return None


def _table(lg, table: str) -> Source | None:
    card = lg.cards.get(table)
    if card is not None and getattr(card, "source", None) is not None:
        return card.source
    node = lg.g._node.get(table) or {}
    return Source(node["file"], node.get("line")) if node.get("file") else None


_FILE_LINE = re.compile(r"([\w./-]+):(\d+)")


def locate(lg, finding: Finding) -> Source | None:
    """The most precise source of a finding on the lineage subject, or None."""
    evidence = finding.evidence if isinstance(finding.evidence, dict) else {}
    for key in ("path", "tables"):
        nodes = evidence.get(key)
        if isinstance(nodes, list) and len(nodes) > 1:
            cycle = nodes + nodes[:1] if key == "tables" else nodes
            if found := _along(lg, cycle):
                return found
    if isinstance(evidence.get("table"), str) and (found := _table(lg, evidence["table"])):
        return found
    if isinstance(evidence.get("file"), str) and evidence["file"]:
        line = evidence.get("line")
        return Source(evidence["file"], line if isinstance(line, int) else None)
    # A message that names one of the unresolved items' file:line (lineage-unresolved does).
    named = {(m.group(1), int(m.group(2))) for m in _FILE_LINE.finditer(finding.message or "")}
    for item in lg.unresolved:
        if (item.get("file"), item.get("line")) in named:
            return Source(item["file"], item["line"])
    return None


def locate_findings(lg, findings: list[Finding] | Findings) -> list[Finding] | Findings:
    """Findings on the ``lineage`` subject anchored where they come from; the rest unchanged.
    Without an anchor, no file at all (a logical location only), never ``.``. Of ``Findings``,
    only the blocks of kind ``lineage`` are read."""
    if isinstance(findings, Findings):
        return findings.edit(lambda kind, _id: kind == "lineage", lambda items: locate_findings(lg, items))
    known = getattr(lg, "locations", None)  # a stored lineage result remembers earlier anchors
    learned: dict = {}
    out = []
    for f in findings:
        s = f.subject
        if s.kind == "lineage" and (s.source is None or s.source.file in (".", "")):
            # Only problems need an anchor (code scanning and annotations show nothing else).
            # Locating one reads the whole graph, so a warm run reuses the anchor it found before.
            anchor = None
            if f.status in ("fail", "warn", "error", "waived"):
                key = _key(f)
                if known is not None and key in known:
                    anchor = Source(*known[key]) if known[key] else None
                else:
                    anchor = locate(lg, f)
                    learned[key] = [anchor.file, anchor.line] if anchor else None
            f = replace(f, subject=replace(s, source=anchor))
        out.append(f)
    if known is not None and learned:
        lg.remember(learned)
    return out


def _key(finding: Finding) -> str:
    """What a lineage finding's anchor depends on: its policy, message and evidence."""
    import hashlib
    import json

    text = json.dumps([finding.policy, finding.message, finding.evidence], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()
