"""``gavel explain POLICY SUBJECT [PROJECT]``: why a subject passes or fails a policy."""

from __future__ import annotations

import json
import sys

import click

from engine.cli.options import kind_option, now_option, output_option, project_argument, set_option


@click.command()
@click.argument("policy_id", metavar="POLICY")
@click.argument("subject_id", metavar="SUBJECT")
@project_argument
@kind_option
@output_option
@now_option
@set_option
def explain(policy_id, subject_id, project, kind, as_json, now, overrides):
    """Explain the verdict of POLICY on SUBJECT (a model or dataset id) in PROJECT.

    \b
    For a YAML policy: every condition of `when` and `assert`, expected and actual value, and
    which held. For a Rego policy: the deny/warn messages, its metadata and the input values it
    reads. For lineage: the path from each tagged source.

    \b
    Examples:
      gavel explain high-risk-dpia-approved credit-limit-optimizer examples
      gavel explain dataset-legal-basis raw.marketing_leads -p examples -o json

    Exit codes: 0 the subject passes (or the policy does not apply, or only warns), 1 it fails
    or could not be evaluated, 2 Gavel could not run.
    """
    from engine.config import load_config
    from engine.explain import explain as run_explain
    from engine.explain import render_text

    config = load_config(project, overrides=list(overrides))
    result = run_explain(config, policy_id, subject_id, kind=kind, now=now)
    click.echo(json.dumps(result, indent=2, sort_keys=True) if as_json else render_text(result), nl=as_json)
    sys.exit(1 if result["status"] in ("fail", "error") else 0)
