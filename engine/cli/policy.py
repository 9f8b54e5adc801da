"""``gavel policy``: list, show, compile, lint and format policies."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from engine.cli.options import output_option, project_argument, set_option

policy_option = click.option("--policy", "policy_paths", multiple=True, metavar="PATH",
                             help="Add a policy file or folder (repeatable).")
pack_option = click.option("--pack", "packs", multiple=True, metavar="NAME", help="Add a built-in policy pack.")


def _policy_set(project: str, policy_paths, packs, overrides=()):
    from engine.config import load_config
    from engine.policy import load_policies

    config = load_config(project, overrides=list(overrides))
    config.packs += [p for p in packs if p not in config.packs]
    config.policy_paths += list(policy_paths)
    return load_policies(config)


@click.group()
def policy():
    """List, show, compile, lint and format policies.

    \b
    Examples:
      gavel policy list examples
      gavel policy show high-risk-dpia-approved examples
      gavel policy compile examples/policies/high-risk-dpia.yaml
      gavel policy lint examples/policies
      gavel policy fmt --check policies/
    """


@policy.command("list")
@project_argument
@policy_option
@pack_option
@output_option(dest="output")
@set_option
def list_(project, policy_paths, packs, output, overrides):
    """The policies PROJECT runs, with id, severity, target, language, frameworks and source."""
    policy_set = _policy_set(project, policy_paths, packs, overrides)
    rows = [p.info().model_dump(mode="json") | {"pack": p.pack} for p in policy_set.policies]
    if output == "json":
        click.echo(json.dumps(rows, indent=2, sort_keys=True))
        return
    if not rows:
        click.echo("no policies")
        return
    width = max(len(r["id"]) for r in rows)
    click.echo(f"{'ID':<{width}}  {'SEVERITY':<8}  {'TARGET':<15}  {'LANG':<4}  SOURCE")
    for p in policy_set.policies:
        target = ",".join(p.target)
        click.echo(f"{p.id:<{width}}  {p.severity:<8}  {target:<15}  {p.language:<4}  {p.source.file}:{p.source.line}")
        if p.frameworks:
            click.echo(f"{'':<{width}}  frameworks: {'; '.join(p.frameworks)}")
    click.echo(f"{len(rows)} policies")


@policy.command()
@click.argument("policy_id")
@project_argument
@policy_option
@pack_option
@click.option("--rego", "show_rego", is_flag=True, help="Show the Rego the policy runs as (compiled, for YAML).")
@output_option(dest="output")
@set_option
def show(policy_id, project, policy_paths, packs, show_rego, output, overrides):
    """Show one policy: its metadata, and its definition (YAML) or source (Rego)."""
    from engine.errors import UsageError

    policy_set = _policy_set(project, policy_paths, packs, overrides)
    found = policy_set.get(policy_id)
    if found is None:
        from difflib import get_close_matches

        close = get_close_matches(policy_id, [p.id for p in policy_set.policies], n=1)
        raise UsageError(f"no policy '{policy_id}'" + (f". Did you mean {close[0]}?" if close else ""))
    if output == "json":
        data = found.info().model_dump(mode="json") | {
            "description": found.description, "remediation": found.remediation, "pack": found.pack,
            "params": policy_set.params.get(found.id, {}), "package": found.package, "definition": found.definition,
            "rego": found.modules,
        }
        click.echo(json.dumps(data, indent=2, sort_keys=True))
        return
    lines = [f"{found.id}: {found.title}",
             f"  severity:    {found.severity}",
             f"  target:      {', '.join(found.target)}",
             f"  language:    {found.language} (package {found.package})",
             f"  source:      {found.source.file}:{found.source.line}" + (f" (pack {found.pack})" if found.pack else "")]
    if found.frameworks:
        lines.append(f"  frameworks:  {'; '.join(found.frameworks)}")
    params = policy_set.params.get(found.id)
    if params:
        lines.append(f"  params:      {json.dumps(params, sort_keys=True)}")
    if found.description:
        lines += ["", "Description:", "  " + found.description.strip()]
    if found.remediation:
        lines += ["", "Remediation:", "  " + found.remediation.strip()]
    click.echo("\n".join(lines))
    click.echo()
    if found.language == "yaml" and not show_rego:
        from engine.policy.fmt import show_text

        click.echo("Definition:")
        click.echo(show_text(found.definition).rstrip())
    else:
        for name, text in found.modules.items():
            click.echo(f"# --- {name}")
            click.echo(text.rstrip())


@policy.command("compile")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--param", "params", multiple=True, metavar="POLICY.NAME=VALUE", help="Override a parameter.")
def compile_(file, params):
    """Print the Rego module(s) the YAML policy FILE compiles to (what the engine runs)."""
    import yaml

    from engine.errors import UsageError
    from engine.policy import load_yaml_file

    path = Path(file)
    if not path.is_file():
        raise UsageError(f"no such file: {file}")
    if path.suffix == ".rego":
        raise UsageError(f"{file} is already Rego; `gavel policy show ID --rego` shows any policy's Rego")
    overrides: dict = {}
    for item in params:
        key, sep, raw = item.partition("=")
        pid, dot, name = key.rpartition(".")
        if not sep or not dot:
            raise UsageError(f"--param expects POLICY.NAME=VALUE, got {item!r}")
        overrides.setdefault(pid, {})[name] = yaml.safe_load(raw)
    policies = load_yaml_file(path, path.as_posix(), params=overrides, pack=None)
    click.echo("\n".join(text for p in policies for text in p.modules.values()), nl=False)


@policy.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=False))
@output_option(dest="output")
@click.option("--strict", is_flag=True, help="Warnings fail too (exit 1).")
def lint(paths, output, strict):
    """Check policies (and *_test.yaml files) under PATHS for problems, all at once.

    Default PATHS: the policy paths of the project in the current folder. Finds schema errors,
    unknown fields, Rego that does not compile, missing builtins, duplicate ids, missing
    metadata, fields the card schema does not have, conditions that can never hold, and
    unused rules and parameters.

    Exit codes: 0 no errors (warnings allowed unless --strict), 1 problems found, 2 could not run.
    """
    from engine.errors import UsageError
    from engine.policy.lint import lint_paths

    targets = [Path(p) for p in paths] or _project_policy_paths()
    for target in targets:
        if not target.exists():
            raise UsageError(f"no such policy file or folder: {target}")
    problems = lint_paths(targets)
    if output == "json":
        click.echo(json.dumps([p.to_dict() for p in problems], indent=2))
    else:
        for problem in problems:
            click.echo(str(problem))
        errors = sum(1 for p in problems if p.level == "error")
        click.echo(f"{errors} error(s), {len(problems) - errors} warning(s)" if problems else "no problems found")
    failing = [p for p in problems if p.level == "error" or strict]
    sys.exit(1 if failing else 0)


def _project_policy_paths() -> list[Path]:
    from engine.config import load_config
    from engine.errors import UsageError

    config = load_config(".")
    paths = [config.path(p) for p in config.policy_paths]
    if not paths:
        raise UsageError("no policy paths: give PATHS, or run in a project whose gavel.yaml names policies.paths")
    return paths


@policy.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if a file is not formatted.")
@click.option("--diff", "show_diff", is_flag=True, help="Write nothing; print a unified diff.")
def fmt(paths, check, show_diff):
    """Format the YAML policies under PATHS canonically (key order, layout), in place.

    Meaning never changes: the result is parsed back and compared before a file is written.
    Comments, quotes and folded text are kept. Rego files, *_test.yaml files and YAML that is
    not a policy (framework catalogs, cards, configs) are left alone.

    Exit codes: 0 done (or, with --check, all formatted), 1 --check found unformatted files,
    2 a file could not be formatted (it is named).
    """
    import difflib

    from engine.errors import GavelError
    from engine.fsutil import atomic_write
    from engine.policy import policy_files
    from engine.policy.fmt import NotAPolicy, format_text

    files = [f for p in paths for f in policy_files(Path(p)) if f.suffix in (".yaml", ".yml")]
    changed, failed, others = [], [], []
    for file in files:
        text = file.read_text(encoding="utf-8")
        try:
            formatted = format_text(text, file.as_posix())
        except NotAPolicy:  # a framework catalog, a card, a config: not ours to format
            others.append(file)
            continue
        except GavelError as exc:
            click.echo(f"Error: {exc}", err=True)
            failed.append(file)
            continue
        if formatted == text:
            continue
        changed.append(file)
        if show_diff:
            click.echo("".join(difflib.unified_diff(text.splitlines(True), formatted.splitlines(True),
                                                    f"a/{file.as_posix()}", f"b/{file.as_posix()}")), nl=False)
        elif check:
            click.echo(f"would reformat {file.as_posix()}")
        else:
            atomic_write(file, formatted)
            click.echo(f"reformatted {file.as_posix()}")
    verb = "would be reformatted" if check or show_diff else "reformatted"
    click.echo(f"{len(changed)} file(s) {verb}, {len(files) - len(changed) - len(failed) - len(others)} unchanged"
               + (f", {len(others)} not policies (left alone)" if others else ""), err=True)
    if failed:
        sys.exit(2)
    sys.exit(1 if changed and (check or show_diff) else 0)
