"""``gavel opa push``: publish the policy set and the inventory to an OPA server."""

from __future__ import annotations

import click

from engine.cli.options import now_option, project_argument, set_option


@click.group()
def opa():
    """Work with a real OPA server (see docs/opa.md)."""


@opa.command()
@project_argument
@click.option("--opa-url", metavar="URL", help="The OPA server (default: engine.opa_url of gavel.yaml).")
@click.option("--opa-token", metavar="TOKEN", envvar="GAVEL_OPA_TOKEN", help="Bearer token for the OPA server.")
@click.option("--timeout", type=float, help="Deadline for the whole push, in seconds.")
@click.option("--name", default="default", show_default=True, metavar="NAME",
              help="The project's name on the server: decisions at /v1/data/gavel_projects/NAME/<kind>.")
@now_option
@set_option
def push(project, opa_url, opa_token, timeout, name, now, overrides):
    """Publish PROJECT's policies (YAML compiled) and inventory to an OPA server, without evaluating.

    The policy set goes into a namespace of its own (a digest of its content), so projects and
    versions never mix on a shared server; then one module update points
    data.gavel_projects.NAME at it, and the set it pointed at before is removed. A push that
    fails leaves the server as it was.

    \b
    Example:
      gavel opa push . --name credit-risk --opa-url http://opa.internal:8181 --opa-token "$OPA_TOKEN"
      curl -s opa.internal:8181/v1/data/gavel_projects/credit_risk/model -d '{"input": ...}'
    """
    from engine.check import resolve_now
    from engine.config import load_config
    from engine.context import inventory_data
    from engine.engines.opa import project_package
    from engine.evaluate import prepare
    from engine.inventory import build_inventory
    from engine.policy import load_policies

    settings = {k: v for k, v in [("engine.opa_url", opa_url), ("engine.opa_token", opa_token),
                                  ("engine.timeout", timeout)] if v is not None}
    config = load_config(project, overrides=list(overrides), settings={**settings, "engine.name": "opa"})
    policy_set = load_policies(config)
    inv = build_inventory(config, now=resolve_now(now or config.now))
    engine = prepare(policy_set, data={"inventory": inventory_data(inv)}, engine="opa",
                     options=config.engine_options()).engine
    previous = engine.publish(name)
    path = project_package(name).replace(".", "/")
    click.echo(f"pushed {len(policy_set.policies)} policies ({len(engine.pushed)} modules) and "
               f"{len(inv.models)} models, {len(inv.datasets)} datasets to {engine.url} as policy set "
               f"{engine.namespace}{f' (replacing {previous})' if previous else ''}")
    click.echo(f"decisions: POST {engine.url}/v1/data/{path}/<kind> (kind: model, dataset, lineage, budget)")
    for problem in inv.problems:
        click.echo(f"warning: {problem.subject.id}: {problem.message} (not pushed)", err=True)
