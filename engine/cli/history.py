"""``gavel history``: the tamper-evident audit history of recorded runs."""

from __future__ import annotations

import json
import sys

import click

from engine.cli.options import output_option, project_option, report_outputs_option  # the one CLI grammar

_project = project_option()
_path = click.option("--history-path", metavar="FILE",
                     help="History database file (default: history.url or history.path, else .gavel-history/history.db).")
_format = output_option(dest="fmt")


def _db(project: str, history_path: str | None):
    from engine.config import load_config
    from engine.history import location

    return location(load_config(project), path=history_path)


@click.group()
def history():
    """Recorded runs (`gavel check --history`), chained by hash: list, show, diff, verify.

    \b
    Run references: a sequence number (3), latest, latest~1, or a run-id prefix (newest wins).
    The history is a SQLite file (history.path, default .gavel-history/history.db) or a
    PostgreSQL database (history.url); see docs/history.md.
    """


@history.command("list")
@_project
@_path
@_format
def list_(project, history_path, fmt):
    """List recorded runs, oldest first."""
    from engine.history import list_runs

    runs = list_runs(_db(project, history_path))
    if fmt == "json":
        click.echo(json.dumps([{"seq": r.seq, "run": r.run_id, "recorded_at": r.recorded_at, "now": r.now,
                                "passed": r.passed, "summary": r.summary, "hash": r.hash} for r in runs], indent=2))
        return
    if not runs:
        click.echo("no runs recorded")
        return
    click.echo(f"{'#':>4}  {'recorded at':<20}  {'run':<16}  {'now':<20}  {'gate':<6}  fail  warn  error  waived")
    for r in runs:
        st = r.summary.get("by_status", {})
        click.echo(f"{r.seq:>4}  {r.recorded_at:<20}  {r.run_id:<16}  {r.now:<20}  {'pass' if r.passed else 'FAIL':<6}"
                   f"  {st.get('fail', 0):>4}  {st.get('warn', 0):>4}  {st.get('error', 0):>5}  {st.get('waived', 0):>6}")


@history.command()
@click.argument("run")
@_project
@_path
@report_outputs_option
@click.option("-v", "--verbose", is_flag=True, help="Text output: show passing and skipped findings too.")
def show(run, project, history_path, outputs, verbose):
    """Show the report stored for RUN, in any output format."""
    from engine.cli.options import write_outputs
    from engine.history import get_run

    record = get_run(_db(project, history_path), run)
    click.echo(f"# run {record.seq} ({record.run_id}) recorded {record.recorded_at}", err=True)
    write_outputs(record.load(), list(outputs) or ["text"], verbose=verbose)


@history.command()
@click.argument("a")
@click.argument("b", default="latest")
@_project
@_path
@_format
def diff(a, b, project, history_path, fmt):
    """What changed from run A to run B (default latest): new failures, fixed findings, verdicts."""
    from engine.history import diff_reports, get_run

    db = _db(project, history_path)
    ra, rb = get_run(db, a), get_run(db, b)
    result = diff_reports(ra.load(), rb.load())
    result["from"]["seq"], result["to"]["seq"] = ra.seq, rb.seq
    if fmt == "json":
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))
        return
    verdict = {True: "passed", False: "failed"}
    line = f"run {ra.seq} ({ra.run_id}) -> run {rb.seq} ({rb.run_id}): gate {verdict[result['from']['passed']]}"
    line += f" -> {verdict[result['to']['passed']]}" + (" (verdict changed)" if result["verdict_changed"] else "")
    click.echo(line)
    for title, key in (("new failures", "new"), ("fixed", "fixed"), ("other changes", "changed")):
        items = result[key]
        click.echo(f"{title}: {len(items)}")
        for e in items:
            click.echo(f"  {e['was'] or '-':>6} -> {e['status'] or '-':<6} {e['severity']:<8} {e['policy']}  "
                       f"{e['kind']} {e['id']}: {e['message']}")


@history.command()
@_project
@_path
@click.option("--expect-head", metavar="HASH", help="Also require the chain to end at this hash (kept elsewhere).")
def verify(project, history_path, expect_head):
    """Check the hash chain: exit 0 if no run was edited or deleted, 1 if one was."""
    from engine.history import verify as verify_chain

    result = verify_chain(_db(project, history_path), expect_head=expect_head)
    if result.ok:
        click.echo(f"ok: {result.runs} runs, chain intact, head {result.head or '-'}")
        return
    click.echo(f"history verification FAILED ({result.runs} runs):", err=True)
    for problem in result.problems:
        click.echo(f"  - {problem}", err=True)
    sys.exit(1)


@history.command()
@_project
@_path
def upgrade(project, history_path):
    """Re-hash a history recorded by Gavel 0.1 so that every stored field is in the chain.

    Refused (exit 2) unless the old chain verifies: an upgrade never blesses an edited history.
    """
    from engine.history import upgrade as upgrade_chain

    runs, head = upgrade_chain(_db(project, history_path))
    if head is None:
        click.echo(f"already current: {runs} runs")
    else:
        click.echo(f"upgraded {runs} runs; head {head} (keep it elsewhere for `verify --expect-head`)")
