"""GitHub Actions workflow commands: one annotation per finding that needs attention.

``::error file=models/x.yaml,line=1,title=ai-disclosure (high)::support-assistant ...``. The
command follows the SARIF level (``error``, ``warning``, ``notice`` for note), so a low-severity
failure is a notice, not a red error. Waived findings are notices that name the waiver. Paths are
relative to the project root; ``root=`` (``gavel check -o github`` passes none) prefixes them
when the project is not the repository root. A last line states the gate verdict.
"""

from __future__ import annotations

from engine.findings import Report
from engine.report.sarif import level_of

_COMMAND = {"error": "error", "warning": "warning", "note": "notice"}


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def render(report: Report, *, root: str | None = None, **_options) -> str:
    lines: list[str] = []
    prefix = (root.rstrip("/") + "/") if root else ""
    for f in report.findings:
        if f.status not in ("fail", "warn", "error", "waived"):
            continue
        s = f.subject
        command = "notice" if f.status == "waived" else _COMMAND[level_of(f)]
        props = []
        if s.source and s.source.file:
            props.append(f"file={_prop(prefix + s.source.file)}")
            if s.source.line:
                props.append(f"line={s.source.line}")
        label = {"fail": "", "warn": " warning", "error": " could not judge", "waived": " waived"}[f.status]
        props.append(f"title={_prop(f'{f.policy} ({f.severity}){label}')}")
        text = f"{s.kind} {s.id}: {f.message or f.title}"
        if f.status == "waived" and f.waiver:
            w = f.waiver
            text += (f"\nWaived{' (' + str(w['id']) + ')' if w.get('id') else ''} until {w.get('expires', '?')}"
                     f" by {w.get('owner', '?')}, approved by {w.get('approver', '?')}: {w.get('reason', '')}")
        elif f.remediation and f.status != "waived":
            text += f"\nRemediation: {f.remediation}"
        lines.append(f"::{command} {','.join(props)}::{_data(text)}")
    g = report.gate
    if g.passed:
        lines.append(f"::notice title=Gavel gate passed::{_data(_verdict(report))}")
    else:
        lines.append(f"::error title=Gavel gate failed::{_data(_verdict(report))}")
    return "\n".join(lines) + "\n"


def _verdict(report: Report) -> str:
    g, s = report.gate, report.summary
    counts = ", ".join(f"{v} {k}" for k, v in s.by_status.items() if v)
    reasons = "; ".join(g.reasons)
    soft = " (soft-fail: exit 0)" if not g.passed and g.soft_fail else ""
    return f"fail-on {g.fail_on}{soft}: {counts}" + (f". {reasons}" if reasons else "")
