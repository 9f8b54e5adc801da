"""The lineage stage's stored result: a warm gate reads it (no sqlglot, no networkx), any changed
input rebuilds the graph, and the report is the same bytes either way."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

NOW = "2026-12-01T00:00:00Z"


@pytest.fixture(autouse=True)
def secret(monkeypatch):
    monkeypatch.setenv("GAVEL_CACHE_KEY", "test-secret")


def report(gavel, root, out, *extra) -> bytes:
    result = gavel("check", root, "--now", NOW, "--no-history", "-o", f"json={out}", *extra)
    assert result.exit_code in (0, 1), result.stderr
    return out.read_bytes()


def heavy_modules(root) -> list[str]:
    """The heavy modules a `gavel check` process imports (a fresh interpreter: the oracle is sys.modules)."""
    code = ("import sys\nfrom click.testing import CliRunner\nfrom engine.cli import main\n"
            f"r = CliRunner().invoke(main, ['check', r'{root}', '--now', '{NOW}', '--no-history'])\n"
            "assert r.exit_code in (0, 1), r.output\n"
            "print(' '.join(m for m in ('sqlglot', 'networkx') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**__import__("os").environ, "GAVEL_CACHE_KEY": "test-secret"})
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_a_warm_gate_reads_the_stored_lineage_and_writes_the_same_report(gavel, example_copy, tmp_path):
    cold = report(gavel, example_copy, tmp_path / "cold.json")
    assert (example_copy / ".gavel/cache/lineage-facts.json").exists()
    assert heavy_modules(example_copy) == []
    assert report(gavel, example_copy, tmp_path / "warm.json") == cold
    assert report(gavel, example_copy, tmp_path / "none.json", "--no-cache") == cold


@pytest.mark.parametrize("change", ["sql", "card", "config"])
def test_a_changed_lineage_input_rebuilds_the_graph(gavel, example_copy, tmp_path, change):
    report(gavel, example_copy, tmp_path / "first.json")
    if change == "sql":
        path = sorted((example_copy / "lineage").rglob("*.sql"))[0]
        path.write_text(path.read_text() + "\n-- edited\n")
    elif change == "card":  # a PII column no longer tagged
        path = example_copy / "datasets/raw.customers.yaml"
        path.write_text(path.read_text().replace("{name: email, type: varchar, tags: [pii]}",
                                                 "{name: email, type: varchar, tags: []}"))
    else:  # PII stops at aggregates too
        path = example_copy / "gavel.yaml"
        path.write_text(path.read_text().replace("pii: [masked]", "pii: [masked, aggregate]"))
    imported = heavy_modules(example_copy)  # this run rebuilds and stores again
    assert "networkx" in imported, "the graph was rebuilt"
    warm = report(gavel, example_copy, tmp_path / "warm.json")
    cold = report(gavel, example_copy, tmp_path / "cold.json", "--no-cache")
    assert warm == cold
    if change == "card":
        assert warm != (tmp_path / "first.json").read_bytes(), "the PII path is gone"


def test_a_planted_or_tampered_lineage_result_is_ignored(gavel, example_copy, tmp_path):
    expected = report(gavel, example_copy, tmp_path / "expected.json", "--no-cache")
    report(gavel, example_copy, tmp_path / "first.json")
    stored = example_copy / ".gavel/cache/lineage-facts.json"
    tag, _, body = stored.read_bytes().partition(b"\n")
    data = json.loads(body)
    for facts in data["facts"]["model"].values():  # hide every PII path
        facts["tagged_sources"], facts["tags"] = [], []
    stored.write_bytes(tag + b"\n" + json.dumps(data).encode())
    assert report(gavel, example_copy, tmp_path / "after.json") == expected
    # signed with another key: ignored as well
    import hashlib
    import hmac

    body = json.dumps(data).encode()
    stored.write_bytes(hmac.new(b"attacker", body, hashlib.sha256).hexdigest().encode() + b"\n" + body)
    assert report(gavel, example_copy, tmp_path / "again.json") == expected


# (file, text, replacement): edits of a field the lineage stage reads, and of fields it does not.
LINEAGE_EDITS = {
    "model-training": ("models/churn-predictor.yaml", "training_datasets: [raw.transactions]",
                       "training_datasets: [raw.transactions, raw.customers]"),
    "dataset-region": ("datasets/raw.customers.yaml", "region: eu", "region: us"),
    "dataset-legal-basis": ("datasets/raw.customers.yaml", "legal_basis: contract", "legal_basis: consent"),
    "dataset-provenance": ("datasets/raw.customers.yaml", "registered: true", "registered: false"),
    "dataset-tags": ("datasets/raw.customers.yaml", "tags: [pii, region:eu]", "tags: [region:eu]"),
    "column-type": ("datasets/raw.customers.yaml", "{name: country, type: varchar}", "{name: country, type: text}"),
}
OTHER_EDITS = {
    "model-description": ("models/churn-predictor.yaml", "description: Predicts", "description: Now predicts"),
    "dataset-records": ("datasets/raw.customers.yaml", "records: 2400000", "records: 2400001"),
    "dataset-retention": ("datasets/raw.customers.yaml", "days: 3650", "days: 3651"),
}


@pytest.mark.parametrize("edit", sorted(LINEAGE_EDITS) + sorted(OTHER_EDITS))
def test_only_the_card_fields_lineage_reads_rebuild_the_graph(gavel, example_copy, tmp_path, edit):
    report(gavel, example_copy, tmp_path / "first.json")
    file, old, new = {**LINEAGE_EDITS, **OTHER_EDITS}[edit]
    path = example_copy / file
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new, 1))
    rebuilt = "networkx" in heavy_modules(example_copy)
    assert rebuilt == (edit in LINEAGE_EDITS)
    # Oracle: a run that neither reads nor writes any cache.
    assert report(gavel, example_copy, tmp_path / "warm.json") == report(gavel, example_copy, tmp_path / "cold.json",
                                                                         "--no-cache")


def test_the_graph_of_whole_cards_is_the_graph_of_the_fields_lineage_reads(example_copy):
    # Guards CARD_FIELDS: a card field the stage starts reading without listing it would be
    # missing from the graph built on the cut cards (what the stored result is keyed on).
    from engine.check import resolve_now
    from engine.config import load_config
    from engine.inventory import build_inventory
    from engine.lineage import _build_graph

    config = load_config(example_copy, overrides=["cache.enabled=false"])
    inv = build_inventory(config, now=resolve_now(NOW))
    whole = _build_graph(config, inv)
    assert whole.facts("model", "credit-scoring-v3")["tagged_sources"], "the example has PII paths to compare"
    for kind, records in (("model", inv.models), ("dataset", inv.datasets)):
        for record in records.values():
            assert whole.facts(kind, record.id) == inv.lineage.facts(kind, record.id), (kind, record.id)
    assert whole.subject() == inv.lineage.subject()
