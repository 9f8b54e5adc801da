"""Options shared by several commands: the project to read and `--set` overrides."""

from __future__ import annotations

import click

project_argument = click.argument("project", default=".", type=click.Path(exists=False))
set_option = click.option(
    "--set", "overrides", multiple=True, metavar="KEY=VALUE",
    help="Override any gavel.yaml option, e.g. --set gate.fail_on=high (repeatable).",
)
now_option = click.option("--now", metavar="TIME", help="Evaluation time (ISO 8601), for reproducible reports.")


def parse_output(spec: str) -> tuple[str, str | None]:
    """``json=out/report.json`` → ("json", "out/report.json"); ``text`` → ("text", None) (stdout)."""
    fmt, sep, path = spec.partition("=")
    return fmt.strip().lower(), (path.strip() or None) if sep else None


def elapsed() -> float:
    """Seconds since the ``gavel`` command started."""
    import time

    from engine.cli import STARTED

    return time.perf_counter() - STARTED


def write_outputs(report, outputs: list[str], *, root=None, verbose: bool = False, color: bool = False) -> None:
    """Render ``report`` once per ``FORMAT[=PATH]``; no path (or ``-``) means standard output."""
    from pathlib import Path

    from engine.fsutil import atomic_write
    from engine.report import render, renderers

    for spec in outputs:
        fmt, path = parse_output(spec)
        renderers.get_or_raise(fmt)  # an unknown format fails before anything is written
    for spec in outputs:
        fmt, path = parse_output(spec)
        text = render(report, fmt, verbose=verbose, color=color and not path, duration=elapsed())
        if path in (None, "-"):
            click.echo(text, nl=False)
        else:
            atomic_write(Path(path), text)
