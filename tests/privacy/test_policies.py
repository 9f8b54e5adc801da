"""The built-in privacy pack: its Rego unit tests (``*_test.rego``), and each policy on real inputs."""

from __future__ import annotations

import json
import re

import pytest
import regorus

from engine.policy import load_paths, pack_path
from engine.policy.operators import LIBRARY

PACK = pack_path("privacy")
TESTS = sorted(PACK.glob("*_test.rego"))


def _engine(*extra: tuple[str, str]) -> regorus.Engine:
    engine = regorus.Engine()
    engine.add_policy("gavel/lib.rego", LIBRARY)
    for policy in load_paths([(PACK, "privacy")]).policies:
        for name, text in policy.modules.items():
            engine.add_policy(name, text)
    for name, text in extra:
        engine.add_policy(name, text)
    return engine


def test_every_rego_policy_has_tests():
    policies = {p.name[:-5] for p in PACK.glob("*.rego") if not p.name.endswith("_test.rego")}
    assert policies == {p.name[: -len("_test.rego")] for p in TESTS}


@pytest.mark.parametrize("test_file", TESTS, ids=lambda p: p.name)
def test_rego_unit_tests(test_file):
    text = test_file.read_text()
    package = re.search(r"^package\s+(\S+)", text, re.MULTILINE).group(1)
    names = re.findall(r"^(test_\w+)\s+if\b", text, re.MULTILINE)
    assert names, f"{test_file.name} has no test_ rules"
    engine = _engine((test_file.name, text))
    failed = [name for name in names if json.loads(engine.eval_rule_as_json(f"data.{package}.{name}")) is not True]
    assert not failed, f"{test_file.name}: failed {failed}"


def _verdicts(policy_id: str, doc: dict) -> list:
    policy = load_paths([(PACK, "privacy")]).get(policy_id)
    engine = _engine()
    engine.set_input_json(json.dumps(doc))
    out = []
    for rule in policy.rules:
        out += json.loads(engine.eval_rule_as_json(f"data.{policy.package}.{rule}"))
    return out


def _budget(**subject) -> dict:
    base = {"dataset": "ds", "epsilon_budget": 2, "delta_budget": 0, "spent": {"epsilon": 1, "delta": 0},
            "window": {"label": "2026-11"}, "exceeded": False, "spends": []}
    return {"kind": "budget", "id": "ds", "subject": {**base, **subject}, "privacy": {"budgets": []},
            "now": "2026-11-26T00:00:00Z"}


def test_budget_exceeded_yaml_policy():
    assert _verdicts("privacy-budget-exceeded", _budget()) == []
    found = _verdicts("privacy-budget-exceeded", _budget(exceeded=True, spent={"epsilon": 3.3, "delta": 0}))
    assert len(found) == 1
    assert "spent epsilon 3.3" in found[0]["msg"] and "2026-11" in found[0]["msg"]


@pytest.mark.parametrize(
    ("spend", "fails"),
    [
        ({"purpose": "release", "actor": "ana"}, False),
        ({"purpose": "release"}, True),
        ({"actor": "ana"}, True),
        ({"purpose": "   ", "actor": "ana"}, True),
    ],
)
def test_spend_accountable_yaml_policy(spend, fails):
    doc = _budget(spends=[{"id": "a", "line": 1, "epsilon": 1, **spend}])
    assert bool(_verdicts("privacy-spend-accountable", doc)) is fails


def test_spend_accountable_passes_without_spends():
    assert _verdicts("privacy-spend-accountable", _budget(spends=[])) == []
