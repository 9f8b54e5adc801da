"""Runaway policies are bounded: a deadline, a memory limit and an output cap per evaluation,
each an ``error`` finding naming the policy and the subject; the other policies are judged."""

from __future__ import annotations

import json
import time

import pytest

from tests.conftest import NOW, model_card

OK_POLICY = "id: has-owner\ntitle: Has owner\nseverity: high\ntarget: model\nassert: {field: subject.owner, exists: true}\n"


def rego(body: str) -> str:
    return ("# METADATA\n# title: Runaway\n# custom:\n#   id: runaway\n#   severity: high\n#   target: [model]\n"
            f"package t.runaway\n\nimport rego.v1\n\n{body}\n")


def run(gavel, project, body: str, limits: str):
    config = ("evidence:\n  - {path: models/*.yaml, kind: model}\npolicies:\n  paths: [policies]\n"
              f"limits:\n{limits}")
    root = project({"models/a.yaml": model_card("a"), "models/b.yaml": model_card("b"),
                    "policies/ok.yaml": OK_POLICY, "policies/runaway.rego": rego(body)}, config=config)
    started = time.monotonic()
    result = gavel("check", root, "-o", "json", "--now", NOW)
    elapsed = time.monotonic() - started
    assert result.exit_code == 1, result.output
    findings = json.loads(result.stdout)["findings"]
    by = {(f["policy"], f["subject"]["id"]): f for f in findings}
    assert by[("has-owner", "a")]["status"] == by[("has-owner", "b")]["status"] == "pass"
    runaway = [by[("runaway", s)] for s in ("a", "b")]
    assert [f["status"] for f in runaway] == ["error", "error"]
    return runaway, elapsed


def test_a_slow_rule_misses_the_deadline(gavel, project):
    body = 'deny contains "x" if {\n\tsome i in numbers.range(1, 20000)\n\tsome j in numbers.range(1, 20000)\n\ti + j < 0\n}'
    runaway, elapsed = run(gavel, project, body, "  eval_seconds: 1\n")
    assert "did not finish within 1 s (limits.eval_seconds" in runaway[0]["message"]
    assert elapsed < 30  # 400M iterations would take minutes unbounded


def test_a_huge_comprehension_hits_the_memory_limit(gavel, project):
    body = 'deny contains "x" if count([i | some i in numbers.range(1, 100000000)]) < 0'
    runaway, _ = run(gavel, project, body, "  eval_memory_mb: 256\n  eval_seconds: 60\n")
    assert "limits.eval_memory_mb" in runaway[0]["message"]


@pytest.mark.parametrize("body", [
    'deny contains concat("", [s | some _ in numbers.range(1, 5000); s := "0123456789"])',  # one 50 kB message
    'deny contains sprintf("message %d", [i]) if some i in numbers.range(1, 5000)',  # 5,000 messages
])
def test_output_over_the_cap_is_an_error(gavel, project, body):
    runaway, _ = run(gavel, project, body, "  eval_output_bytes: 20000\n")
    assert "over the limit of 20,000 (limits.eval_output_bytes" in runaway[0]["message"]


def test_output_under_the_cap_is_judged(gavel, project, tmp_path):
    config = ("evidence:\n  - {path: models/*.yaml, kind: model}\npolicies:\n  paths: [policies]\n"
              "limits:\n  eval_output_bytes: 200000\n")
    body = 'deny contains sprintf("message %d", [i]) if some i in numbers.range(1, 500)'
    root = project({"models/a.yaml": model_card("a"), "policies/runaway.rego": rego(body)}, config=config)
    result = gavel("check", root, "-o", "json", "--now", NOW)
    statuses = {f["status"] for f in json.loads(result.stdout)["findings"]}
    assert statuses == {"fail"}
