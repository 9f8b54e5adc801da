"""`engine.privacy.build`: the contract with the core (problems, inputs, facts, subjects)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from engine.config import load_config
from engine.context import build_subjects
from engine.errors import ConfigError
from engine.inventory import build_inventory
from tests.privacy.chained import chain

LINES = [
    '{"id": "sp-1", "time": "2026-02-01T00:00:00Z", "dataset": "db.a", "epsilon": 0.25, "mechanism": "laplace"}',
    '{"id": "sp-2", "time": "2026-03-01T00:00:00Z", "dataset": "db.a", "epsilon": 0.5, "mechanism": "dp-sgd"}',
    '{"id": "sp-3", "time": "2026-04-01T00:00:00Z", "dataset": "db.b", "epsilon": 3, "mechanism": "laplace",'
    ' "model": "m"}',
]

ROOT = Path(__file__).resolve().parents[2]
NOW = "2026-11-26T00:00:00Z"


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


BASE = {
    "gavel.yaml": """\
        evidence:
          - {path: models/*.yaml, kind: model}
          - {path: datasets/*.yaml, kind: dataset}
        """,
    "datasets/a.yaml": """\
        id: db.a
        owner: t
        records: 100
        privacy_budget: {epsilon_budget: 1.0, period: {kind: calendar, unit: year}}
        """,
    "datasets/b.yaml": "id: db.b\nowner: t\n",
    "models/m.yaml": """\
        id: m
        name: m
        version: 1
        owner: t
        risk_level: high
        lifecycle_stage: production
        training_datasets: [db.a, db.b]
        differential_privacy: {epsilon: 0.5, dataset: db.a, ledger_ref: sp-2}
        """,
    "privacy/ledger.jsonl": chain(*LINES),
}

BASE = {name: textwrap.dedent(text) for name, text in BASE.items()}


def _inventory(tmp_path, **changes):
    root = _write(tmp_path / "p", {**BASE, **changes})
    return build_inventory(load_config(root), now=NOW)


def test_state_subjects_and_facts(tmp_path):
    inv = _inventory(tmp_path)
    assert inv.problems == []
    [digest] = [d for d in inv.inputs if d.kind == "ledger"]
    assert digest.path == "privacy/ledger.jsonl" and len(digest.sha256) == 64

    [subject] = inv.privacy.subjects()
    assert (subject.kind, subject.id) == ("budget", "db.a")
    assert (subject.source.file, subject.source.line) == ("datasets/a.yaml", 4)
    data = subject.data
    assert data["spent"] == {"epsilon": 0.75, "delta": 0.0} and data["remaining"]["epsilon"] == 0.25
    assert data["window"] == {"label": "2026", "start": "2026-01-01T00:00:00Z", "end": "2027-01-01T00:00:00Z"}
    assert [s["id"] for s in data["spends"]] == ["sp-1", "sp-2"] and data["records"] == 100

    model = inv.privacy.facts(inv.models["m"])
    assert [(b["dataset"], b["via"]) for b in model["budgets"]] == [("db.a", "training_datasets")]
    assert [s["id"] for s in model["spends"]] == ["sp-2", "sp-3"]  # ledger_ref and the model field
    assert inv.privacy.facts(inv.datasets["db.b"])["budgets"] == []
    assert inv.privacy.facts(inv.datasets["db.a"])["budgets"][0]["dataset"] == "db.a"

    docs = build_subjects(inv, now=NOW)
    budget_doc = next(s.doc for s in docs if s.kind == "budget")
    assert budget_doc["id"] == "db.a" and budget_doc["subject"]["exceeded"] is False
    json.dumps([s.doc for s in docs])  # the input documents are plain JSON


def test_lineage_upstream_budgets_reach_models(tmp_path):
    inv = _inventory(tmp_path, **{"models/m.yaml": BASE["models/m.yaml"].replace("[db.a, db.b]", "[]")})

    class Lineage:
        def facts(self, kind, ident):
            return {"upstream": [{"id": "db.a.amount", "type": "column", "tags": []},
                                 {"id": "db.zzz", "type": "table", "tags": []}]}

    from engine.privacy.facts import PrivacyState

    state = PrivacyState(budgets=inv.privacy.budgets, ledger=inv.privacy.ledger, now=NOW, lineage=Lineage())
    vias = [(b["dataset"], b["via"]) for b in state.facts(inv.models["m"])["budgets"]]
    assert vias == [("db.a", "differential_privacy")]  # declared dataset wins over lineage
    card = inv.models["m"].data
    card.pop("differential_privacy")
    assert [(b["dataset"], b["via"]) for b in state.facts(inv.models["m"])["budgets"]] == [("db.a", "lineage")]


def test_bad_ledger_lines_become_error_findings(tmp_path):
    ledger = BASE["privacy/ledger.jsonl"] + '{"id": "sp-4", "dataset": "db.a"}\n' + '{"id": "sp-5", "time": "20'
    inv = _inventory(tmp_path, **{"privacy/ledger.jsonl": ledger})
    found = [(f.policy, f.status, f.subject.kind, f.subject.id, f.subject.source.file, f.subject.source.line,
              f.message) for f in inv.problems]
    assert found[0][:6] == ("gavel-privacy", "error", "budget", "db.a", "privacy/ledger.jsonl", 4)
    assert "'time' is a required property" in found[0][6]
    assert found[1][5] == 5 and "incomplete last line" in found[1][6]
    assert inv.privacy.subjects()[0].data["spent"]["epsilon"] == 0.75  # what was recorded still counts


def test_budget_problems_and_duplicates(tmp_path):
    config = BASE["gavel.yaml"] + textwrap.dedent("""\
        privacy:
          budgets:
            db.a: {epsilon_budget: 2}
            db.b: {epsilon_budget: 1, delta_budget: 1.0e-9, composition: advanced, slack: 1.0e-6}
            db.c: {epsilon_budget: 1}
        """)
    inv = _inventory(tmp_path, **{"gavel.yaml": config})
    messages = {(f.subject.id, f.subject.source.file, f.subject.source.line): f.message for f in inv.problems}
    assert "declared twice" in messages[("db.a", "gavel.yaml", 6)]
    assert "slack 1e-06 exceeds delta_budget 1e-09" in messages[("db.b", "gavel.yaml", 7)]
    assert [s.id for s in inv.privacy.subjects()] == ["db.c"]  # no card needed for a config budget


def test_unknown_dataset_in_ledger_is_an_error(tmp_path):
    ledger = chain(*LINES,
                   '{"id": "sp-9", "time": "2026-05-01T00:00:00Z", "dataset": "db.ghost", "epsilon": 1, "mechanism": "l"}')
    inv = _inventory(tmp_path, **{"privacy/ledger.jsonl": ledger})
    [problem] = inv.problems
    assert problem.subject.id == "db.ghost" and problem.subject.source.line == 4


def test_invalid_privacy_config_raises_config_error(tmp_path):
    config = BASE["gavel.yaml"] + "privacy:\n  ledgr: x.jsonl\n"
    with pytest.raises(ConfigError) as info:
        _inventory(tmp_path, **{"gavel.yaml": config})
    assert info.value.line == 5 and "ledgr" in info.value.message


def test_no_budgets_no_diffprivlib(tmp_path):
    """`gavel check` on a repo without budgets never imports diffprivlib (scikit-learn)."""
    root = _write(tmp_path / "p", {"gavel.yaml": BASE["gavel.yaml"], "datasets/b.yaml": "id: db.b\nowner: t\n"})
    code = textwrap.dedent(f"""
        import sys
        from click.testing import CliRunner
        from engine.cli import main
        result = CliRunner().invoke(main, ["check", {str(root)!r}, "--now", "{NOW}", "--pack", "privacy"])
        assert result.exit_code in (0, 1), result.output
        print("diffprivlib" in sys.modules, "sklearn" in sys.modules)
        """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.split() == ["False", "False"]
