"""Duplicate keys never win silently: in YAML and JSON, in every reader, an error names both lines.

Without the check, the second value replaced the first: a second ``dpia:`` block flipped two
high-severity fails to pass, a second ``expires:`` revived an expired waiver, a second ``gate:``
loosened the gate.
"""

from __future__ import annotations

import json
import textwrap

import pytest

from engine.errors import EvidenceError
from engine.evidence.loader import load_json, parse
from tests.conftest import model_card


def findings_of(result) -> list[dict]:
    return json.loads(result.stdout)["findings"]


def errors_for(findings: list[dict], file: str) -> list[dict]:
    return [f for f in findings if f["status"] == "error" and f["subject"]["source"]["file"] == file]


def line_of(path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if line.startswith(text))


def test_a_second_dpia_block_is_an_error_not_a_pass(gavel, example_copy):
    card = example_copy / "models/credit-limit-optimizer.yaml"
    first = line_of(card, "dpia:")
    card.write_text(card.read_text() + "dpia: {status: approved, approver: dpo@bank.example}\n")
    again = len(card.read_text().splitlines())
    result = gavel("check", example_copy, "-o", "json")
    assert result.exit_code == 1
    findings = findings_of(result)
    [error] = errors_for(findings, "models/credit-limit-optimizer.yaml")
    assert error["policy"] == "gavel-evidence"
    assert error["message"] == (f"duplicate key 'dpia' (first on line {first}, again on line {again}): "
                                "the second value would silently replace the first")
    assert error["subject"]["source"]["line"] == again
    # the model is not judged on either value: no pass for the DPIA policies
    judged = [f for f in findings if f["subject"]["id"] == "credit-limit-optimizer"
              and f["policy"] in ("high-risk-dpia-approved", "lineage-pii-dpia")]
    assert all(f["status"] != "pass" for f in judged)


def test_a_second_expires_on_a_waiver_is_an_error(gavel, example_copy):
    waivers = example_copy / "waivers.yaml"
    text = waivers.read_text()
    expired = "    expires: 2026-10-31\n"
    assert text.count(expired) == 1
    waivers.write_text(text.replace(expired, expired + "    expires: 2099-12-31\n"))
    first = line_of(waivers, "    expires: 2026-10-31")
    result = gavel("check", example_copy, "-o", "json")
    assert result.exit_code == 1
    findings = findings_of(result)
    [error] = errors_for(findings, "waivers.yaml")
    assert f"duplicate key 'expires' (first on line {first}, again on line {first + 1})" in error["message"]
    disclosure = [f for f in findings if f["policy"] == "ai-disclosure" and f["subject"]["id"] == "support-assistant"]
    assert [f["status"] for f in disclosure] == ["fail"]  # the expired waiver did not come back


def test_a_second_gate_in_the_config_stops_the_run(gavel, example_copy):
    config = example_copy / "gavel.yaml"
    first = line_of(config, "gate:")
    config.write_text(config.read_text() + "gate:\n  fail_on: critical\n  soft_fail: true\n")
    again = len(config.read_text().splitlines()) - 2
    result = gavel("check", example_copy)
    assert result.exit_code == 2
    assert f"gavel.yaml:{again}: duplicate key 'gate' (first on line {first}, again on line {again})" in result.stderr


def test_duplicate_keys_in_json_cards_name_both_lines(gavel, project):
    card = json.dumps({"id": "m1", "name": "M", "version": "1", "owner": "a", "risk_level": "high",
                       "lifecycle_stage": "production"}, indent=1)
    card = card.replace('"risk_level": "high"', '"risk_level": "high",\n "risk_level": "minimal"')
    root = project({"models/m1.json": card, "policies/p.yaml": POLICY})
    result = gavel("check", root, "-o", "json")
    assert result.exit_code == 1
    [error] = errors_for(findings_of(result), "models/m1.json")
    assert "duplicate key 'risk_level' (first on line 6, again on line 7)" in error["message"]


def test_duplicate_mlflow_tags_are_an_error(gavel, example_copy):
    export = example_copy / "adapters/card-fraud-scorer.mlflow.json"
    data = json.loads(export.read_text())
    tags = data["registered_model"]["tags"]
    tags.append({"key": "gavel.risk_level", "value": "minimal"})
    export.write_text(json.dumps(data, indent=2))
    result = gavel("check", example_copy, "-o", "json")
    [error] = errors_for(findings_of(result), "adapters/card-fraud-scorer.mlflow.json")
    assert "duplicate tag 'gavel.risk_level'" in error["message"] and "first on line" in error["message"]


def test_duplicate_keys_in_hugging_face_front_matter(gavel, example_copy):
    readme = example_copy / "adapters/support-intent-classifier/README.md"
    lines = readme.read_text().splitlines(keepends=True)
    lines.insert(5, "license: mit\n")  # after line 5 `license: apache-2.0`
    readme.write_text("".join(lines))
    result = gavel("check", example_copy, "-o", "json")
    [error] = errors_for(findings_of(result), "adapters/support-intent-classifier/README.md")
    assert "duplicate key 'license' (first on line 5, again on line 6)" in error["message"]
    assert error["subject"]["source"]["line"] == 6


def test_duplicate_keys_in_a_yaml_policy_stop_the_run(gavel, project):
    policy = POLICY + "severity: low\n"
    root = project({"models/m1.yaml": model_card("m1"), "policies/p.yaml": policy})
    result = gavel("check", root)
    assert result.exit_code == 2
    assert "policies/p.yaml:9: duplicate key 'severity' (first on line 3, again on line 9)" in result.stderr


def test_duplicate_keys_in_rego_metadata_stop_the_run(gavel, project):
    rego = textwrap.dedent("""\
        # METADATA
        # title: Owner set
        # custom:
        #   id: owner-set
        #   severity: high
        #   severity: info
        #   target: model
        package owner_set

        deny contains msg if {
            not input.subject.owner
            msg := "no owner"
        }
        """)
    root = project({"models/m1.yaml": model_card("m1"), "policies/owner.rego": rego})
    result = gavel("check", root)
    assert result.exit_code == 2
    assert "owner.rego:6: invalid METADATA block: duplicate key 'severity' (first on line 5, again on line 6)" \
        in result.stderr


def test_duplicate_keys_in_lineage_sources(gavel, project):
    event = {"eventType": "COMPLETE", "eventTime": "2026-11-25T02:00:00Z", "producer": "https://x.example",
             "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
             "run": {"runId": "0193a1c2-5f00-7d3e-9a51-2b8f6c0e1a01"}, "job": {"namespace": "n", "name": "j"},
             "inputs": [{"namespace": "n", "name": "raw.a"}], "outputs": [{"namespace": "n", "name": "mart.b"}]}
    good = json.dumps(event)
    twice = good.replace('"name": "raw.a"', '"name": "raw.secret", "name": "raw.a"')
    manifest = '{"nodes": {}, "sources": {},\n "nodes": {}}'
    config = """\
        evidence: [{path: models/*.yaml, kind: model}]
        policies: {paths: [policies]}
        lineage:
          sources:
            - {type: openlineage, path: events.ndjson}
            - {type: dbt, path: manifest.json}
        """
    root = project({"models/m1.yaml": model_card("m1"), "policies/p.yaml": POLICY,
                    "events.ndjson": f"{good}\n{twice}\n", "manifest.json": manifest}, config=config)
    result = gavel("check", root, "-o", "json")
    findings = findings_of(result)
    [event_error] = errors_for(findings, "events.ndjson")
    assert event_error["subject"]["source"]["line"] == 2 and "duplicate key 'name'" in event_error["message"]
    [dbt_error] = errors_for(findings, "manifest.json")
    assert "duplicate key 'nodes' (first on line 1, again on line 2)" in dbt_error["message"]


POLICY = """\
id: has-owner
title: Models name an owner
severity: high
target: model
assert:
  field: subject.owner
  exists: true
message: "{{id}} has no owner"
"""


@pytest.mark.parametrize(("text", "name", "fragment", "line"), [
    ("a: 1\nb:\n  c: 1\n  c: 2\n", "x.yaml", "duplicate key 'c' (first on line 3, again on line 4)", 4),
    ("- {a: 1, a: 1}\n", "x.yaml", "duplicate key 'a' (first on line 1, again on line 1)", 1),
    ('{"a": [{"b": 1},\n {"b": 1, "b": 2}]}', "x.json", "duplicate key 'b' (first on line 2, again on line 2)", 2),
    ('{"a": 1,\n "\\u0061": 2}', "x.json", "duplicate key 'a' (first on line 1, again on line 2)", 2),
])
def test_duplicates_anywhere_in_the_tree(text, name, fragment, line):
    with pytest.raises(EvidenceError) as err:
        parse(text, name)
    assert fragment in err.value.message and err.value.line == line


def test_merge_keys_keep_yaml_semantics():
    """``<<`` merges are not duplicates: the explicit key wins, as YAML specifies."""
    assert parse("a: {<<: {x: 1, y: 1}, x: 2}\n", "x.yaml").data == {"a": {"x": 2, "y": 1}}


def test_json_lines_count_from_the_given_line():
    with pytest.raises(EvidenceError) as err:
        load_json('{"a": 1, "a": 2}', "l.jsonl", line=7)
    assert err.value.line == 7 and err.value.file == "l.jsonl"
