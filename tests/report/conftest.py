"""A small report with every status, severity and awkward character: the renderers' golden input."""

from __future__ import annotations

import pytest

from engine.findings import Finding, InputDigest, PolicyInfo, Source, SubjectRef
from engine.report import build_report, decide_gate

NOW = "2026-11-26T00:00:00Z"


def _policy(pid, title, severity, frameworks, target=("model",)):
    return PolicyInfo(id=pid, title=title, severity=severity, target=list(target), language="yaml",
                      source=Source(f"policies/{pid}.yaml", 1), sha256=(pid.encode().hex() * 8)[:64],
                      frameworks=list(frameworks))


def _finding(pid, title, severity, status, kind, sid, message, *, evidence=None, frameworks=(), line=1,
             remediation="", waiver=None, source=True):
    src = Source(f"{kind}s/{sid}.yaml", line) if source else None
    return Finding(policy=pid, title=title, severity=severity, status=status, subject=SubjectRef(kind, sid, src),
                   message=message, evidence=evidence, frameworks=list(frameworks), remediation=remediation,
                   waiver=waiver)


def make_report(*, fail_on="medium"):
    policies = [
        _policy("human-oversight", "High-risk models have human oversight", "high", ["EU AI Act Art. 14"]),
        _policy("dpia-approved", "High-risk models have an approved DPIA", "critical", ["GDPR Art. 35"]),
        _policy("monitoring", "Production models are monitored", "medium", ["EU AI Act Art. 72", "NIST AI RMF MANAGE 4.1"]),
        _policy("card-owner", "Cards name an owner", "low", ["ISO/IEC 42001 A.6.2.7"], target=("model", "dataset")),
        _policy("pii-reach", "PII does not reach unapproved models", "high", ["GDPR Art. 5(1)(b)"], target=("lineage",)),
    ]
    waiver = {"id": "RISK-1", "policy": "monitoring", "subject": "scorer", "reason": "Batch | weekly <model>",
              "owner": "ml@bank.example", "approver": "risk@bank.example", "expires": "2027-03-31"}
    findings = [
        _finding("human-oversight", policies[0].title, "high", "fail", "model", "scorer",
                 "scorer has no human oversight <script>alert(1)</script>", frameworks=["EU AI Act Art. 14"],
                 evidence={"failed": [{"condition": "subject.human_oversight.required equals true", "actual": None,
                                       "expected": True}]}, remediation="Describe who oversees the model.", line=3),
        _finding("human-oversight", policies[0].title, "high", "pass", "model", "chatbot", "ok",
                 frameworks=["EU AI Act Art. 14"]),
        _finding("dpia-approved", policies[1].title, "critical", "fail", "model", "chatbot",
                 "DPIA is \"draft\" | needs, approval: now\nsecond line 100%", frameworks=["GDPR Art. 35"],
                 remediation="Approve the DPIA."),
        _finding("dpia-approved", policies[1].title, "critical", "skip", "model", "scorer", "not applicable",
                 frameworks=["GDPR Art. 35"]),
        _finding("monitoring", policies[2].title, "medium", "waived", "model", "scorer", "no monitoring",
                 frameworks=["EU AI Act Art. 72", "NIST AI RMF MANAGE 4.1"], waiver=waiver),
        _finding("monitoring", policies[2].title, "medium", "warn", "model", "chatbot", "nobody is alerted",
                 frameworks=["EU AI Act Art. 72", "NIST AI RMF MANAGE 4.1"], evidence={"field": "monitoring.alerting"}),
        _finding("card-owner", policies[3].title, "low", "fail", "dataset", "raw.customers", "no owner \x07 (bell)",
                 frameworks=["ISO/IEC 42001 A.6.2.7"]),
        _finding("card-owner", policies[3].title, "low", "pass", "model", "scorer", "ok",
                 frameworks=["ISO/IEC 42001 A.6.2.7"]),
        _finding("pii-reach", policies[4].title, "high", "fail", "lineage", "lineage",
                 "raw.customers.email reaches model chatbot", frameworks=["GDPR Art. 5(1)(b)"], source=False,
                 evidence={"source": "raw.customers.email",
                           "path": ["raw.customers.email", "staging.customers", "features.churn", "model:chatbot"]}),
        Finding(policy="gavel-evidence", title="Evidence files are readable", severity="high", status="error",
                subject=SubjectRef("model", "broken", Source("models/broken.yaml", 7)),
                message="invalid YAML: mapping values are not allowed here"),
    ]
    gate = decide_gate(findings, fail_on=fail_on)
    inputs = [InputDigest("models/scorer.yaml", "model", "a" * 64), InputDigest("models/chatbot.yaml", "model", "b" * 64)]
    extra = {"waivers": {"file": "waivers.yaml", "sha256": "c" * 64,
                         "applied": [{"key": "RISK-1", "policy": "monitoring", "subject": "scorer",
                                      "owner": "ml@bank.example", "expires": "2027-03-31", "file": "waivers.yaml",
                                      "line": 3, "findings": 1}],
                         "expired": [], "stale": [{"key": "RISK-9", "policy": "old-*", "subject": "x",
                                                   "owner": "a@b.example", "expires": "2027-01-01",
                                                   "file": "waivers.yaml", "line": 12}], "invalid": 0}}
    return build_report(findings, inputs=inputs, policies=policies, now=NOW, engine="embedded", gate=gate, extra=extra)


@pytest.fixture
def report():
    return make_report()
