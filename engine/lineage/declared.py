"""The ``declared`` lineage source: edges and tags written by hand in YAML (schemas/declared-edges.schema.json).

For lineage nothing else shows: a vendor feed landing in ``raw.bureau``, a model writing its
scores to a table, a spreadsheet someone imports. Example::

    edges:
      - from: vendor.bureau_scores
        to: raw.bureau
        job: bureau-sftp-import
        columns:
          - {from: score, to: bureau_score, kind: direct}
      - from: model:credit-scorer
        to: scoring.credit_scores
    tags:
      vendor.bureau_scores: [region:us]

An edge without ``columns`` is opaque: every tag of ``from`` flows to ``to``.
"""

from __future__ import annotations

from engine import schemas
from engine.errors import EvidenceError
from engine.evidence.loader import parse


def read(ctx, source: dict, where: tuple) -> None:
    files = ctx.files(source, where)
    lg = ctx.lg
    count = 0
    for display, text in ctx.texts(files):
        try:
            doc = parse(text, display, limits=ctx.limits)
            if doc.data is None:
                doc.data = {}
            if not isinstance(doc.data, dict):
                raise EvidenceError("declared lineage must be a mapping with 'edges' and/or 'tags'", file=display, line=1)
            schemas.check("declared-edges", doc)
        except EvidenceError as exc:
            ctx.problem(exc.message, file=display, line=exc.line)
            continue
        for index, edge in enumerate(doc.data.get("edges") or ()):
            line = doc.line_of(("edges", index))
            w = {"file": display, "line": line, "job": edge.get("job")}
            src, dst = ctx.node_for(edge["from"]), ctx.node_for(edge["to"])
            if edge.get("job"):
                job = lg.add_job(edge["job"])
                lg.add_edge(src, job, "input", **w)
                lg.add_edge(job, dst, "output", **w)
            columns = edge.get("columns") or ()
            kind = _table_kind(lg, src, dst, bool(columns))
            lg.add_edge(src, dst, kind, **w)
            for column in columns:
                if lg.node_type(src) != "table" or lg.node_type(dst) != "table":
                    ctx.problem("column lineage needs tables at both ends of the edge",
                                file=display, line=doc.line_of(("edges", index, "columns")))
                    break
                lg.add_edge(lg.add_column(src, column["from"].lower()), lg.add_column(dst, column["to"].lower()),
                            column.get("kind", "direct"), **w)
            count += 1
        for name, tags in sorted((doc.data.get("tags") or {}).items()):
            node = ctx.node_for(name)
            lg.tag(node, tags)
            if lg.node_type(node) == "table":
                lg.dataset_tags.setdefault(node, set()).update(tags)
    lg.sources.append({"type": "declared", "files": len(files), "edges": count})


def _table_kind(lg, src: str, dst: str, has_columns: bool) -> str:
    types = (lg.node_type(src), lg.node_type(dst))
    if types == ("table", "model"):
        return "training"
    if types == ("column", "model"):
        return "feature"
    if types[0] == "column" and types[1] == "column":
        return "direct"
    return "columns" if has_columns else "opaque"
