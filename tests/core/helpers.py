"""Evaluate policies on cards through the same path as ``gavel check``."""

from __future__ import annotations

from pathlib import Path

from engine.context import subject_of
from engine.evaluate import prepare
from engine.evidence.loader import parse
from engine.findings import Source
from engine.inventory import Record
from engine.policy import load_paths, yaml_policies
from engine.policy.model import PolicySet

NOW = "2026-11-26T00:00:00Z"


def yaml_policy_set(text: str, *, params: dict | None = None) -> PolicySet:
    params = params or {}
    policies = yaml_policies(parse(text, "p.yaml"), params=params)
    return PolicySet(policies, {}, {p.id: {**p.params, **params.get(p.id, {})} for p in policies})


def judge(policy_set: PolicySet, cards: list[dict], *, kind: str = "model", data: dict | None = None, now: str = NOW):
    prepared = prepare(policy_set, data={"inventory": data or {"models": {}, "datasets": {}}}, workers=1)
    subjects = [subject_of(Record(kind, c.get("id", f"s{i}"), c, Source(file="t.yaml", line=1)), now=now)
                for i, c in enumerate(cards)]
    return prepared.evaluate(subjects)


def statuses(findings) -> list[str]:
    return [f.status for f in findings]


def load_dir(path: Path) -> PolicySet:
    return load_paths([(path, None)], root=path)
