"""SARIF that GitHub code scanning accepts at any size (issue 13.3), validated against the
official SARIF 2.1.0 schema (tests/fixtures/report/sarif-schema-2.1.0.json, from OASIS)."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest

from engine import URLS
from engine.report import render
from engine.report.sarif import MAX_LOCATIONS, fingerprints

from .conftest import make_report

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "report"
SEVERITIES = ["critical", "high", "medium", "low", "info"]


@pytest.fixture(scope="module")
def validator():
    schema = json.loads((FIXTURES / "sarif-schema-2.1.0.json").read_text())
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


def _many(n: int, *, policies: int = 7, subjects: int | None = None):
    """A report with ``n`` extra problems (fail/warn/error/waived) spread over policies and subjects."""
    report = make_report()
    template = next(f for f in report.findings if f.status == "fail")
    waived = next(f for f in report.findings if f.status == "waived")
    subjects = subjects or n
    extra = []
    for i in range(n):
        base = waived if i % 11 == 0 else template
        status = "waived" if i % 11 == 0 else ["fail", "warn", "error"][i % 3]
        extra.append(replace(base, policy=f"p{i % policies}", status=status, severity=SEVERITIES[i % 5],
                             subject=replace(base.subject, id=f"model-{i % subjects:05d}"),
                             message=f"problem {i // subjects} on model-{i % subjects:05d}: used {i % 97}%"))
    report.findings.extend(extra)
    return report


def _problems(report) -> int:
    return sum(1 for f in report.findings if f.status in ("fail", "warn", "error", "waived"))


def test_only_problems_go_in_waived_as_suppressed(validator):
    report = make_report()
    run = json.loads(render(report, "sarif"))["runs"][0]
    assert not list(validator.iter_errors({"version": "2.1.0", "runs": [run]}))
    statuses = [r["properties"]["status"] for r in run["results"]]
    assert sorted(statuses) == sorted(f.status for f in report.findings if f.status in ("fail", "warn", "error", "waived"))
    for r in run["results"]:
        assert r["kind"] == "fail"
        if r["properties"]["status"] == "waived":
            (suppression,) = r["suppressions"]
            assert suppression["status"] == "accepted" and "Batch | weekly" in suppression["justification"]
        else:
            assert "suppressions" not in r


def test_tool_and_rules_carry_information_and_help():
    run = json.loads(render(make_report(), "sarif"))["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["informationUri"] == URLS["Homepage"]
    for rule in driver["rules"]:
        assert rule["help"]["text"] and rule["help"]["markdown"], rule["id"]
        assert rule["helpUri"].startswith("https://"), rule["id"]
        assert len(rule["properties"]["tags"]) <= 20
    rules = {r["id"]: r for r in driver["rules"]}
    assert "Describe who oversees the model." in rules["human-oversight"]["help"]["text"]
    assert rules["gavel-evidence"]["helpUri"].endswith("reports.md#gavels-own-findings")


def test_builtin_policy_help_points_at_its_source():
    from engine.report.sarif import help_uri

    assert help_uri("gdpr-dpia", "<gdpr>/dpia-approved.yaml", "0.1.0") == \
        f"{URLS['Repository']}/blob/v0.1.0/policies/gdpr/dpia-approved.yaml"


def test_fingerprints_unique_and_stable():
    report = _many(3000, subjects=500)  # six findings of one policy on one subject, messages differing
    problems = [f for f in report.findings if f.status in ("fail", "warn", "error", "waived")]
    prints = fingerprints(problems)
    assert len(set(prints)) == len(prints)
    # Stable: the same findings in another order, and numbers that moved, keep their values.
    shuffled = problems[:]
    random.Random(7).shuffle(shuffled)
    again = dict(zip(map(id, shuffled), fingerprints(shuffled), strict=True))
    one = problems[5]
    moved = replace(one, message=one.message.replace("used", "used 1"))
    assert fingerprints([moved]) == fingerprints([one])  # only digits changed: the same alert
    changed = replace(one, message="a different problem")
    assert fingerprints([changed]) != fingerprints([one])
    # Order-independence where no two findings share a key (the ordinal only breaks exact ties).
    unique = [f for f, p in zip(problems, prints, strict=True) if again[id(f)] == p]
    assert len(unique) > len(problems) * 0.9
    log = json.loads(render(report, "sarif"))
    values = [r["partialFingerprints"]["gavelFinding/v2"] for r in log["runs"][0]["results"]]
    assert len(set(values)) == len(values)


def test_at_most_25000_results_aggregated_per_policy_with_count_and_pointer(validator):
    report = _many(30_000, policies=9, subjects=2_500)
    text = render(report, "sarif", full_report="reports/gavel.json")
    log = json.loads(text)
    assert not list(validator.iter_errors(log))
    results = log["runs"][0]["results"]
    assert len(results) <= 25_000
    aggregates = [r for r in results if r["properties"].get("aggregate")]
    assert aggregates and len({r["ruleId"] for r in aggregates}) == len(aggregates)  # one per policy
    single = len(results) - len(aggregates)
    assert single + sum(r["properties"]["count"] for r in aggregates) == _problems(report)  # nothing lost
    for r in aggregates:
        assert "see reports/gavel.json" in r["message"]["text"]
        assert 1 <= len(r["locations"]) <= MAX_LOCATIONS
    # The most serious problems are the ones listed one by one: every error is a single result.
    assert not any(r["properties"]["by_status"].get("error") for r in aggregates)
    assert all(len(r["locations"]) <= MAX_LOCATIONS for r in results)


def test_small_limit_still_valid(validator):
    report = _many(200, policies=3)
    log = json.loads(render(report, "sarif", max_results=50))
    assert not list(validator.iter_errors(log))
    results = log["runs"][0]["results"]
    assert len(results) <= 50
    assert sum(r["properties"].get("count", 1) for r in results) == _problems(report)


def test_schema_validation_is_real(validator):
    log = json.loads(render(make_report(), "sarif"))
    log["runs"][0]["results"][0]["suppressions"] = [{"kind": "sometimes"}]
    assert list(validator.iter_errors(log))


def _multitool():
    """Microsoft's SARIF Multitool (npm @microsoft/sarif-multitool; .ci/run installs it), or None."""
    import os
    import shutil

    candidates = [os.environ.get("GAVEL_SARIF_MULTITOOL"), shutil.which("Sarif.Multitool"),
                  str(Path(__file__).resolve().parents[2] / ".ci-tools/node_modules/@microsoft/sarif-multitool-linux/"
                      "Sarif.Multitool")]
    return next((c for c in candidates if c and Path(c).is_file()), None)


@pytest.mark.parametrize("size", [0, 30_000])
def test_github_rules_of_the_sarif_multitool(tmp_path, size):
    """The Multitool's SARIF and GitHub ingestion rules (Gh, Ghas: result and location limits,
    required properties) find nothing, for a small report and one past the 25,000-result limit."""
    import subprocess

    tool = _multitool()
    if tool is None:
        pytest.skip("Microsoft's SARIF Multitool is not installed (npm install @microsoft/sarif-multitool; "
                    ".ci/run installs it)")
    log = tmp_path / "gavel.sarif"
    log.write_text(render(_many(size, policies=9, subjects=2_500) if size else make_report(), "sarif"))
    out = tmp_path / "validation.sarif"
    run = subprocess.run([tool, "validate", "--rule-kind", "Gh;Ghas;Sarif", "--max-file-size-in-kb", "200000",
                          "-o", str(out), str(log)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    problems = json.loads(out.read_text())["runs"][0]["results"]
    assert problems == [], [(p["ruleId"], p["message"]) for p in problems[:5]]
