"""Options shared by several commands: the project to read and `--set` overrides."""

from __future__ import annotations

import functools

import click

project_argument = click.argument("project", default=".", type=click.Path(exists=False))
_set = click.option(
    "--set", "overrides", multiple=True, metavar="KEY=VALUE",
    help="Override any gavel.yaml option, e.g. --set gate.fail_on=high (repeatable).",
)
_no_cache = click.option("--no-cache", is_flag=True,
                         help="Neither read nor write the caches in .gavel/cache (same as --set cache.enabled=false).")


def set_option(command):
    """``--set KEY=VALUE`` overrides, and ``--no-cache``: every command that reads the project reads
    its caches, so every such command can be told not to."""

    @functools.wraps(command)  # keeps the click parameters declared so far (``__click_params__``)
    def run(*args, no_cache: bool = False, **kwargs):
        if no_cache:
            kwargs["overrides"] = (*kwargs.get("overrides", ()), "cache.enabled=false")
        return command(*args, **kwargs)

    return _set(_no_cache(run))
now_option = click.option("--now", metavar="TIME", help="Evaluation time (ISO 8601), for reproducible reports.")


def parse_output(spec: str) -> tuple[str, str | None]:
    """``json=out/report.json`` → ("json", "out/report.json"); ``text`` → ("text", None) (stdout)."""
    fmt, sep, path = spec.partition("=")
    return fmt.strip().lower(), (path.strip() or None) if sep else None


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
        text = render(report, fmt, verbose=verbose, color=color and not path)
        if path in (None, "-"):
            click.echo(text, nl=False)
            continue
        try:  # a FIFO, device or symlink is written through, a regular file replaced atomically
            atomic_write(Path(path), text)
        except OSError as exc:
            from engine.errors import UsageError

            raise UsageError(f"-o {fmt}={path}: cannot write the report: {exc.strerror or exc}") from None
