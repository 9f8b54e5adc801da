"""``gavel check`` end to end, as a user runs it."""

import json
import subprocess
import sys

import pytest

from tests.conftest import EXAMPLES, ROOT, model_card


def test_examples_gate_fails_on_the_planted_problems(gavel):
    result = gavel("check", EXAMPLES, "--no-color")
    assert result.exit_code == 1
    out = result.stdout
    assert "FAIL   high     high-risk-dpia-approved: Credit limit optimizer is high risk but its DPIA is in_progress" in out
    assert "subject.dpia.status equals \"approved\": expected \"approved\", actual \"in_progress\"" in out
    assert "support-assistant talks to customers without disclosing that it is an AI system" in out
    assert "Gate FAILED (fail-on" in out


def test_json_report_is_valid_and_deterministic(gavel, tmp_path):
    import jsonschema

    first, second = tmp_path / "a.json", tmp_path / "b.json"
    assert gavel("check", EXAMPLES, "-o", f"json={first}").exit_code == 1
    assert gavel("check", EXAMPLES, "-o", f"json={second}", "-o", "text").exit_code == 1
    assert first.read_bytes() == second.read_bytes()
    report = json.loads(first.read_text())
    schema = json.loads((ROOT / "schemas/report.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(report)
    assert report["run"]["now"] == "2026-11-26T00:00:00Z"
    assert all(len(i["sha256"]) == 64 for i in report["inputs"])
    assert report["summary"]["by_status"]["fail"] == sum(f["status"] == "fail" for f in report["findings"])


def test_now_changes_the_run_id_not_the_verdicts(gavel):
    a = json.loads(gavel("check", EXAMPLES, "-o", "json", "--now", "2026-11-26").stdout)
    b = json.loads(gavel("check", EXAMPLES, "-o", "json", "--now", "2027-06-01T12:00:00+02:00").stdout)
    assert b["run"]["now"] == "2027-06-01T10:00:00Z" and a["run"]["id"] != b["run"]["id"]
    # a year later, models reviewed in 2026 are overdue: the review-recency warnings grow
    warns = lambda r: sum(f["status"] == "warn" and f["policy"] == "model-review-recency" for f in r["findings"])  # noqa: E731
    assert warns(b) > warns(a)


def test_report_schema_file_matches_the_code():
    from engine.cli.schema import report_schema

    assert json.loads((ROOT / "schemas/report.schema.json").read_text()) == report_schema()


@pytest.mark.parametrize(("args", "code"), [
    (["--fail-on", "critical", "--disable", "privacy-budget-exceeded"], 0),
    (["--fail-on", "critical"], 1),  # the overspent budget is critical
    (["--soft-fail"], 0),
    (["--fail-on", "high"], 1),
])
def test_gate_options(gavel, args, code):
    result = gavel("check", EXAMPLES, *args)
    assert result.exit_code == code
    if "--soft-fail" in args:
        assert "Gate FAILED (soft-fail: exit 0)" in result.stdout


def test_on_call_subject_filter(gavel):
    result = gavel("check", EXAMPLES, "--subject", "credit-scoring-v3", "-v", "--no-color")
    assert result.exit_code == 0, result.stdout
    assert "model credit-scoring-v3" in result.stdout and "income-estimator" not in result.stdout
    assert gavel("check", EXAMPLES, "--subject", "nope").exit_code == 2


def test_usage_errors_exit_2_with_one_line(gavel, tmp_path):
    result = gavel("check", EXAMPLES, "-o", "sarf=x.sarif")
    assert result.exit_code == 2 and result.stderr == "Error: unknown output format 'sarf'. Did you mean sarif?\n"
    result = gavel("check", tmp_path / "missing")
    assert result.exit_code == 2 and "no such file or directory" in result.stderr
    result = gavel("check", EXAMPLES, "--pack", "gpdr")
    assert result.exit_code == 2 and "unknown policy pack 'gpdr'" in result.stderr
    result = gavel("check", EXAMPLES, "--now", "yesterday")
    assert result.exit_code == 2 and "--now" in result.stderr


def test_set_and_param_overrides(gavel):
    strict = gavel("check", EXAMPLES, "-o", "json", "--param", "model-review-recency.max_age_days=30")
    report = json.loads(strict.stdout)
    assert sum(f["policy"] == "model-review-recency" and f["status"] == "warn" for f in report["findings"]) >= 5
    lenient = json.loads(gavel("check", EXAMPLES, "-o", "json", "--set", "policies.disable=[model-review-*]").stdout)
    assert not any(f["policy"] == "model-review-recency" for f in lenient["findings"])


def test_engine_error_is_an_error_finding_not_a_crash(gavel, project):
    rego = ("# METADATA\n# custom:\n#   id: numeric-name\n#   target: [model]\npackage t.num\n\nimport rego.v1\n\n"
            "deny contains \"small\" if to_number(input.subject.name) < 1\n")
    root = project({"models/a.yaml": model_card("a"), "policies/num.rego": rego,
                    "policies/ok.yaml": "id: ok\ntitle: T\nseverity: low\ntarget: model\n"
                                        "assert: {field: subject.name, exists: true}\n"})
    result = gavel("check", root, "-o", "json")
    report = json.loads(result.stdout)
    by_policy = {f["policy"]: f for f in report["findings"]}
    assert by_policy["numeric-name"]["status"] == "error"
    assert "could not be evaluated" in by_policy["numeric-name"]["message"]
    assert by_policy["ok"]["status"] == "pass"  # the other policy on the same subject still ran
    assert result.exit_code == 1


def test_console_script_runs(tmp_path):
    out = subprocess.run([sys.executable, "-m", "engine.cli", "check", str(EXAMPLES), "-o", "json"],
                         capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 1 and json.loads(out.stdout)["gate"]["passed"] is False
    assert out.stderr == ""


def test_parallel_workers_give_the_same_findings(project):
    from engine.check import run_check
    from engine.config import load_config

    files = {f"models/m{i:04d}.yaml": model_card(f"m{i:04d}", risk=("high" if i % 3 else "minimal"),
                                                  extra="" if i % 5 else "dpia: {status: approved, approver: x}\n")
             for i in range(2100)}
    files["policies/dpia.yaml"] = (EXAMPLES / "policies/high-risk-dpia.yaml").read_text()
    root = project(files)
    one = run_check(load_config(root, settings={"engine.workers": 1}), now="2026-11-26")
    two = run_check(load_config(root, settings={"engine.workers": 2}), now="2026-11-26")
    assert one.to_json() == two.to_json()
    assert one.summary.by_status["fail"] > 1000
