"""Two cards with one id: both are errors naming each other, and neither is judged (never a silent pick)."""

from __future__ import annotations

import json

from tests.conftest import model_card

CONFIG = """\
evidence:
  - {path: "models/**/*.yaml", kind: model}
  - {path: "datasets/*.yaml", kind: dataset}
policies:
  paths: [policies]
now: "2026-11-26"
"""
POLICY = ("id: dpia-approved\ntitle: DPIA approved\nseverity: high\ntarget: [model]\n"
          "assert: {field: subject.dpia.status, equals: approved}\n")


def test_duplicate_model_ids_are_errors_on_both_files_and_neither_is_judged(gavel, project):
    """Before, the file that sorted first was judged (here the approved one: a pass) and the other
    was only reported as "the duplicate"; which card is canonical cannot be told from file names."""
    root = project({
        "models/a/scorer.yaml": model_card("scorer", extra="dpia: {status: approved}\n"),
        "models/b/scorer.yaml": model_card("scorer", extra="dpia: {status: not_started}\n"),
        "models/other.yaml": model_card("other", extra="dpia: {status: approved}\n"),
        "policies/dpia.yaml": POLICY,
    }, config=CONFIG)
    result = gavel("check", root, "-o", "json")
    assert result.exit_code == 1
    findings = json.loads(result.stdout)["findings"]
    scorer = sorted((f for f in findings if f["subject"]["id"] == "scorer"), key=lambda f: f["subject"]["source"]["file"])
    assert [(f["status"], f["policy"], f["subject"]["source"]["file"]) for f in scorer] == [
        ("error", "gavel-evidence", "models/a/scorer.yaml"), ("error", "gavel-evidence", "models/b/scorer.yaml")]
    assert scorer[0]["message"] == ("duplicate model id 'scorer' (also declared in models/b/scorer.yaml:1): "
                                    "neither card is judged until one is renamed or removed")
    assert "models/a/scorer.yaml:1" in scorer[1]["message"]
    assert [f["status"] for f in findings if f["subject"]["id"] == "other"] == ["pass"]
    text = gavel("check", root).output
    assert "models/a/scorer.yaml" in text and "models/b/scorer.yaml" in text and "Traceback" not in text


def test_duplicate_dataset_ids_leave_no_card_to_trust(gavel, project):
    root = project({
        "datasets/one.yaml": "id: raw.x\nowner: t\nlegal_basis: contract\n",
        "datasets/two.yaml": "id: raw.x\nowner: t\n",
        "datasets/three.yaml": "id: RAW.X\nowner: t\n",  # one table to lineage
        "models/m.yaml": model_card("m", extra="dpia: {status: approved}\n"),
        "policies/dpia.yaml": POLICY,
    }, config=CONFIG)
    result = gavel("check", root, "-o", "json")
    assert result.exit_code == 1
    errors = sorted((f for f in json.loads(result.stdout)["findings"] if f["subject"]["id"].lower() == "raw.x"),
                    key=lambda f: f["subject"]["source"]["file"])
    assert [f["subject"]["source"]["file"] for f in errors] == ["datasets/one.yaml", "datasets/three.yaml",
                                                               "datasets/two.yaml"]
    assert all(f["status"] == "error" for f in errors)
    assert "also declared in datasets/three.yaml:1, datasets/two.yaml:1" in errors[0]["message"]
