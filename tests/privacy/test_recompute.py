"""`gavel budget verify`'s child process: diffprivlib's figures, the same as in-process, never skipped."""

from __future__ import annotations

import os

import pytest

from engine.findings import Source
from engine.privacy import accounting
from engine.privacy.recompute import Recomputer, compute


def _jobs() -> list:
    budgets = [accounting.Budget.from_spec("d", spec, source=Source(file="x"), declared_in="card", records=None)
               for spec in ({"epsilon_budget": 2.0, "delta_budget": 1e-6},
                            {"epsilon_budget": 2.0, "delta_budget": 1e-6, "composition": "advanced", "slack": 1e-7})]
    pairs = [(0.5, 1e-9), (0.25, 0.0), (1.5, 0.0)]
    return [(budget, pairs[k:]) for budget in budgets for k in range(len(pairs) + 1)]


def test_the_child_computes_diffprivlib_s_figures():
    jobs = _jobs()
    assert Recomputer().compute(jobs) == compute(jobs)
    assert compute(jobs)[2] == accounting.figures(accounting.computed(jobs[2][0], [
        type("Spend", (), {"epsilon": 1.5, "delta": 0.0})()]))


@pytest.mark.parametrize("failure", ["raises", "dies"])
def test_a_failing_child_leaves_the_figures_to_the_caller(monkeypatch, failure):
    def broken():
        if failure == "dies":
            os._exit(3)
        raise RuntimeError("no diffprivlib here")

    monkeypatch.setattr(accounting, "preload", broken)  # the forked child inherits it
    recomputer = Recomputer()
    monkeypatch.undo()
    jobs = _jobs()
    assert recomputer.compute(jobs) == compute(jobs)


def test_closing_an_unused_child():
    recomputer = Recomputer()
    recomputer.close()
    recomputer.close()
    assert recomputer.compute(_jobs()) == compute(_jobs())


def test_a_child_that_hangs_before_reading_leaves_the_figures_to_the_caller(monkeypatch):
    """The batch is sent only once the child says it is ready: a child stuck importing never
    blocks the caller's send (a batch larger than the pipe's buffer would), only its wait."""
    import time

    from engine.privacy import recompute

    monkeypatch.setattr(accounting, "preload", lambda: time.sleep(60))  # the forked child inherits it
    recomputer = Recomputer()
    monkeypatch.setattr(recompute, "TIMEOUT", 0.5)
    budget = _jobs()[0][0]
    jobs = [(budget, [(1e-5 * (i + 1), 0.0)]) for i in range(40_000)]  # ~1 MB: more than a pipe holds
    started = time.monotonic()
    assert recomputer.compute(jobs) == compute(jobs)
    assert time.monotonic() - started < 30


def _many() -> list:
    """Enough distinct jobs for the child to split them with a sibling."""
    budgets = [job[0] for job in _jobs()[::4]]
    return [(budgets[i % 2], [(1e-3 * (1 + i % 97), 1e-12 * (i % 5)), (0.25, 0.0)][: 1 + i % 2]) for i in range(1200)]


def test_the_child_and_its_sibling_compute_diffprivlib_s_figures_in_order():
    from engine.privacy import recompute

    jobs = _many()
    assert len(jobs) // 2 >= recompute.SPLIT_FROM
    assert Recomputer().compute(jobs) == compute(jobs)


def test_a_sibling_that_dies_leaves_its_half_to_the_child(monkeypatch):
    from engine.privacy import recompute

    real = recompute.compute
    here = os.getpid()

    def dies_in_the_sibling(jobs):
        if os.getpid() != here:  # _halves is called in this process: another pid is its sibling
            os._exit(5)
        return real(jobs)

    monkeypatch.setattr(recompute, "compute", dies_in_the_sibling)  # the forked sibling inherits it
    jobs = _many()
    assert recompute._halves(jobs) == real(jobs)
