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
    counts = {"analysed": 0, "classified": 0, "reported": 0}
    from engine.lineage import analyze_files

    for display, result in analyze_files(ctx, list(ctx.texts(files)), analyzer, digest):  # cache, then all cores
        statements += result.statements
        for key, value in result.counts.items():
            counts[key] += value
        apply(ctx, result, display)
    ctx.lg.statements += statements
    ctx.lg.sources.append({"type": "sql", "files": len(files), "statements": statements, "dialect": dialect,
                           **counts})


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
        elif level == "r":
            rename(lg, st, dt, swap=kind == "swap")
        else:
            add_table(st)
    for problem in result.problems:
        ctx.problem(problem["message"], file=display, line=problem["line"])
    for item in result.unresolved:
        entry = {"file": display, "line": item["line"], "message": item["message"]}
        if "kind" in item:  # a statement not analysed: its kind and the tables it names
            entry.update(kind=item["kind"], tables=item.get("tables") or [])
        lg.unresolved.append(entry)
        for table in item.get("tables") or ():  # a statement not analysed: lineage through it is incomplete
            node = add_table(table)
            lg.g.nodes[node].setdefault("incomplete", []).append(
                {"file": display, "line": item["line"], "message": item["message"]})


def rename(lg, old: str, new: str, *, swap: bool = False) -> None:
    """``ALTER TABLE old RENAME TO new`` (or ``SWAP WITH new``): the node and its columns take the
    new name and keep their edges, tags and attributes."""
    if swap:
        spare = f"{old}\0swap"
        rename(lg, old, spare)
        rename(lg, new, old)
        rename(lg, spare, new)
        return
    g = lg.g
    if old not in g:
        lg.add_table(new)
        return
    moves = [(old, new)] + [(c, f"{new}.{c[len(old) + 1:]}") for c in sorted(lg.columns_of.get(old, ()))]
    for src, dst in moves:
        data = dict(g.nodes[src])
        if dst in g:  # the new name was known already: the old node joins it
            tags = g.nodes[dst].get("tags", set()) | data.pop("tags", set())
            g.nodes[dst].update(data, tags=tags)
        else:
            g.add_node(dst, **data)
        if data.get("type") == "column":
            g.nodes[dst]["table"] = new
            lg.columns_of.setdefault(new, set()).add(dst)
        for succ, attrs in list(g._succ[src].items()):
            g.add_edge(dst, dst if succ == src else succ, **attrs)
        for pred, attrs in list(g._pred[src].items()):
            if pred != src:
                g.add_edge(pred, dst, **attrs)
        g.remove_node(src)
    lg.columns_of.setdefault(new, set())
    lg.columns_of.pop(old, None)
    for mapping in (lg.dataset_tags, lg.cards):
        if old in mapping and new not in mapping:
            mapping[new] = mapping.pop(old)
    lg._tags = None


def _lower(value):
    return value.lower() if isinstance(value, str) else value
