"""``gavel report``: work with saved reports."""

from __future__ import annotations

import click

from engine.cli.options import report_outputs_option


@click.group()
def report():
    """Render saved JSON reports again, in any format."""


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
    from pathlib import Path

    from engine.cli.options import write_outputs
    from engine.errors import UsageError
    from engine.findings import load_report

    path = Path(report_file)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError("no such report file", file=report_file) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read report: {exc}", file=report_file) from None
    if not text.lstrip().startswith("{"):
        raise UsageError("not a JSON report (write one with `gavel check -o json=PATH`)", file=report_file)
    saved = load_report(text, file=report_file)
    if path_prefix is not None:
        from engine.cli.options import set_path_prefix

        set_path_prefix(saved, None, path_prefix)
    write_outputs(saved, list(outputs) or ["text"], verbose=verbose)
