"""The ``gavel`` command: a thin click layer over the library.

Each command lives in its own module and is imported only when it runs, so ``gavel check``
does not pay for lineage, privacy or OPA code it does not use.

Exit codes: 0 the gate passed; 1 the gate failed (or a test failed); 2 Gavel could not run
(bad usage, bad config, a policy that does not load).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import time

import click

from engine import __version__
from engine.errors import GavelError

#: When the command started: ``-o prometheus`` reports the run's wall time from it.
STARTED = time.perf_counter()

COMMANDS = {
    "check": "engine.cli.check:check",
    "policy": "engine.cli.policy:policy",
    "explain": "engine.cli.explain:explain",
    "input": "engine.cli.input:input_command",
    "test": "engine.cli.test:test",
    "lineage": "engine.cli.lineage:lineage",
    "budget": "engine.cli.budget:budget",
    "report": "engine.cli.report:report",
    "history": "engine.cli.history:history",
    "bundle": "engine.cli.bundle:bundle",
    "opa": "engine.cli.opa:opa",
    "frameworks": "engine.cli.frameworks:frameworks",
    "init": "engine.cli.init:init",
    "schema": "engine.cli.schema:schema",
}


class LazyGroup(click.Group):
    """Imports a command's module only when that command is asked for."""

    def list_commands(self, ctx):
        return sorted(name for name, target in COMMANDS.items() if _module_exists(target))

    def get_command(self, ctx, name):
        target = COMMANDS.get(name)
        if target is None or not _module_exists(target):
            return None
        module, _, attr = target.partition(":")
        from engine.cli.options import add_common_options

        return add_common_options(getattr(importlib.import_module(module), attr))

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except GavelError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(2)
        except BrokenPipeError:  # the reader went away (`gavel ... | head`): stop quietly, like a SIGPIPE
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(141)
        except (click.exceptions.Exit, click.ClickException, click.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:  # never a traceback for users; GAVEL_DEBUG=1 shows it
            if os.environ.get("GAVEL_DEBUG"):
                raise
            click.echo(f"Error: internal error: {type(exc).__name__}: {exc} (set GAVEL_DEBUG=1 for details)", err=True)
            ctx.exit(2)


def _module_exists(target: str) -> bool:
    module = target.partition(":")[0]
    return importlib.util.find_spec(module) is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gavel")
def main():
    """Gavel: policy-as-code and compliance for data and ML governance.

    Evaluates Rego and YAML policies against model cards, dataset cards, lineage graphs and
    privacy budgets, and produces pass/fail audit reports.

    \b
    Start here:
      gavel check examples                    run every policy, print the report, gate
      gavel explain POLICY SUBJECT            why does this subject pass or fail?
      gavel policy list                       the policies in force

    Exit codes: 0 gate passed, 1 gate failed, 2 Gavel could not run.
    """


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
