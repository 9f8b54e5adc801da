"""Recorded totals after spends leave the period (issue 15.5): `expiring` and `empty`.

`gavel budget spend` records, with a spend on a rolling budget, diffprivlib's figures for the same
spends without the k oldest (``expiring``), and under advanced composition those for no spends
(``empty``): a later `status`, once spends have left the window, reads them instead of importing
diffprivlib. They are read only from the dataset's last entry, sealed, with a key for exactly this
budget; `gavel budget verify` recomputes every one; ledgers written without them read and verify.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.findings import Source
from engine.privacy.accounting import Budget, Window, account, computed, figures
from tests.privacy.chained import chain
from tests.privacy.test_recorded import _project, _run, assert_diffprivlib_s
from tests.privacy.test_totals import _imports

SPECS = {
    "roll": {"epsilon_budget": 4.0, "delta_budget": 1e-6, "period": {"kind": "rolling", "days": 30}},
    "adv": {"epsilon_budget": 4.0, "delta_budget": 1e-6, "composition": "advanced", "slack": 1e-7,
            "period": {"kind": "rolling", "days": 30}},
    "month": {"epsilon_budget": 4.0, "delta_budget": 1e-6, "composition": "advanced", "slack": 1e-7,
              "period": {"kind": "calendar", "unit": "month"}},
    "basic_month": {"epsilon_budget": 4.0, "period": {"kind": "calendar", "unit": "month"}},
}
DAYS = (1, 3, 5, 7, 9)  # one spend on each dataset on each of these days of November


@pytest.fixture
def proj(tmp_path) -> Path:
    root = tmp_path / "proj"
    _project(root, SPECS)
    for day in DAYS:
        for dataset in SPECS:
            delta = "0" if dataset == "basic_month" else "1e-9"
            result = _run("budget", "spend", dataset, "--epsilon", "0.25", "--delta", delta, "--mechanism", "laplace",
                          "--purpose", "p", "--actor", "t", "--now", f"2026-11-{day:02d}T00:00:00Z", "-c", root)
            assert result.exit_code == 0, result.stderr
    return root


def _rows(root: Path) -> list[dict]:
    return [json.loads(line) for line in (root / "privacy" / "ledger.jsonl").read_text().splitlines()]


def _rewrite(root: Path, rows: list[dict]) -> None:
    (root / "privacy" / "ledger.jsonl").write_text(
        chain(*[{k: v for k, v in r.items() if k not in ("prev", "hash")} for r in rows]))


def _status(root: Path, now: str) -> tuple[int, bool, dict]:
    code, imported, out = _imports(["budget", "status", "--json", "--now", now, "-c", str(root),
                                    "--set", "cache.enabled=false"])
    return code, imported, json.loads(out)


def _assert_diffprivlib_s(doc: dict, root: Path, now: str) -> None:
    assert_diffprivlib_s(doc["budgets"], SPECS, _rows(root), now)


def test_spend_records_expiring_and_empty(proj):
    last = {row["dataset"]: row["totals"] for row in _rows(proj)}
    assert len(last["roll"]["expiring"]) == len(DAYS) - 1 and "empty" not in last["roll"]  # basic: nothing to record
    assert len(last["adv"]["expiring"]) == len(DAYS) - 1 and last["adv"]["empty"][1] == 1e-7  # the slack, spent
    assert "expiring" not in last["month"] and "empty" in last["month"]
    assert "expiring" not in last["basic_month"] and "empty" not in last["basic_month"]


@pytest.mark.parametrize("now", [
    "2026-12-02T12:00:00Z",  # 1 spend of each rolling window expired
    "2026-12-08T12:00:00Z",  # 4 expired
    "2026-12-20T00:00:00Z",  # all expired; a new month without spends
])
def test_spends_leaving_the_window_need_no_diffprivlib(proj, now):
    code, imported, doc = _status(proj, now)
    assert code == 0 and not imported
    assert doc["accounting"]["diffprivlib"] == 0
    _assert_diffprivlib_s(doc, proj, now)


def test_a_basic_period_without_spends_composes_nothing(proj):
    code, imported, doc = _status(proj, "2026-12-20T00:00:00Z")
    [view] = [b for b in doc["budgets"] if b["dataset"] == "basic_month"]
    assert view["spent"] == {"epsilon": 0, "delta": 0} and view["remaining"] == {"epsilon": 4.0, "delta": 0}
    assert doc["accounting"]["empty"] == 2  # basic_month, and roll (basic, every spend expired)


@settings(max_examples=60, deadline=None)
@given(epsilon=st.floats(1e-6, 1e6), delta=st.one_of(st.just(0.0), st.floats(1e-12, 0.5)))
def test_no_spends_under_basic_composition_is_diffprivlib_s_figures(epsilon, delta):
    budget = Budget.from_spec("d", {"epsilon_budget": epsilon, "delta_budget": delta}, source=Source(file="x"),
                              declared_in="card", records=None)
    usage = account(budget, [], Window("", None, None))
    assert usage.source == "empty"
    assert figures(usage) == figures(computed(budget, []))


def test_verify_recomputes_the_expiring_and_empty_figures(proj):
    assert _run("budget", "verify", "-c", proj).exit_code == 0
    rows = _rows(proj)
    line = max(i for i, r in enumerate(rows) if r["dataset"] == "adv") + 1
    rows[line - 1]["totals"]["expiring"][2][0] = 0.01  # forged, the chain rebuilt
    rows[line - 1]["totals"]["empty"][3] = 400.0
    _rewrite(proj, rows)
    result = _run("budget", "verify", "-c", proj)
    assert result.exit_code == 1
    errors = [x for x in result.stderr.splitlines() if "recorded totals differ" in x]
    assert errors[0].startswith(f"Error: privacy/ledger.jsonl:{line}: recorded totals differ from diffprivlib's "
                                "for 'adv' without its 3 oldest spend(s)")
    assert errors[1].startswith(f"Error: privacy/ledger.jsonl:{line}: recorded totals differ from diffprivlib's "
                                "for 'adv' with no spends")


def test_verify_refuses_expiring_figures_for_more_spends_than_the_period_held(proj):
    rows = _rows(proj)
    line = max(i for i, r in enumerate(rows) if r["dataset"] == "roll") + 1
    expiring = rows[line - 1]["totals"]["expiring"]
    expiring.append(expiring[-1])
    _rewrite(proj, rows)
    result = _run("budget", "verify", "-c", proj)
    assert result.exit_code == 1
    assert f"privacy/ledger.jsonl:{line}: recorded totals differ from diffprivlib's for 'roll': expiring figures " \
           f"for {len(DAYS)} of its {len(DAYS)} spends dropped" in result.stderr


def test_an_edited_expiring_figure_is_not_read(proj):
    """Edited in place (the chain not rebuilt): an error naming the line, and diffprivlib's figures."""
    path = proj / "privacy" / "ledger.jsonl"
    lines = path.read_text().splitlines()
    line = max(i for i, r in enumerate(_rows(proj)) if r["dataset"] == "roll") + 1
    row = json.loads(lines[line - 1])
    forged = json.dumps(row["totals"]["expiring"][0])
    assert forged in lines[line - 1]
    lines[line - 1] = lines[line - 1].replace(forged, json.dumps([0.0, 0.0, False, 4.0, 1e-6]), 1)
    path.write_text("\n".join(lines) + "\n")
    code, imported, doc = _status(proj, "2026-12-02T12:00:00Z")
    assert code == 1 and imported and "roll" in doc["accounting"]["diffprivlib_datasets"]
    _assert_diffprivlib_s(doc, proj, "2026-12-02T12:00:00Z")


@pytest.mark.parametrize("strip", ["expiring", "empty", "both"])
def test_totals_written_without_them_read_and_verify(proj, strip):
    """Ledgers from before these members (or with fewer of them): diffprivlib is asked; verify passes."""
    rows = _rows(proj)
    for row in rows:
        for name in ("expiring", "empty") if strip == "both" else (strip,):
            row["totals"].pop(name, None)
    _rewrite(proj, rows)
    assert _run("budget", "verify", "-c", proj).exit_code == 0
    now = "2026-12-20T00:00:00Z" if strip == "empty" else "2026-12-02T12:00:00Z"
    code, imported, doc = _status(proj, now)
    assert code == 0 and imported and doc["accounting"]["diffprivlib"] >= 1
    _assert_diffprivlib_s(doc, proj, now)


def test_fewer_expiring_figures_than_spends_dropped(proj):
    """More spends left the window than figures were recorded for: diffprivlib is asked."""
    rows = _rows(proj)
    for row in rows:
        if "expiring" in row["totals"]:
            row["totals"]["expiring"] = row["totals"]["expiring"][:1]
    _rewrite(proj, rows)
    assert _run("budget", "verify", "-c", proj).exit_code == 0
    code, imported, doc = _status(proj, "2026-12-04T12:00:00Z")  # 2 of each rolling window expired
    assert code == 0 and imported
    assert sorted(doc["accounting"]["diffprivlib_datasets"]) == ["adv", "roll"]
    _assert_diffprivlib_s(doc, proj, "2026-12-04T12:00:00Z")
