"""diffprivlib's totals recorded with each spend (inside the hash chain): the gate reads them without importing
diffprivlib, `budget verify` recomputes them (issue 15.4, budget side)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.privacy.chained import chain

ROOT = Path(__file__).resolve().parents[2]


def _imports(args: list[str]) -> tuple[int, bool, str]:
    """(exit code, whether diffprivlib or scikit-learn got imported, stdout) of one `gavel` run in a fresh process."""
    code = textwrap.dedent(f"""
        import sys
        from click.testing import CliRunner
        from engine.cli import main
        result = CliRunner().invoke(main, {args!r})
        print(result.exit_code, "diffprivlib" in sys.modules or "sklearn" in sys.modules)
        print(result.stdout)
        """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    first, _, rest = out.stdout.partition("\n")
    exit_code, imported = first.split()
    return int(exit_code), imported == "True", rest


@pytest.fixture
def examples(tmp_path) -> Path:
    dest = tmp_path / "examples"
    shutil.copytree(ROOT / "examples", dest, ignore=shutil.ignore_patterns(".gavel"))
    return dest


def _strip_totals(ledger: Path) -> None:
    rows = [{k: v for k, v in json.loads(line).items() if k not in ("totals", "prev", "hash")}
            for line in ledger.read_text().splitlines()]
    ledger.write_text(chain(*rows))


def test_cold_gate_on_the_example_does_not_import_diffprivlib(examples):
    code, imported, _ = _imports(["check", str(examples), "--pack", "privacy", "--set", "cache.enabled=false"])
    assert code == 1 and not imported
    code, imported, _ = _imports(["budget", "status", "-c", str(examples), "--set", "cache.enabled=false"])
    assert code == 0 and not imported


def test_recorded_totals_give_the_same_verdicts_as_diffprivlib(examples, tmp_path):
    """The same report with the recorded totals and with diffprivlib asked (totals stripped, chain rebuilt)."""
    args = ["check", str(examples), "--pack", "privacy", "--set", "cache.enabled=false", "-o", "json"]
    _code, _imported, recorded = _imports(args)
    _strip_totals(examples / "privacy" / "ledger.jsonl")
    _code, imported, computed = _imports(args)
    assert imported  # without totals, diffprivlib does the accounting

    def verdicts(text: str) -> list:
        report = json.loads(text)
        return [(f["policy"], f["subject"]["id"], f["status"], f["message"]) for f in report["findings"]]

    assert verdicts(recorded) == verdicts(computed) and any(v[0] == "privacy-budget-exceeded"
                                                           for v in verdicts(recorded))


def test_spend_records_totals_and_status_reads_them(gavel, examples):
    result = gavel("budget", "spend", "analytics.default_rates", "--epsilon", "0.25", "--mechanism", "laplace",
                   "--purpose", "p", "--actor", "a", "--now", "2026-11-26T12:00:00Z", "-c", examples)
    assert result.exit_code == 0, result.stderr
    last = json.loads((examples / "privacy" / "ledger.jsonl").read_text().splitlines()[-1])
    assert last["totals"]["epsilon"] == 1.0 and last["totals"]["exceeded"] is False
    code, imported, out = _imports(["budget", "status", "--json", "--now", "2026-11-26T12:00:00Z", "-c",
                                    str(examples), "--set", "cache.enabled=false"])
    [view] = [b for b in json.loads(out)["budgets"] if b["dataset"] == "analytics.default_rates"]
    assert code == 0 and not imported and view["spent"]["epsilon"] == 1.0
    assert gavel("budget", "verify", "-c", examples).exit_code == 0


def test_forged_totals_with_a_rebuilt_chain_fail_verify(gavel, examples):
    """Someone rewrites `exceeded` and rebuilds every hash: the chain holds, diffprivlib does not agree."""
    ledger = examples / "privacy" / "ledger.jsonl"
    rows = [json.loads(line) for line in ledger.read_text().splitlines()]
    forged = [i for i, r in enumerate(rows) if r.get("totals", {}).get("exceeded")]
    assert forged  # the example's fraud budget is overspent
    for i in forged:
        rows[i]["totals"]["exceeded"] = False
    ledger.write_text(chain(*[{k: v for k, v in r.items() if k not in ("prev", "hash")} for r in rows]))
    result = gavel("budget", "verify", "-c", examples)
    # the totals Gavel reads are the dataset's last entry's: those are the ones verified
    assert result.exit_code == 1 and f"ledger.jsonl:{forged[-1] + 1}: recorded totals differ" in result.stderr


def test_only_the_last_entry_s_totals_are_read(examples):
    """Totals of an older entry are a record: a report for an earlier `now` asks diffprivlib."""
    code, imported, _ = _imports(["budget", "status", "-c", str(examples), "--now", "2026-06-01T00:00:00Z",
                                  "--set", "cache.enabled=false"])
    assert code == 0 and imported


def test_totals_for_another_budget_are_not_used(gavel, examples):
    """A budget changed after the spends: the recorded totals no longer match, diffprivlib is asked."""
    card = examples / "datasets" / "features.fraud_features.yaml"
    text = card.read_text()
    assert "epsilon_budget: 2.0" in text
    card.write_text(text.replace("epsilon_budget: 2.0", "epsilon_budget: 20.0"))
    code, imported, out = _imports(["budget", "status", "--json", "-c", str(examples), "--set",
                                    "cache.enabled=false"])
    [view] = [b for b in json.loads(out)["budgets"] if b["dataset"] == "features.fraud_features"]
    assert imported and view["exceeded"] is False and code == 0
    assert gavel("budget", "verify", "-c", examples).exit_code == 0
