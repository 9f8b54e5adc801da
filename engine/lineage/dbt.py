"""The ``dbt`` lineage source: a dbt ``manifest.json`` (target/manifest.json after ``dbt compile``).

Models, seeds, snapshots and sources become tables named ``schema.alias`` (``database.schema.alias``
with ``include_database: true``), lowercased. Each model is a job (``job:<unique_id>``) with
``input`` edges from its ``depends_on`` nodes and an ``output`` edge to its relation. Column
lineage comes from the model's compiled SQL (``compiled_code``, or ``compiled_sql`` in older
manifests), analysed like a SQL file, in dependency order so a model's columns are known to the
models built on it. The warehouse's columns come from ``catalog.json`` beside the manifest (written
by ``dbt docs generate``), so ``select *`` models and seeds get column lineage; documented columns
(``columns:``) add to the schema where the catalog is silent, and their ``tags`` (e.g. ``pii``)
become column tags. A model without compiled SQL keeps opaque table edges; such models are listed
once per manifest (run ``dbt compile``).
"""

from __future__ import annotations

from pathlib import Path

from engine.errors import EvidenceError
from engine.evidence.loader import load_json
from engine.lineage.cache import cache_key, options_digest
from engine.lineage.sql import Analyzer, FileResult, Options
from engine.lineage.sqlfiles import apply

RELATIONS = ("model", "seed", "snapshot", "source")


def relation(node: dict, include_database: bool) -> str | None:
    schema = node.get("schema")
    name = node.get("identifier") if node.get("resource_type") == "source" else None
    name = name or node.get("alias") or node.get("name")
    if not isinstance(schema, str) or not isinstance(name, str) or not schema or not name:
        return None
    parts = [node["database"], schema, name] if include_database and node.get("database") else [schema, name]
    return ".".join(str(p) for p in parts).lower()


def read(ctx, source: dict, where: tuple) -> None:
    import networkx as nx

    include_db = bool(source.get("include_database", False))
    dialect = source.get("dialect", ctx.dialect)
    options = Options(dialect=dialect, masking=ctx.masking, strip_catalog=not include_db)
    digest = options_digest("dbt", dialect, include_db, sorted(options.masking))
    analyzer = Analyzer(ctx.catalog, options)
    files = ctx.files(source, where)
    files_by_display = {}
    for path in files:
        from engine.evidence import relative

        files_by_display[relative(path, ctx.root)] = path
    models = 0
    lg = ctx.lg
    for display, text in ctx.texts(files):
        try:  # the one loader of untrusted JSON: duplicate keys, NaN, deep nesting are refused
            manifest = load_json(text, display, limits=ctx.limits)
        except EvidenceError as exc:
            ctx.problem(exc.message, file=display, line=exc.line)
            continue
        nodes = _nodes(manifest)
        if nodes is None:
            ctx.problem("not a dbt manifest: expected an object with 'nodes' (and 'sources') objects",
                        file=display, line=1)
            continue
        names = {uid: relation(n, include_db) for uid, n in nodes.items()}
        warehouse = _catalog_columns(ctx, files_by_display[display], names)
        deps = nx.DiGraph()
        for uid, node in sorted(nodes.items()):
            table = names[uid]
            if table is None:
                continue
            deps.add_node(uid)
            lg.add_table(table)
            columns = node.get("columns") if isinstance(node.get("columns"), dict) else {}
            documented = []
            for key, column in sorted(columns.items()):
                column = column if isinstance(column, dict) else {}
                name = str(column.get("name") or key).lower()
                documented.append(name)
                col = lg.add_column(table, name)
                raw_tags = column.get("tags")
                tags = [t for t in raw_tags if isinstance(t, str)] if isinstance(raw_tags, list) else []
                if tags:
                    lg.tag(col, tags)
            found = warehouse.get(table)
            if found:  # the warehouse's own columns, in order: what `select *` expands to
                for name in found[0]:
                    lg.add_column(table, name)
                ctx.catalog.add(table, found[0], found[1])
            elif documented and table not in ctx.catalog.tables and all(isinstance(c, str) for c in documented):
                ctx.catalog.add(table, documented)
            depends_on = node.get("depends_on")
            depends = depends_on.get("nodes") if isinstance(depends_on, dict) else None
            for dep in depends if isinstance(depends, list) else ():
                if isinstance(dep, str) and dep in names and names[dep]:
                    deps.add_edge(dep, uid)
        try:
            order = list(nx.lexicographical_topological_sort(deps))
        except nx.NetworkXUnfeasible:
            ctx.problem("dbt manifest has a dependency cycle; models analysed in name order", file=display)
            order = sorted(deps.nodes)
        uncompiled: list[str] = []
        for uid in order:
            node = nodes[uid]
            if node.get("resource_type") not in ("model", "snapshot"):
                continue
            models += 1
            table = names[uid]
            job = lg.add_job(uid)
            lg.g.nodes[job]["file"] = node.get("original_file_path")
            w = {"file": display, "line": None}
            lg.add_edge(job, table, "output", **w)
            inputs = sorted(names[d] for d in deps.predecessors(uid))
            for inp in inputs:
                lg.add_edge(inp, job, "input", **w)
            sql = node.get("compiled_code") or node.get("compiled_sql")
            if not isinstance(sql, str) or not sql.strip():
                for inp in inputs:
                    lg.add_edge(inp, table, "opaque", **w)
                uncompiled.append(uid)
                continue
            key = cache_key(f"{table}\0{sql}", digest)
            result = ctx.cache.get(key, ctx.catalog)
            if result is None:
                result = analyzer.analyze_query(sql, table)
                ctx.cache.put(key, result)
            else:
                for name, columns, _ in result.tables:
                    ctx.catalog.add(name, columns)
            source_file = node.get("original_file_path") or uid
            result = FileResult(
                statements=result.statements,
                # lines of compiled SQL are not lines of the manifest: the message names them instead
                edges=[[*e[:6], None] for e in result.edges],
                tables=result.tables,
                problems=[{"line": None, "message": f"{uid} ({source_file}, compiled line {p['line']}): "
                           f"{p['message']}"} for p in result.problems],
                unresolved=[{"line": None, "message": f"{uid}: {u['message']}"} for u in result.unresolved],
            )
            apply(ctx, result, display, job=uid)
            seen = {e[1] for e in result.edges if e[0] == "t"}
            for inp in inputs:
                if inp not in seen:
                    lg.add_edge(inp, table, "opaque", **w)
        if uncompiled:
            shown = ", ".join(uncompiled[:10]) + (f" and {len(uncompiled) - 10} more" if len(uncompiled) > 10 else "")
            lg.unresolved.append({"file": display, "line": None, "message": f"{len(uncompiled)} dbt model(s) without "
                                  f"compiled SQL (run dbt compile): table-level lineage only: {shown}"})
    lg.sources.append({"type": "dbt", "files": len(files), "models": models})


def _nodes(manifest) -> dict | None:
    if not isinstance(manifest, dict) or not isinstance(manifest.get("nodes"), dict):
        return None
    out = {uid: n for uid, n in manifest["nodes"].items()
           if isinstance(n, dict) and n.get("resource_type") in RELATIONS}
    sources = manifest.get("sources")
    if isinstance(sources, dict):
        out.update({uid: n for uid, n in sources.items() if isinstance(n, dict)})
    return out


def _catalog_columns(ctx, manifest: Path, names: dict[str, str | None]) -> dict[str, tuple[list[str], dict]]:
    """``{table: ([columns in order], {column: type})}`` from ``catalog.json`` beside the manifest
    (``dbt docs generate``), for the manifest's nodes; empty when there is none."""
    path = Path(manifest).with_name("catalog.json")
    if not path.is_file():
        return {}
    got = ctx.read(path)
    if got is None:
        return {}
    display, text = got
    try:
        catalog = load_json(text, display, limits=ctx.limits)
    except EvidenceError as exc:
        ctx.problem(exc.message, file=display, line=exc.line)
        return {}
    out: dict[str, tuple[list[str], dict]] = {}
    if not isinstance(catalog, dict):
        ctx.problem("not a dbt catalog: expected an object with 'nodes' and 'sources'", file=display, line=1)
        return out
    for key in ("nodes", "sources"):
        entries = catalog.get(key)
        for uid, entry in sorted(entries.items()) if isinstance(entries, dict) else ():
            table = names.get(uid)
            columns = entry.get("columns") if isinstance(entry, dict) else None
            if not table or not isinstance(columns, dict):
                continue
            rows = [c for c in columns.values() if isinstance(c, dict) and isinstance(c.get("name"), str)]
            rows.sort(key=lambda c: c.get("index") if isinstance(c.get("index"), int) else 0)
            cols = [c["name"].lower() for c in rows]
            types = {c["name"].lower(): str(c["type"]) for c in rows if isinstance(c.get("type"), str)}
            if cols:
                out[table] = (cols, types)
    return out
