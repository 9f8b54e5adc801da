"""Markdown for a pull-request comment (GitHub, GitLab): verdict, summary, failures by subject.

A verdict line; a summary table (status counts, failures by severity); the failures, errors and
warnings grouped by subject in collapsible ``<details>`` sections with evidence and
remediation; the waived findings; expired and stale waivers; the baseline comparison when
there is one. ``max_findings`` (default 300) bounds the detailed part so the comment stays
under the 65,536-character limit of a GitHub comment; the counts always cover everything.
"""

from __future__ import annotations

import json
from collections import defaultdict

from engine.findings import SEVERITY_RANK, Report
from engine.report import baseline_summary

_ICON = {"fail": "❌", "error": "⛔", "warn": "⚠️", "waived": "🟦", "pass": "✅", "skip": "➖"}


def _cell(text) -> str:
    """Table-cell safe: no pipes, newlines or raw HTML."""
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")
            .replace("\r", " ").replace("\n", " "))


def _code(value) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    if len(text) > 300:
        text = text[:297] + "..."
    return "`" + text.replace("`", "'") + "`"


def render(report: Report, *, max_findings: int = 300, **_options) -> str:
    g, s = report.gate, report.summary
    out: list[str] = []
    if g.passed:
        verdict = f"## ✅ Gavel: gate passed (fail-on `{g.fail_on}`)"
    elif g.soft_fail:
        verdict = f"## ⚠️ Gavel: gate failed, soft-fail (fail-on `{g.fail_on}`, exit 0)"
    else:
        verdict = f"## ❌ Gavel: gate failed (fail-on `{g.fail_on}`)"
    out += [verdict, ""]
    out += [f"- {_cell(reason)}" for reason in g.reasons]
    if g.reasons:
        out.append("")
    out.append(f"{s.subjects} subjects · {s.policies} policies · {s.findings} findings · run `{report.run.id}` · "
               f"now `{report.run.now}`")
    out.append("")
    out.append("| " + " | ".join(f"{_ICON[k]} {k}" for k in s.by_status) + " |")
    out.append("|" + "---:|" * len(s.by_status))
    out.append("| " + " | ".join(str(v) for v in s.by_status.values()) + " |")
    out.append("")
    if any(s.failed_by_severity.values()):
        out.append("| failures by severity | " + " | ".join(s.failed_by_severity) + " |")
        out.append("|---|" + "---:|" * len(s.failed_by_severity))
        out.append("| | " + " | ".join(str(v) for v in s.failed_by_severity.values()) + " |")
        out.append("")
    baseline = baseline_summary(report)
    if baseline:
        out.append(f"**Baseline** {_cell(baseline)}")
        out.append("")

    groups: dict[tuple[str, str], list] = defaultdict(list)
    for f in report.findings:
        if f.status in ("fail", "error", "warn"):
            groups[(f.subject.kind, f.subject.id)].append(f)
    if groups:
        out += ["### Failures by subject", ""]
    shown = hidden = 0
    for (kind, sid), findings in sorted(groups.items(), key=_group_order):
        findings.sort(key=lambda f: (-SEVERITY_RANK[f.severity], f.policy, f.message))
        take = findings[: max(0, max_findings - shown)]
        hidden += len(findings) - len(take)
        shown += len(take)
        if not take:
            continue
        counts = ", ".join(f"{n} {st}" for st in ("error", "fail", "warn")
                           if (n := sum(1 for f in findings if f.status == st)))
        out.append(f"<details><summary><b>{_cell(kind)} {_cell(sid)}</b>: {counts}</summary>")
        out.append("")
        src = findings[0].subject.source
        if src:
            out += [f"`{_cell(src.file)}{':' + str(src.line) if src.line else ''}`", ""]
        out.append("| | severity | policy | message |")
        out.append("|---|---|---|---|")
        for f in take:
            out.append(f"| {_ICON[f.status]} {f.status} | {f.severity} | `{_cell(f.policy)}` "
                       f"| {_cell(f.message or f.title)} |")
        out.append("")
        for f in take:
            extra = []
            if f.evidence is not None:
                extra.append(f"  - evidence: {_code(f.evidence)}")
            if f.remediation:
                extra.append(f"  - remediation: {_cell(f.remediation)}")
            if f.frameworks:
                extra.append(f"  - frameworks: {_cell(', '.join(f.frameworks))}")
            if extra:
                out.append(f"- `{_cell(f.policy)}`")
                out += extra
        out += ["", "</details>", ""]
    if hidden:
        out += [f"_… and {hidden} more failures, errors and warnings not shown here: see the full report._", ""]

    waived = [f for f in report.findings if f.status == "waived"]
    if waived:
        out += [f"### 🟦 Waived ({len(waived)})", "", "| subject | policy | waiver | owner | approver | expires | reason |",
                "|---|---|---|---|---|---|---|"]
        for f in waived[:max_findings]:
            w = f.waiver or {}
            out.append(f"| {_cell(f.subject.kind)} {_cell(f.subject.id)} | `{_cell(f.policy)}` | {_cell(w.get('id', ''))} "
                       f"| {_cell(w.get('owner', ''))} | {_cell(w.get('approver', ''))} | {_cell(w.get('expires', ''))} "
                       f"| {_cell(w.get('reason', ''))} |")
        if len(waived) > max_findings:
            out.append(f"\n_… and {len(waived) - max_findings} more waived findings._")
        out.append("")
    info = report.extra.get("waivers") or {}
    if info.get("expired"):
        out += ["### Expired waivers (no longer applied)", ""]
        out += [f"- {_cell(w['key'])}: `{_cell(w['policy'])}` on `{_cell(w['subject'])}` expired on {_cell(w['expires'])}"
                f" (owner {_cell(w['owner'])})" for w in info["expired"]]
        out.append("")
    if info.get("stale"):
        out += ["### Stale waivers (match nothing; remove them)", ""]
        out += [f"- {_cell(w['key'])}: `{_cell(w['policy'])}` on `{_cell(w['subject'])}` "
                f"({_cell(w['file'])}:{w['line']})" for w in info["stale"]]
        out.append("")
    out.append(f"<sub>gavel {report.tool.version} · engine {report.run.engine}</sub>")
    return "\n".join(out) + "\n"


def _group_order(item) -> tuple:
    (kind, sid), findings = item
    worst = max((2 if f.status == "error" else 1 if f.status == "fail" else 0, SEVERITY_RANK[f.severity])
                for f in findings)
    return (-worst[0], -worst[1], kind, sid)
