"""The text output of a warm run builds only the findings it shows (problems, unless ``-v``) from the
ready-made blocks, and prints what an uncached run prints: with ``-v``, colour, waivers, a baseline,
an unreadable card and engine errors (an ``error`` is never lost)."""

from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from engine.check import run_check
from engine.config import load_config
from engine.findings import STATUSES, Block, Finding, Findings, SubjectRef
from engine.report import render
from engine.report.text import _failures
from tests.conftest import generated_inventory

NOW = "2026-12-01T00:00:00Z"
PROBLEMS = frozenset({"fail", "warn", "error", "waived"})
MODELS = 30  # the judged subjects (no policy of the generated set reads a dataset)


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """A synthetic inventory (benchmarks/gen_inventory.py) with active, expired and stale waivers
    (naming some subjects only: the blocks of those are rebuilt, the others stay ready-made)."""
    return generated_inventory(tmp_path_factory.mktemp("gen") / "inventory", MODELS, """\
version: 1
waivers:
  - {id: W1, policy: rego-0*, subject: model-0000*, reason: r, owner: o@x.example, approver: a@x.example,
     expires: 2027-01-31}
  - {id: W2, policy: yaml-0*, subject: model-00011, reason: r, owner: o@x.example, approver: a@x.example,
     expires: 2026-01-31}
  - {id: W3, policy: nothing-matches, subject: model-00029, reason: r, owner: o@x.example, approver: a@x.example,
     expires: 2027-01-31}
""")


@pytest.fixture
def inventory(generated, tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("GAVEL_CACHE_KEY", "test-secret")
    root = tmp_path / "inventory"
    shutil.copytree(generated, root)
    return root


def report_of(root: Path, *, cache: bool = True, stats: dict | None = None, **settings):
    config = load_config(root, settings={"cache.enabled": cache, "history.enabled": False, **settings})
    return run_check(config, now=NOW, stats=stats)


def warm(root: Path, **settings):
    """A run whose every subject's findings are ready-made (after a run that stored them)."""
    report_of(root, **settings)
    stats: dict = {}
    report = report_of(root, stats=stats, **settings)
    assert stats["decisions"]["ready"] == MODELS
    return report


def test_text_builds_only_the_findings_it_shows(inventory, monkeypatch):
    report = warm(inventory)
    by_status = report.summary.by_status
    assert by_status["waived"] and by_status["pass"] and by_status["fail"]
    built = []
    real = Finding.__init__
    monkeypatch.setattr(Finding, "__init__", lambda self, *args, **kwargs: built.append(1) or real(self, *args, **kwargs))
    text = render(report, "text")
    ready = [b for b in report.findings.blocks if b._items is None]  # waivers rebuilt the blocks they name
    assert ready and len(ready) < len(report.findings.blocks)
    assert len(built) == sum(n for b in ready for (status, _), n in b.counts.items() if status in PROBLEMS)
    assert len(built) < sum(b.size() for b in ready)
    assert all(b._items is None for b in ready)  # still ready-made for the JSON report
    built.clear()
    verbose = render(report, "text", verbose=True)
    assert len(built) == sum(b.size() for b in ready)
    fresh = report_of(inventory, cache=False)
    assert (text, verbose) == (render(fresh, "text"), render(fresh, "text", verbose=True))
    assert report.to_json() == fresh.to_json()


@pytest.mark.parametrize("flags", [[], ["-v"], ["--color"], ["-v", "--color"]])
def test_warm_text_through_gavel_is_the_uncached_text(gavel, inventory, tmp_path, flags):
    baseline = tmp_path / "baseline.json"
    assert gavel("check", inventory, "--now", NOW, "-o", f"json={baseline}", "--no-cache").exit_code == 1
    card = inventory / "models/model-00003.yaml"
    card.write_text(card.read_text().replace("lifecycle_stage: staging", "lifecycle_stage: production", 1))
    (inventory / "models/model-99999.yaml").write_text("id: [unclosed\n")  # an error finding, every run
    for extra in ([], ["--baseline", str(baseline)]):
        cold = gavel("check", inventory, "--now", NOW, "--no-cache", *flags, *extra)
        gavel("check", inventory, "--now", NOW, *extra)
        hot = gavel("check", inventory, "--now", NOW, "-v", "-o", f"text={tmp_path / 'hot.txt'}", *flags, *extra)
        assert f"findings of {MODELS} subjects ready-made" in hot.stderr
        hot = gavel("check", inventory, "--now", NOW, *flags, *extra)
        assert hot.exit_code == cold.exit_code == 1
        assert hot.stdout == cold.stdout
        assert "ERROR " in hot.stdout and "WAIVED" in hot.stdout and ("Baseline" in hot.stdout) == bool(extra)
        assert ("\x1b[31m" in hot.stdout) == ("--color" in flags)
        assert ("pass  " in hot.stdout) == ("-v" in flags)  # a pass line's mark


def test_an_engine_error_among_ready_made_subjects_is_shown(inventory, monkeypatch):
    """One card changed and its evaluation failing: its errors are shown next to the ready-made rest."""
    from engine.errors import EngineError
    from engine.evaluate import Prepared

    warm(inventory)
    card = inventory / "models/model-00021.yaml"
    card.write_text(card.read_text().replace("name: Model 21", "name: Edited model 21", 1))

    def failing(self, documents, subjects, indexes):
        for i in indexes:
            yield i, {p.id: EngineError("out of memory") for p in self.policy_set.policies if p.applies_to(subjects[i].kind)}

    monkeypatch.setattr(Prepared, "results", failing)
    stats: dict = {}
    report = report_of(inventory, stats=stats)
    assert stats["decisions"]["ready"] == MODELS - 1
    errors = report.summary.by_status["error"]
    assert errors > 0
    text = render(report, "text")
    assert text.count("  ERROR  ") == errors and "model model-00021" in text
    listed = replace(report, findings=list(report.findings))  # every finding built, read as a list
    assert (text, render(report, "text", verbose=True)) == (render(listed, "text"), render(listed, "text", verbose=True))


def test_an_error_in_a_ready_made_block_is_shown(inventory, monkeypatch):
    """A decision that maps to an ``error`` (a verdict lacking a rule, say) is stored like any other:
    a ready-made block building only its problems keeps it."""
    from engine import evaluate

    real = evaluate.outcomes
    planted = [("error", "policy could not be evaluated: planted", None)]
    monkeypatch.setattr(evaluate, "outcomes", lambda policy, value: planted if policy.id == "yaml-03" else real(policy, value))
    report = warm(inventory)
    errors = report.summary.by_status["error"]
    assert errors > 0 and any(b._items is None and ("error", "low") in b.counts for b in report.findings.blocks)
    text = render(report, "text")
    assert text.count("yaml-03: policy could not be evaluated: planted") == errors
    listed = replace(report, findings=list(report.findings))
    assert text == render(listed, "text")


def test_the_failure_table_from_block_counts_is_the_one_from_findings(inventory):
    report = warm(inventory)
    findings = report.findings
    expected = Counter((f.subject.kind, f.severity) for f in findings if f.status == "fail")
    assert _failures(findings) == expected == _failures(list(findings))
    assert {kind for kind, _ in expected} == {"model"} and len(expected) > 1


def _finding(status: str, policy: str, message: str = "") -> Finding:
    return Finding(policy, policy.upper(), "high", status, SubjectRef("model", "m1"), message)


MADE = [_finding("pass", "p3"), _finding("fail", "p1", "b"), _finding("error", "p2"), _finding("skip", "p0"),
        _finding("warn", "p1", "a"), _finding("fail", "p1", "a")]


def _ready(asked: list) -> Block:
    def make(statuses=None):
        asked.append(statuses)
        return [f for f in MADE if statuses is None or f.status in statuses]

    counts = Counter((f.status, f.severity) for f in MADE)
    return Block("model", "m1", make=make, counts=dict(counts), pieces=["piece"] * 4 * len(MADE))


@pytest.mark.parametrize("statuses", [PROBLEMS, frozenset({"error"}), frozenset(), frozenset({"pass", "skip"})])
def test_of_status_builds_those_findings_only_in_their_order(statuses):
    asked: list = []
    block = _ready(asked)
    assert block.of_status(statuses) == [f for f in MADE if f.status in statuses]
    assert asked == [statuses] and block._items is None and block.ready
    held = Block("model", "m1", list(MADE))
    assert held.of_status(statuses) == block.of_status(statuses)
    # sorted (as a report sorts): the filtered make, sorted, is the sorted findings filtered
    ready = Findings([_ready(asked)]).sorted()
    asked.clear()
    assert ready.blocks[0].of_status(statuses) == [f for f in sorted(MADE, key=Finding.sort_key) if f.status in statuses]
    assert asked == [statuses] and ready.blocks[0]._items is None
    assert list(ready) == sorted(MADE, key=Finding.sort_key) and asked == [statuses, None]


def test_of_every_status_a_ready_made_block_builds_and_keeps_them_all():
    """``-v`` shows every finding: built once and kept, for the outputs rendered after the text."""
    asked: list = []
    block = _ready(asked)
    assert block.of_status(frozenset(STATUSES)) == MADE == block.items and asked == [None]
