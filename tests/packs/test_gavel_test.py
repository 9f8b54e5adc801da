"""Each pack's policy tests through ``gavel test``, and the pack contract (metadata, params, tests)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import main
from engine.policy import load_paths, pack_names

ROOT = Path(__file__).resolve().parents[2]
PACKS = ["model-card", "eu-ai-act", "gdpr", "nist-ai-rmf", "iso-42001"]


@pytest.mark.parametrize("pack", PACKS)
def test_gavel_test_passes_on_pack(pack):
    result = CliRunner().invoke(main, ["test", str(ROOT / "policies" / pack)])
    assert result.exit_code == 0, result.output
    assert " passed" in result.output and "failed" not in result.output


@pytest.mark.parametrize("pack", PACKS)
def test_pack_is_listed_and_policies_are_complete(pack):
    assert pack in pack_names()
    policies = load_paths([(ROOT / "policies" / pack, pack)]).policies
    assert len(policies) >= 7
    for p in policies:
        assert p.title and p.description and p.remediation, p.id
        assert p.frameworks, p.id
        assert p.severity in ("low", "medium", "high", "critical"), p.id


def test_at_least_forty_policies_with_tests():
    ids = [p.id for pack in PACKS for p in load_paths([(ROOT / "policies" / pack, pack)]).policies]
    assert len(ids) >= 40
    assert len(set(ids)) == len(ids)
    tested = set()
    import yaml

    for pack in PACKS:
        for file in (ROOT / "policies" / pack).glob("*_test.yaml"):
            doc = yaml.safe_load(file.read_text())
            expects = {}
            for case in doc["cases"]:
                expects.setdefault(case.get("policy", doc.get("policy")), set()).add(case["expect"])
            for pid, seen in expects.items():
                assert "pass" in seen and seen & {"fail", "warn"}, f"{file.name}: {pid} needs a passing and a failing case"
                tested.add(pid)
    assert set(ids) <= tested, sorted(set(ids) - tested)


def test_all_packs_load_together_with_params_override():
    sources = [(ROOT / "policies" / pack, pack) for pack in PACKS]
    policy_set = load_paths(sources, params={"aia-fairness-metrics": {"max_disparity": 0.05}})
    assert policy_set.params["aia-fairness-metrics"]["max_disparity"] == 0.05
    assert policy_set.params["aia-fairness-metrics"]["min_ratio"] == 0.8  # defaults kept
