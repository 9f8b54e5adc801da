"""``gavel check``: run the policies on the evidence, report, and gate."""

from __future__ import annotations

import sys

import click

from engine.cli.options import (
    now_option,
    path_prefix_option,
    progress,
    project_argument,
    report_outputs_option,
    set_option,
    set_path_prefix,
    use_color,
    write_outputs,
)

SEVERITIES = ["info", "low", "medium", "high", "critical"]


@click.command()
@project_argument
@report_outputs_option
@click.option("--fail-on", type=click.Choice(SEVERITIES), help="Lowest severity of a failure that fails the gate.")
@click.option("--fail-on-warn", is_flag=True, default=None, help="Warnings fail the gate too.")
@click.option("--soft-fail", is_flag=True, default=None, help="Report failures but exit 0.")
@click.option("--baseline", metavar="REPORT|RUN", help="Fail only on findings new against a baseline report or run.")
@click.option("--policy", "policy_paths", multiple=True, metavar="PATH", help="Add a policy file or folder.")
@click.option("--pack", "packs", multiple=True, metavar="NAME", help="Add a built-in policy pack.")
@click.option("--disable", multiple=True, metavar="ID", help="Do not run this policy (glob; repeatable).")
@click.option("--param", "params", multiple=True, metavar="POLICY.NAME=VALUE", help="Override a policy parameter.")
@click.option("--evidence", multiple=True, metavar="KIND=GLOB", help="Evidence files, e.g. model=cards/*.yaml.")
@click.option("--waivers", metavar="FILE", help="Waivers file.")
@click.option("--subject", "subjects", multiple=True, metavar="GLOB", help="Only judge subjects whose id matches.")
@click.option("--shard", metavar="K/N", help="Judge shard K of N (a CI matrix job); join with `gavel report merge`.")
@click.option("--engine", type=click.Choice(["embedded", "opa"]), help="Rego engine (default embedded).")
@click.option("--opa-url", metavar="URL", help="OPA server for --engine opa.")
@click.option("--opa-token", metavar="TOKEN", envvar="GAVEL_OPA_TOKEN", help="Bearer token for the OPA server.")
@click.option("--timeout", type=float, help="OPA request timeout in seconds.")
@click.option("--pushgateway", metavar="URL",
              help="Push the run's metrics (the prometheus output) to this Prometheus Pushgateway, job 'gavel'.")
@click.option("-j", "--workers", type=int, help="Worker processes (0: one per core).")
@click.option("--history/--no-history", default=None, help="Record the report in the audit history.")
@click.option("--history-path", metavar="FILE", help="History database file (default .gavel-history/history.db).")
@now_option
@set_option
@path_prefix_option
@click.option("-v", "--verbose", is_flag=True, help="Show passing and skipped findings too.")
@click.option("--color/--no-color", default=None, help="Colour the text output (default: when a terminal).")
def check(project, outputs, fail_on, fail_on_warn, soft_fail, baseline, policy_paths, packs, disable, params,
          evidence, waivers, subjects, shard, engine, opa_url, opa_token, timeout, pushgateway, workers,
          history, history_path, now, overrides, path_prefix, verbose, color):
    """Run every policy on every subject of PROJECT (a folder with gavel.yaml, or the file).

    \b
    Examples:
      gavel check examples/credit-risk
      gavel check . --fail-on high -o json=out/report.json -o sarif=out/gavel.sarif
      gavel check . --subject credit-scoring-v3 -v      # on call: is this model compliant?

    Exit codes: 0 the gate passed, 1 it failed, 2 Gavel could not run.
    """
    from engine.check import run_check
    from engine.config import load_config
    from engine.errors import UsageError

    settings: dict = {}
    for key, value in [("gate.fail_on", fail_on), ("gate.fail_on_warn", fail_on_warn), ("gate.soft_fail", soft_fail),
                       ("gate.baseline", baseline), ("waivers", waivers), ("engine.name", engine),
                       ("engine.opa_url", opa_url), ("engine.opa_token", opa_token), ("engine.timeout", timeout),
                       ("engine.workers", workers), ("history.enabled", history), ("history.path", history_path),
                       ("now", now)]:
        if value is not None:
            settings[key] = value
    config = load_config(project, overrides=list(overrides), settings=settings)
    config.packs += [p for p in packs if p not in config.packs]
    config.policy_paths += list(policy_paths)
    config.disable += list(disable)
    for item in params:
        key, sep, raw = item.partition("=")
        policy_id, dot, name = key.rpartition(".")
        if not sep or not dot:
            raise UsageError(f"--param expects POLICY.NAME=VALUE, got {item!r}")
        import yaml

        config.params.setdefault(policy_id, {})[name] = yaml.safe_load(raw)
    if evidence:
        from engine.config import EvidenceSource

        config.evidence = []
        for item in evidence:
            kind, sep, pattern = item.partition("=")
            if not sep or kind not in ("model", "dataset"):
                raise UsageError(f"--evidence expects model=GLOB or dataset=GLOB, got {item!r}")
            config.evidence.append(EvidenceSource([pattern], kind))
    if shard:
        from engine.shard import parse_shard

        shard = parse_shard(shard)
    stats: dict = {}
    from engine.collector import collector_paused

    deferred: list = []  # the caches are written while the outputs are rendered
    try:
        with collector_paused():  # the run and its rendering in one pause (see collector_paused)
            with progress(f"gavel: checking {project} …"):
                report = run_check(config, only=list(subjects), shard=shard, stats=stats, deferred=deferred)
            set_path_prefix(report, config.root, path_prefix)
            if verbose:
                decisions = stats["decisions"]
                click.echo(f"decisions: {decisions['reused']} reused from the cache, {len(decisions['computed'])} "
                           f"computed; findings of {decisions['ready']} subjects ready-made", err=True)
            write_outputs(report, list(outputs) or config.outputs or ["text"], verbose=verbose,
                          color=use_color(color), step_summary=True)
    finally:
        for wait in deferred:
            wait()
    if config.history and shard:
        click.echo("history: a shard is not recorded; record the merged report (`gavel report merge "
                   "--history-path`)", err=True)
    elif config.history:  # after the outputs: a history that cannot be reached loses no report
        from engine.history import location, record_run

        try:
            record_run(report, location(config))
        except UsageError as exc:
            raise UsageError(f"{exc.message}; the report was written to the outputs but not recorded") from None
    if pushgateway:
        from engine.cli.options import elapsed
        from engine.report.prometheus import push, render

        push(render(report, duration=elapsed()), pushgateway)
    sys.exit(report.gate.exit_code)
