"""Recorded totals as `gavel budget status` reads them (issue 15.5, privacy side).

* On ledgers written by `gavel budget spend`, the figures status prints from recorded totals are
  diffprivlib's accounting of the spends the period holds (hypothesis; diffprivlib is the oracle).
* A tampered recorded total (a changed number, an edited line, a broken chain) is never a silent
  pass: an error naming the file and line, and figures that do not come from the tampered line.
* Nothing recorded is lost: every member of every line is read back as written.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from diffprivlib.accountant import BudgetAccountant
from diffprivlib.utils import BudgetError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.cli import main
from engine.findings import Source
from engine.privacy.accounting import Budget, parse_time, window
from engine.privacy.ledger import parse_ledger
from tests.privacy.chained import chain

START = datetime(2026, 1, 1, tzinfo=UTC)
PERIODS = [{"kind": "lifetime"}, {"kind": "rolling", "days": 30}, {"kind": "rolling", "days": 90},
           {"kind": "calendar", "unit": "month"}, {"kind": "calendar", "unit": "quarter"}]


def _run(*args) -> object:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _project(root: Path, budgets: dict[str, dict]) -> None:
    (root / "datasets").mkdir(parents=True)
    (root / "gavel.yaml").write_text("evidence:\n  - {path: datasets/*.yaml, kind: dataset}\n")
    for dataset, spec in budgets.items():
        (root / "datasets" / f"{dataset}.yaml").write_text(
            f"id: {dataset}\nowner: team\nprivacy_budget: {yaml.safe_dump(spec, default_flow_style=True)}")


def _status(root: Path, now: str) -> tuple[dict, object]:
    result = _run("budget", "status", "--json", "--now", now, "-c", root, "--set", "cache.enabled=false")
    return json.loads(result.stdout), result


def assert_diffprivlib_s(views: list[dict], specs: dict, lines: list[dict], now: str) -> None:
    """Each budget ``status --json`` shows is the accounting of diffprivlib's own ``BudgetAccountant``."""
    for view in views:
        total, over, left = _oracle(specs[view["dataset"]], view["dataset"], lines, now)
        assert view["exceeded"] is over
        assert view["spent"]["epsilon"] == pytest.approx(total[0], rel=1e-11, abs=1e-15)
        assert view["spent"]["delta"] == pytest.approx(total[1], rel=1e-11, abs=1e-18)
        assert view["remaining"]["epsilon"] == pytest.approx(left, rel=1e-9, abs=1e-12)


def _oracle(spec: dict, dataset: str, lines: list[dict], now: str) -> tuple[tuple[float, float], bool, float]:
    """diffprivlib's own accounting of the spends the period holding ``now`` holds: its total, whether it
    is over the budget, and its ``remaining()`` epsilon (None when over)."""
    budget = Budget.from_spec(dataset, spec, source=Source(file="x"), declared_in="card", records=None)
    win = window(budget.period, now)
    pairs = [(e["epsilon"], e.get("delta", 0)) for e in lines if e["dataset"] == dataset and win.holds(e["time"], now)]
    accountant = BudgetAccountant(budget.epsilon, budget.delta, budget.slack)
    total = accountant.total(spent_budget=pairs)
    over = not (total[0] <= budget.epsilon * (1 + 1e-9) and total[1] <= budget.delta * (1 + 1e-9))
    if over:
        return (float(total[0]), float(total[1])), True, 0.0
    try:
        for pair in pairs:
            accountant.spend(*pair)
    except BudgetError:  # within Gavel's tolerance (1e-9) but over by a rounding error: nothing remains
        return (float(total[0]), float(total[1])), False, 0.0
    return (float(total[0]), float(total[1])), False, float(accountant.remaining()[0])


budget_specs = st.fixed_dictionaries({
    "epsilon_budget": st.sampled_from([1.0, 2.0, 5.0]),
    "period": st.sampled_from(PERIODS),
}, optional={"delta_budget": st.just(1e-6)}).flatmap(
    lambda spec: st.one_of(st.just(spec), st.just({**spec, "composition": "advanced", "delta_budget": 1e-6,
                                                   "slack": 1e-7})))
spends = st.lists(st.tuples(st.sampled_from(["a", "b"]), st.integers(1, 40 * 86400),
                            st.sampled_from([0.05, 0.1, 0.3, 0.7])), min_size=1, max_size=7)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(budgets=st.tuples(budget_specs, budget_specs), history=spends, later=st.integers(0, 120 * 86400))
def test_status_from_recorded_totals_is_diffprivlib_s_accounting(budgets, history, later):
    specs = {"a": budgets[0], "b": budgets[1]}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _project(root, specs)
        moment = START
        for dataset, gap, epsilon in history:  # recorded the way every spend is: through `gavel budget spend`
            moment += timedelta(seconds=gap)
            delta = "1e-9" if "delta_budget" in specs[dataset] else "0"
            _run("budget", "spend", dataset, "--epsilon", epsilon, "--delta", delta, "--mechanism", "laplace",
                 "--purpose", "p", "--actor", "t", "--now", _stamp(moment), "-c", root)
        lines = [json.loads(line) for line in (root / "privacy" / "ledger.jsonl").read_text().splitlines()]
        assert all("totals" in line for line in lines)
        last = lines[-1]["time"]
        for now in (last, _stamp(parse_time(last) + timedelta(seconds=later))):
            doc, result = _status(root, now)
            assert result.exit_code == 0, result.stderr
            if now == last:  # the last spend's budget is read from its totals, not recomputed
                assert doc["accounting"]["recorded"] >= 1
            assert_diffprivlib_s(doc["budgets"], specs, lines, now)


# -- tampering --------------------------------------------------------------------------------------
@pytest.fixture
def proj(tmp_path) -> Path:
    """Two spends on a lifetime budget, recorded by `gavel budget spend` (so with totals)."""
    root = tmp_path / "proj"
    _project(root, {"sales": {"epsilon_budget": 2.0, "period": {"kind": "lifetime"}},
                    "other": {"epsilon_budget": 2.0, "period": {"kind": "lifetime"}}})
    for dataset, epsilon, day in (("sales", "0.5", 1), ("other", "0.25", 2), ("sales", "1.0", 3)):
        result = _run("budget", "spend", dataset, "--epsilon", epsilon, "--mechanism", "laplace", "--purpose", "p",
                      "--actor", "t", "--now", f"2026-11-0{day}T00:00:00Z", "-c", root)
        assert result.exit_code == 0, result.stderr
    return root


NOW = "2026-11-26T00:00:00Z"


def _ledger(root: Path) -> Path:
    return root / "privacy" / "ledger.jsonl"


def _sales(root: Path) -> tuple[dict, object]:
    doc, result = _status(root, NOW)
    [view] = [b for b in doc["budgets"] if b["dataset"] == "sales"]
    return {**view, "accounted": "diffprivlib" if "sales" in doc["accounting"]["diffprivlib_datasets"] else "other"}, \
        result


def test_untampered_totals_are_read(proj):
    view, result = _sales(proj)
    assert result.exit_code == 0 and view["accounted"] == "other" and view["spent"]["epsilon"] == 1.5


def test_a_changed_recorded_number_is_an_error_and_is_not_read(proj):
    """totals.epsilon edited in place (chain not rebuilt): status names the line and accounts with diffprivlib."""
    path = _ledger(proj)
    lines = path.read_text().splitlines()
    assert '"epsilon": 1.5,' in lines[2]
    lines[2] = lines[2].replace('"epsilon": 1.5,', '"epsilon": 0.5,')  # the totals' epsilon, not the spend's
    path.write_text("\n".join(lines) + "\n")
    view, result = _sales(proj)
    assert result.exit_code == 1
    assert "privacy/ledger.jsonl:3: entry edited: the line no longer matches its hash" in result.stderr
    assert view["spent"]["epsilon"] == 1.5 and view["accounted"] == "diffprivlib"  # not the forged 0.5
    verify = _run("budget", "verify", "-c", proj)
    assert verify.exit_code == 1 and "privacy/ledger.jsonl:3: entry edited" in verify.stderr
    check = _run("check", proj, "--pack", "privacy", "--now", NOW, "--set", "cache.enabled=false", "-o", "json")
    assert check.exit_code == 1
    errors = [f for f in json.loads(check.stdout)["findings"] if f["status"] == "error"]
    assert any(f["subject"]["source"] == {"file": "privacy/ledger.jsonl", "line": 3} for f in errors)


def test_a_forged_total_with_a_rebuilt_chain_fails_verify(proj):
    """Every hash recomputed after lowering the recorded epsilon: only diffprivlib can tell, and verify asks it."""
    path = _ledger(proj)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    rows[2]["totals"]["epsilon"] = 0.5
    rows[2]["totals"]["remaining_epsilon"] = 1.5
    path.write_text(chain(*[{k: v for k, v in r.items() if k not in ("prev", "hash")} for r in rows]))
    result = _run("budget", "verify", "-c", proj)
    assert result.exit_code == 1
    [line] = [x for x in result.stderr.splitlines() if "recorded totals differ" in x]
    assert line.startswith("Error: privacy/ledger.jsonl:3: recorded totals differ from diffprivlib's for 'sales'")


def test_a_broken_chain_is_an_error_and_its_totals_are_not_read(proj):
    """The middle line deleted: the last line's link breaks; its totals are not read."""
    path = _ledger(proj)
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0], lines[2]]) + "\n")
    view, result = _sales(proj)
    assert result.exit_code == 1 and "privacy/ledger.jsonl:2: hash chain broken" in result.stderr
    assert view["accounted"] == "diffprivlib" and view["spent"]["epsilon"] == 1.5
    assert _run("budget", "verify", "-c", proj).exit_code == 1


def test_totals_after_an_invalid_line_are_not_read(proj):
    """After a line that is not an entry, the next link cannot be checked: its totals are not evidence."""
    path = _ledger(proj)
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0], lines[1], "{not json", lines[2]]) + "\n")
    view, result = _sales(proj)
    assert result.exit_code == 1 and "privacy/ledger.jsonl:3: invalid JSON" in result.stderr
    assert view["accounted"] == "diffprivlib" and view["spent"]["epsilon"] == 1.5


# -- nothing lost -------------------------------------------------------------------------------------
def test_every_member_of_every_line_is_read_back(proj):
    """Entries as parsed hold exactly what each line holds (totals, chain, extensions), line for line."""
    path = _ledger(proj)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    rows.append({"id": "sp-x", "time": "2026-11-20T00:00:00Z", "dataset": "other", "epsilon": 0.125,
                 "mechanism": "laplace", "x-ticket": {"id": 7, "tags": ["a", "é"]}})
    text = chain(*[{k: v for k, v in r.items() if k not in ("prev", "hash")} for r in rows])
    path.write_text(text)
    ledger = parse_ledger(text.encode(), path, "privacy/ledger.jsonl", lazy=True)
    assert not ledger.problems and not ledger.chain
    assert [e.data for e in ledger.entries] == [json.loads(line) for line in text.splitlines()]
    assert [e.line for e in ledger.entries] == [1, 2, 3, 4]
    assert all(ledger.sealed(e) for e in ledger.entries)
    doc, result = _status(proj, NOW)
    assert result.exit_code == 0 and doc["ledger"]["entries"] == 4


def test_status_says_which_budgets_diffprivlib_accounted(proj):
    """Text output: how many budgets came from recorded totals, and how many needed diffprivlib."""
    result = _run("budget", "status", "--now", NOW, "-c", proj, "--set", "cache.enabled=false")
    assert result.exit_code == 0
    assert result.stdout.rstrip().endswith("accounted: 2 from the totals recorded with their last spend")
    result = _run("budget", "status", "--now", "2026-11-02T12:00:00Z", "-c", proj, "--set", "cache.enabled=false")
    assert "accounted: 1 from the totals recorded with their last spend; 1 by diffprivlib (no recorded totals" in result.stdout
    one = _run("budget", "status", "sales", "--now", NOW, "-c", proj, "--set", "cache.enabled=false")
    assert "  accounted   from the totals recorded with their last spend" in one.stdout


def test_examples_read_recorded_totals(tmp_path):
    root = tmp_path / "examples"
    shutil.copytree(Path(__file__).resolve().parents[2] / "examples", root, ignore=shutil.ignore_patterns(".gavel"))
    result = _run("budget", "status", "--json", "-c", root, "--set", "cache.enabled=false")
    doc = json.loads(result.stdout)
    assert doc["accounting"]["diffprivlib"] == 0 and doc["accounting"]["recorded"] == len(doc["budgets"])


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_entries_decoded_on_demand_are_the_lines_as_written(newline):
    """An entry decodes its line again when asked for all of it: the same members, whatever the line ends,
    spacing or characters (a CRLF checkout, a hand-written line, non-ASCII text)."""
    rows = [{"id": "sp-1", "time": "2026-11-01T00:00:00Z", "dataset": "sales", "epsilon": 0.5, "mechanism": "laplace",
             "purpose": "Zürich – 東京", "x-note": {"a": [1, 2.5, None, True]}},
            {"id": "sp-2", "time": "2026-11-02T00:00:00Z", "dataset": "sales", "epsilon": 1e-3, "delta": 0,
             "mechanism": "laplace"}]
    lines = chain(*rows).splitlines()
    lines.append('  {"id" : "sp-3", "time": "2026-11-03T00:00:00Z", "dataset": "sales", "epsilon": 2,'
                 ' "mechanism": "laplace"}  ')  # by hand: spaced, unchained (an error, still an entry)
    text = newline.join(lines) + newline
    ledger = parse_ledger(text.encode(), Path("ledger.jsonl"), "ledger.jsonl", lazy=True)
    assert not ledger.problems
    assert [e.data for e in ledger.entries] == [json.loads(line) for line in lines]
    assert [(e.id, e.epsilon, e.delta, e.model) for e in ledger.entries] == [
        ("sp-1", 0.5, 0, None), ("sp-2", 1e-3, 0, None), ("sp-3", 2, 0, None)]
    assert [ledger.sealed(e) for e in ledger.entries] == [True, True, False]
    eager = parse_ledger(text.encode(), Path("ledger.jsonl"), "ledger.jsonl")  # as `gavel check` reads it
    assert [e.data for e in eager.entries] == [e.data for e in ledger.entries]
