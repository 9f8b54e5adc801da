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
_allow_outside = click.option("--allow-outside", is_flag=True,
                              help="Let evidence, ledger, waivers, caches and outputs lie outside the project.")


def set_option(command):
    """``--set KEY=VALUE`` overrides, ``--no-cache`` and ``--allow-outside``: every command that reads
    the project reads its caches and its files, so every such command takes them."""

    @functools.wraps(command)  # keeps the click parameters declared so far (``__click_params__``)
    def run(*args, no_cache: bool = False, allow_outside: bool = False, **kwargs):
        from engine.config import ALLOW_OUTSIDE

        if no_cache:
            kwargs["overrides"] = (*kwargs.get("overrides", ()), "cache.enabled=false")
        token = ALLOW_OUTSIDE.set(allow_outside)  # for this command only (tests run many in one process)
        try:
            return command(*args, **kwargs)
        finally:
            ALLOW_OUTSIDE.reset(token)

    return _set(_no_cache(_allow_outside(run)))
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
    from engine.report import render, renderers

    for spec in outputs:
        fmt, path = parse_output(spec)
        renderers.get_or_raise(fmt)  # an unknown format fails before anything is written
    for spec in outputs:
        fmt, path = parse_output(spec)
        text = render(report, fmt, verbose=verbose, color=color and not path, duration=elapsed())
        if path in (None, "-"):
            click.echo(text, nl=False)
            continue
        write_file(path, text, option=f"-o {fmt}={path}")


def write_file(path: str, data: str | bytes, *, option: str, what: str = "the report") -> None:
    """Write a file the user named with ``option``: a FIFO, device or symlink is written through, a
    regular file replaced atomically; what cannot be written is a usage error (exit 2), never a
    traceback."""
    from pathlib import Path

    from engine.errors import UsageError
    from engine.fsutil import atomic_write

    if not path or not path.strip():
        raise UsageError(f"{option}: the path is empty")
    try:
        atomic_write(Path(path), data)
    except OSError as exc:
        raise UsageError(f"{option}: cannot write {what}: {exc.strerror or exc}") from None
