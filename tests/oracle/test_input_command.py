"""``gavel input SUBJECT``: the document Gavel evaluates, for callers that ask OPA themselves."""

from __future__ import annotations

import json

import pytest

from tests.conftest import EXAMPLES

from .opa_inprocess import MISSING, opa_bindings


def test_input_prints_the_document_check_evaluates(gavel):
    result = gavel("input", "credit-limit-optimizer", EXAMPLES, "--now", "2026-11-26")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["kind"] == "model" and doc["id"] == "credit-limit-optimizer" and doc["now"] == "2026-11-26T00:00:00Z"
    assert doc["lineage"]["tagged_sources"], "the lineage facts are part of the input"
    assert "privacy" in doc and doc["subject"]["dpia"]["status"] == "in_progress"


def test_input_refuses_unknown_and_ambiguous_ids(gavel):
    assert gavel("input", "nope", EXAMPLES).exit_code == 2
    ambiguous = gavel("input", "features.fraud_features", EXAMPLES)
    assert ambiguous.exit_code == 2 and "--kind" in ambiguous.output
    assert json.loads(gavel("input", "features.fraud_features", EXAMPLES, "--kind", "budget").output)["kind"] == "budget"


@pytest.mark.skipif(opa_bindings is None, reason=MISSING)
def test_a_bundle_on_real_opa_with_that_input_gives_the_check_verdicts(gavel, tmp_path):
    from engine.bundle import read_bundle

    bundle = tmp_path / "b.tar.gz"
    assert gavel("bundle", "build", EXAMPLES, "-o", bundle, "--now", "2026-11-26").exit_code == 0
    opa = opa_bindings.OpaEngine()
    for name, content in read_bundle(bundle.read_bytes()).items():
        if name.endswith(".rego") and not name.endswith("_test.rego"):
            opa.add_policy(name, content.decode())
    opa.add_data(json.loads(read_bundle(bundle.read_bytes())["data.json"]))
    doc = json.loads(gavel("input", "credit-limit-optimizer", EXAMPLES, "--now", "2026-11-26").output)
    answer = opa.eval_document("gavel_eval.model", doc)
    denied = {pid for pid, verdict in answer.items() if verdict.get("deny") and verdict.get("applicable", True)}
    report = json.loads(gavel("check", EXAMPLES, "--subject", "credit-limit-optimizer", "-o", "json",
                              "--now", "2026-11-26").output)
    failing = {f["policy"] for f in report["findings"] if f["status"] in ("fail", "waived")}
    assert "lineage-pii-dpia" in denied  # the verdict a hand-built input without lineage misses
    assert denied == failing
