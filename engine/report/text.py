"""Text for people at a terminal: problems grouped by subject, then a summary and the verdict.

Every string that comes from evidence is shown with its control characters escaped, and no
line starts like a CI runner command (``::stop-commands::``): the text output is printed in CI
logs, where GitHub Actions would obey it (engine/report/escape.py).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable

from engine.findings import SEVERITY_RANK, Finding, Findings, Report
from engine.report import baseline_summary, counted
from engine.report.escape import command_safe, printable
from engine.report.paths import where

_encode_sorted = json.JSONEncoder(sort_keys=True).encode  # json.dumps(value, sort_keys=True) without a new encoder each time
_MARK = {"fail": "FAIL", "error": "ERROR", "warn": "WARN", "waived": "WAIVED", "skip": "skip", "pass": "pass"}


def render(report: Report, *, verbose: bool = False, color: bool = False, **_options) -> str:
    shown = frozenset({"fail", "error", "warn", "waived"} | ({"pass", "skip"} if verbose else set()))
    groups = _by_subject(report.findings, shown)
    lines: list[str] = []
    # What repeats is escaped once: a policy's line head, a message, a cached decision's evidence
    # (findings of one decision share their evidence object; the report holds it while this runs).
    heads: dict[tuple, str] = {}
    texts: dict[str, str] = {}
    conditions: dict[int, list[str]] = {}
    for (kind, sid), findings in sorted(groups.items()):
        located = where(report, findings[0].subject.source)
        lines.append(f"{kind} {printable(sid)}" + (f"  ({printable(located)})" if located else ""))
        findings.sort(key=lambda f: (-SEVERITY_RANK[f.severity], f.policy, f.message))
        for f in findings:
            head = heads.get((f.status, f.severity, f.policy))
            if head is None:
                mark = _paint(f"{_MARK[f.status]:<6}", f.status, color)
                head = heads[(f.status, f.severity, f.policy)] = f"  {mark} {f.severity:<8} {printable(f.policy)}: "
            text = texts.get(f.message or f.title)
            if text is None:
                text = texts[f.message or f.title] = printable(f.message or f.title)
            lines.append(head + text)
            if f.status in ("fail", "error") and f.evidence and isinstance(f.evidence, dict):
                bullets = conditions.get(id(f.evidence))
                if bullets is None:
                    bullets = conditions[id(f.evidence)] = [f"         - {printable(_failed_condition(failed))}"
                                                            for failed in f.evidence.get("failed", [])[:5]]
                lines += bullets
            if f.status == "waived" and f.waiver:
                lines.append(printable(f"         waived by {f.waiver.get('owner', '?')} until "
                                       f"{f.waiver.get('expires', '?')}: {f.waiver.get('reason', '')}"))
        lines.append("")
    lines.extend(_summary(report, color))
    return "\n".join(command_safe(line) for line in lines) + "\n"


def _trail(report: Report) -> list[str]:
    """Expired waivers and the baseline comparison (stale waivers are ``gavel-waivers`` warnings)."""
    out = []
    for waiver in report.extra.get("waivers", {}).get("expired", []):
        out.append(printable(f"Expired waiver {waiver.get('key')}: {waiver.get('policy')} on {waiver.get('subject')} "
                             f"ended {waiver.get('expires')}; the finding counts again"))
    baseline = baseline_summary(report)
    if baseline:
        out.append(f"Baseline {printable(baseline)}")
    return out + ([""] if out else [])


def _summary(report: Report, color: bool) -> list[str]:
    s = report.summary
    out = [*_trail(report), f"Summary: {counted(s.subjects, 'subject')}, {counted(s.policies, 'policy', 'policies')}, "
           f"{counted(s.findings, 'finding')}"]
    out.append("  " + "  ".join(f"{k}: {v}" for k, v in s.by_status.items()))
    table = _failures(report.findings)
    if table:
        kinds = sorted({k for k, _ in table})
        sevs = [sv for sv in ("critical", "high", "medium", "low", "info") if any(table[(k, sv)] for k in kinds)]
        out.append("  failures by subject kind and severity:")
        out.append("    " + f"{'':<10}" + "".join(f"{sv:>10}" for sv in sevs))
        for k in kinds:
            out.append("    " + f"{k:<10}" + "".join(f"{table[(k, sv)]:>10}" for sv in sevs))
    g = report.gate
    verdict = "PASSED" if g.passed else ("FAILED (soft-fail: exit 0)" if g.soft_fail else "FAILED")
    out.append(_paint(f"Gate {verdict} (fail-on {g.fail_on})", "pass" if g.passed else "fail", color))
    out.extend(f"  - {printable(reason)}" for reason in g.reasons)
    return out


def _by_subject(findings: Iterable[Finding], statuses: frozenset[str]) -> dict[tuple[str, str], list[Finding]]:
    """The findings shown, by subject; of ``Findings``, a ready-made block builds only those
    (problems, by default), and a block is one subject's."""
    groups: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    if isinstance(findings, Findings):
        for block in findings.blocks:
            shown = block.of_status(statuses)
            if shown:
                groups[(block.kind, block.id)] += shown
        return groups
    for f in findings:
        if f.status in statuses:
            groups[(f.subject.kind, f.subject.id)].append(f)
    return groups


def _failures(findings: Iterable[Finding]) -> Counter:
    """How many findings fail, by (subject kind, severity); of ``Findings``, from each block's counts."""
    if not isinstance(findings, Findings):
        return Counter((f.subject.kind, f.severity) for f in findings if f.status == "fail")
    table: Counter = Counter()
    for block in findings.blocks:  # one subject a block: its kind is each finding's
        for (status, severity), count in block.tally().items():
            if status == "fail" and count:
                table[(block.kind, severity)] += count
    return table


def _failed_condition(failed: dict) -> str:
    """One failed YAML condition: what was expected and what the subject has."""
    condition, actual = failed.get("condition"), failed.get("actual")
    if failed.get("operator") in ("any", "not"):
        return f"{condition}: not met"
    if failed.get("operator") in ("every", "none"):
        shown = f"offending items {_short(actual)}" if actual else "the list is missing or not a list"
        return f"{condition}: {shown}"
    if failed.get("operator") == "some":
        return f"{condition}: no item matches in {_short(actual)}"
    return f"{condition}: expected {_short(failed.get('expected'))}, actual {_short(actual)}"


def _short(value) -> str:
    text = _encode_sorted(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _paint(text: str, status: str, color: bool) -> str:
    if not color:
        return text
    code = {"fail": 31, "error": 35, "warn": 33, "waived": 36, "pass": 32}.get(status)
    return f"\x1b[{code}m{text}\x1b[0m" if code else text
