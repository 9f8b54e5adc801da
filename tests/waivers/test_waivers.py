"""Waiver rules: valid → waived, expired → still fails and says so, invalid → error, unused → stale."""

from __future__ import annotations

import json
import textwrap

import pytest

from tests.conftest import EXAMPLES, NOW, model_card

CONFIG = """\
evidence:
  - {path: models/*.yaml, kind: model}
policies: {paths: [policies]}
waivers: waivers.yaml
gate: {fail_on: low}
now: "2026-11-26T00:00:00Z"
"""

POLICY = """\
id: has-owner-email
title: Models name an owner e-mail
severity: high
target: model
assert:
  field: subject.owner
  matches: "@"
message: "{{id}} has no owner e-mail"
"""

WAIVER = dict(id="W-1", policy="has-owner-email", subject="m1", reason="Team mailbox being created.",
              owner="team-a@bank.example", approver="risk@bank.example", expires="2026-12-31")


def waivers_yaml(*entries: dict) -> str:
    return json.dumps({"version": 1, "waivers": list(entries)}, indent=2)  # JSON is YAML


@pytest.fixture
def run(gavel, project):
    def go(waivers: str, *extra_args: str, models=("m1",)):
        files = {f"models/{m}.yaml": model_card(m) for m in models}
        files["policies/owner.yaml"] = POLICY
        files["waivers.yaml"] = waivers
        root = project(files, config=CONFIG)
        result = gavel("check", root, "-o", "json", *extra_args)
        assert result.exit_code in (0, 1), result.stderr
        return result.exit_code, json.loads(result.stdout)

    return go


def by(report, policy, sid):
    return [f for f in report["findings"] if f["policy"] == policy and f["subject"]["id"] == sid]


def test_valid_waiver_waives_and_stays_in_report(run):
    code, report = run(waivers_yaml(WAIVER))
    [f] = by(report, "has-owner-email", "m1")
    assert f["status"] == "waived"
    assert f["waiver"] == {"id": "W-1", "policy": "has-owner-email", "subject": "m1",
                           "reason": "Team mailbox being created.", "owner": "team-a@bank.example",
                           "approver": "risk@bank.example", "expires": "2026-12-31"}
    assert code == 0  # waived findings never fail the gate
    assert report["extra"]["waivers"]["applied"][0]["key"] == "W-1"


def test_waiver_applies_through_its_expiry_day(run):
    code, report = run(waivers_yaml({**WAIVER, "expires": "2026-11-26"}))
    assert by(report, "has-owner-email", "m1")[0]["status"] == "waived"


def test_expired_waiver_no_longer_applies_and_says_so(run):
    code, report = run(waivers_yaml({**WAIVER, "expires": "2026-11-25"}))
    [f] = by(report, "has-owner-email", "m1")
    assert f["status"] == "fail" and code == 1
    assert f["message"].endswith("(waiver W-1 expired on 2026-11-25)")
    assert f["evidence"]["expired_waiver"]["id"] == "W-1"
    assert report["extra"]["waivers"]["expired"][0]["key"] == "W-1"
    assert report["extra"]["waivers"]["stale"] == []  # expired but still matching: not stale


def test_globs_and_kind(run):
    glob = {**WAIVER, "policy": "has-*", "subject": "m[12]"}
    code, report = run(waivers_yaml(glob), models=("m1", "m2", "m3"))
    status = {f["subject"]["id"]: f["status"] for f in report["findings"] if f["policy"] == "has-owner-email"}
    assert status == {"m1": "waived", "m2": "waived", "m3": "fail"}
    code, report = run(waivers_yaml({**WAIVER, "kind": "dataset"}))
    assert by(report, "has-owner-email", "m1")[0]["status"] == "fail"


@pytest.mark.parametrize("missing", ["owner", "approver", "expires", "reason", "policy", "subject"])
def test_waiver_without_required_field_is_an_error(run, missing):
    entry = {k: v for k, v in WAIVER.items() if k != missing}
    code, report = run(waivers_yaml(entry))
    assert code == 1  # fail closed
    [err] = by(report, "gavel-waivers", "W-1")
    assert err["status"] == "error" and err["subject"]["kind"] == "waiver"
    assert f"'{missing}' is a required property" in err["message"]
    assert err["subject"]["source"]["file"] == "waivers.yaml" and err["subject"]["source"]["line"] >= 3
    assert by(report, "has-owner-email", "m1")[0]["status"] == "fail"  # an invalid waiver waives nothing


@pytest.mark.parametrize("bad, text", [
    ({"expires": "2026-02-30"}, "2026-02-30"),
    ({"expires": "next year"}, "expires"),
    ({"colour": "red"}, "colour"),
    ({"owner": ""}, "owner"),
    ({"approver": " "}, "field 'approver': ' ' is blank"),  # a blank approver approved nothing
    ({"owner": "\t\n"}, "field 'owner': '\\t\\n' is blank"),
    ({"reason": "   "}, "field 'reason': '   ' is blank"),
])
def test_bad_values_are_errors(run, bad, text):
    code, report = run(waivers_yaml({**WAIVER, **bad}))
    [err] = by(report, "gavel-waivers", "W-1")
    assert err["status"] == "error" and text in err["message"]


def test_other_valid_waivers_still_apply(run):
    bad = {k: v for k, v in WAIVER.items() if k != "approver"} | {"id": "W-2", "subject": "m2"}
    code, report = run(waivers_yaml(WAIVER, bad), models=("m1", "m2"))
    assert by(report, "has-owner-email", "m1")[0]["status"] == "waived"
    assert by(report, "has-owner-email", "m2")[0]["status"] == "fail"
    assert by(report, "gavel-waivers", "W-2")[0]["status"] == "error"


def test_line_numbers_in_yaml(run):
    text = textwrap.dedent("""\
        waivers:
          - id: W-1
            policy: has-owner-email
            subject: m1
            reason: r
            owner: o
            expires: 2026-12-31
        """)
    code, report = run(text)
    [err] = by(report, "gavel-waivers", "W-1")
    assert err["subject"]["source"] == {"file": "waivers.yaml", "line": 2}
    assert "approver" in err["message"]


@pytest.mark.parametrize("text, message", [
    ("waivers: [unclosed", "invalid YAML"),
    ("- just a list", "must be a mapping with a 'waivers' list"),
    ("waivers: []\nextra: 1", "extra"),
])
def test_broken_file_is_one_error(run, text, message):
    code, report = run(text)
    errors = [f for f in report["findings"] if f["policy"] == "gavel-waivers"]
    assert len(errors) == 1 and errors[0]["status"] == "error" and message in errors[0]["message"]
    assert code == 1


def test_missing_file_is_an_error(gavel, project):
    root = project({"models/m1.yaml": model_card("m1"), "policies/owner.yaml": POLICY}, config=CONFIG)
    result = gavel("check", root, "-o", "json")
    report = json.loads(result.stdout)
    [err] = [f for f in report["findings"] if f["policy"] == "gavel-waivers"]
    assert "waivers file not found" in err["message"] and result.exit_code == 1


def test_stale_waiver_is_reported_as_warning(run):
    stale = {**WAIVER, "id": "W-9", "subject": "gone-model"}
    code, report = run(waivers_yaml(WAIVER, stale))
    [warn] = by(report, "gavel-waivers", "W-9")
    assert warn["status"] == "warn" and "stale waiver W-9" in warn["message"]
    assert [w["key"] for w in report["extra"]["waivers"]["stale"]] == ["W-9"]
    assert code == 0  # a stale waiver alone does not fail the gate...
    code, _ = run(waivers_yaml(WAIVER, stale), "--fail-on-warn")
    assert code == 1  # ...unless warnings do


def test_a_subject_run_calls_stale_only_the_waivers_of_its_subjects(run):
    """``--subject m1`` judged m1 alone: a waiver of m2's failure is not stale, one of m1 that
    matches nothing still is."""
    of_m2 = {**WAIVER, "id": "W-2", "subject": "m2"}
    of_m1 = {**WAIVER, "id": "W-3", "policy": "another-policy"}
    waivers = waivers_yaml(of_m2, of_m1)
    _, whole = run(waivers, models=("m1", "m2"))
    assert [w["key"] for w in whole["extra"]["waivers"]["stale"]] == ["W-3"]  # W-2 waives m2's failure
    _, one = run(waivers, "--subject", "m1", models=("m1", "m2"))
    assert [w["key"] for w in one["extra"]["waivers"]["stale"]] == ["W-3"]
    assert by(one, "gavel-waivers", "W-2") == [] and by(one, "gavel-waivers", "W-3")
    _, other = run(waivers, "--subject", "m2", models=("m1", "m2"))
    assert other["extra"]["waivers"]["stale"] == []  # W-3 names m1, which this run did not judge


def test_duplicate_ids_are_errors(run):
    code, report = run(waivers_yaml(WAIVER, {**WAIVER, "subject": "m2"}))
    assert any("duplicate waiver id W-1" in f["message"] for f in by(report, "gavel-waivers", "W-1"))


def test_errors_are_never_waived():
    from datetime import date

    from engine.findings import SubjectRef, error_finding
    from engine.waivers import Waiver, waive

    err = error_finding(policy="gavel-evidence", title="t", message="unreadable", kind="model", id="m1")
    w = Waiver(key="W", policy="*", subject="*", reason="r", owner="o", approver="a", expires="2099-01-01",
               file="w.yaml", line=1)
    out, info = waive([err], [w], today=date(2026, 1, 1), file="w.yaml")
    assert out[0].status == "error"
    assert info["stale"][0]["key"] == "W"
    assert isinstance(out[0].subject, SubjectRef)


def test_example_shows_valid_expired_and_stale(gavel):
    result = gavel("check", EXAMPLES, "--now", NOW)
    assert "WAIVED medium   production-monitoring" in result.stdout
    assert "(waiver RISK-097 expired on 2026-10-31)" in result.stdout
    assert "stale waiver RISK-081" in result.stdout


def test_waivers_schema_is_valid_json_schema():
    import jsonschema

    from engine.resources import schema_path

    schema = json.loads(schema_path("waivers").read_text())
    jsonschema.validators.validator_for(schema).check_schema(schema)
