"""`gavel test`: YAML cases and Rego test rules, outputs, coverage and exit codes."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import jsonschema
import pytest
import yaml

from engine.testing import merge, outcome, run_tests

from .conftest import EXAMPLES, REPO


def write(path, text):
    path.write_text(text)
    return path


def test_example_policy_tests_pass(gavel):
    result = gavel("test", EXAMPLES / "policies")
    assert result.exit_code == 0, result.output
    assert "high-risk-dpia_test.yaml ......." in result.output
    assert "1 skipped" in result.output  # the todo_ rule


def test_example_test_files_validate_against_the_schema():
    schema = json.loads((REPO / "schemas" / "policy-test.schema.json").read_text())
    files = sorted((EXAMPLES / "policies").glob("*_test.yaml"))
    assert files
    for file in files:
        jsonschema.validate(yaml.safe_load(file.read_text()), schema)


def test_wrong_expectation_fails_with_exit_1(gavel, policy_dir):
    write(policy_dir / "dpia_test.yaml", """
policy: high-risk-dpia-approved
cases:
  - name: right
    subject: {risk_level: high, dpia: {status: approved, approver: dpo}}
    expect: pass
  - name: wrong
    subject: {risk_level: high, dpia: {status: approved, approver: dpo}}
    expect: fail
""")
    result = gavel("test", policy_dir)
    assert result.exit_code == 1, result.output
    assert "dpia_test.yaml .F" in result.output
    assert "expected fail, got pass" in result.output
    assert "1 passed, 1 failed" in result.output


def test_message_regex_must_match_a_finding(gavel, policy_dir):
    write(policy_dir / "dpia_test.yaml", """
policy: high-risk-dpia-approved
cases:
  - name: matches
    subject: {name: M, risk_level: high, dpia: {status: draft}}
    expect: fail
    message: "DPIA is dr.ft$"
  - name: does not match
    subject: {name: M, risk_level: high, dpia: {status: draft}}
    expect: fail
    message: "approved"
""")
    run = run_tests([policy_dir])
    assert [r.status for r in run.results] == ["passed", "failed"]
    assert "no finding message matches /approved/" in run.results[1].message


def test_input_document_is_merged_over_defaults(policy_dir):
    write(policy_dir / "lin_test.yaml", """
policy: high-risk-human-oversight
cases:
  - name: kind and id from the input, lineage keeps its other keys
    input:
      id: m9
      subject: {risk_level: high}
      lineage: {tagged_sources: [{tag: pii, source: raw.c.email, path: [raw.c.email, "model:m9"]}]}
    expect: fail
    message: "^m9 is high risk"
""")
    run = run_tests([policy_dir / "lin_test.yaml"])
    assert run.results[0].status == "passed", run.results[0].message


def test_params_and_now_reach_the_policy(tmp_path):
    write(tmp_path / "age.yaml", """
id: review-age
title: Reviewed recently
severity: low
target: model
params: {days: 10}
assert: {field: subject.reviewed, max_age_days: {param: days}}
""")
    write(tmp_path / "age_test.yaml", """
policy: review-age
cases:
  - {name: default bound fails, subject: {reviewed: "2026-01-01"}, now: "2026-01-20", expect: fail}
  - {name: raised bound passes, subject: {reviewed: "2026-01-01"}, now: "2026-01-20", params: {days: 30}, expect: pass}
  - {name: default now, subject: {reviewed: "2025-12-25"}, expect: pass}
""")
    run = run_tests([tmp_path])
    assert [r.status for r in run.results] == ["passed"] * 3, [r.message for r in run.results]


def test_rego_tests_pass_fail_error_and_todo(gavel, policy_dir):
    write(policy_dir / "oversight_test.rego", """package oversight_test
import rego.v1
test_ok if { count(data.examples.human_oversight.deny) == 1 with input as {"id": "x", "subject": {"risk_level": "high"}} }
test_wrong if { count(data.examples.human_oversight.deny) == 2 with input as {"subject": {"risk_level": "high"}} }
test_data if { data.gavel.inventory.models.m.id == "m" with data.gavel.inventory.models as {"m": {"id": "m"}} }
test_boom if { to_number("abc") == 1 }
todo_test_later if { false }
helper(x) := x
""")
    result = gavel("test", policy_dir, "-o", "json")
    assert result.exit_code == 2  # an error outranks a failure
    tests = {t["name"].rsplit(".", 1)[-1]: t for t in json.loads(result.output)["tests"]}
    assert {k: t["status"] for k, t in tests.items()} == {
        "test_ok": "passed", "test_wrong": "failed", "test_data": "passed", "test_boom": "error",
        "todo_test_later": "skipped",
    }
    assert "undefined" in tests["test_wrong"]["message"]
    assert "could not parse string as number" in tests["test_boom"]["message"]


def test_duplicate_rego_test_names_are_an_error(policy_dir):
    write(policy_dir / "dup_test.rego", "package dup_test\nimport rego.v1\ntest_a if { false }\ntest_a if { true }\n")
    run = run_tests([policy_dir / "dup_test.rego"])
    assert run.results[0].status == "error"
    assert "defined 2 times" in run.results[0].message


def test_run_filters_by_regex(gavel):
    result = gavel("test", EXAMPLES / "policies", "--run", "dpia.*credit", "-v")
    assert result.exit_code == 0
    lines = [line for line in result.output.splitlines() if line.endswith("PASSED")]
    assert len(lines) == 2 and all("credit" in line for line in lines)
    assert gavel("test", EXAMPLES / "policies", "--run", "no-such-test").exit_code == 2


def test_broken_test_file_is_an_error_naming_file_and_line(gavel, policy_dir):
    write(policy_dir / "bad_test.yaml", "policy: high-risk-dpia-approved\ncases:\n  - name: x\n    expect: maybe\n"
          "    subject: {}\n")
    result = gavel("test", policy_dir)
    assert result.exit_code == 2
    assert "bad_test.yaml:4" in result.output and "maybe" in result.output


def test_case_without_policy_is_rejected_by_the_schema(policy_dir):
    write(policy_dir / "nopol_test.yaml", "cases:\n  - {name: x, subject: {}, expect: pass}\n")
    run = run_tests([policy_dir / "nopol_test.yaml"])
    assert run.results[0].status == "error" and "policy" in run.results[0].message


def test_policy_that_does_not_target_the_kind_is_an_error(policy_dir):
    write(policy_dir / "kind_test.yaml", """
policy: high-risk-dpia-approved
cases: [{name: x, input: {kind: dataset, subject: {}}, expect: pass}]
""")
    run = run_tests([policy_dir])
    assert run.results[0].status == "error" and "does not target kind 'dataset'" in run.results[0].message


def test_broken_policy_makes_tests_error(policy_dir):
    write(policy_dir / "broken.rego", "package broken\nimport rego.v1\ndeny contains x if {\n")
    write(policy_dir / "a_test.yaml", "policy: high-risk-dpia-approved\ncases: [{name: x, subject: {}, expect: pass}]\n")
    run = run_tests([policy_dir])
    assert run.exit_code == 2
    assert all(r.status == "error" for r in run.results)


def test_evidence_case_reads_a_card_and_validates_it(tmp_path, policy_dir):
    write(tmp_path / "bad-card.yaml", "id: x\nrisk_level: 12\n")
    write(policy_dir / "ev_test.yaml", f"""
policy: high-risk-dpia-approved
cases:
  - {{name: good card, evidence: {EXAMPLES / 'models' / 'credit-scoring-v3.yaml'}, expect: pass}}
  - {{name: bad card, evidence: ../bad-card.yaml, expect: pass}}
""")
    run = run_tests([policy_dir])
    assert run.results[0].status == "passed"
    assert run.results[1].status == "error" and "bad-card.yaml" in run.results[1].message


def test_coverage_and_threshold(gavel, policy_dir):
    write(policy_dir / "a_test.yaml", """
policy: high-risk-human-oversight
cases: [{name: no oversight, subject: {risk_level: high}, expect: fail}]
""")
    result = gavel("test", policy_dir, "--coverage")
    assert result.exit_code == 0, result.output
    assert "human_oversight.rego  (not covered:" in result.output
    data = json.loads(gavel("test", policy_dir, "--coverage", "-o", "json").output)["coverage"]
    assert 0 < data["percent"] < 100
    assert gavel("test", policy_dir, "--coverage", "--threshold", "100").exit_code == 1
    assert gavel("test", policy_dir, "--threshold", "50").exit_code == 2  # needs --coverage


def test_junit_output(gavel, policy_dir, tmp_path):
    write(policy_dir / "a_test.yaml", """
policy: high-risk-dpia-approved
cases:
  - {name: ok, subject: {risk_level: low}, expect: skip}
  - {name: bad, subject: {risk_level: low}, expect: pass}
""")
    out = tmp_path / "out" / "junit.xml"
    result = gavel("test", policy_dir, "-o", f"junit={out}")
    assert result.exit_code == 1
    suite = ET.parse(out).getroot().find("testsuite")
    assert suite.get("tests") == "2" and suite.get("failures") == "1"
    assert suite.findall("testcase")[1].find("failure").get("message") == "expected pass, got skip"


def test_no_tests_is_an_error(gavel, tmp_path):
    result = gavel("test", tmp_path)
    assert result.exit_code == 2
    assert "no test files" in result.output


def test_builtin_policies_are_the_default(gavel):
    from engine.resources import policies_dir

    assert policies_dir().is_dir()
    result = gavel("test")
    assert result.exit_code == 0, result.output  # every built-in policy's tests pass
    assert " passed" in result.output and "failed" not in result.output
    for pack in ("model-card", "eu-ai-act", "gdpr", "nist-ai-rmf", "iso-42001", "lineage", "privacy"):
        assert f"/{pack}/" in result.output, pack


@pytest.mark.parametrize(("statuses", "expected"), [
    ([], "pass"), (["pass"], "pass"), (["warn", "fail"], "fail"), (["skip"], "skip"), (["fail", "error"], "error"),
])
def test_outcome(statuses, expected):
    assert outcome(statuses) == expected


def test_merge_is_recursive_for_mappings():
    assert merge({"a": {"b": 1, "c": [1]}, "d": 1}, {"a": {"c": [2]}, "e": 2}) == {"a": {"b": 1, "c": [2]}, "d": 1, "e": 2}
