"""JUnit XML for CI test views (Jenkins, GitLab, Azure DevOps, CircleCI, GitHub test reporters).

One ``<testsuite>`` per policy and one ``<testcase>`` per finding, so the counts are the JSON
report's: ``tests`` = findings, ``failures`` = ``fail``, ``errors`` = ``error``, ``skipped`` =
``waived`` + ``skip``. A case is named ``<kind>/<id>`` with ``classname="gavel.<policy>"``; when
one policy has several findings on one subject, each name adds its message (and an ordinal only
if two messages are equal), so names stay unique and stable from run to run. ``fail`` →
``<failure type="<severity>">``, ``error`` → ``<error>``, ``waived`` and ``skip`` → ``<skipped>``
(with the waiver), ``warn`` → a passing case with the warning in ``<system-out>``. Failure bodies
carry the message, severity, subject source, evidence (JSON), frameworks and remediation. The
root element has only the attributes Jenkins' junit-10.xsd allows (no ``skipped`` there). Times
are 0: the bytes depend only on the report.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict

from engine.findings import Finding, Report
from engine.report.paths import where

_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _esc(text: str) -> str:
    text = _INVALID_XML.sub("\ufffd", str(text))
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attr(text: str) -> str:
    return _esc(text).replace('"', "&quot;").replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")


def case_names(findings: list[Finding]) -> list[str]:
    """One name per finding of one policy, unique within it (see the module doc)."""
    per_subject = Counter((f.subject.kind, f.subject.id) for f in findings)
    names = []
    for f in findings:
        name = f"{f.subject.kind}/{f.subject.id}"
        if per_subject[(f.subject.kind, f.subject.id)] > 1:
            text = " ".join((f.message or f.title).split())
            name += ": " + (text if len(text) <= 120 else text[:119] + "…")
        names.append(name)
    seen: Counter = Counter()
    out = []
    for name in names:
        seen[name] += 1
        out.append(name if seen[name] == 1 else f"{name} #{seen[name]}")
    return out


def render(report: Report, **_options) -> str:
    cases: dict[str, list[Finding]] = defaultdict(list)
    for f in report.findings:
        cases[f.policy].append(f)
    suites: list[str] = []
    totals = dict(tests=0, failures=0, errors=0)
    for policy in sorted(cases):
        findings = sorted(cases[policy], key=lambda f: (f.subject.kind, f.subject.id, f.message))
        counts = dict(tests=0, failures=0, errors=0, skipped=0)
        body: list[str] = []
        for f, name in zip(findings, case_names(findings), strict=True):
            counts["tests"] += 1
            head = f'    <testcase name="{_attr(name)}" classname="gavel.{_attr(policy)}" time="0"'
            if f.status in ("fail", "error"):
                tag = "failure" if f.status == "fail" else "error"
                counts["failures" if tag == "failure" else "errors"] += 1
                body.append(f"{head}>")
                body.append(f'      <{tag} message="{_attr(f.message or f.title)}" type="{_attr(f.severity)}">'
                            f"{_esc(_details(report, f))}</{tag}>")
                body.append("    </testcase>")
            elif f.status in ("waived", "skip"):
                counts["skipped"] += 1
                if f.status == "waived":
                    w = f.waiver or {}
                    message = (f"waived{' by ' + str(w['id']) if w.get('id') else ''}: {w.get('reason', '')} "
                               f"(owner {w.get('owner', '?')}, approver {w.get('approver', '?')}, "
                               f"expires {w.get('expires', '?')})")
                else:
                    message = f.message or "not applicable"
                body.append(f'{head}>\n      <skipped message="{_attr(message)}"/>\n    </testcase>')
            elif f.status == "warn":
                body.append(f"{head}>")
                body.append(f"      <system-out>{_esc('WARNING ' + _details(report, f))}</system-out>")
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
            f' errors="{totals["errors"]}" time="0">')
    return "\n".join(['<?xml version="1.0" encoding="UTF-8"?>', head, _comment(report), *suites, "</testsuites>"]) + "\n"


def _comment(report: Report) -> str:
    g = report.gate
    text = f"gavel {report.tool.version} run {report.run.id} at {report.run.now}: gate " \
           f"{'passed' if g.passed else 'failed'} (fail-on {g.fail_on})"
    return f"  <!-- {_esc(text).replace('--', '- -')} -->"


def _ts(report: Report) -> str:
    return report.run.now.rstrip("Z")[:19]


def _details(report: Report, f: Finding) -> str:
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
    return "\n".join(lines)
