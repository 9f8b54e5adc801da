"""``gavel bundle build``: an OPA bundle of the policies and the inventory."""

from __future__ import annotations

import click

from engine.cli.options import now_option, project_argument, set_option, write_file


@click.group()
def bundle():
    """Build OPA bundles, so a fleet of OPA servers serves the same policies.

    \b
    Serve one:   opa run --server --bundle bundle.tar.gz
    Ask it:      curl -s localhost:8181/v1/data/gavel_eval/model -d '{"input": INPUT}'
    (see docs/opa.md)
    """


@bundle.command()
@project_argument
@click.option("-o", "--output", "output", required=True, metavar="FORMAT[=PATH]",
              help="tar.gz=PATH: where to write the bundle (a bare PATH works too); json prints its manifest.")
@click.option("--revision", metavar="R", help="The bundle revision (default: a digest of its content).")
@now_option
@set_option
def build(project, output, revision, now, overrides):
    """Build an OPA bundle of PROJECT: .manifest, the Rego (YAML compiled) and data.json.

    \b
    Examples:
      gavel bundle build -p examples -o tar.gz=out/bundle.tar.gz
      gavel bundle build . -o bundle.tar.gz --revision "$(git rev-parse HEAD)"
    """
    from engine.bundle import build_bundle
    from engine.cli.options import parse_output
    from engine.config import load_config
    from engine.errors import UsageError

    fmt, path = parse_output(output)
    if "=" not in output and fmt not in ("json", "tar.gz"):  # a bare PATH (the older spelling)
        fmt, path = "tar.gz", output
    if fmt not in ("json", "tar.gz") or (fmt == "tar.gz" and path in (None, "-")):
        raise UsageError(f"-o expects tar.gz=PATH (or a PATH) or json, got {output!r}")
    config = load_config(project, overrides=list(overrides))
    built = build_bundle(config, revision=revision, now=now)
    if fmt == "json":
        import json

        text = json.dumps(built.manifest, indent=2, sort_keys=True) + "\n"
        if path in (None, "-"):
            click.echo(text, nl=False)
        else:
            write_file(path, text, option=f"-o json={path}", what="the bundle manifest")
        return
    output = path
    for problem in built.problems:
        where = problem.subject.source.file if problem.subject.source else problem.subject.id
        click.echo(f"warning: {where}: {problem.message} (not in data.json)", err=True)
    write_file(output, built.tar_gz(), option=f"-o {output}", what="the bundle")
    rego = sum(1 for name in built.files if name.endswith(".rego"))
    click.echo(f"wrote {output}: revision {built.manifest['revision']}, {rego} Rego modules, "
               f"roots {', '.join(built.manifest['roots'])}")
