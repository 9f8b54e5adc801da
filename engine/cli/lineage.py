"""``gavel lineage``: ask the lineage graph: upstream, downstream, path, show, export, problems."""

from __future__ import annotations

import json

import click

from engine.cli.options import output_option, project_option, set_option

config_option = project_option()
json_option = output_option()
TYPES = ("table", "column", "model", "job")
EXPORT_FORMATS = ("json", "dot", "graphml", "mermaid")


@click.group()
def lineage():
    """Ask the lineage graph built from the sources in gavel.yaml's lineage: section.

    NODE is a table (raw.customers), a column (raw.customers.email), a model id or
    model:<id>, or job:<name>.

    \b
    Examples:
      gavel lineage downstream raw.customers.email --type model -p examples
      gavel lineage upstream credit-limit-optimizer --tag pii -p examples
      gavel lineage path raw.customers.email model:credit-limit-optimizer -p examples
      gavel lineage show features.credit_features -p examples
      gavel lineage export -o mermaid --level table -p examples
      gavel lineage problems -p examples
    """


# -- shared ---------------------------------------------------------------------------------------
def _load(project: str, overrides):
    from engine.config import load_config
    from engine.errors import UsageError
    from engine.evidence import load_evidence
    from engine.inventory import Inventory
    from engine.lineage import build_graph

    config = load_config(project, overrides=list(overrides))
    if not config.lineage:
        raise UsageError("no lineage configured: add a lineage: section with sources to gavel.yaml (docs/lineage.md)")
    inv = Inventory(root=config.root)
    load_evidence(config, inv)
    lg = build_graph(config, inv)
    problems = [p for p in inv.problems if p.status == "error"]
    if problems:
        first = problems[0]
        src = first.subject.source
        where = f"{src.file}:{src.line}: " if src and src.line else (f"{src.file}: " if src else "")
        more = f" (and {len(problems) - 1} more; `gavel check` lists them)" if len(problems) > 1 else ""
        click.echo(f"warning: {where}{first.message}{more}", err=True)
    return lg


def _node(lg, name: str) -> str:
    import difflib

    from engine.errors import UsageError

    node = lg.resolve(name)
    if node is not None:
        return node
    close = difflib.get_close_matches(name.lower(), list(lg.g.nodes), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise UsageError(f"no lineage node '{name}'{hint}")


def _origin(data: dict) -> str:
    parts = []
    if data.get("file"):
        parts.append(f"{data['file']}:{data['line']}" if data.get("line") else data["file"])
    if data.get("job"):
        parts.append(f"job {data['job']}")
    return ", ".join(parts)


def _walk(lg, name, tag, depth, types, reverse, as_json):
    node = _node(lg, name)
    found = lg.walk(node, reverse=reverse, depth=depth)
    rows = []
    for other, distance in sorted(found.items(), key=lambda kv: (kv[1], kv[0])):
        kind = lg.node_type(other)
        tags = lg.tags_of(other)
        if types and kind not in types:
            continue
        if tag and tag not in tags:
            continue
        rows.append({"id": other, "type": kind, "distance": distance, "tags": tags})
    if as_json:
        click.echo(json.dumps({"node": node, "direction": "upstream" if reverse else "downstream", "nodes": rows},
                              indent=2))
        return
    if not rows:
        click.echo(f"nothing {'upstream' if reverse else 'downstream'} of {node}"
                   + (f" tagged {tag}" if tag else ""))
        return
    width = max(len(r["id"]) for r in rows)
    for r in rows:
        tags = f"  [{', '.join(r['tags'])}]" if r["tags"] else ""
        click.echo(f"{r['id']:<{width}}  {r['type']:<6}  {r['distance']}{tags}")


def _walk_command(reverse: bool):
    direction = "upstream" if reverse else "downstream"

    @click.argument("node")
    @click.option("--tag", help="Only nodes carrying this tag (e.g. pii).")
    @click.option("--depth", type=click.IntRange(min=1), help="At most this many edges away.")
    @click.option("--type", "types", multiple=True, type=click.Choice(TYPES),
                  help="Only nodes of this type (repeatable).")
    @json_option
    @config_option
    @set_option
    def command(node, tag, depth, types, as_json, project, overrides):
        _walk(_load(project, overrides), node, tag, depth, set(types), reverse, as_json)

    command.__doc__ = (f"What is {direction} of NODE: the tables, columns, models and jobs it "
                       f"{'reads from' if reverse else 'feeds'}, with their distance and tags.")
    return command


lineage.command("upstream")(_walk_command(True))
lineage.command("downstream")(_walk_command(False))


@lineage.command()
@click.argument("source")
@click.argument("target")
@json_option
@config_option
@set_option
def path(source, target, as_json, project, overrides):
    """A shortest path from SOURCE to TARGET, each step with its kind and where it was declared."""
    from engine.errors import UsageError

    lg = _load(project, overrides)
    a, b = _node(lg, source), _node(lg, target)
    found = lg.path(a, b)
    if found is None:
        raise UsageError(f"no lineage path from {a} to {b}")
    steps = []
    for u, v in zip(found, found[1:], strict=False):
        data = lg.step(u, v)
        steps.append({"from": u, "to": v, "kind": data["kind"], "file": data.get("file"), "line": data.get("line"),
                      "job": data.get("job")})
    if as_json:
        click.echo(json.dumps({"path": found, "steps": steps}, indent=2))
        return
    click.echo(found[0])
    for step in steps:
        origin = _origin(step)
        click.echo(f"  -> {step['to']}  ({step['kind']}{', ' + origin if origin else ''})")


@lineage.command()
@click.argument("node")
@json_option
@config_option
@set_option
def show(node, as_json, project, overrides):
    """One node: its type, tags (declared and received, with a source for each) and its edges."""
    lg = _load(project, overrides)
    node = _node(lg, node)
    g = lg.g
    data = g.nodes[node]
    sources = []
    for tag in lg.tags_of(node):
        for source, trail in lg.propagation.sources(node, tag, limit=5):
            sources.append({"tag": tag, "source": source, "path": trail})

    def edges(items, key):
        return [{key: other, "kind": d["kind"], "file": d.get("file"), "line": d.get("line"), "job": d.get("job")}
                for other, d in sorted(items)]

    out = {
        "id": node,
        "type": data["type"],
        "declared_tags": sorted(lg.propagation.declared.get(node, ())),
        "tags": lg.tags_of(node),
        "tagged_sources": sources,
        "columns": sorted(lg.columns_of.get(node, ())),
        "inputs": edges(g._pred[node].items(), "from"),
        "outputs": edges(g._succ[node].items(), "to"),
    }
    if as_json:
        click.echo(json.dumps(out, indent=2))
        return
    click.echo(f"{node}  ({data['type']})")
    click.echo(f"  tags: {', '.join(out['tags']) or '-'}   declared here: {', '.join(out['declared_tags']) or '-'}")
    for s in sources:
        if s["source"] != node:
            click.echo(f"    {s['tag']} from {s['source']}: {' -> '.join(s['path'])}")
    if out["columns"]:
        click.echo(f"  columns: {', '.join(c.rsplit('.', 1)[1] for c in out['columns'])}")
    for title, key, items in (("inputs", "from", out["inputs"]), ("outputs", "to", out["outputs"])):
        click.echo(f"  {title}: {len(items) or '-'}")
        for e in items:
            origin = _origin(e)
            click.echo(f"    {e[key]}  ({e['kind']}{', ' + origin if origin else ''})")


@lineage.command()
@json_option
@config_option
@set_option
def problems(as_json, project, overrides):
    """What the lineage sources left unresolved: statements not analysed (file, line, statement kind,
    reason), unexpanded stars, columns of unknown source; and how many statements each SQL source
    analysed, classified as having no lineage by nature (DROP, GRANT, a plain SELECT) or reported."""
    lg = _load(project, overrides)
    sources = [s for s in lg.sources if s.get("type") == "sql"]
    if as_json:
        click.echo(json.dumps({"sources": sources, "unresolved": lg.unresolved}, indent=2, sort_keys=True))
        return
    for s in sources:
        click.echo(f"sql ({s.get('dialect') or 'default dialect'}): {s['statements']} statements in {s['files']} "
                   f"file(s): {s.get('analysed', 0)} analysed, {s.get('classified', 0)} without lineage by "
                   f"nature, {s.get('reported', 0)} reported")
    for item in lg.unresolved:
        where = f"{item['file']}:{item['line']}" if item.get("line") else item["file"]
        click.echo(f"{where}: {item['message']}")
    if not lg.unresolved:
        click.echo("no lineage problems")


@lineage.command()
@click.option("-o", "--output", "output", metavar="FORMAT[=PATH]",
              help="json (default), dot, graphml or mermaid; =PATH writes a file.")
@click.option("--format", "fmt", hidden=True, type=click.Choice(EXPORT_FORMATS))
@click.option("--level", type=click.Choice(["column", "table"]), default="column", show_default=True,
              help="table: one node per table (column edges folded into table edges).")
@config_option
@set_option
def export(output, fmt, level, project, overrides):
    """The whole graph as JSON, Graphviz DOT, GraphML or a Mermaid flowchart.

    \b
    Examples:
      gavel lineage export -p examples -o dot=lineage.dot --level table
      gavel lineage export -p examples -o json | jq '.edges | length'
    """
    from pathlib import Path

    from engine.cli.options import parse_output
    from engine.errors import UsageError
    from engine.fsutil import atomic_write
    from engine.lineage.export import render

    chosen, path = parse_output(output) if output else (None, None)
    if output and "=" not in output and chosen not in EXPORT_FORMATS:  # the older spelling: -o FILE
        chosen, path = None, output
    chosen = chosen or fmt or {".dot": "dot", ".gv": "dot", ".graphml": "graphml", ".mmd": "mermaid"}.get(
        Path(path).suffix if path else "", "json")
    if chosen not in EXPORT_FORMATS:
        raise UsageError(f"unknown export format '{chosen}'; choose from {', '.join(EXPORT_FORMATS)}")
    lg = _load(project, overrides)
    text = render(lg, chosen, level=level)
    if path and path != "-":
        atomic_write(Path(path), text)
        click.echo(f"wrote {path}", err=True)
    else:
        click.echo(text, nl=False)
