"""GitHub Actions workflow commands: one annotation per finding that needs attention.

``::error file=models/x.yaml,line=1,title=ai-disclosure (high)::support-assistant ...``. The
command follows the SARIF level (``error``, ``warning``, ``notice`` for note), so a low-severity
failure is a notice, not a red error. Waived findings are notices that name the waiver. Paths are
relative to the repository root (engine/report/paths.py).

GitHub shows only the first 10 annotations of each kind per step, so the order matters: the
gate verdict first, then errors and failures by severity, then warnings, then waived notices.
Evidence text is untrusted: its control characters are escaped (a card cannot end the
annotation early or inject a ``::stop-commands::`` line), then the command's own encoding applies.
"""

from __future__ import annotations

from engine.findings import SEVERITY_RANK, Finding, Report
from engine.report.escape import printable
from engine.report.paths import repo_path
from engine.report.sarif import level_of

_COMMAND = {"error": "error", "warning": "warning", "note": "notice"}
_SHOWN = {"error": 0, "fail": 1, "warn": 2, "waived": 3}


def order(finding: Finding) -> tuple:
    """Errors first (Gavel could not judge), then failures by severity, warnings, waived."""
    s = finding.subject
    return (_SHOWN[finding.status], -SEVERITY_RANK[finding.severity], finding.policy, s.kind, s.id, finding.message)


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def render(report: Report, *, max_annotations: int = 50, full_report: str | None = None,
           **_options) -> str:
    """``max_annotations`` (GitHub keeps 50 per job) bounds the findings annotated; one last notice
    counts the rest and says where the full report is."""
    g = report.gate
    if g.passed:
        lines = [f"::notice title=Gavel gate passed::{_data(_verdict(report))}"]
    else:
        lines = [f"::error title=Gavel gate failed::{_data(_verdict(report))}"]
    shown = sorted((f for f in report.findings if f.status in _SHOWN), key=order)
    for f in shown[:max_annotations]:
        s = f.subject
        command = "notice" if f.status == "waived" else _COMMAND[level_of(f)]
        props = []
        path = repo_path(report, s.source.file if s.source else None)
        if path:
            props.append(f"file={_prop(printable(path))}")
            if s.source.line:
                props.append(f"line={s.source.line}")
        label = {"fail": "", "warn": " warning", "error": " could not judge", "waived": " waived"}[f.status]
        props.append(f"title={_prop(printable(f'{f.policy} ({f.severity}){label}'))}")
        text = printable(f"{s.kind} {s.id}: {f.message or f.title}", newlines=True)
        if f.status == "waived" and f.waiver:
            w = f.waiver
            text += "\n" + printable(f"Waived{' (' + str(w['id']) + ')' if w.get('id') else ''} until "
                                     f"{w.get('expires', '?')} by {w.get('owner', '?')}, approved by "
                                     f"{w.get('approver', '?')}: {w.get('reason', '')}")
        elif f.remediation and f.status != "waived":
            text += "\nRemediation: " + printable(f.remediation.strip())
        lines.append(f"::{command} {','.join(props)}::{_data(text)}")
    if len(shown) > max_annotations:
        where = printable(full_report or "the full report (gavel check -o html=PATH or -o json=PATH)")
        lines.append(f"::notice title=Gavel::{_data(f'{len(shown) - max_annotations} more findings not annotated: see {where}')}")
    return "\n".join(lines) + "\n"


def _verdict(report: Report) -> str:
    g, s = report.gate, report.summary
    counts = ", ".join(f"{v} {k}" for k, v in s.by_status.items() if v)
    reasons = printable("; ".join(g.reasons))
    soft = " (soft-fail: exit 0)" if not g.passed and g.soft_fail else ""
    return f"fail-on {g.fail_on}{soft}: {counts}" + (f". {reasons}" if reasons else "")
