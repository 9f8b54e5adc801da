"""Warnings for verdicts that rest on incomplete lineage.

A SQL statement Gavel could not analyse (dynamic SQL, a procedure in JavaScript, a statement kind it
does not know) is reported with the tables it names; those tables are marked ``incomplete`` on the
graph. Every model and dataset downstream of a marked table (or one of its columns) gets a ``warn``
finding: its lineage verdicts (PII reaching it, its sources) may miss a flow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.findings import Finding, Source, SubjectRef

if TYPE_CHECKING:
    from engine.lineage import Context

POLICY = "gavel-lineage-incomplete"
TITLE = "Lineage upstream of the subject is complete"


def marked(lg) -> dict[str, list[dict]]:
    """``{table: [{file, line, message}]}``: the tables a statement Gavel could not analyse names."""
    return {n: d["incomplete"] for n, d in lg.g.nodes(data=True) if d.get("incomplete")}


def warn_incomplete(ctx: Context) -> None:
    """Append a ``warn`` finding to ``inv.problems`` for each model and dataset downstream of a marked table."""
    import networkx as nx

    lg, inv = ctx.lg, ctx.inv
    found = marked(lg)
    if not found:
        return
    reached: dict[str, list[str]] = {}  # node -> the marked tables upstream of it
    for table in sorted(found):
        starts = [table, *sorted(lg.columns_of.get(table, ()))]
        below: set[str] = set(starts)
        for start in starts:
            below |= nx.descendants(lg.g, start)
        for node in below:
            reached.setdefault(node, []).append(table)
    subjects = [("model", key, f"model:{record.id}", record) for key, record in sorted(inv.models.items())]
    subjects += [("dataset", key, record.id.lower(), record) for key, record in sorted(inv.datasets.items())]
    for kind, _, node, record in subjects:
        tables = reached.get(node)
        if not tables:
            continue
        first = found[tables[0]][0]
        where = f"{first['file']}:{first['line']}" if first.get("line") else first["file"]
        more = f" (and {len(tables) - 1} more table(s))" if len(tables) > 1 else ""
        message = (f"the lineage verdicts on {kind} {record.id} rest on incomplete lineage: {tables[0]} is named by "
                   f"a statement Gavel could not analyse ({where}: {first['message']}){more}")
        source = Source(file=record.source.file, line=record.source.line) if record.source else None
        inv.problems.append(Finding(
            policy=POLICY, title=TITLE, severity="medium", status="warn",
            subject=SubjectRef(kind=kind, id=record.id, source=source), message=message,
            evidence={"incomplete": [{"table": t, "statements": found[t]} for t in tables]},
            remediation="Rewrite the statement in SQL Gavel analyses, or declare its edges (type: declared).",
        ))
