"""Markdown for a pull-request comment (GitHub, GitLab) or a job summary: verdict, summary, failures.

A verdict line; a summary table (status counts, failures by severity); the errors, failures and
warnings grouped by subject in collapsible ``<details>`` sections with evidence and
remediation, worst first (errors, then failures by severity, then warnings); the waived
findings; expired and stale waivers; the baseline comparison when there is one.

It always fits a comment: ``max_chars`` (default 65,536, GitHub's comment limit, counted in
UTF-16 code units as GitHub counts) bounds the whole text. What does not fit is counted ("… and N
more") with a pointer to the full report (``full_report``, e.g. the CI run's artifacts).
``max_findings`` bounds the detailed findings further, and long texts are shortened.

Every string that comes from evidence goes through engine/report/escape.py: no HTML, images,
links, ``@mentions`` or issue references from a card reach the comment.
"""

from __future__ import annotations

import json
from collections import defaultdict

from engine.findings import SEVERITY_RANK, Finding, Report
from engine.report import baseline_summary, counted
from engine.report.escape import code_span, html_text, markdown_text, printable
from engine.report.paths import repo_path
from engine.report.paths import where as where_of

_ICON = {"fail": "❌", "error": "⛔", "warn": "⚠️", "waived": "🟦", "pass": "✅", "skip": "➖"}
_STATUS = {"error": 0, "fail": 1, "warn": 2}
LIMIT = 65_536
MESSAGE_CHARS = 500  # a longer message is shortened in the comment (the full text is in the report)


def size(text: str) -> int:
    """Length as GitHub counts it (UTF-16 code units: an emoji outside the BMP counts twice)."""
    return len(text.encode("utf-16-le")) // 2


def _short(text, limit: int = MESSAGE_CHARS) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cell(text) -> str:
    return markdown_text(_short(text))


def _code(value) -> str:
    return code_span(_short(json.dumps(value, sort_keys=True, ensure_ascii=False), 300))


def render(report: Report, *, max_findings: int = 300, max_chars: int = LIMIT, full_report: str | None = None,
           **_options) -> str:
    # The pointer is Gavel's own (output paths, the CI run's URL): links stay clickable.
    where = printable(_short(full_report, 300)).replace("<", "&lt;") if full_report else \
        "the full report (`gavel check -o html=PATH` or `-o json=PATH`)"
    footer = f"<sub>gavel {report.tool.version} · engine {report.run.engine}</sub>\n"
    # Room for the footer and the "N more" notes (each a short line), so the total never passes max_chars.
    budget = max_chars - size(footer) - 4 * (size(where) + 100)
    out: list[str] = []
    used = 0

    def add(block: str) -> bool:
        nonlocal used
        cost = size(block) + 1
        if used + cost > budget:
            return False
        out.append(block)
        used += cost
        return True

    for block in _head(report):
        add(block)

    groups: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    for f in report.findings:
        if f.status in _STATUS:
            groups[(f.subject.kind, f.subject.id)].append(f)
    total = sum(len(fs) for fs in groups.values())
    if groups:
        add("### Failures by subject\n")
    shown = 0
    for (kind, sid), findings in sorted(groups.items(), key=_group_order):
        findings.sort(key=_order)
        room = min(len(findings), max(0, max_findings - shown))
        located = where_of(report, findings[0].subject.source)
        block = _group(kind, sid, findings[:room], located)
        while room and not add(block):  # shed this subject's least severe findings until it fits
            room = room // 2 if room > 8 else room - 1
            block = _group(kind, sid, findings[:room], located)
        if not room:
            break
        shown += room
    if total > shown:
        add(f"_… and {total - shown} more failures, errors and warnings not shown here: see {where}._\n")

    waived = [f for f in report.findings if f.status == "waived"]
    if waived:
        rows = 0
        if add(f"### 🟦 Waived ({len(waived)})\n\n| subject | policy | waiver | owner | approver | expires | reason |\n"
               "|---|---|---|---|---|---|---|"):
            for f in waived[:max_findings]:
                w = f.waiver or {}
                if not add(f"| {_cell(f.subject.kind)} {_cell(f.subject.id)} | {code_span(f.policy)} "
                           f"| {_cell(w.get('id', ''))} | {_cell(w.get('owner', ''))} | {_cell(w.get('approver', ''))} "
                           f"| {_cell(w.get('expires', ''))} | {_cell(w.get('reason', ''))} |"):
                    break
                rows += 1
        if len(waived) > rows:
            add(f"\n_… and {len(waived) - rows} more waived findings: see {where}._")
        add("")
    info = report.extra.get("waivers") or {}
    for key, title, line in (
        ("expired", "### Expired waivers (no longer applied)",
         lambda w: f"- {_cell(w['key'])}: {code_span(w['policy'])} on {code_span(w['subject'])} expired on "
                   f"{_cell(w['expires'])} (owner {_cell(w['owner'])})"),
        ("stale", "### Stale waivers (match nothing; remove them)",
         lambda w: f"- {_cell(w['key'])}: {code_span(w['policy'])} on {code_span(w['subject'])} "
                   f"({code_span(str(repo_path(report, w['file'])) + ':' + str(w['line']))})"),
    ):
        items = info.get(key) or []
        if not items:
            continue
        listed = 0
        if add(f"{title}\n"):
            for w in items:
                if listed >= max_findings or not add(line(w)):
                    break
                listed += 1
        if len(items) > listed:
            add(f"- _… and {len(items) - listed} more {key} waivers: see {where}._")
        add("")
    text = "\n".join(out) + "\n" + footer
    assert size(text) <= max_chars, "the Markdown budget was miscounted"
    return text


def _head(report: Report) -> list[str]:
    """The verdict, its reasons and the summary tables: always shown, whatever the size."""
    g, s = report.gate, report.summary
    if g.passed:
        verdict = f"## ✅ Gavel: gate passed (fail-on `{g.fail_on}`)"
    elif g.soft_fail:
        verdict = f"## ⚠️ Gavel: gate failed, soft-fail (fail-on `{g.fail_on}`, exit 0)"
    else:
        verdict = f"## ❌ Gavel: gate failed (fail-on `{g.fail_on}`)"
    out = [verdict, ""]
    out += [f"- {reason}" for reason in g.reasons]  # Gavel's own sentences, no evidence text
    if g.reasons:
        out.append("")
    out.append(f"{counted(s.subjects, 'subject')} · {counted(s.policies, 'policy', 'policies')} · "
               f"{counted(s.findings, 'finding')} · run `{report.run.id}` · "
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
    return ["\n".join(out)]


def _group(kind: str, sid: str, findings: list[Finding], located: str | None) -> str:
    """One subject's findings as a collapsible section (a table, then evidence and remediation)."""
    if not findings:
        return ""
    counts = ", ".join(f"{n} {st}" for st in _STATUS if (n := sum(1 for f in findings if f.status == st)))
    out = [f"<details><summary><b>{html_text(kind)} {html_text(sid)}</b>: {counts}</summary>", ""]
    if located:
        out += [code_span(located), ""]
    out.append("| | severity | policy | message |")
    out.append("|---|---|---|---|")
    for f in findings:
        out.append(f"| {_ICON[f.status]} {f.status} | {f.severity} | {code_span(f.policy)} "
                   f"| {_cell(f.message or f.title)} |")
    out.append("")
    for f in findings:
        extra = []
        if f.evidence is not None:
            extra.append(f"  - evidence: {_code(f.evidence)}")
        if f.remediation:
            extra.append(f"  - remediation: {_cell(f.remediation)}")
        if f.frameworks:
            extra.append(f"  - frameworks: {_cell(', '.join(f.frameworks))}")
        if extra:
            out.append(f"- {code_span(f.policy)}")
            out += extra
    out += ["", "</details>", ""]
    return "\n".join(out)


def _order(f: Finding) -> tuple:
    return (_STATUS[f.status], -SEVERITY_RANK[f.severity], f.policy, f.message)


def _group_order(item) -> tuple:
    (kind, sid), findings = item
    worst = min(_order(f)[:2] for f in findings)
    return (*worst, kind, sid)
