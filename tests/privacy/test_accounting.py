"""Accounting: periods from the run's `now`, diffprivlib totals, and remaining budget."""

from __future__ import annotations

import random

import pytest
from diffprivlib.accountant import BudgetAccountant

from engine.findings import Source
from engine.privacy.accounting import (
    Budget,
    Window,
    account,
    fits,
    history_windows,
    remaining,
    window,
    within,
)
from engine.privacy.ledger import Entry

NOW = "2026-11-26T10:00:00Z"


def _budget(**spec) -> Budget:
    spec.setdefault("epsilon_budget", 1.0)
    return Budget.from_spec("ds", spec, source=Source(file="ds.yaml", line=1), declared_in="card", records=None)


def _entries(*pairs, time="2026-11-01T00:00:00Z") -> list[Entry]:
    return [Entry(i + 1, {"id": f"s{i}", "time": time, "dataset": "ds", "epsilon": e, "delta": d,
                          "mechanism": "laplace"}) for i, (e, d) in enumerate(pairs)]


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        ({"kind": "lifetime"}, Window("lifetime", None, None)),
        ({"kind": "rolling", "days": 30}, Window("last 30 days", "2026-10-27T10:00:00Z", None)),
        ({"kind": "calendar", "unit": "month"}, Window("2026-11", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z")),
        ({"kind": "calendar", "unit": "quarter"}, Window("2026-Q4", "2026-10-01T00:00:00Z", "2027-01-01T00:00:00Z")),
        ({"kind": "calendar", "unit": "year"}, Window("2026", "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z")),
    ],
)
def test_windows_follow_now(period, expected):
    assert window(period, NOW) == expected


def test_calendar_boundaries():
    assert window({"kind": "calendar", "unit": "month"}, "2026-12-31T23:59:59Z").end == "2027-01-01T00:00:00Z"
    assert window({"kind": "calendar", "unit": "quarter"}, "2026-03-31T23:59:59Z").label == "2026-Q1"
    assert window({"kind": "calendar", "unit": "quarter"}, "2026-04-01T00:00:00Z").label == "2026-Q2"
    assert window({"kind": "calendar", "unit": "month"}, "2026-11-26T01:00:00+02:00").label == "2026-11"
    assert window({"kind": "calendar", "unit": "month"}, "2026-12-01T01:00:00+02:00").label == "2026-11"  # UTC


def test_window_holds_is_half_open_and_ignores_the_future():
    win = window({"kind": "calendar", "unit": "month"}, NOW)
    assert win.holds("2026-11-01T00:00:00Z", NOW)
    assert not win.holds("2026-10-31T23:59:59Z", NOW)
    assert not win.holds("2026-11-26T10:00:01Z", NOW)  # after now: not yet spent as of now
    rolling = window({"kind": "rolling", "days": 1}, NOW)
    assert rolling.holds("2026-11-25T10:00:00Z", NOW) and not rolling.holds("2026-11-25T09:59:59Z", NOW)


def test_history_windows_for_calendar_budgets():
    budget = _budget(period={"kind": "calendar", "unit": "quarter"})
    labels = [w.label for w in history_windows(budget, ["2026-02-01T00:00:00Z", "2026-02-03T00:00:00Z",
                                                        "2026-08-01T00:00:00Z", "2027-01-01T00:00:00Z"], NOW)]
    assert labels == ["2026-Q1", "2026-Q3", "2026-Q4"]


def test_basic_totals_and_remaining():
    usage = account(_budget(epsilon_budget=2.0, delta_budget=1e-6), _entries((0.5, 1e-7), (0.25, 0)),
                    window({"kind": "lifetime"}, NOW))
    assert usage.epsilon == pytest.approx(0.75) and usage.delta == pytest.approx(1e-7)
    assert not usage.exceeded
    assert usage.remaining_epsilon == pytest.approx(1.25)
    assert usage.remaining_delta == pytest.approx(1 - (1 - 1e-6) / (1 - 1e-7))


def test_advanced_composition_uses_the_slack():
    budget = _budget(epsilon_budget=10.0, delta_budget=1e-5, composition="advanced", slack=1e-6)
    spends = [(0.05, 0)] * 400
    usage = account(budget, _entries(*spends), window({"kind": "lifetime"}, NOW))
    expected = BudgetAccountant(slack=1e-6).total(spent_budget=spends)
    assert usage.epsilon == pytest.approx(expected[0]) and usage.epsilon < 20 * 0.5  # below the naive 20
    assert usage.delta == pytest.approx(1e-6)  # the slack counts as spent delta
    assert not usage.exceeded


def test_exceeded_has_nothing_left():
    usage = account(_budget(epsilon_budget=1.0), _entries((0.6, 0), (0.6, 0)), window({"kind": "lifetime"}, NOW))
    assert usage.exceeded and usage.remaining_epsilon == 0 and usage.used == pytest.approx(1.2)


def test_delta_over_budget_is_exceeded():
    usage = account(_budget(epsilon_budget=5.0, delta_budget=1e-6), _entries((0.1, 2e-6)),
                    window({"kind": "lifetime"}, NOW))
    assert usage.exceeded


def test_float_sums_within_tolerance():
    budget = _budget(epsilon_budget=0.3)
    assert within(budget, (0.1 + 0.1 + 0.1, 0))
    assert not within(budget, (0.3000001, 0))
    ok, total, _ = fits(budget, _entries((0.1, 0), (0.1, 0)), 0.1, 0)
    assert ok and total == pytest.approx(0.3)
    assert not fits(budget, _entries((0.1, 0), (0.1, 0)), 0.11, 0)[0]


@pytest.mark.parametrize("seed", range(40))
def test_remaining_matches_diffprivlib(seed):
    """Our root-finding gives what BudgetAccountant.remaining() gives, for both compositions."""
    rng = random.Random(seed)
    composition = rng.choice(["basic", "advanced"])
    delta = rng.choice([1e-6, 1e-3]) if composition == "advanced" else rng.choice([0.0, 1e-6, 1e-3])
    spec = {"epsilon_budget": rng.choice([0.5, 1.0, 4.0, 10.0]), "delta_budget": delta, "composition": composition}
    if composition == "advanced":
        spec["slack"] = delta * rng.choice([0.1, 0.5])
    budget = _budget(**spec)
    count = rng.randint(1, 25)
    pairs = [(budget.epsilon * rng.uniform(0.01, 0.9) / count, rng.choice([0.0, delta / 100])) for _ in range(count)]
    reference = BudgetAccountant(budget.epsilon, budget.delta, budget.slack)
    total = reference.total(spent_budget=pairs)
    assert within(budget, total)
    for pair in pairs:
        reference.spend(*pair)
    expected = reference.remaining()
    got = remaining(budget, pairs, tuple(map(float, total)))
    assert got[0] == pytest.approx(expected[0], rel=1e-9, abs=1e-12)
    assert got[1] == pytest.approx(expected[1], rel=1e-6, abs=1e-15)


def test_budget_problems():
    assert _budget(epsilon_budget=1, delta_budget=1e-7, composition="advanced", slack=1e-6).problem()
    assert _budget(epsilon_budget=1, max_epsilon_per_query=2).problem()
    assert _budget(epsilon_budget=1, delta_budget=1e-6, composition="advanced", slack=1e-7).problem() is None
