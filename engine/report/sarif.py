"""SARIF 2.1.0 for code scanning (GitHub, Azure DevOps, IDEs), within GitHub's upload limits.

One rule per policy with its title, ``help`` (remediation and frameworks), ``helpUri`` (the
policy's source for built-in packs, the docs otherwise), frameworks as tags and a
``security-severity``. Only problems are results: ``fail``, ``warn`` and ``error`` findings, and
``waived`` ones as results with an accepted ``suppression`` whose justification is the waiver
(code scanning shows them as dismissed rather than dropping them).

GitHub rejects a run with more than 25,000 results or a result with more than 1,000 locations.
Results are ranked (errors, then failures by severity, warnings, waived); past ``max_results``
the rest of each policy becomes one aggregate result: its count, up to 1,000 of its locations,
and a pointer to the full report. Each result has a ``partialFingerprints`` value unique in the
run and stable across runs: policy, subject and a key of the message with its numbers blanked
(so "85% used" and "86% used" stay one alert), plus an ordinal when that still collides.

Level from severity, never "error" for everything: critical and high → ``error``, medium →
``warning``, low and info → ``note``; a ``warn`` finding is at most a ``warning``; an ``error``
finding (Gavel could not judge) is an ``error``. Paths are relative to the repository root
(``uriBaseId: %SRCROOT%``, engine/report/paths.py).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter, defaultdict

from engine import URLS
from engine.findings import SEVERITY_RANK, Finding, Report
from engine.report import counted

_RESULTS = "\x00gavel-results\x00"
SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "1.0"}
MAX_RESULTS = 25_000  # GitHub: results per run
MAX_LOCATIONS = 1_000  # GitHub: locations per result
MAX_TAGS = 20  # GitHub: tags per rule
MAX_EVIDENCE = 4_000  # characters of evidence JSON kept in a result's properties (the file stays small)
_RANK = {"error": 0, "fail": 1, "warn": 2, "waived": 3}
_NUMBER = re.compile(r"\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def level_of(finding: Finding) -> str:
    """The SARIF level (``error``, ``warning``, ``note``) of a finding."""
    if finding.status == "error":
        return "error"
    level = LEVEL[finding.severity]
    if finding.status == "warn" and level == "error":
        return "warning"
    return level


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]


def fingerprints(findings: list[Finding]) -> list[str]:
    """One value per finding, unique in the list and stable across runs (see the module doc)."""
    keys = [(f.policy, f.subject.kind, f.subject.id, _NUMBER.sub("#", f.message or f.title)) for f in findings]
    seen: Counter = Counter()
    out = []
    for key in keys:
        seen[key] += 1
        out.append(_digest(*key, str(seen[key] - 1) if seen[key] > 1 else ""))
    return out


def _order(f: Finding) -> tuple:
    return (_RANK[f.status], -SEVERITY_RANK[f.severity], f.policy, f.subject.kind, f.subject.id, f.message)


def render(report: Report, *, max_results: int = MAX_RESULTS, full_report: str | None = None, **_options) -> str:
    findings = sorted((f for f in report.findings if f.status in _RANK), key=_order)
    prefix = report.extra.get("path_prefix") or ""
    rules, index = _rules(report, findings)
    # Room for one aggregate per policy whose findings do not all fit, so the run never passes the limit.
    policies = len({f.policy for f in findings})
    keep = findings if len(findings) <= max_results else findings[: max(0, max_results - policies)]
    results = [_result(f, index[f.policy], fp, prefix) for f, fp in zip(keep, fingerprints(keep), strict=True)]
    rest: dict[str, list[Finding]] = defaultdict(list)
    for f in findings[len(keep):]:
        rest[f.policy].append(f)
    where = full_report or "the full report (gavel check -o json=PATH or -o html=PATH)"
    results += [_aggregate(policy, items, index[policy], prefix, where) for policy, items in sorted(rest.items())]
    log = {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "gavel",
                "informationUri": URLS["Homepage"],
                "version": report.tool.version,
                "semanticVersion": report.tool.version,
                "rules": rules,
            }},
            "automationDetails": {"id": f"gavel/{report.run.id}"},
            "invocations": [{
                "executionSuccessful": True,
                "exitCode": report.gate.exit_code,
                "properties": {"now": report.run.now, "engine": report.run.engine,
                               "gate": {"passed": report.gate.passed, "fail_on": report.gate.fail_on,
                                        "reasons": report.gate.reasons}},
            }],
            "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "The repository root."}}},
            "columnKind": "unicodeCodePoints",
            "results": _RESULTS,
            "properties": {"summary": report.summary.by_status, "aggregated": len(findings) - len(keep)},
        }],
    }
    # Pretty-printing 100,000 results with ``indent`` runs the pure-Python encoder (4 s); the skeleton
    # is indented and each result is one compact line from the C encoder (fast, still diff-friendly).
    skeleton = json.dumps(log, indent=2, ensure_ascii=False)
    encode = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode
    lines = ",\n".join("        " + encode(r) for r in results)
    body = "[\n" + lines + "\n      ]" if results else "[]"
    head, _, tail = skeleton.rpartition(json.dumps(_RESULTS))  # the last occurrence: "results" is near the end
    return head + body + tail + "\n"


def help_uri(policy_id: str, file: str | None, version: str) -> str:
    """The policy's source on the project site for a built-in pack (``<pack>/file``), else the docs."""
    if file and file.startswith("<") and ">/" in file:
        pack, _, name = file[1:].partition(">/")
        return f"{URLS['Repository']}/blob/v{version}/policies/{pack}/{name}"
    if policy_id.startswith("gavel-"):
        return f"{URLS['Documentation']}/reports.md#gavels-own-findings"
    return f"{URLS['Documentation']}/writing-policies.md"


def _rules(report: Report, findings: list[Finding]) -> tuple[list[dict], dict[str, int]]:
    meta: dict[str, dict] = {}
    for p in report.policies:
        meta[p.id] = {"title": p.title, "severity": p.severity, "frameworks": list(p.frameworks),
                      "remediation": "", "file": p.source.file if p.source else None}
    for f in report.findings:  # pseudo-policies (gavel-evidence, gavel-waivers) and remediation texts
        entry = meta.setdefault(f.policy, {"title": f.title, "severity": f.severity, "frameworks": list(f.frameworks),
                                           "remediation": "", "file": None})
        if not entry["remediation"] and f.remediation:
            entry["remediation"] = f.remediation
    used = {f.policy for f in findings}
    declared = {p.id for p in report.policies}
    ids = sorted(pid for pid in meta if pid in used or pid in declared)
    rules, index = [], {}
    for i, pid in enumerate(ids):
        m = meta[pid]
        index[pid] = i
        title = m["title"] or pid
        frameworks = ", ".join(m["frameworks"])
        text = f"{title}." + (f" Remediation: {m['remediation']}" if m["remediation"] else "") + \
            (f" Frameworks: {frameworks}." if frameworks else "")
        markdown = f"**{title}**" + (f"\n\n**Remediation:** {m['remediation']}" if m["remediation"] else "") + \
            (f"\n\n**Frameworks:** {frameworks}" if frameworks else "")
        rule = {"id": pid}
        if _camel(pid).lower() != pid.lower():  # SARIF1001: a name equal to the id must be left out
            rule["name"] = _camel(pid)
        rules.append(rule | {
            "shortDescription": {"text": title},
            "fullDescription": {"text": title},
            "help": {"text": text, "markdown": markdown},
            "helpUri": help_uri(pid, m["file"], report.tool.version),
            "defaultConfiguration": {"level": LEVEL[m["severity"]]},
            "properties": {
                "security-severity": SECURITY_SEVERITY[m["severity"]],
                "severity": m["severity"],
                "tags": ["compliance", *m["frameworks"]][:MAX_TAGS],
                "frameworks": m["frameworks"],
            },
        })
    return rules, index


def _result(f: Finding, rule_index: int, fingerprint: str, prefix: str) -> dict:
    s = f.subject
    text = f.message or f.title
    result: dict = {
        "ruleId": f.policy,
        "ruleIndex": rule_index,
        "kind": "fail",
        "level": level_of(f),
        "message": {"text": f"{s.kind} {s.id}: {text}"},
        "locations": [_location(f, prefix)],
        "partialFingerprints": {"gavelFinding/v2": fingerprint},
        "properties": {"status": f.status, "severity": f.severity, "subject": {"kind": s.kind, "id": s.id}},
    }
    if f.evidence is not None:
        evidence = json.dumps(f.evidence, sort_keys=True, ensure_ascii=False, default=str)
        result["properties"]["evidence"] = f.evidence if len(evidence) <= MAX_EVIDENCE else \
            {"truncated": evidence[:MAX_EVIDENCE] + "…"}
    if f.status == "waived" and f.waiver:
        w = f.waiver
        result["suppressions"] = [{
            "kind": "external",
            "status": "accepted",
            "justification": f"{w.get('reason', '')} (owner {w.get('owner', '?')}, approver "
                             f"{w.get('approver', '?')}, expires {w.get('expires', '?')})",
            "properties": {"waiver": w},
        }]
    return result


def _aggregate(policy: str, findings: list[Finding], rule_index: int, prefix: str, where: str) -> dict:
    """The findings of one policy that did not fit, as one result: count, locations, pointer."""
    worst = findings[0]  # ranked: the most severe first
    subjects = sorted({(f.subject.kind, f.subject.id) for f in findings})
    locations, seen = [], set()
    for f in findings:
        s = f.subject
        key = (s.kind, s.id, s.source.file if s.source else None, s.source.line if s.source else None)
        if key not in seen:
            seen.add(key)
            locations.append(_location(f, prefix))
            if len(locations) == MAX_LOCATIONS:
                break
    return {
        "ruleId": policy,
        "ruleIndex": rule_index,
        "kind": "fail",
        "level": level_of(worst),
        "message": {"text": f"{counted(len(findings), 'more finding')} of {policy} on {counted(len(subjects), 'subject')}, not listed one "
                            f"by one (code scanning takes {MAX_RESULTS:,} results per run): see {where}"},
        "locations": locations,
        "partialFingerprints": {"gavelFinding/v2": _digest(policy, "aggregate")},
        "properties": {"aggregate": True, "count": len(findings),
                       "by_status": dict(Counter(f.status for f in findings)),
                       "subjects": [f"{k}/{i}" for k, i in subjects[:100]]},
    }


def _location(f: Finding, prefix: str) -> dict:
    s = f.subject
    logical = [{"name": s.id, "fullyQualifiedName": f"{s.kind}/{s.id}", "kind": s.kind}]
    if s.source is None or not s.source.file or s.source.file == ".":
        return {"logicalLocations": logical}
    path = f"{prefix}/{s.source.file}" if prefix else s.source.file
    physical: dict = {"artifactLocation": {"uri": _uri(path), "uriBaseId": "%SRCROOT%"}}
    if s.source.line and s.source.line >= 1:
        physical["region"] = {"startLine": s.source.line}
    return {"physicalLocation": physical, "logicalLocations": logical}


def _uri(path: str) -> str:
    from urllib.parse import quote

    return quote(path.replace("\\", "/"), safe="/._-~")


def _camel(pid: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in pid.replace(".", "-").replace("_", "-").split("-") if part)
