"""The built-in privacy pack: its unit tests (``*_test.rego``, ``*_test.yaml``) through `gavel test`,
and the pack on the example project through `gavel check`."""

from __future__ import annotations

import json
import re

from engine.policy import load_paths, pack_path

PACK = pack_path("privacy")
EXPECTED_IDS = {
    "privacy-budget-exceeded", "privacy-budget-nearly-exhausted", "privacy-release-over-cap",
    "privacy-delta-below-1-over-n", "privacy-mechanism-allowed", "privacy-spend-accountable",
    "privacy-dp-model-in-ledger",
}


def test_pack_loads_with_metadata():
    policies = load_paths([(PACK, "privacy")]).policies
    assert {p.id for p in policies} == EXPECTED_IDS
    for policy in policies:
        assert policy.frameworks and policy.remediation and policy.description, policy.id
        assert policy.target == (["model"] if policy.id == "privacy-dp-model-in-ledger" else ["budget"])


def test_every_policy_has_tests():
    stems = {p.name.rsplit(".", 1)[0] for p in PACK.iterdir()
             if p.suffix in (".rego", ".yaml") and not p.stem.endswith("_test")}
    tested = {p.name.rsplit("_test.", 1)[0] for p in PACK.iterdir() if p.stem.endswith("_test")}
    assert stems == tested


def test_pack_unit_tests_pass(gavel):
    result = gavel("test", str(PACK))
    assert result.exit_code == 0, result.stdout + result.stderr
    passed = int(re.search(r"(\d+) passed", result.stdout).group(1))
    assert passed >= 27 and "failed" not in result.stdout


def test_example_shows_privacy_findings(gavel, tmp_path):
    out = tmp_path / "report.json"
    result = gavel("check", "examples", "--pack", "privacy", "-o", f"json={out}")
    assert result.exit_code == 1  # the overspent dataset fails the gate
    findings = json.loads(out.read_text())["findings"]
    verdicts = {(f["policy"], f["subject"]["id"]): f["status"] for f in findings if f["policy"].startswith("privacy")}
    assert verdicts[("privacy-budget-exceeded", "analytics.default_rates")] == "pass"
    assert verdicts[("privacy-budget-exceeded", "features.credit_features")] == "pass"
    assert verdicts[("privacy-budget-nearly-exhausted", "features.credit_features")] == "warn"
    assert verdicts[("privacy-budget-exceeded", "features.fraud_features")] == "fail"
    for policy in ("privacy-release-over-cap", "privacy-mechanism-allowed", "privacy-spend-accountable",
                   "privacy-delta-below-1-over-n"):
        assert verdicts[(policy, "features.fraud_features")] == "fail", policy
        assert verdicts[(policy, "analytics.default_rates")] == "pass", policy
    assert verdicts[("privacy-dp-model-in-ledger", "credit-limit-optimizer")] == "fail"
    assert verdicts[("privacy-dp-model-in-ledger", "credit-scoring-v3")] == "skip"
    assert not [f for f in findings if f["policy"] == "gavel-privacy"]
