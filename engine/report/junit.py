"""JUnit XML for CI test views (Jenkins, GitLab, Azure DevOps, CircleCI, GitHub test reporters).

One ``<testsuite>`` per policy, one ``<testcase>`` per (policy, subject) named
``<kind>/<id>`` with ``classname="gavel.<policy>"``: stable and unique, so CI trend views
follow the same case from run to run. Several findings of one policy on one subject merge into
one case with the worst status. ``fail`` → ``<failure type="<severity>">``, ``error`` →
``<error>``, ``waived`` and ``skip`` → ``<skipped>`` (with the waiver), ``warn`` → a passing
case with the warning in ``<system-out>``. Failure bodies carry the message, severity, subject
source, evidence (JSON), frameworks and remediation. Times are 0: the bytes depend only on the
report.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict

from engine.findings import STATUS_ORDER, Finding, Report
from engine.report.paths import where

_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_RANK = {s: i for i, s in enumerate(STATUS_ORDER)}


def _esc(text: str) -> str:
    text = _INVALID_XML.sub("\ufffd", str(text))
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attr(text: str) -> str:
    return _esc(text).replace('"', "&quot;").replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")


def render(report: Report, **_options) -> str:
    cases: dict[str, dict[tuple[str, str], list[Finding]]] = defaultdict(lambda: defaultdict(list))
    for f in report.findings:
        cases[f.policy][(f.subject.kind, f.subject.id)].append(f)
    suites: list[str] = []
    totals = dict(tests=0, failures=0, errors=0, skipped=0)
    for policy in sorted(cases):
        counts = dict(tests=0, failures=0, errors=0, skipped=0)
        body: list[str] = []
        for (kind, sid), findings in sorted(cases[policy].items()):
            findings.sort(key=lambda f: (_RANK[f.status], f.message))
            worst = findings[0]
            counts["tests"] += 1
            name = f"{kind}/{sid}"
            head = f'    <testcase name="{_attr(name)}" classname="gavel.{_attr(policy)}" time="0"'
            bad = [f for f in findings if f.status == worst.status]
            if worst.status in ("fail", "error"):
                tag = "failure" if worst.status == "fail" else "error"
                counts["failures" if tag == "failure" else "errors"] += 1
                message = "; ".join(f.message or f.title for f in bad)
                body.append(f"{head}>")
                body.append(f'      <{tag} message="{_attr(message)}" type="{_attr(worst.severity)}">'
                            f"{_esc(_details(report, bad))}</{tag}>")
                body.append("    </testcase>")
            elif worst.status in ("waived", "skip"):
                counts["skipped"] += 1
                if worst.status == "waived":
                    w = worst.waiver or {}
                    message = (f"waived{' by ' + str(w['id']) if w.get('id') else ''}: {w.get('reason', '')} "
                               f"(owner {w.get('owner', '?')}, approver {w.get('approver', '?')}, "
                               f"expires {w.get('expires', '?')})")
                else:
                    message = worst.message or "not applicable"
                body.append(f'{head}>\n      <skipped message="{_attr(message)}"/>\n    </testcase>')
            elif worst.status == "warn":
                body.append(f"{head}>")
                body.append(f"      <system-out>{_esc('WARNING ' + _details(report, bad))}</system-out>")
                body.append("    </testcase>")
            else:
                body.append(f"{head}/>")
        for key in totals:
            totals[key] += counts[key]
        suites.append(
            f'  <testsuite name="{_attr(policy)}" tests="{counts["tests"]}" failures="{counts["failures"]}" '
            f'errors="{counts["errors"]}" skipped="{counts["skipped"]}" time="0" timestamp="{_attr(_ts(report))}">'
        )
        suites.extend(body)
        suites.append("  </testsuite>")
    head = (f'<testsuites name="gavel" tests="{totals["tests"]}" failures="{totals["failures"]}"'
            f' errors="{totals["errors"]}" skipped="{totals["skipped"]}" time="0">')
    return "\n".join(['<?xml version="1.0" encoding="UTF-8"?>', head, _comment(report), *suites, "</testsuites>"]) + "\n"


def _comment(report: Report) -> str:
    g = report.gate
    text = f"gavel {report.tool.version} run {report.run.id} at {report.run.now}: gate " \
           f"{'passed' if g.passed else 'failed'} (fail-on {g.fail_on})"
    return f"  <!-- {_esc(text).replace('--', '- -')} -->"


def _ts(report: Report) -> str:
    return report.run.now.rstrip("Z")[:19]


def _details(report: Report, findings: list[Finding]) -> str:
    parts = []
    for f in findings:
        s = f.subject
        lines = [f"{f.message or f.title}", f"policy: {f.policy} ({f.title})", f"severity: {f.severity}",
                 f"subject: {s.kind} {s.id}"]
        if located := where(report, s.source):
            lines.append(f"source: {located}")
        if f.frameworks:
            lines.append("frameworks: " + ", ".join(f.frameworks))
        if f.evidence is not None:
            lines.append("evidence: " + json.dumps(f.evidence, sort_keys=True, ensure_ascii=False))
        if f.remediation:
            lines.append(f"remediation: {f.remediation}")
        parts.append("\n".join(lines))
    return "\n\n".join(parts)
