"""Options shared by several commands: the project to read and `--set` overrides."""

from __future__ import annotations

import click

project_argument = click.argument("project", default=".", type=click.Path(exists=False))
set_option = click.option(
    "--set", "overrides", multiple=True, metavar="KEY=VALUE",
    help="Override any gavel.yaml option, e.g. --set gate.fail_on=high (repeatable).",
)
now_option = click.option("--now", metavar="TIME", help="Evaluation time (ISO 8601), for reproducible reports.")
path_prefix_option = click.option(
    "--path-prefix", metavar="DIR",
    help="The project's folder in the repository, for paths in reports (default: from the git top level).",
)


def set_path_prefix(report, project_root, explicit: str | None) -> None:
    """Record where the project sits in the repository, so every renderer writes repo-relative paths."""
    from engine.report.paths import path_prefix

    prefix = path_prefix(project_root, explicit) if explicit is not None or project_root is not None else ""
    if prefix:
        report.extra["path_prefix"] = prefix
    else:
        report.extra.pop("path_prefix", None)


def parse_output(spec: str) -> tuple[str, str | None]:
    """``json=out/report.json`` → ("json", "out/report.json"); ``text`` → ("text", None) (stdout)."""
    fmt, sep, path = spec.partition("=")
    return fmt.strip().lower(), (path.strip() or None) if sep else None


def full_report_pointer(outputs: list[str], environ=None) -> str | None:
    """Where the whole report is, for renderers that must leave things out ("N more: see ...")."""
    import os

    environ = os.environ if environ is None else environ
    files = [path for fmt, path in map(parse_output, outputs) if path not in (None, "-") and fmt in ("html", "json", "sarif")]
    where = " or ".join(files)
    run = [environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")]
    if all(run):
        ci = f"the artifacts of {run[0]}/{run[1]}/actions/runs/{run[2]}"
        where = f"{where} in {ci}" if where else ci
    elif environ.get("CI_JOB_URL"):  # GitLab
        where = f"{where} in the artifacts of {environ['CI_JOB_URL']}" if where else f"the job {environ['CI_JOB_URL']}"
    return where or None


def write_outputs(report, outputs: list[str], *, root=None, verbose: bool = False, color: bool = False,
                  step_summary: bool = False) -> None:
    """Render ``report`` once per ``FORMAT[=PATH]``; no path (or ``-``) means standard output.

    ``step_summary``: when ``GITHUB_STEP_SUMMARY`` names a file (GitHub Actions), the Markdown
    summary is appended to it too, so the job page shows the verdict without another step.
    """
    import os
    from pathlib import Path

    from engine.fsutil import atomic_write
    from engine.report import render, renderers

    for spec in outputs:
        fmt, path = parse_output(spec)
        renderers.get_or_raise(fmt)  # an unknown format fails before anything is written
    pointer = full_report_pointer(outputs)
    for spec in outputs:
        fmt, path = parse_output(spec)
        text = render(report, fmt, verbose=verbose, color=color and not path, full_report=pointer)
        if path in (None, "-"):
            click.echo(text, nl=False)
        else:
            atomic_write(Path(path), text)
    summary = os.environ.get("GITHUB_STEP_SUMMARY") if step_summary else None
    if summary:
        try:
            with open(summary, "a", encoding="utf-8") as handle:  # GitHub concatenates every step's summary
                handle.write(render(report, "markdown", full_report=pointer))
        except OSError as exc:  # the report itself is written; a missing summary is not worth exit 2
            click.echo(f"Warning: cannot write the job summary to GITHUB_STEP_SUMMARY ({summary}): {exc}", err=True)
