"""Reports: build the ``Report`` from findings, decide the gate, render it in any format.

A renderer is a pure function ``render(report, **options) -> str``, or a list of strings to
write in order (a report too big to hold twice: JSON); the CLI decides where the text goes. One
module per format, registered here by name.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from operator import attrgetter

from engine import __version__
from engine.findings import (
    SEVERITY_RANK,
    Finding,
    Findings,
    Gate,
    InputDigest,
    PolicyInfo,
    Report,
    Run,
    Summary,
    Tool,
)
from engine.registry import Registry

renderers = Registry(
    "output format",
    {
        "text": "engine.report.text:render",
        "json": "engine.report.json:render",
        "junit": "engine.report.junit:render",
        "sarif": "engine.report.sarif:render",
        "github": "engine.report.github:render",
        "markdown": "engine.report.markdown:render",
        "html": "engine.report.html:render",
        "prometheus": "engine.report.prometheus:render",
    },
)


def render(report: Report, fmt: str, **options) -> str:
    text = render_pieces(report, fmt, **options)
    return text if isinstance(text, str) else "".join(text)


def render_pieces(report: Report, fmt: str, **options) -> str | list[str]:
    """What the renderer returns: the text, or pieces whose concatenation is the text (to write
    one by one: a JSON report of 500,000 findings is 200 MB)."""
    return renderers.get_or_raise(fmt)(report, **options)


def counted(n: int, one: str, many: str | None = None) -> str:
    """``1 subject``, ``2 subjects``: what every summary line says of a count."""
    return f"{n} {one if n == 1 else many or one + 's'}"


def baseline_summary(report) -> str | None:
    """The baseline comparison in one sentence (every renderer shows the same one), or None."""
    baseline = report.extra.get("baseline")
    if not baseline:
        return None
    return (f"{baseline.get('source', '')}: {len(baseline.get('new', []))} new, {baseline.get('existing', 0)} "
            f"already known, {len(baseline.get('fixed', []))} fixed. Only new findings (and errors) can fail "
            "the gate.")


def decide_gate(findings: list[Finding] | Findings, *, fail_on: str, fail_on_warn: bool = False, soft_fail: bool = False) -> Gate:
    """Fail closed: a ``fail`` at or above ``fail_on`` or any ``error`` fails the gate."""
    threshold = SEVERITY_RANK[fail_on]
    reasons = Counter()
    for (status, severity), count in _counts(findings).items():  # 500,000 findings: counted in C first
        if status == "error":
            reasons["error"] += count
        elif status == "fail" and SEVERITY_RANK[severity] >= threshold:
            reasons[f"fail:{severity}"] += count
        elif status == "warn" and fail_on_warn:
            reasons["warn"] += count
    passed = not reasons
    text = []
    if reasons.get("error"):
        text.append(f"{reasons['error']} error(s): Gavel could not judge something (fail closed)")
    for sev in sorted(SEVERITY_RANK, key=SEVERITY_RANK.get, reverse=True):
        if reasons.get(f"fail:{sev}"):
            text.append(f"{reasons[f'fail:{sev}']} {sev} failure(s) at or above --fail-on {fail_on}")
    if reasons.get("warn"):
        text.append(f"{reasons['warn']} warning(s) with --fail-on-warn")
    return Gate(fail_on=fail_on, fail_on_warn=fail_on_warn, soft_fail=soft_fail, passed=passed,
                exit_code=0 if passed or soft_fail else 1, reasons=text)


def _counts(findings: list[Finding] | Findings) -> Counter:
    """How many findings have each ``(status, severity)`` (one pass without a Python loop; a ready-made
    block of ``Findings`` brings its counts)."""
    if isinstance(findings, Findings):
        return findings.counts()
    return Counter(map(attrgetter("status", "severity"), findings))


def summarize(findings: list[Finding] | Findings, *, policies: int) -> Summary:
    counts = _counts(findings)
    by_status = Counter()
    failed = Counter()
    for (status, severity), count in counts.items():
        by_status[status] += count
        if status == "fail":
            failed[severity] += count
    if isinstance(findings, Findings):
        subjects = findings.subjects()
    else:
        subjects = set(map(attrgetter("subject.kind", "subject.id"), findings))
    return Summary(
        subjects=len(subjects),
        policies=policies,
        findings=len(findings),
        by_status={k: by_status.get(k, 0) for k in ("pass", "fail", "warn", "error", "waived", "skip")},
        failed_by_severity={k: failed.get(k, 0) for k in ("critical", "high", "medium", "low", "info")},
    )


def build_report(
    findings: list[Finding] | Findings,
    *,
    inputs: list[InputDigest],
    policies: list[PolicyInfo],
    now: str,
    engine: str,
    gate: Gate,
    extra: dict | None = None,
) -> Report:
    """Assemble a deterministic report: sorted findings, a run id derived from the content.

    ``findings`` in blocks (``Findings``) stay in blocks: their ready-made ones are not read."""
    findings = findings.sorted() if isinstance(findings, Findings) else sorted(findings, key=Finding.sort_key)
    inputs = sorted(inputs, key=lambda i: (i.path, i.kind))
    policies = sorted(policies, key=lambda p: p.id)
    digest = hashlib.sha256()
    digest.update(f"{__version__}|{now}|{engine}".encode())
    for item in inputs:
        digest.update(f"|{item.path}:{item.sha256}".encode())
    for p in policies:
        digest.update(f"|{p.id}:{p.sha256}".encode())
    run = Run(id=digest.hexdigest()[:16], now=now, engine=engine)
    return Report(
        tool=Tool(version=__version__),
        run=run,
        inputs=inputs,
        policies=policies,
        findings=findings,
        summary=summarize(findings, policies=len(policies)),
        gate=gate,
        extra=extra or {},
    )
