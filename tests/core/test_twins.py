"""One YAML policy and its hand-written Rego twin give the same findings on the same subjects."""

import itertools

from engine.policy import load_paths
from tests.conftest import ROOT
from tests.core.helpers import judge

TWINS = ROOT / "tests/fixtures/twins"


def subjects():
    risks = ["high", "minimal", "unacceptable", None]
    dpias = [{"status": "approved"}, {"status": "in_progress"}, None]
    fairness = [[{"name": "dpd", "value": 0.05}], [{"name": "dpd", "value": 0.05}, {"name": "eo", "value": 0.2}],
                [], None, [{"name": "dpd", "value": "0.05"}]]
    reviews = ["2026-06-01", "2024-01-01", None]
    stages = ["production", "development", None]
    for i, (risk, dpia, fair, review, stage) in enumerate(itertools.product(risks, dpias, fairness, reviews, stages)):
        card = {"id": f"m{i}"}
        for key, value in [("risk_level", risk), ("dpia", dpia), ("last_review", review), ("lifecycle_stage", stage)]:
            if value is not None:
                card[key] = value
        if fair is not None:
            card["metrics"] = {"fairness": fair}
        yield card


def test_yaml_and_rego_twins_agree():
    policy_set = load_paths([(TWINS, None)], root=TWINS)
    assert sorted(p.language for p in policy_set.policies) == ["rego", "yaml"]
    cards = list(subjects())
    findings = judge(policy_set, cards)
    verdict: dict[str, dict[str, str]] = {}
    for f in findings:
        status = "pass" if f.status == "skip" else f.status  # conftest-style Rego has no skip
        verdict.setdefault(f.subject.id, {})[f.policy] = status
    assert len(verdict) == len(cards) == 540
    disagree = {sid: v for sid, v in verdict.items() if v["twin-fairness"] != v["twin-fairness-rego"]}
    assert not disagree
    statuses = {v["twin-fairness"] for v in verdict.values()}
    assert statuses == {"pass", "fail"}  # the subjects exercise both outcomes
    messages = {f.message for f in findings if f.status == "fail" and f.policy == "twin-fairness"}
    assert messages == {f.message for f in findings if f.status == "fail" and f.policy == "twin-fairness-rego"}
