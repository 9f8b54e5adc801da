"""The evidence cache: re-runs skip parsing, and a changed file is read again."""

import json
import marshal
import os

import pytest

from engine.check import run_check
from engine.config import load_config
from tests.conftest import model_card


def saved_cache(root):
    from engine import cachefile
    from engine.evidence.cache import _stamp

    return cachefile.load_plain(root / EVIDENCE, _stamp())


EVIDENCE = ".gavel/cache/evidence.bin"  # marshal, written by cachefile.save_plain

CONFIG = "evidence:\n  - {path: 'models/*', kind: model}\npolicies:\n  paths: [policies]\n"
POLICY = "id: p\ntitle: T\nseverity: high\ntarget: model\nassert: {field: subject.risk_level, equals: minimal}\n"


def test_cache_hit_and_invalidation(project, monkeypatch):
    root = project({"models/a.yaml": model_card("a", risk="minimal"), "models/b.yaml": model_card("b", risk="limited"),
                    "policies/p.yaml": POLICY}, config=CONFIG)
    first = run_check(load_config(root), now="2026-11-26")
    cache = saved_cache(root)
    assert len(cache["entries"]) == 2
    import engine.evidence as evidence

    calls = []
    original = evidence.read_card
    monkeypatch.setattr(evidence, "read_card", lambda *a, **k: calls.append(a[1]) or original(*a, **k))
    second = run_check(load_config(root), now="2026-11-26")
    assert calls == [] and second.to_json() == first.to_json()  # nothing re-parsed, same bytes
    path = root / "models/b.yaml"
    before = path.stat()
    path.write_text(model_card("b", risk="minimal"))  # "limited" -> "minimal": same size
    assert path.stat().st_size == before.st_size
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # and the same mtime: only the bytes tell
    third = run_check(load_config(root), now="2026-11-26")
    assert calls == ["models/b.yaml"]
    assert [f.status for f in third.findings] == ["pass", "pass"]


def test_corrupt_cache_is_ignored(project):
    root = project({"models/a.yaml": model_card("a", risk="minimal"), "policies/p.yaml": POLICY}, config=CONFIG)
    (root / ".gavel/cache").mkdir(parents=True)
    (root / EVIDENCE).write_text("{not json")
    report = run_check(load_config(root), now="2026-11-26")
    assert [f.status for f in report.findings] == ["pass"]


def test_cache_can_be_disabled(project):
    root = project({"models/a.yaml": model_card("a"), "policies/p.yaml": POLICY}, config=CONFIG)
    run_check(load_config(root, overrides=["cache.enabled=false"]), now="2026-11-26")
    assert not (root / EVIDENCE).exists()


# -- planted caches: a cache never changes a verdict ------------------------------------------------
# `.gavel/cache` is writable by anyone who can write the project (a pull request, a CI cache restored
# from one). Each attack below plants what would flip a verdict to pass; the verdicts must not move.

def verdicts(gavel, root, *args) -> dict:
    result = gavel("check", root, "-o", "json", *args)
    assert result.exit_code in (0, 1), result.stderr
    report = json.loads(result.stdout)
    return {(f["policy"], f["subject"]["id"]): f["status"] for f in report["findings"]}


def forge(path, stamp, payload, how: str, dump=lambda data: json.dumps(data).encode()) -> None:
    """Write ``payload`` as a planted cache file, the way an attacker without the key can."""
    from engine import cachefile

    body = dump(payload)
    if how == "plain":  # the old, unauthenticated format
        path.write_bytes(json.dumps({"stamp": stamp, **payload}).encode())
    elif how == "copied-mac":  # a genuine header (e.g. from a real run) over an edited payload
        header = path.read_bytes().partition(b"\n")[0]
        path.write_bytes(header + b"\n" + body)
    elif how == "other-key":  # authenticated with a key the attacker made up
        header = b" ".join([cachefile.MAGIC, stamp.encode(),
                            cachefile._mac(b"attacker-key-0123456789abcdef0123", stamp, body).encode()])
        path.write_bytes(header + b"\n" + body)


ATTACKS = ["plain", "copied-mac", "other-key"]


@pytest.fixture
def warm_example(gavel, example_copy):
    """The example after one run: its caches are filled; the verdicts of a cold run."""
    cold = verdicts(gavel, example_copy, "--no-cache")
    assert not (example_copy / ".gavel").exists()  # --no-cache writes no cache either
    assert verdicts(gavel, example_copy) == cold
    return example_copy, cold


@pytest.mark.parametrize("how", ATTACKS)
def test_planted_evidence_cache_cannot_approve_a_dpia(gavel, warm_example, how):
    from engine import cachefile
    from engine.evidence.cache import _stamp

    root, cold = warm_example
    assert cold[("high-risk-dpia-approved", "credit-limit-optimizer")] == "fail"
    path = root / EVIDENCE
    payload = cachefile.load_plain(path, _stamp())
    [key] = [k for k, v in payload["entries"].items() if v[0] == "credit-limit-optimizer"]
    payload["entries"][key][2]["dpia"] = {"status": "approved", "approver": "dpo@bank.example",
                                          "reference": "DPIA-1"}
    forge(path, cachefile._plain(_stamp()), payload, how, marshal.dumps)
    assert verdicts(gavel, root) == cold


@pytest.mark.parametrize("how", ATTACKS)
def test_planted_lineage_cache_cannot_hide_a_pii_flow(gavel, warm_example, how):
    from engine import cachefile
    from engine.lineage.sql import ANALYSIS_VERSION

    root, cold = warm_example
    assert cold[("lineage-pii-dpia", "credit-limit-optimizer")] == "fail"
    path = root / ".gavel/cache/lineage.json"
    payload = cachefile.load(path, ANALYSIS_VERSION)
    assert payload["entries"]
    for entry in payload["entries"].values():  # every analysed SQL file: no edges at all
        for key, value in entry.items():
            if isinstance(value, list):
                entry[key] = []
    forge(path, ANALYSIS_VERSION, payload, how)
    assert verdicts(gavel, root) == cold


@pytest.mark.parametrize("how", ATTACKS)
def test_planted_privacy_cache_cannot_unexceed_a_budget(gavel, warm_example, how):
    from engine import cachefile
    from engine.privacy.cache import _stamp

    root, cold = warm_example
    assert cold[("privacy-budget-exceeded", "features.fraud_features")] == "fail"
    path = root / ".gavel/cache/privacy.json"
    payload = cachefile.load(path, _stamp())
    payload["results"] = {key: [0.0, 0.0, False, 2.0, 1e-8] for key in payload["results"]}
    for mark in payload["ledgers"].values():
        mark["bad"] = []  # every line "known valid"
    forge(path, _stamp(), payload, how)
    assert verdicts(gavel, root) == cold


def test_no_cache_reads_no_cache_even_a_genuine_one(gavel, warm_example):
    """With the key itself leaked, a forged cache does flip a verdict; ``--no-cache`` reads none."""
    from engine import cachefile
    from engine.evidence.cache import _stamp

    root, cold = warm_example
    path = root / EVIDENCE
    payload = cachefile.load_plain(path, _stamp())
    [key] = [k for k, v in payload["entries"].items() if v[0] == "credit-limit-optimizer"]
    payload["entries"][key][2]["dpia"] = {"status": "approved", "approver": "dpo@bank.example"}
    cachefile.save_plain(path, _stamp(), payload)  # signed with the real key
    assert verdicts(gavel, root)[("high-risk-dpia-approved", "credit-limit-optimizer")] == "pass"
    assert verdicts(gavel, root, "--no-cache") == cold


def test_another_machines_cache_is_not_trusted(gavel, warm_example, monkeypatch):
    root, cold = warm_example
    before = (root / EVIDENCE).read_bytes()
    monkeypatch.setenv("GAVEL_CACHE_KEY", "a-ci-secret-that-differs-from-the-local-key")
    assert verdicts(gavel, root) == cold
    assert (root / EVIDENCE).read_bytes() != before  # rewritten under the new key


def test_disabled_cache_writes_no_lineage_cache(gavel, example_copy):
    """Issue 10 item 5: ``cache.enabled: false`` used to still write the lineage cache."""
    verdicts(gavel, example_copy, "--set", "cache.enabled=false")
    assert not (example_copy / ".gavel").exists()


def test_unusable_key_means_no_cache(gavel, example_copy, monkeypatch, tmp_path):
    from engine import cachefile

    monkeypatch.delenv("GAVEL_CACHE_KEY", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    cachefile._file_key.cache_clear()
    try:
        key = tmp_path / "config/gavel/cache-key"
        key.parent.mkdir(parents=True)
        key.write_text("k" * 64)
        key.chmod(0o644)  # readable by others: anyone could forge with it
        cold = verdicts(gavel, example_copy)
        assert cachefile.cache_key() is None and not (example_copy / ".gavel/cache").exists()
        key.unlink()
        cachefile._file_key.cache_clear()
        assert verdicts(gavel, example_copy) == cold  # a fresh key is made, 0600
        assert key.stat().st_mode & 0o777 == 0o600 and (example_copy / EVIDENCE).exists()
    finally:
        cachefile._file_key.cache_clear()
