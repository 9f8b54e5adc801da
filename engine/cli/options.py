"""The one CLI grammar (docs/reports.md, "Command line"), as shared option decorators.

- ``-p/--project PATH``: the project a command reads (``-c/--config`` still works, hidden);
  ``check`` and a few others also take it positionally (``project_options``).
- ``-o/--output FORMAT[=PATH]``: machine-readable output; ``json`` is always a format; ``=PATH``
  writes a file instead of standard output (``--json`` and ``--format`` still work, hidden).
- ``--set KEY=VALUE`` wherever a config is read.
- ``-q/--quiet``, ``-v/--verbose``, ``--color/--no-color``: on every command (added by the group,
  engine/cli/__init__.py); colour follows ``NO_COLOR``, then the flag, then whether it is a terminal.
"""

from __future__ import annotations

import functools
import os

import click


class AliasOption(click.Option):
    """An option with hidden legacy spellings: they still work, ``--help`` shows only the current ones."""

    def __init__(self, *args, hidden_aliases: tuple[str, ...] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.hidden_aliases = set(hidden_aliases)

    def get_help_record(self, ctx):
        opts = self.opts
        self.opts = [o for o in opts if o not in self.hidden_aliases]
        try:
            return super().get_help_record(ctx)
        finally:
            self.opts = opts


def project_option(func=None, *, dest: str = "project"):
    """``-p/--project PATH`` (default the current folder); ``-c/--config`` is a hidden alias."""
    option = click.option("-p", "--project", "-c", "--config", dest, default=".", metavar="PATH", cls=AliasOption,
                          hidden_aliases=("-c", "--config"), type=click.Path(exists=False),
                          help="The project: a folder with gavel.yaml, or the file (default: the current folder).")
    return option(func) if func else option


def project_options(func):
    """A positional PROJECT (the older spelling) and ``-p/--project``: one or the other, or both the same."""

    @functools.wraps(func)
    def wrapper(*args, positional_project=None, **kwargs):
        option = kwargs.get("project") or "."
        if positional_project is not None and option != "." and positional_project != option:
            from engine.errors import UsageError

            raise UsageError(f"two projects given: {positional_project!r} and -p {option!r}; give one")
        kwargs["project"] = positional_project if positional_project is not None else option
        return func(*args, **kwargs)

    wrapper = project_option(wrapper)
    return click.argument("positional_project", metavar="[PROJECT]", required=False, type=click.Path(exists=False))(
        wrapper)


project_argument = project_options  # the name older commands import
#: ``-o/--output FORMAT[=PATH]`` (repeatable) for the commands that render a report.
report_outputs_option = click.option(
    "-o", "--output", "outputs", multiple=True, metavar="FORMAT[=PATH]",
    help="Output: text, json, junit, sarif, github, markdown, html, prometheus; =PATH writes a file (repeatable).",
)
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


def output_option(func=None, *, formats: tuple[str, ...] = ("text", "json"), dest: str = "as_json"):
    """``-o/--output FORMAT[=PATH]`` for a command that prints one document (hidden ``--json`` and
    ``--format FORMAT`` still work). The command gets ``as_json`` (a bool) or, with ``dest="fmt"``,
    the format name; with ``=PATH`` what it prints goes to that file, written atomically."""

    def decorate(f):
        @functools.wraps(f)
        def wrapper(*args, output_spec=None, legacy_json=False, legacy_format=None, **kwargs):
            from engine.errors import UsageError

            spec = output_spec or (f"{legacy_format}" if legacy_format else "json" if legacy_json else formats[0])
            fmt, path = parse_output(spec)
            if fmt not in formats:
                import difflib

                close = difflib.get_close_matches(fmt, formats, n=1)
                hint = f" Did you mean {close[0]}?" if close else f" Choose from: {', '.join(formats)}."
                raise UsageError(f"unknown output format '{fmt}'.{hint}")
            kwargs[dest] = (fmt == "json") if dest == "as_json" else fmt
            if path in (None, "-"):
                return f(*args, **kwargs)
            return _to_file(path, lambda: f(*args, **kwargs))

        wrapper = click.option("--format", "legacy_format", hidden=True, type=click.Choice(formats))(wrapper)
        wrapper = click.option("--json", "legacy_json", is_flag=True, hidden=True)(wrapper)
        return click.option("-o", "--output", "output_spec", metavar="FORMAT[=PATH]",
                            help=f"Output: {', '.join(formats)} (default {formats[0]}); =PATH writes a file.")(wrapper)

    return decorate(func) if func else decorate


def _to_file(path: str, run):
    """Run a command with its standard output going to ``path`` (atomically, also when it exits 1)."""
    import contextlib
    import io

    buffer = io.StringIO()

    def flush():
        write_file(path, buffer.getvalue())
        if not is_quiet():
            click.echo(f"wrote {path}", err=True)

    try:
        with contextlib.redirect_stdout(buffer):
            result = run()
    except (SystemExit, click.exceptions.Exit):  # exit 0 or 1 (a verdict): the output is written either way
        flush()
        raise
    # Any other exception (exit 2: Gavel could not run) propagates and nothing is written.
    flush()
    return result


def write_file(path: str, data: str | bytes | list[str], *, option: str | None = None, what: str = "the report") -> None:
    """Write a file the user named (with ``option``): a FIFO, device or symlink is written through, a
    regular file replaced atomically; what cannot be written is a usage error (exit 2), never a
    traceback."""
    from pathlib import Path

    from engine.errors import UsageError
    from engine.fsutil import atomic_write

    option = option or f"-o {path}"
    if not path or not path.strip():
        raise UsageError(f"{option}: the path is empty")
    try:
        atomic_write(Path(path), data, durable=False)  # the next run writes it again from its inputs
    except OSError as exc:
        raise UsageError(f"{option}: cannot write {what}: {exc.strerror or exc}") from None


def is_quiet() -> bool:
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.find_root().meta.get("gavel.quiet"))


def use_color(flag: bool | None, stream=None) -> bool:
    """``--color/--no-color`` wins; else ``NO_COLOR`` (any value, https://no-color.org) turns colour
    off; else colour when the stream is a terminal."""
    import sys

    if flag is None:
        ctx = click.get_current_context(silent=True)
        flag = ctx.find_root().meta.get("gavel.color") if ctx else None
    if flag is not None:
        return flag
    if os.environ.get("NO_COLOR"):
        return False
    stream = stream or sys.stdout
    return bool(getattr(stream, "isatty", lambda: False)())


class progress:  # noqa: N801 - used as a context manager, like open()
    """A status line on stderr while a long run works: shown only on a terminal, only after
    ``delay`` seconds (a quick run prints nothing), never with ``-q``; erased when the run ends."""

    def __init__(self, label: str, *, delay: float = 1.0, interval: float = 0.5, stream=None):
        import sys
        import threading

        self.label, self.delay, self.interval = label, delay, interval
        self.stream = stream or sys.stderr
        self.stop = threading.Event()
        self.thread = None
        self.shown = False

    def __enter__(self):
        import threading
        import time

        if is_quiet() or not getattr(self.stream, "isatty", lambda: False)():
            return self
        start = time.monotonic()

        def tick():
            if self.stop.wait(self.delay):
                return
            while not self.stop.is_set():
                self.stream.write(f"\r{self.label} {time.monotonic() - start:4.0f}s")
                self.stream.flush()
                self.shown = True
                self.stop.wait(self.interval)

        self.thread = threading.Thread(target=tick, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        if self.thread is not None:
            self.thread.join()
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
        return False


def _remember(key):
    def callback(ctx, _param, value):
        if value is not None and value is not False:
            ctx.find_root().meta[key] = value
        return value

    return callback


def add_common_options(command: click.Command) -> click.Command:
    """Give a command (and every command of a group) ``-q/--quiet``, ``-v/--verbose`` and
    ``--color/--no-color`` where it lacks them; their values land in the root context's meta."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            add_common_options(sub)
        return command
    if getattr(command, "_gavel_common", False):
        return command
    command._gavel_common = True
    names = {opt for p in command.params for opt in getattr(p, "opts", [])}
    extra = []
    if "-q" not in names:
        extra.append(click.Option(["-q", "--quiet"], is_flag=True, expose_value=False, callback=_remember("gavel.quiet"),
                                  help="Print only what was asked for: no progress, notes or summary line."))
    if "-v" not in names:
        extra.append(click.Option(["-v", "--verbose"], is_flag=True, expose_value=False,
                                  callback=_remember("gavel.verbose"), help="Say more."))
    if "--color" not in names:
        extra.append(click.Option(["--color/--no-color"], default=None, expose_value=False,
                                  callback=_remember("gavel.color"),
                                  help="Colour (default: when a terminal, and NO_COLOR is not set)."))
    help_at = next((i for i, p in enumerate(command.params) if getattr(p, "name", "") == "help"), len(command.params))
    command.params[help_at:help_at] = extra
    return command


now_option = click.option("--now", metavar="TIME", help="Evaluation time (ISO 8601), for reproducible reports.")
kind_option = click.option("--kind", type=click.Choice(["model", "dataset", "lineage", "budget"]),
                           help="The subject's kind, when a model and a dataset (or a budget) share the id.")
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


def elapsed() -> float:
    """Seconds since the ``gavel`` command started."""
    import time

    from engine.cli import STARTED

    return time.perf_counter() - STARTED


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

    from engine.report import counted, render, render_pieces, renderers

    for spec in outputs:
        fmt, path = parse_output(spec)
        renderers.get_or_raise(fmt)  # an unknown format fails before anything is written
    pointer = full_report_pointer(outputs)
    written = []
    for spec in outputs:
        fmt, path = parse_output(spec)
        text = render_pieces(report, fmt, verbose=verbose, color=color and not path, full_report=pointer,
                             duration=elapsed())
        if path in (None, "-"):
            click.echo(text if isinstance(text, str) else "".join(text), nl=False, color=color or None)
        else:
            write_file(path, text, option=f"-o {fmt}={path}")
            written.append(path)
    if written and len(written) == len(outputs) and not is_quiet():
        # Nothing went to standard output: one line says what happened, on stderr.
        g, s = report.gate, report.summary
        counts = ", ".join(f"{v} {k}" for k, v in s.by_status.items() if v and k not in ("pass", "skip")) or "no problems"
        verdict = "passed" if g.passed else "failed (soft-fail)" if g.soft_fail else "failed"
        click.echo(f"gavel: gate {verdict}: {counts}; {counted(s.subjects, 'subject')}, "
                   f"{counted(s.policies, 'policy', 'policies')}; wrote "
                   f"{', '.join(written)}", err=True)
    summary = os.environ.get("GITHUB_STEP_SUMMARY") if step_summary else None
    if summary:
        try:
            with open(summary, "a", encoding="utf-8") as handle:  # GitHub concatenates every step's summary
                handle.write(render(report, "markdown", full_report=pointer))
        except OSError as exc:  # the report itself is written; a missing summary is not worth exit 2
            click.echo(f"Warning: cannot write the job summary to GITHUB_STEP_SUMMARY ({summary}): {exc}", err=True)
