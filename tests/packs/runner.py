"""Run the ``*_test.yaml`` policy test files of the built-in packs through the real evaluation path.

The format is the one ``gavel test`` reads (see docs/packs.md): ``policy`` (default id) and
``cases`` with ``subject`` or ``input``, optional ``now``, ``data``, ``params``, ``expect`` and
``message`` (a regex on the finding messages).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from engine.context import EMPTY_LINEAGE, EMPTY_PRIVACY, Subject
from engine.evaluate import prepare
from engine.findings import Source
from engine.policy import load_paths

ROOT = Path(__file__).resolve().parents[2]
PACKS = ["model-card", "eu-ai-act", "gdpr", "nist-ai-rmf", "iso-42001"]
DEFAULT_NOW = "2026-06-01T00:00:00Z"


@dataclass
class Case:
    pack: str
    file: Path
    index: int
    spec: dict[str, Any]
    policy: str

    @property
    def name(self) -> str:
        return f"{self.pack}/{self.file.name}#{self.index}:{self.spec.get('name', '')}"


def cases(packs: list[str] = PACKS) -> list[Case]:
    out = []
    for pack in packs:
        for file in sorted((ROOT / "policies" / pack).glob("*_test.yaml")):
            doc = yaml.safe_load(file.read_text())
            for i, spec in enumerate(doc["cases"]):
                out.append(Case(pack, file, i, spec, spec.get("policy", doc.get("policy"))))
    return out


def document(spec: dict[str, Any]) -> Subject:
    given = dict(spec.get("input") or {})
    subject = spec.get("subject", given.get("subject", {}))
    kind = given.get("kind", "model")
    sid = given.get("id", subject.get("id", "?"))
    doc = {
        "kind": kind,
        "id": sid,
        "source": {"file": "test.yaml", "line": 1},
        "subject": subject,
        "lineage": given.get("lineage", EMPTY_LINEAGE),
        "privacy": given.get("privacy", EMPTY_PRIVACY),
        "now": spec.get("now", given.get("now", DEFAULT_NOW)),
    }
    return Subject(kind, sid, Source(file="test.yaml", line=1), doc)


def run(case: Case) -> tuple[str, list[str]]:
    """``(status, messages)`` of ``case.policy`` on the case's subject."""
    params = {case.policy: case.spec["params"]} if case.spec.get("params") else {}
    policy_set = load_paths([(ROOT / "policies" / case.pack, case.pack)], params=params)
    policy_set.policies = [p for p in policy_set.policies if p.id == case.policy]
    assert policy_set.policies, f"no policy {case.policy} in pack {case.pack}"
    data = {"inventory": {"models": {}, "datasets": {}}}
    data["inventory"].update(case.spec.get("data") or {})
    prepared = prepare(policy_set, data=data, workers=1)
    findings = prepared.evaluate([document(case.spec)])
    statuses = {f.status.value if hasattr(f.status, "value") else f.status for f in findings}
    for status in ("error", "fail", "warn", "skip", "pass"):
        if status in statuses:
            return status, [f.message for f in findings]
    raise AssertionError(f"no finding for {case.policy}")


def check(case: Case) -> None:
    status, messages = run(case)
    expect = case.spec["expect"]
    assert status == expect, f"{case.name}: expected {expect}, got {status}: {messages}"
    if "message" in case.spec:
        pattern = re.compile(case.spec["message"])
        assert any(pattern.search(m) for m in messages), f"{case.name}: no message matches {pattern.pattern!r}: {messages}"
