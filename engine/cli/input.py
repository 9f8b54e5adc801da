"""``gavel input SUBJECT [PROJECT]``: the input document a policy sees for one subject."""

from __future__ import annotations

import json

import click

from engine.cli.options import kind_option, now_option, project_argument, set_option


@click.command(name="input")
@click.argument("subject_id", metavar="SUBJECT")
@project_argument
@kind_option
@now_option
@set_option
def input_command(subject_id, project, kind, now, overrides):
    """Print SUBJECT's full input document as JSON: the card, lineage and privacy facts, now.

    It is exactly what `gavel check` evaluates, so an admission check that asks an OPA server
    (docs/opa.md) can send it as {"input": ...} instead of building one by hand.

    \b
    Examples:
      gavel input credit-limit-optimizer examples
      gavel input features.fraud_features examples --kind budget
      gavel input m . | jq '{input: .}' | curl -s opa:8181/v1/data/gavel_projects/default/model -d @-
    """
    from engine.check import resolve_now
    from engine.config import load_config
    from engine.context import build_subjects
    from engine.errors import UsageError
    from engine.inventory import build_inventory

    config = load_config(project, overrides=list(overrides))
    moment = resolve_now(now or config.now)
    inv = build_inventory(config, now=moment)
    found = [s for s in build_subjects(inv, now=moment) if s.id == subject_id and (kind is None or s.kind == kind)]
    if not found:
        problems = [f.message for f in inv.problems if f.subject.id == subject_id]
        why = f": {problems[0]}" if problems else ""
        raise UsageError(f"no subject '{subject_id}'{f' of kind {kind}' if kind else ''} in {config.root}{why}")
    if len(found) > 1:
        kinds = ", ".join(s.kind for s in found)
        raise UsageError(f"'{subject_id}' names several subjects ({kinds}): choose one with --kind")
    click.echo(json.dumps(found[0].doc, indent=2, sort_keys=True, ensure_ascii=False))
