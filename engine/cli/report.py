"""``gavel report``: work with saved reports."""

from __future__ import annotations

import click

from engine.cli.options import report_outputs_option


@click.group()
def report():
    """Render saved JSON reports again, in any format; merge shard reports."""


@report.command()
@click.argument("report_file", metavar="REPORT.json", type=click.Path(dir_okay=False))
@report_outputs_option
@click.option("-v", "--verbose", is_flag=True, help="Text output: show passing and skipped findings too.")
@click.option("--path-prefix", metavar="DIR", help="The project's folder in the repository (default: as saved).")
def convert(report_file, outputs, verbose, path_prefix):
    """Render REPORT.json (written by `gavel check -o json=...`) in other formats.

    \b
    Examples:
      gavel report convert out/report.json -o html=out/report.html -o sarif=out/gavel.sarif
      gavel report convert out/report.json -o markdown        # to standard output
    """
    from engine.cli.options import write_outputs

    saved = read_report(report_file, "write one with `gavel check -o json=PATH`")
    if path_prefix is not None:
        from engine.cli.options import set_path_prefix

        set_path_prefix(saved, None, path_prefix)
    write_outputs(saved, list(outputs) or ["text"], verbose=verbose)


@report.command()
@click.argument("shard_files", metavar="SHARD.json...", nargs=-1, required=True, type=click.Path(dir_okay=False))
@report_outputs_option
@click.option("--history-path", metavar="FILE", help="Also record the merged run in this audit history.")
@click.option("-v", "--verbose", is_flag=True, help="Text output: show passing and skipped findings too.")
def merge(shard_files, outputs, history_path, verbose):
    """Join the reports of `gavel check --shard K/N` (one per shard, any order) into the report one
    run would have written: same findings, summary, gate and bytes. Exits like `gavel check`.

    \b
    Examples:
      gavel report merge shards/*.json -o json=out/report.json -o sarif=out/gavel.sarif
      gavel report merge shard-1.json shard-2.json --history-path .gavel-history/history.db
    """
    import sys

    from engine.cli.options import write_outputs
    from engine.shard import merge_reports

    reports = [(name, read_report(name, "write shards with `gavel check --shard K/N -o json=PATH`"))
               for name in shard_files]
    merged = merge_reports(reports)
    if history_path:
        from engine.history import record_run

        record_run(merged, history_path)
    write_outputs(merged, list(outputs) or ["text"], verbose=verbose)
    sys.exit(merged.gate.exit_code)


def read_report(name: str, hint: str):
    """A JSON report Gavel wrote, or a usage error naming the file (exit 2)."""
    from pathlib import Path

    from engine.errors import UsageError
    from engine.findings import load_report

    try:
        text = Path(name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError("no such report file", file=name) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read report: {exc}", file=name) from None
    if not text.lstrip().startswith("{"):
        raise UsageError(f"not a JSON report ({hint})", file=name)
    return load_report(text, file=name)
