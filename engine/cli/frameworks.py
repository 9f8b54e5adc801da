"""``gavel frameworks [NAME]``: the coverage matrix of the policies in force."""

from __future__ import annotations

import json

import click

from engine.cli.options import output_option, project_option, set_option


@click.command()
@click.argument("name", required=False)
@project_option
@click.option("--pack", "packs", multiple=True, metavar="NAME", help="Add a built-in pack (repeatable).")
@click.option("--all-packs", is_flag=True, help="Count every built-in pack, whatever gavel.yaml enables.")
@click.option("--unchecked", is_flag=True, help="With NAME: list only the controls nothing checks.")
@output_option(dest="fmt")
@set_option
def frameworks(name, project, packs, all_packs, unchecked, fmt, overrides):
    """Which controls of a framework the policies in force check, and which nothing checks.

    Without NAME, one line per framework (eu-ai-act, gdpr, nist-ai-rmf, iso-42001). With NAME,
    every control: checked (a policy cites it), partly (a policy cites a sub-paragraph of it)
    or unchecked. The policies in force are the packs and local policies of the project's
    gavel.yaml; when it enables none, every built-in pack is counted (and the output says so).
    This is a map of what Gavel tests, not a claim of compliance.

    \b
    Examples:
      gavel frameworks
      gavel frameworks eu-ai-act -p examples
      gavel frameworks iso-42001 --all-packs --unchecked
    """
    from engine.config import load_config
    from engine.frameworks import catalogs, coverage, get_framework, unknown_references
    from engine.policy import load_policies, pack_names

    config = load_config(project, overrides=list(overrides))
    note = None
    if all_packs or (not config.packs and not config.policy_paths and not packs):
        if not all_packs:
            note = "gavel.yaml enables no policies: counting every built-in pack"
        config.packs = pack_names()
    config.packs += [p for p in packs if p not in config.packs]
    policies = load_policies(config).policies
    names = [get_framework(name).id] if name else list(catalogs())
    result = []
    for fid in names:
        framework = get_framework(fid)
        rows, unknown = coverage(policies, framework)
        result.append((framework, rows, unknown))
    if fmt == "json":
        click.echo(json.dumps(_as_json(result, config.packs, unknown_references(policies)), indent=2))
        return
    if note:
        click.echo(f"note: {note}")
    click.echo(f"packs: {', '.join(config.packs) or '-'}" + (f"; local policies: {', '.join(config.policy_paths)}"
                                                              if config.policy_paths else ""))
    if not name:
        _summary(result)
        click.echo("\nShow the controls of one framework: gavel frameworks NAME")
        return
    framework, rows, unknown = result[0]
    click.echo(f"\n{framework.title}\n{framework.scope}\n")
    width = max(len(r.control.id) for r in rows)
    for row in rows:
        if unchecked and row.status != "unchecked":
            continue
        mark = {"checked": "checked  ", "partly": "partly   ", "unchecked": "unchecked"}[row.status]
        line = f"  {mark}  {row.control.id:<{width}}  {row.control.title}"
        if row.policies:
            line += f"  [{', '.join(row.policies)}]"
        click.echo(line)
    counts = _counts(rows)
    click.echo(f"\n{counts['checked']} checked, {counts['partly']} partly, {counts['unchecked']} unchecked "
               f"of {len(rows)} controls")
    for pid, reference in unknown:
        click.echo(f"  unknown reference in {pid}: {reference!r} (not in the {framework.id} catalog)")


def _counts(rows) -> dict[str, int]:
    out = {"checked": 0, "partly": 0, "unchecked": 0}
    for row in rows:
        out[row.status] += 1
    return out


def _summary(result) -> None:
    click.echo(f"\n  {'framework':<13} {'controls':>8} {'checked':>8} {'partly':>7} {'unchecked':>10}")
    for framework, rows, _ in result:
        c = _counts(rows)
        click.echo(f"  {framework.id:<13} {len(rows):>8} {c['checked']:>8} {c['partly']:>7} {c['unchecked']:>10}")


def _as_json(result, packs, unknown) -> dict:
    return {
        "packs": packs,
        "frameworks": [
            {
                "id": framework.id,
                "title": framework.title,
                "counts": _counts(rows),
                "controls": [{"id": r.control.id, "title": r.control.title, "status": r.status,
                              "policies": r.policies} for r in rows],
            }
            for framework, rows, _ in result
        ],
        "unknown_references": [{"policy": p, "reference": r} for p, r in unknown],
    }
