"""Baselines: adopt Gavel on a repo with known debt, and fail only on what gets worse.

``--baseline`` (``gate.baseline``) names a saved JSON report or an audit-history run
(``3``, ``latest``, ``latest~1`` or a run-id prefix). A finding is *new* when it fails, warns or
errors now and its (policy, subject) did not fail, warn or error in the baseline. Only new
findings can fail the gate; ``error`` findings always can (fail closed: Gavel could not judge).
A finding that was ``waived`` in the baseline and fails now is new: an expired waiver bites.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.errors import UsageError
from engine.findings import Finding, Report, load_report
from engine.history import FAILING, finding_key


def load_baseline(ref: str, config) -> tuple[Report, str]:
    """The baseline report and a description of where it came from."""
    candidates = [Path(ref), config.root / ref]
    for path in candidates:
        if path.is_file():
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise UsageError(f"cannot read baseline report: {exc}", file=ref) from None
            if not text.lstrip().startswith("{"):
                raise UsageError("baseline is not a JSON report", file=ref)
            return load_report(text, file=ref), f"report {ref}"
    from engine.history import get_run, is_url, location

    history = location(config)
    if not is_url(history) and not Path(history).is_file():
        raise UsageError(f"--baseline {ref}: no such report file, and no audit history at {history} to look a run up in")

    run = get_run(history, ref)
    return run.load(), f"history run {run.seq} ({run.run_id})"


def compare(findings: list[Finding], baseline: Report) -> dict[str, Any]:
    """``new``: [policy, kind, id, message] of each current finding that is new against ``baseline``."""
    known = {finding_key(f) for f in baseline.findings if f.status in FAILING}
    new, existing = [], 0
    for f in findings:
        if f.status not in FAILING:
            continue
        if finding_key(f) in known:
            existing += 1
        else:
            new.append([f.policy, f.subject.kind, f.subject.id, f.message])
    current = {finding_key(f) for f in findings if f.status in FAILING}
    fixed = sorted(list(key) for key in known - current)
    return {"run": baseline.run.id, "now": baseline.run.now, "new": sorted(new), "existing": existing,
            "fixed": fixed}


def apply_baseline(findings: list[Finding], config) -> dict[str, Any]:
    """``report.extra["baseline"]``: where the baseline came from, and the new findings."""
    report, source = load_baseline(config.baseline, config)
    return {"source": source, **compare(findings, report)}
