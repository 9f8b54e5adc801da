"""The evidence cache: re-runs skip parsing, and a changed file is read again."""

import json
import os

from engine.check import run_check
from engine.config import load_config
from tests.conftest import model_card

CONFIG = "evidence:\n  - {path: 'models/*', kind: model}\npolicies:\n  paths: [policies]\n"
POLICY = "id: p\ntitle: T\nseverity: high\ntarget: model\nassert: {field: subject.risk_level, equals: minimal}\n"


def test_cache_hit_and_invalidation(project, monkeypatch):
    root = project({"models/a.yaml": model_card("a", risk="minimal"), "models/b.yaml": model_card("b"),
                    "policies/p.yaml": POLICY}, config=CONFIG)
    first = run_check(load_config(root), now="2026-11-26")
    cache = json.loads((root / ".gavel/cache/evidence.json").read_text())
    assert len(cache["entries"]) == 2
    import engine.evidence as evidence

    calls = []
    original = evidence.read_card
    monkeypatch.setattr(evidence, "read_card", lambda *a, **k: calls.append(a[1]) or original(*a, **k))
    second = run_check(load_config(root), now="2026-11-26")
    assert calls == [] and second.to_json() == first.to_json()  # nothing re-parsed, same bytes
    path = root / "models/b.yaml"
    path.write_text(model_card("b", risk="minimal"))
    os.utime(path, ns=(path.stat().st_mtime_ns + 10**9,) * 2)
    third = run_check(load_config(root), now="2026-11-26")
    assert calls == ["models/b.yaml"]
    assert [f.status for f in third.findings] == ["pass", "pass"]


def test_corrupt_cache_is_ignored(project):
    root = project({"models/a.yaml": model_card("a", risk="minimal"), "policies/p.yaml": POLICY}, config=CONFIG)
    (root / ".gavel/cache").mkdir(parents=True)
    (root / ".gavel/cache/evidence.json").write_text("{not json")
    report = run_check(load_config(root), now="2026-11-26")
    assert [f.status for f in report.findings] == ["pass"]


def test_cache_can_be_disabled(project):
    root = project({"models/a.yaml": model_card("a"), "policies/p.yaml": POLICY}, config=CONFIG)
    run_check(load_config(root, overrides=["cache.enabled=false"]), now="2026-11-26")
    assert not (root / ".gavel/cache/evidence.json").exists()
