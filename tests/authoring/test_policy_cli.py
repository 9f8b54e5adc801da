"""`gavel policy list|show|compile|lint|fmt`."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from engine.policy.fmt import format_text
from engine.policy.lint import lint_paths

from .conftest import EXAMPLES, REPO


def test_list_shows_metadata(gavel):
    result = gavel("policy", "list", EXAMPLES)
    assert result.exit_code == 0
    assert re.search(r"high-risk-dpia-approved +high +model +yaml +policies/high-risk-dpia.yaml:1", result.output)
    assert "frameworks: GDPR Art. 35; EU AI Act Art. 26(9)" in result.output
    rows = json.loads(gavel("policy", "list", EXAMPLES, "-o", "json").output)
    ids = [r["id"] for r in rows]
    assert ids == sorted(ids) and "production-monitoring" in ids
    row = next(r for r in rows if r["id"] == "production-monitoring")
    assert row["language"] == "rego" and row["severity"] == "medium" and row["target"] == ["model"]


def test_show_yaml_and_rego(gavel):
    result = gavel("policy", "show", "high-risk-dpia-approved", EXAMPLES)
    assert result.exit_code == 0
    assert "severity:    high" in result.output and "Remediation:" in result.output
    assert "field: subject.dpia.status" in result.output
    rego = gavel("policy", "show", "high-risk-dpia-approved", EXAMPLES, "--rego").output
    assert "package gavel.yaml.high_risk_dpia_approved" in rego
    rego_policy = gavel("policy", "show", "ai-disclosure", EXAMPLES).output
    assert "package examples.ai_disclosure" in rego_policy
    missing = gavel("policy", "show", "high-risk-dpia", EXAMPLES)
    assert missing.exit_code == 2 and "Did you mean high-risk-dpia-approved?" in missing.output


def test_compile_prints_the_rego_the_engine_runs(gavel):
    from engine.policy import load_paths

    file = EXAMPLES / "policies" / "fairness.yaml"
    result = gavel("policy", "compile", file)
    assert result.exit_code == 0
    (policy,) = load_paths([(file, None)]).policies
    assert result.output == next(iter(policy.modules.values()))
    tuned = gavel("policy", "compile", file, "--param", "high-risk-fairness-metrics.max_disparity=0.3").output
    assert "<= 0.3" in tuned and "<= 0.1" not in tuned
    assert gavel("policy", "compile", EXAMPLES / "policies" / "monitoring.rego").exit_code == 2


def test_compile_reports_a_broken_policy_with_file_and_line(gavel, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\ntitle: X\nseverity: low\ntarget: model\nassert:\n  field: subject.a\n  equalz: 1\n")
    result = gavel("policy", "compile", bad)
    assert result.exit_code == 2
    assert "bad.yaml:7" in result.output and "unknown operator 'equalz'" in result.output


def test_lint_clean_on_examples_and_builtins(gavel):
    assert gavel("policy", "lint", EXAMPLES / "policies").output.strip() == "no problems found"
    if (REPO / "policies").is_dir():
        errors = [p for p in lint_paths([REPO / "policies"]) if p.level == "error"]
        assert not errors, "\n".join(map(str, errors))


BAD_YAML = """\
id: bad-one
title: Bad
severity: high
target: model
colour: red
params: {unused: 1}
when: {field: subject.risk_level, equals: hgh}
assert:
  all:
    - {field: subject.dpia.stauts, equals: approved}
    - {field: subjct.x, exists: true}
    - {field: kind, equals: dataset}
    - field: subject.metrics.fairness
      every: {field: valu, lte: 0.1}
"""


def test_lint_finds_every_problem_with_its_line(gavel, tmp_path):
    (tmp_path / "bad.yaml").write_text(BAD_YAML)
    (tmp_path / "dup.yaml").write_text("id: bad-one\ntitle: D\nseverity: low\ntarget: model\n"
                                       "assert: {field: id, exists: true}\n")
    (tmp_path / "p.rego").write_text('package p\nimport rego.v1\nhelper := 1\n'
                                     'deny contains "x" if { input.subject.risk_levl == "high"; input.kind == "budget" }\n')
    (tmp_path / "broken.rego").write_text("package broken\nimport rego.v1\ndeny contains x if {\n")
    (tmp_path / "crypto.rego").write_text('package c\nimport rego.v1\ndeny contains "x" if { http.send({"url": "a"}) }\n')
    (tmp_path / "x_test.yaml").write_text("cases: [{name: a, subject: {}, expect: nope}]\n")
    result = gavel("policy", "lint", tmp_path, "-o", "json")
    assert result.exit_code == 1
    found = {(p["file"].rsplit("/", 1)[-1], p["line"], p["code"]) for p in json.loads(result.output)}
    expected = {
        ("bad.yaml", 5, "unknown-field"), ("bad.yaml", 6, "unused-param"), ("bad.yaml", 7, "unreachable"),
        ("bad.yaml", 10, "unknown-path"), ("bad.yaml", 11, "unknown-path"), ("bad.yaml", 12, "unreachable"),
        ("bad.yaml", 14, "unknown-path"), ("bad.yaml", 1, "metadata"), ("dup.yaml", 1, "duplicate-id"),
        ("p.rego", 3, "unreachable"), ("p.rego", 4, "unknown-path"), ("p.rego", 4, "unreachable"),
        ("p.rego", 1, "metadata"), ("broken.rego", 4, "syntax"), ("crypto.rego", 3, "builtin"),
        ("x_test.yaml", 1, "schema"),
    }
    assert expected <= found, expected - found
    text = gavel("policy", "lint", tmp_path / "bad.yaml").output
    assert "did you mean 'subject'?" in text and "Did you mean 'status'?" in text


def test_lint_warnings_only_fail_with_strict(gavel, tmp_path):
    (tmp_path / "w.yaml").write_text("id: w\ntitle: W\nseverity: low\ntarget: model\nassert: {field: id, exists: true}\n")
    assert gavel("policy", "lint", tmp_path).exit_code == 0
    assert gavel("policy", "lint", tmp_path, "--strict").exit_code == 1


def test_fmt_is_canonical_idempotent_and_keeps_meaning(gavel, tmp_path):
    messy = ("# header comment\nassert:\n  all:\n  - equals: approved\n    field: subject.dpia.status\n"
             "target: model\nseverity: high\ntitle: T\nid: t\nfrontier: 1\n" )
    file = tmp_path / "p.yaml"
    file.write_text(messy.replace("frontier: 1\n", ""))
    assert gavel("policy", "fmt", "--check", tmp_path).exit_code == 1
    assert gavel("policy", "fmt", tmp_path).exit_code == 0
    out = file.read_text()
    assert out.startswith("# header comment\nid: t\ntitle: T\nseverity: high\ntarget: model\nassert:\n")
    assert "  all:\n    - field: subject.dpia.status\n      equals: approved\n" in out  # field first, indented
    assert yaml.safe_load(out) == yaml.safe_load(messy.replace("frontier: 1\n", ""))
    assert gavel("policy", "fmt", "--check", tmp_path).exit_code == 0
    assert format_text(out, "p.yaml") == out


@pytest.mark.parametrize("file", sorted(p for p in (EXAMPLES / "policies").glob("*.yaml")
                                         if not p.name.endswith("_test.yaml")), ids=lambda p: p.name)
def test_fmt_round_trips_every_example(file):
    text = file.read_text()
    out = format_text(text, file.name)
    assert yaml.safe_load(out) == yaml.safe_load(text)
    assert format_text(out, file.name) == out


def test_fmt_keeps_comments_quotes_and_layout(gavel, tmp_path):
    text = ("id: c  # the id\ntitle: 'C'\nseverity: low\ntarget: model\n"
            "assert: {field: id, exists: true}   # inline stays inline\n")
    (tmp_path / "c.yaml").write_text(text)
    assert gavel("policy", "fmt", "--check", tmp_path).exit_code == 0
    assert (tmp_path / "c.yaml").read_text() == text


def test_fmt_is_clean_on_every_shipped_policy_and_leaves_other_yaml_alone(gavel, tmp_path):
    result = gavel("policy", "fmt", "--check", REPO / "policies", REPO / "examples")
    assert result.exit_code == 0, result.output
    assert "0 file(s) would be reformatted" in result.output and "not policies (left alone)" in result.output
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text((REPO / "policies/_frameworks/gdpr.yaml").read_text() + "extra:   [a,b]\n")
    card = tmp_path / "card.yaml"
    card.write_text("id: m1\nname:   M\n")
    before = catalog.read_bytes(), card.read_bytes()
    assert gavel("policy", "fmt", tmp_path).exit_code == 0
    assert (catalog.read_bytes(), card.read_bytes()) == before


def test_fmt_diff(gavel, tmp_path):
    (tmp_path / "d.yaml").write_text("title: D\nid: d\nseverity: low\ntarget: model\nassert: {field: id, exists: true}\n")
    result = gavel("policy", "fmt", "--diff", tmp_path)
    assert result.exit_code == 1 and "+id: d" in result.output and "-id: d" in result.output


def test_docs_operator_table_matches_the_code():
    from engine.policy.operators import OPERATORS

    doc = (REPO / "docs" / "writing-policies.md").read_text()
    rows = {line.split("|")[1].strip().strip("`"): line for line in doc.splitlines() if line.startswith("| `")}
    for op in OPERATORS.values():
        assert op.name in rows, f"operator {op.name} missing from docs/writing-policies.md"
        assert op.doc in rows[op.name]
        for alias in op.aliases:
            assert f"`{alias}`" in rows[op.name]
