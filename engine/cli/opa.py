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
@click.option("--timeout", type=float, help="Request timeout in seconds.")
@now_option
@set_option
def push(project, opa_url, opa_token, timeout, now, overrides):
    """Publish PROJECT's policies (YAML compiled) and inventory to an OPA server, without evaluating.

    Modules go under the policy ids gavel/...; the inventory and parameters under data.gavel.
    Afterwards the server answers POST /v1/data/gavel_eval/<kind> for any subject.

    \b
    Example:
      gavel opa push . --opa-url http://opa.internal:8181 --opa-token "$OPA_TOKEN"
    """
    from engine.check import resolve_now
    from engine.config import load_config
    from engine.context import inventory_data
    from engine.engines.opa import OpaEngine
    from engine.inventory import build_inventory
    from engine.policy import load_policies

    settings = {k: v for k, v in [("engine.opa_url", opa_url), ("engine.opa_token", opa_token),
                                  ("engine.timeout", timeout)] if v is not None}
    config = load_config(project, overrides=list(overrides), settings=settings)
    policy_set = load_policies(config)
    inv = build_inventory(config, now=resolve_now(now or config.now))
    engine = OpaEngine(url=config.opa_url, token=config.opa_token, timeout=config.timeout)
    modules = policy_set.modules()
    from engine.evaluate import WRAPPER, wrapper_module

    modules[f"{WRAPPER}.rego"] = wrapper_module(policy_set)
    engine.load(modules, {"gavel": {"inventory": inventory_data(inv), "params": policy_set.params}})
    click.echo(f"pushed {len(policy_set.policies)} policies ({len(engine.pushed)} modules) and "
               f"{len(inv.models)} models, {len(inv.datasets)} datasets to {engine.url}")
    for problem in inv.problems:
        click.echo(f"warning: {problem.subject.id}: {problem.message} (not pushed)", err=True)
