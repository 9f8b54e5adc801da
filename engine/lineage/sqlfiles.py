"""The ``sql`` lineage source: SQL files, analysed statement by statement (engine.lineage.sql)."""

from __future__ import annotations

from engine.lineage.cache import options_digest
from engine.lineage.sql import Analyzer, FileResult, Options


def read(ctx, source: dict, where: tuple) -> None:
    """Read every file of one ``sql`` source, in path order, into the graph."""
    dialect = source.get("dialect", ctx.dialect)
    options = Options(dialect=dialect, db=_lower(source.get("default_schema")),
                      catalog=_lower(source.get("default_catalog")), masking=ctx.masking)
    digest = options_digest("sql", dialect, options.db, options.catalog, sorted(options.masking))
    analyzer = Analyzer(ctx.catalog, options)
    files = ctx.files(source, where)
    statements = 0
    from engine.lineage import analyze_files

    for display, result in analyze_files(ctx, list(ctx.texts(files)), analyzer, digest):  # cache, then all cores
        statements += result.statements
        apply(ctx, result, display)
    ctx.lg.statements += statements
    ctx.lg.sources.append({"type": "sql", "files": len(files), "statements": statements, "dialect": dialect})


def apply(ctx, result: FileResult, display: str, *, job: str | None = None) -> None:
    """Add one analysed file's edges, tables, problems and unresolved columns."""
    lg = ctx.lg
    add_edge, add_column, add_table = lg.add_edge, lg.add_column, lg.add_table
    for name, columns, temporary in result.tables:
        if temporary:
            continue
        add_table(name)
        for column in columns:
            add_column(name, column)
    for level, st, sc, dt, dc, kind, line in result.edges:
        if level == "c":
            add_edge(add_column(st, sc), add_column(dt, dc), kind, file=display, line=line, job=job)
        elif level == "i":
            add_edge(add_column(st, sc), add_table(dt), kind, file=display, line=line, job=job)
        elif level == "t":
            add_edge(add_table(st), add_table(dt), kind, file=display, line=line, job=job)
        else:
            add_table(st)
    for problem in result.problems:
        ctx.problem(problem["message"], file=display, line=problem["line"])
    for item in result.unresolved:
        lg.unresolved.append({"file": display, "line": item["line"], "message": item["message"]})


def _lower(value):
    return value.lower() if isinstance(value, str) else value
