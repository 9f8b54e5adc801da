"""`gavel explain POLICY SUBJECT`: conditions from the engine itself, Rego reads, JSON, errors."""

from __future__ import annotations

import json

from .conftest import EXAMPLES


def test_yaml_policy_conditions_with_expected_and_actual(gavel):
    result = gavel("explain", "high-risk-dpia-approved", "credit-limit-optimizer", EXAMPLES)
    assert result.exit_code == 1  # the subject fails the policy
    out = result.output
    assert "Verdict  FAIL" in out
    assert "[ok]     subject.risk_level in [\"high\", \"unacceptable\"]" in out
    assert "[FAILED] subject.dpia.status equals \"approved\"\n               actual: \"in_progress\"" in out
    assert "[FAILED] subject.dpia.approver exists true\n               actual: (absent)" in out
    assert "Remediation:" in out


def test_explanation_agrees_with_the_verdict_on_every_example_subject(gavel):
    """The top-level 'assert' truth value comes from the engine: it must match pass/fail everywhere."""
    for subject in ["credit-scoring-v3", "credit-limit-optimizer", "income-estimator", "churn-predictor"]:
        for policy in ["high-risk-dpia-approved", "high-risk-fairness-metrics", "model-card-complete"]:
            data = json.loads(gavel("explain", policy, subject, EXAMPLES, "--json").output)
            sections = {c["section"]: c["holds"] for c in data["conditions"]}
            if sections.get("when") is False:
                assert data["status"] == "skip"
            else:
                assert data["status"] == ("pass" if sections["assert"] else "fail"), (policy, subject)


def test_quantifier_items(gavel):
    data = json.loads(gavel("explain", "high-risk-fairness-metrics", "income-estimator", EXAMPLES, "--json").output)
    every = data["conditions"][1]["children"][1]
    assert every["operator"] == "every" and every["holds"] is False
    assert every["items"] and not all(i["holds"] for i in every["items"])


def test_rego_policy_messages_metadata_and_reads(gavel):
    result = gavel("explain", "production-monitoring", "marketing-propensity", EXAMPLES)
    assert result.exit_code == 0  # a warning does not fail
    assert "WARN  marketing-propensity is monitored but nobody is alerted" in result.output
    assert "input.subject.monitoring.alerting = false" in result.output
    assert "Frameworks:  EU AI Act Art. 12" in result.output
    data = json.loads(gavel("explain", "production-monitoring", "marketing-propensity", EXAMPLES, "--json").output)
    assert {"path": "subject.lifecycle_stage", "present": True, "value": "production"} in data["reads"]
    assert data["policy"]["language"] == "rego" and data["status"] == "warn"


def test_lineage_paths_are_shown(tmp_path, gavel):
    from engine.explain import render_text

    result = {"policy": {"id": "p", "language": "rego", "severity": "high", "title": "T",
                         "source": {"file": "p.rego", "line": 1}, "frameworks": [], "remediation": ""},
              "subject": {"kind": "model", "id": "m", "source": None}, "status": "fail",
              "findings": [{"status": "fail", "message": "pii reaches m", "evidence": None}], "conditions": [],
              "reads": [], "lineage": [{"tag": "pii", "source": "raw.c.email", "path": ["raw.c.email", "f.x", "model:m"]}]}
    assert "pii: raw.c.email -> f.x -> model:m" in render_text(result)


def test_unknown_policy_and_subject_are_usage_errors(gavel):
    result = gavel("explain", "high-risk-dpia", "credit-scoring-v3", EXAMPLES)
    assert result.exit_code == 2 and "Did you mean high-risk-dpia-approved?" in result.output
    result = gavel("explain", "high-risk-dpia-approved", "credit-scoring-v4", EXAMPLES)
    assert result.exit_code == 2 and "Did you mean credit-scoring-v3?" in result.output
    result = gavel("explain", "high-risk-dpia-approved", "raw.customers", EXAMPLES)
    assert result.exit_code == 2 and "targets model" in result.output
