"""`gavel budget status | spend | verify`, end to end through the command."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOW = "2026-11-26T00:00:00Z"


@pytest.fixture
def proj(tmp_path):
    root = tmp_path / "proj"
    (root / "datasets").mkdir(parents=True)
    (root / "gavel.yaml").write_text(textwrap.dedent("""\
        evidence:
          - {path: datasets/*.yaml, kind: dataset}
        privacy:
          budgets:
            warehouse.events:
              epsilon_budget: 1.0
              period: {kind: rolling, days: 30}
        """))
    (root / "datasets" / "sales.yaml").write_text(textwrap.dedent("""\
        id: sales
        owner: team
        records: 1000
        privacy_budget:
          epsilon_budget: 2.0
          delta_budget: 1.0e-5
          period: {kind: calendar, unit: month}
          max_epsilon_per_query: 1.0
          allowed_mechanisms: [laplace, gaussian]
        """))
    (root / "datasets" / "plain.yaml").write_text("id: plain\nowner: team\n")
    return root


def spend(gavel, root, dataset="sales", epsilon="0.5", *extra, now="2026-11-10T12:00:00Z"):
    args = ["budget", "spend", dataset, "--epsilon", epsilon, "--mechanism", "laplace", "--purpose", "test",
            "--actor", "tester", "-c", root]
    if now:
        args += ["--now", now]
    return gavel(*args, *extra)


def ledger_lines(root: Path) -> list[dict]:
    path = root / "privacy" / "ledger.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_spend_records_and_status_reports(gavel, proj):
    result = spend(gavel, proj, "sales", "0.5", "--ref", "JIRA-1", "--model", "m1")
    assert result.exit_code == 0, result.stderr
    assert "Left in 2026-11: epsilon 1.5" in result.stdout
    [entry] = ledger_lines(proj)
    assert entry["dataset"] == "sales" and entry["epsilon"] == 0.5 and entry["time"] == "2026-11-10T12:00:00Z"
    assert entry["actor"] == "tester" and entry["ref"] == "JIRA-1" and entry["model"] == "m1"
    assert entry["id"].startswith("sp-")

    result = gavel("budget", "status", "-c", proj, "--now", NOW)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[0] == "DATASET"
    sales = next(line for line in lines if line.startswith("sales"))
    assert "2026-11" in sales and "0.5 / 2" in sales and "1.5" in sales and sales.rstrip().endswith("ok")
    events = next(line for line in lines if line.startswith("warehouse.events"))
    assert "last 30 days" in events and "0 / 1" in events

    doc = json.loads(gavel("budget", "status", "--json", "-c", proj, "--now", NOW).stdout)
    assert [b["dataset"] for b in doc["budgets"]] == ["sales", "warehouse.events"]
    assert doc["budgets"][0]["spent"] == {"epsilon": 0.5, "delta": 0.0}
    assert doc["budgets"][0]["remaining"]["epsilon"] == 1.5
    assert doc["budgets"][1]["declared_in"] == "config"
    assert doc["ledger"]["entries"] == 1


def test_status_of_one_dataset_lists_periods_and_spends(gavel, proj):
    assert spend(gavel, proj, now="2026-10-03T00:00:00Z").exit_code == 0
    assert spend(gavel, proj, "sales", "1.0", now="2026-11-02T00:00:00Z").exit_code == 0
    result = gavel("budget", "status", "sales", "-c", proj, "--now", NOW)
    assert result.exit_code == 0
    assert "2026-10    epsilon 0.5" in result.stdout and "2026-11    epsilon 1" in result.stdout
    assert "spends in 2026-11:" in result.stdout and "by tester: test" in result.stdout
    doc = json.loads(gavel("budget", "status", "sales", "--json", "-c", proj, "--now", NOW).stdout)
    assert [p["window"]["label"] for p in doc["periods"]] == ["2026-10", "2026-11"]
    assert len(doc["budget"]["spends"]) == 1 and doc["budget"]["used"] == 0.5


def test_status_is_deterministic_for_a_fixed_now(gavel, proj):
    spend(gavel, proj)
    first = gavel("budget", "status", "--json", "-c", proj, "--now", NOW).stdout
    assert first == gavel("budget", "status", "--json", "-c", proj, "--now", NOW).stdout
    later = json.loads(gavel("budget", "status", "--json", "-c", proj, "--now", "2026-12-01T00:00:00Z").stdout)
    assert later["budgets"][0]["spent"]["epsilon"] == 0  # a new month
    earlier = json.loads(gavel("budget", "status", "--json", "-c", proj, "--now", "2026-11-10T11:59:59Z").stdout)
    assert earlier["budgets"][0]["spent"]["epsilon"] == 0  # not yet spent as of then


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sales", "1.5"], "exceeds max_epsilon_per_query 1"),
        (["sales", "0.5", "--mechanism", "exponential"], "mechanism 'exponential' is not allowed"),
        (["sales", "0.5", "--delta", "0.001"], "delta 0.001 is not below 1/n = 0.001"),
        (["warehouse.events", "0.5", "--delta", "1e-9"], "pure epsilon budget"),
    ],
)
def test_refusals_write_nothing(gavel, proj, args, message):
    dataset, epsilon, *extra = args
    result = spend(gavel, proj, dataset, epsilon, *extra)
    assert result.exit_code == 1
    assert message in result.stderr and "nothing recorded" in result.stderr
    assert ledger_lines(proj) == []


def test_spend_that_does_not_fit_is_refused(gavel, proj):
    for _ in range(2):
        assert spend(gavel, proj, "sales", "0.9").exit_code == 0
    result = spend(gavel, proj, "sales", "0.3")
    assert result.exit_code == 1
    assert "would exceed its budget for 2026-11" in result.stderr and "epsilon 2.1 of 2" in result.stderr
    assert len(ledger_lines(proj)) == 2
    assert spend(gavel, proj, "sales", "0.2").exit_code == 0  # what fits still goes through
    assert spend(gavel, proj, "sales", "0.5", now="2026-12-01T00:00:00Z").exit_code == 0  # a new period


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope", "0.5"], "unknown dataset 'nope'"),
        (["sale", "0.5"], "Did you mean sales?"),
        (["plain", "0.5"], "dataset 'plain' has no privacy budget"),
        (["sales", "0"], "--epsilon must be a positive number"),
        (["sales", "0.5", "--delta", "1"], "--delta must be at least 0 and below 1"),
        (["sales", "0.5", "--now", "yesterday"], "not an ISO 8601"),
    ],
)
def test_usage_errors_exit_2(gavel, proj, args, message):
    dataset, epsilon, *extra = args
    result = spend(gavel, proj, dataset, epsilon, *extra, now=None if "--now" in extra else "2026-11-10T12:00:00Z")
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert ledger_lines(proj) == []


def test_spend_refuses_an_invalid_ledger(gavel, proj):
    assert spend(gavel, proj).exit_code == 0
    path = proj / "privacy" / "ledger.jsonl"
    path.write_text(path.read_text() + '{"id": "broken"}\n')
    result = spend(gavel, proj)
    assert result.exit_code == 2
    assert "privacy/ledger.jsonl:2: the ledger is invalid" in result.stderr
    assert "'time' is a required property" in result.stderr
    assert len(path.read_text().splitlines()) == 2


def test_spend_refuses_when_the_ledger_is_ahead_of_the_clock(gavel, proj):
    assert spend(gavel, proj, now="2026-11-20T00:00:00Z").exit_code == 0
    result = spend(gavel, proj, now="2026-11-19T00:00:00Z")
    assert result.exit_code == 2 and "after now" in result.stderr


def test_verify(gavel, proj):
    result = gavel("budget", "verify", "-c", proj)
    assert result.exit_code == 0 and "no ledger file yet" in result.stdout
    spend(gavel, proj)
    spend(gavel, proj, "warehouse.events", "0.25")
    result = gavel("budget", "verify", "-c", proj)
    assert result.exit_code == 0, result.stderr
    assert "2 entries on 2 dataset(s), valid" in result.stdout

    path = proj / "privacy" / "ledger.jsonl"
    lines = path.read_text().splitlines()
    bad = json.loads(lines[0])
    lines.append(json.dumps({**bad, "time": "2026-01-01T00:00:00Z"}))  # duplicate id, out of order
    lines.append(json.dumps({**bad, "id": "sp-x", "dataset": "ghost"}))
    lines.append("{oops")
    path.write_text("\n".join(lines) + "\n")
    result = gavel("budget", "verify", "-c", proj)
    assert result.exit_code == 1
    err = result.stderr
    assert f"privacy/ledger.jsonl:3: duplicate spend id '{bad['id']}' (first on line 1)" in err
    assert "privacy/ledger.jsonl:3: out of order" in err
    assert "privacy/ledger.jsonl:4: unknown dataset 'ghost'" in err
    assert "privacy/ledger.jsonl:5: invalid JSON" in err
    assert "Traceback" not in err


def test_explicit_ledger_must_exist(gavel, proj):
    config = proj / "gavel.yaml"
    config.write_text(config.read_text() + "  ledger: audit/spends.jsonl\n")
    result = gavel("budget", "verify", "-c", proj)
    assert result.exit_code == 1 and "audit/spends.jsonl: the ledger named by privacy.ledger" in result.stderr
    result = spend(gavel, proj)
    assert result.exit_code == 2 and "does not exist" in result.stderr
    (proj / "audit").mkdir()
    (proj / "audit" / "spends.jsonl").touch()
    assert spend(gavel, proj).exit_code == 0
    assert len((proj / "audit" / "spends.jsonl").read_text().splitlines()) == 1


def test_bad_privacy_config_names_the_line(gavel, proj):
    config = proj / "gavel.yaml"
    config.write_text(config.read_text().replace("epsilon_budget: 1.0", "epsilon_budget: -1"))
    result = gavel("budget", "status", "-c", proj)
    assert result.exit_code == 2
    assert "gavel.yaml:6: field 'privacy.budgets.warehouse.events.epsilon_budget'" in result.stderr


def test_bad_budget_is_an_error_not_a_traceback(gavel, proj):
    card = proj / "datasets" / "sales.yaml"
    card.write_text(card.read_text().replace("max_epsilon_per_query: 1.0", "max_epsilon_per_query: 5.0"))
    result = gavel("budget", "status", "-c", proj)
    assert result.exit_code == 1
    assert "datasets/sales.yaml:4: privacy budget of 'sales': max_epsilon_per_query 5 exceeds" in result.stderr
    result = spend(gavel, proj)
    assert result.exit_code == 2 and "datasets/sales.yaml:4:" in result.stderr


def test_examples(gavel, tmp_path):
    copy = tmp_path / "examples"
    shutil.copytree(ROOT / "examples", copy)
    result = gavel("budget", "status", "-c", copy)
    assert result.exit_code == 0, result.stderr
    states = {line.split()[0]: line.split()[-1] for line in result.stdout.splitlines()[1:4]}
    assert states == {"analytics.default_rates": "ok", "features.credit_features": "limit",
                      "features.fraud_features": "EXCEEDED"}
    assert gavel("budget", "verify", "-c", copy).exit_code == 0
    result = spend(gavel, copy, "features.fraud_features", "0.1", now=None)
    assert result.exit_code in (0, 1)  # depends on the month the test runs in; never an error


def test_records_zero_does_not_switch_off_the_delta_check(gavel, proj):
    card = proj / "datasets" / "sales.yaml"
    card.write_text(card.read_text().replace("records: 1000", "records: 0"))
    spend = gavel("budget", "spend", "sales", "--epsilon", "0.1", "--delta", "0.5", "--mechanism", "laplace",
                  "--purpose", "p", "-c", proj)
    assert spend.exit_code == 2 and "records is 0" in spend.stderr and "sales.yaml" in spend.stderr
    assert not (proj / "privacy" / "ledger.jsonl").exists()
    check = gavel("check", proj, "--pack", "privacy", "-o", "json")
    report = json.loads(check.stdout)
    errors = [f for f in report["findings"] if f["status"] == "error" and "records is 0" in f["message"]]
    assert check.exit_code == 1 and errors and errors[0]["subject"]["source"]["file"] == "datasets/sales.yaml"


def test_status_shows_an_overdraft_with_the_digits_it_takes(gavel, proj):
    ledger = proj / "privacy" / "ledger.jsonl"
    ledger.parent.mkdir(exist_ok=True)
    from tests.privacy.chained import chain

    ledger.write_text(chain({"id": "sp-1", "time": "2026-11-02T00:00:00Z", "dataset": "sales", "epsilon": 1.0,
                             "mechanism": "laplace"},
                            {"id": "sp-2", "time": "2026-11-03T00:00:00Z", "dataset": "sales", "epsilon": 1.000001,
                             "mechanism": "laplace"}))
    table = gavel("budget", "status", "--now", NOW, "-c", proj)
    [row] = [line for line in table.stdout.splitlines() if line.startswith("sales")]
    assert "2.000001 / 2" in row and row.endswith("EXCEEDED")
    one = gavel("budget", "status", "sales", "--now", NOW, "-c", proj)
    assert "epsilon 2.000001 / 2" in one.stdout and "(100.0001% used)" in one.stdout
