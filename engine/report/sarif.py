"""SARIF 2.1.0 for code-scanning UIs (GitHub, Azure DevOps, IDEs).

One rule per policy with its title, remediation, frameworks (as tags) and a
``security-severity``; one result per ``fail``, ``warn``, ``error`` and ``waived`` finding, at
the subject's file and line (``passing=True`` adds ``pass`` results as ``kind: pass``). A
waived finding carries an accepted ``suppression`` with the waiver's reason, so code scanning
shows it as dismissed rather than dropping it. Paths are relative to the project root
(``uriBaseId: PROJECTROOT``).

Level from severity, never "error" for everything: critical and high → ``error``, medium →
``warning``, low and info → ``note``; a ``warn`` finding is at most a ``warning``; an ``error``
finding (Gavel could not judge) is an ``error``.
"""

from __future__ import annotations

import hashlib
import json

from engine.findings import Finding, Report

_RESULTS = "\x00gavel-results\x00"
SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "1.0"}


def level_of(finding: Finding) -> str:
    """The SARIF level (``error``, ``warning``, ``note``) of a finding."""
    if finding.status == "error":
        return "error"
    level = LEVEL[finding.severity]
    if finding.status == "warn" and level == "error":
        return "warning"
    return level


def fingerprint(finding: Finding) -> str:
    s = finding.subject
    return hashlib.sha256(f"{finding.policy}\x00{s.kind}\x00{s.id}".encode()).hexdigest()[:32]


def render(report: Report, *, passing: bool = False, **_options) -> str:
    shown = {"fail", "warn", "error", "waived"} | ({"pass"} if passing else set())
    findings = [f for f in report.findings if f.status in shown]
    rules, index = _rules(report, findings)
    results = [_result(f, index[f.policy]) for f in findings]
    log = {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "gavel",
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
            "originalUriBaseIds": {"PROJECTROOT": {"description": {"text": "The Gavel project root."}}},
            "columnKind": "unicodeCodePoints",
            "results": _RESULTS,
            "properties": {"summary": report.summary.by_status},
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
        rule = {
            "id": pid,
            "name": _camel(pid),
            "shortDescription": {"text": m["title"] or pid},
            "fullDescription": {"text": m["title"] or pid},
            "defaultConfiguration": {"level": LEVEL[m["severity"]]},
            "properties": {
                "security-severity": SECURITY_SEVERITY[m["severity"]],
                "severity": m["severity"],
                "tags": ["compliance", *m["frameworks"]],
                "frameworks": m["frameworks"],
            },
        }
        if m["remediation"]:
            rule["help"] = {"text": m["remediation"], "markdown": f"**Remediation:** {m['remediation']}"}
        rules.append(rule)
    return rules, index


def _result(f: Finding, rule_index: int) -> dict:
    s = f.subject
    text = f.message or f.title
    result: dict = {
        "ruleId": f.policy,
        "ruleIndex": rule_index,
        "kind": "pass" if f.status == "pass" else "fail",
        "level": "none" if f.status == "pass" else level_of(f),
        "message": {"text": f"{s.kind} {s.id}: {text}"},
        "locations": [_location(f)],
        "partialFingerprints": {"gavelFinding/v1": fingerprint(f)},
        "properties": {"status": f.status, "severity": f.severity, "subject": {"kind": s.kind, "id": s.id}},
    }
    if f.evidence is not None:
        result["properties"]["evidence"] = f.evidence
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


def _location(f: Finding) -> dict:
    s = f.subject
    logical = [{"name": s.id, "fullyQualifiedName": f"{s.kind}/{s.id}", "kind": s.kind}]
    if s.source is None or not s.source.file:
        return {"logicalLocations": logical}
    physical: dict = {"artifactLocation": {"uri": _uri(s.source.file), "uriBaseId": "PROJECTROOT"}}
    if s.source.line and s.source.line >= 1:
        physical["region"] = {"startLine": s.source.line}
    return {"physicalLocation": physical, "logicalLocations": logical}


def _uri(path: str) -> str:
    from urllib.parse import quote

    return quote(path.replace("\\", "/"), safe="/._-~")


def _camel(pid: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in pid.replace(".", "-").replace("_", "-").split("-") if part)
