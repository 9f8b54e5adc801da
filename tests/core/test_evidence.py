"""Evidence files: each bad file becomes an error finding naming file, line and field; the run goes on."""

import json

from tests.conftest import model_card

CONFIG = """\
evidence:
  - {path: "models/*", kind: model}
  - {path: "datasets/*", kind: dataset}
policies:
  paths: [policies]
now: "2026-11-26"
"""
DATASET = "id: d\nowner: t\n"
POLICY = "id: has-owner\ntitle: Has owner\nseverity: low\ntarget: [model, dataset]\nassert: {field: subject.owner, exists: true}\n"


def run_json(gavel, root, *extra):
    result = gavel("check", root, "-o", "json", *extra)
    return result, json.loads(result.stdout)


def errors_of(report):
    return [f for f in report["findings"] if f["status"] == "error"]


def test_invalid_card_is_an_error_and_the_rest_is_judged(gavel, project):
    root = project({
        "models/good.yaml": model_card("good"),
        "models/bad.yaml": model_card("bad", extra="metrics:\n  fairness:\n    - name: dpd\n      value: high\n"),
        "datasets/d.yaml": DATASET,
        "policies/owner.yaml": POLICY,
    }, config=CONFIG)
    result, report = run_json(gavel, root)
    assert result.exit_code == 1  # fail closed: an unreadable card is not a pass
    (error,) = errors_of(report)
    assert error["subject"]["source"] == {"file": "models/bad.yaml", "line": 10}
    assert error["message"].startswith("field 'metrics.fairness[0].value': 'high' is not of type 'number'")
    assert [f["status"] for f in report["findings"] if f["subject"]["id"] == "good"] == ["pass"]
    assert report["gate"]["passed"] is False


def test_bad_files_of_every_kind(gavel, project):
    bomb = 'a: &a ["x","x","x"]\nb: &b [*a,*a,*a]\nc: [*b,*b,*b]\n'
    root = project({
        "models/ok.yaml": model_card("ok"),
        "models/fine.yaml": model_card("fine"),
        "models/syntax.yaml": "id: s\nname: [oops\n",
        "models/json.json": '{"id": "j",\n "name": ,}',
        "models/bomb.yaml": bomb,
        "models/list.yaml": "- a\n- b\n",
        "models/kind.yaml": "kind: dataset\nid: k\nowner: x\n",
        "models/zdup.yaml": model_card("ok"),
        "models/binary.yaml": "",
        "datasets/unknown-field.yaml": "id: d1\nowner: t\ncolums: []\n",
        "policies/owner.yaml": POLICY,
    }, config=CONFIG)
    (root / "models/binary.yaml").write_bytes(b"\xff\xfe\x00bad")
    result, report = run_json(gavel, root)
    assert result.exit_code == 1
    got = {(e["subject"]["source"]["file"], e["subject"]["source"]["line"]): e["message"] for e in errors_of(report)}
    assert got[("models/syntax.yaml", 3)].startswith("invalid YAML")
    assert got[("models/json.json", 2)].startswith("invalid JSON")
    assert "alias" in got[("models/bomb.yaml", 2)]
    assert got[("models/list.yaml", 1)] == "a model card must be a mapping, got list"
    assert "declares kind 'dataset'" in got[("models/kind.yaml", 1)]
    assert got[("models/zdup.yaml", 1)].startswith("duplicate model id 'ok' (also declared in models/ok.yaml:1)")
    assert got[("models/ok.yaml", 1)].startswith("duplicate model id 'ok' (also declared in models/zdup.yaml:1)")
    assert got[("datasets/unknown-field.yaml", 3)] == "unknown field 'colums' (did you mean 'columns'?)"
    assert any("not UTF-8" in m for m in got.values())
    # the valid card was still judged; neither duplicate was (tests/core/test_duplicate_ids.py)
    assert any(f["subject"]["id"] == "fine" and f["status"] == "pass" for f in report["findings"])
    assert not any(f["subject"]["id"] == "ok" and f["status"] != "error" for f in report["findings"])


def test_oversized_file_is_refused(gavel, project):
    root = project({"models/big.yaml": model_card("big", extra="description: " + "x" * 5000 + "\n"),
                    "datasets/d.yaml": DATASET, "policies/owner.yaml": POLICY}, config=CONFIG)
    result, report = run_json(gavel, root, "--set", "limits.max_bytes=1000")
    (error,) = errors_of(report)
    assert "over the 1000-byte limit" in error["message"] and result.exit_code == 1


def test_bad_config_exits_2_naming_the_line(gavel, project):
    root = project({}, config="evidence:\n  - path: models/*\n    kind: modle\n")
    result = gavel("check", root)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {root / 'gavel.yaml'}:3: field 'evidence[0].kind': 'modle' is not one of")


def test_configured_glob_matching_nothing_is_an_error(gavel, project):
    root = project({"models/a.yaml": model_card("a"), "policies/owner.yaml": POLICY}, config=CONFIG)
    result, report = run_json(gavel, root)
    (error,) = errors_of(report)
    assert error["message"].startswith("evidence datasets/* matches no file")
    assert error["subject"]["source"] == {"file": "gavel.yaml", "line": 3}
    assert result.exit_code == 1


def test_nothing_to_check_is_a_usage_error(gavel, project, tmp_path):
    empty = project({"policies/owner.yaml": POLICY})  # no gavel.yaml: the defaults, and no cards at all
    result = gavel("check", empty)
    assert result.exit_code == 2 and "no evidence found" in result.stderr
    no_policies = project({"models/a.yaml": model_card("a")})
    (no_policies / "policies/owner.yaml").unlink()
    result = gavel("check", no_policies)
    assert result.exit_code == 2 and "no policies to run" in result.stderr
