"""Each YAML operator, compiled to Rego and evaluated on the embedded engine."""

import json

import pytest

from tests.core.helpers import judge, yaml_policy_set


def policy(condition: dict, *, when: dict | None = None, params: dict | None = None) -> str:
    doc = {"id": "p", "title": "T", "severity": "high", "target": "model", "assert": condition}
    if when:
        doc["when"] = when
    if params:
        doc["params"] = params
    return json.dumps(doc)


CASES = [
    # (condition, subject card, expected status)
    ({"field": "subject.risk", "equals": "high"}, {"risk": "high"}, "pass"),
    ({"field": "subject.risk", "equals": "high"}, {"risk": "low"}, "fail"),
    ({"field": "subject.risk", "equals": "high"}, {}, "fail"),
    ({"field": "subject.risk", "not_equals": "high"}, {"risk": "low"}, "pass"),
    ({"field": "subject.risk", "not_equals": "high"}, {}, "fail"),  # missing satisfies nothing
    ({"field": "subject.risk", "in": ["a", "b"]}, {"risk": "b"}, "pass"),
    ({"field": "subject.risk", "in": ["a", "b"]}, {"risk": "c"}, "fail"),
    ({"field": "subject.risk", "not_in": ["a"]}, {"risk": "c"}, "pass"),
    ({"field": "subject.risk", "not_in": ["a"]}, {}, "fail"),
    ({"field": "subject.tags", "contains": "pii"}, {"tags": ["x", "pii"]}, "pass"),
    ({"field": "subject.tags", "contains": "pii"}, {"tags": ["x"]}, "fail"),
    ({"field": "subject.text", "contains": "ab"}, {"text": "xaby"}, "pass"),
    ({"field": "subject.tags", "not_contains": "pii"}, {"tags": ["x"]}, "pass"),
    ({"field": "subject.tags", "not_contains": "pii"}, {}, "fail"),
    ({"field": "subject.auc", "gte": 0.8}, {"auc": 0.8}, "pass"),
    ({"field": "subject.auc", "gt": 0.8}, {"auc": 0.8}, "fail"),
    ({"field": "subject.auc", "lt": 0.8}, {"auc": "0.1"}, "fail"),  # a string is not a number
    ({"field": "subject.auc", "lte": 0.8}, {"auc": 0.5}, "pass"),
    ({"field": "subject.version", "gte": "2.0"}, {"version": "2.1"}, "pass"),
    ({"field": "subject.email", "matches": "^[^@]+@bank\\.example$"}, {"email": "a@bank.example"}, "pass"),
    ({"field": "subject.email", "matches": "^[^@]+@bank\\.example$"}, {"email": "a@evil.example"}, "fail"),
    ({"field": "subject.email", "matches": "x"}, {"email": 5}, "fail"),
    ({"field": "subject.dpia", "exists": True}, {"dpia": {"status": "x"}}, "pass"),
    ({"field": "subject.dpia", "exists": True}, {"dpia": None}, "fail"),
    ({"field": "subject.dpia", "exists": False}, {}, "pass"),
    ({"field": "subject.flag", "exists": True}, {"flag": False}, "pass"),  # false is a value
    ({"field": "subject.uses", "empty": True}, {"uses": []}, "pass"),
    ({"field": "subject.uses", "empty": True}, {}, "pass"),
    ({"field": "subject.uses", "empty": False}, {"uses": ["x"]}, "pass"),
    ({"field": "subject.uses", "empty": False}, {"uses": ""}, "fail"),
    ({"field": "subject.uses", "min_length": 2}, {"uses": ["a", "b"]}, "pass"),
    ({"field": "subject.uses", "min_length": 2}, {"uses": ["a"]}, "fail"),
    ({"field": "subject.uses", "max_length": 1}, {"uses": ["a", "b"]}, "fail"),
    ({"field": "subject.description", "min_length": 5}, {"description": "long enough"}, "pass"),
    ({"field": "subject.last_review", "max_age_days": 30}, {"last_review": "2026-11-01"}, "pass"),
    ({"field": "subject.last_review", "max_age_days": 30}, {"last_review": "2026-01-01"}, "fail"),
    ({"field": "subject.last_review", "max_age_days": 30}, {"last_review": "2026-11-20T10:00:00Z"}, "pass"),
    ({"field": "subject.last_review", "max_age_days": 30}, {"last_review": "not a date"}, "fail"),
    ({"field": "subject.created", "min_age_days": 365}, {"created": "2020-01-01"}, "pass"),
    ({"field": "subject.m", "every": {"field": "value", "lte": 0.1}}, {"m": [{"value": 0.05}, {"value": 0.1}]}, "pass"),
    ({"field": "subject.m", "every": {"field": "value", "lte": 0.1}}, {"m": [{"value": 0.05}, {"value": 0.2}]}, "fail"),
    ({"field": "subject.m", "every": {"field": "value", "lte": 0.1}}, {"m": []}, "pass"),
    ({"field": "subject.m", "every": {"field": "value", "lte": 0.1}}, {}, "fail"),
    ({"field": "subject.m", "some": {"field": "name", "equals": "auc"}}, {"m": [{"name": "f1"}, {"name": "auc"}]}, "pass"),
    ({"field": "subject.m", "some": {"field": "name", "equals": "auc"}}, {"m": [{"name": "f1"}]}, "fail"),
    ({"field": "subject.m", "none": {"field": "name", "equals": "auc"}}, {"m": [{"name": "f1"}]}, "pass"),
    ({"field": "subject.m", "none": {"field": "name", "equals": "auc"}}, {"m": [{"name": "auc"}]}, "fail"),
    ({"field": "subject.tags", "some": {"field": "@", "matches": "^region:"}}, {"tags": ["pii", "region:eu"]}, "pass"),
    ({"all": [{"field": "subject.a", "equals": 1}, {"field": "subject.b", "equals": 2}]}, {"a": 1, "b": 3}, "fail"),
    ({"any": [{"field": "subject.a", "equals": 1}, {"field": "subject.b", "equals": 2}]}, {"a": 0, "b": 2}, "pass"),
    ({"not": {"field": "subject.a", "equals": 1}}, {"a": 2}, "pass"),
    ({"not": {"field": "subject.a", "equals": 1}}, {"a": 1}, "fail"),
    ({"field": "subject[\"model-index\"].0.name", "equals": "x"}, {"model-index": [{"name": "x"}]}, "pass"),
    ({"field": "id", "equals": "m1"}, {"id": "m1"}, "pass"),
]


@pytest.mark.parametrize(("condition", "card", "expected"), CASES, ids=[f"{i}" for i in range(len(CASES))])
def test_operator(condition, card, expected):
    card = {"id": "m1", **card}
    (finding,) = judge(yaml_policy_set(policy(condition)), [card])
    assert finding.status == expected, finding


def test_when_false_skips():
    text = policy({"field": "subject.dpia.status", "equals": "approved"}, when={"field": "subject.risk", "equals": "high"})
    low, high = judge(yaml_policy_set(text), [{"id": "a", "risk": "low"}, {"id": "b", "risk": "high"}])
    assert (low.status, high.status) == ("skip", "fail")


def test_params_defaults_and_overrides():
    text = policy({"field": "subject.auc", "gte": {"param": "min_auc"}}, params={"min_auc": 0.7})
    card = {"id": "m", "auc": 0.75}
    assert judge(yaml_policy_set(text), [card])[0].status == "pass"
    assert judge(yaml_policy_set(text, params={"p": {"min_auc": 0.8}}), [card])[0].status == "fail"


def test_failure_names_condition_expected_and_actual():
    text = json.dumps({
        "id": "p", "title": "T", "severity": "high", "target": "model",
        "assert": {"all": [{"field": "subject.dpia.status", "equals": "approved"},
                           {"field": "subject.owner", "exists": True},
                           {"field": "subject.m", "every": {"field": "value", "lte": 0.1}}]},
        "message": "{{ id }} has DPIA {{ subject.dpia.status }} and 100% of {{ subject.nope }}",
    })
    (finding,) = judge(yaml_policy_set(text), [{"id": "m9", "owner": "x", "dpia": {"status": "pending"},
                                                "m": [{"value": 0.5}, {"value": 0.01}]}])
    assert finding.status == "fail"
    assert finding.message == "m9 has DPIA pending and 100% of <missing>"
    failed = {f["field"]: f for f in finding.evidence["failed"]}
    assert set(failed) == {"subject.dpia.status", "subject.m"}  # the owner condition held
    assert failed["subject.dpia.status"]["expected"] == "approved"
    assert failed["subject.dpia.status"]["actual"] == "pending"
    assert failed["subject.m"]["actual"] == [{"value": 0.5}]  # the offending items


def test_warn_level():
    text = json.dumps({"id": "p", "title": "T", "severity": "low", "target": "model", "level": "warn",
                       "assert": {"field": "subject.x", "exists": True}})
    assert judge(yaml_policy_set(text), [{"id": "m"}])[0].status == "warn"
