"""The ledger's hash chain (issue 11.8): edits, deletions and downgrades fail `budget verify` and the gate."""

from __future__ import annotations

import hashlib
import json
import re
import textwrap
from pathlib import Path

import pytest

from tests.privacy.chained import chain

SPENDS = [
    {"id": "sp-1", "time": "2026-11-02T00:00:00Z", "dataset": "ds", "epsilon": 0.2, "mechanism": "laplace",
     "purpose": "p", "actor": "a"},
    {"id": "sp-2", "time": "2026-11-03T00:00:00Z", "dataset": "ds", "epsilon": 1.5, "mechanism": "laplace",
     "purpose": "p", "actor": "a"},
    {"id": "sp-3", "time": "2026-11-04T00:00:00Z", "dataset": "ds", "epsilon": 0.1, "mechanism": "laplace",
     "purpose": "p", "actor": "a"},
]


@pytest.fixture
def proj(tmp_path) -> Path:
    """One dataset with a budget of 1, overspent by the ledger's second line (1.5)."""
    root = tmp_path / "proj"
    (root / "datasets").mkdir(parents=True)
    (root / "privacy").mkdir()
    (root / "gavel.yaml").write_text(textwrap.dedent("""\
        evidence:
          - {path: datasets/*.yaml, kind: dataset}
        policies: {packs: [privacy]}
        now: "2026-11-26T00:00:00Z"
        """))
    (root / "datasets" / "ds.yaml").write_text("id: ds\nowner: team\nprivacy_budget: {epsilon_budget: 1.0}\n")
    (root / "privacy" / "ledger.jsonl").write_text(chain(*SPENDS))
    return root


def ledger(root: Path) -> Path:
    return root / "privacy" / "ledger.jsonl"


def lines(root: Path) -> list[str]:
    return ledger(root).read_text(encoding="utf-8").splitlines()


def write(root: Path, rows: list[str]) -> None:
    ledger(root).write_text("".join(r + "\n" for r in rows), encoding="utf-8")


def check_json(gavel, root: Path):
    result = gavel("check", root, "-o", "json")
    return result.exit_code, json.loads(result.stdout)


def chain_errors(report) -> list[dict]:
    return [f for f in report["findings"] if f["policy"] == "gavel-privacy" and f["status"] == "error"]


def test_chain_matches_an_independent_reading(gavel, proj):
    """Each line's hash is SHA-256 of its bytes without the final hash member; each prev is the hash above."""
    assert gavel("budget", "spend", "ds", "--epsilon", "0.01", "--mechanism", "laplace", "--purpose", "p",
                 "--actor", "a", "--now", "2026-11-25T00:00:00Z", "-c", proj).exit_code == 1  # exceeded: refused
    (proj / "datasets" / "ds.yaml").write_text("id: ds\nowner: team\nprivacy_budget: {epsilon_budget: 9.0}\n")
    assert gavel("budget", "spend", "ds", "--epsilon", "0.01", "--mechanism", "laplace", "--purpose", "p",
                 "--actor", "a", "--now", "2026-11-25T00:00:00Z", "-c", proj).exit_code == 0
    prev = "0" * 64
    for raw in ledger(proj).read_bytes().splitlines():
        match = re.fullmatch(rb'(.*), "hash": "([0-9a-f]{64})"\}', raw)
        assert match, raw
        assert hashlib.sha256(match.group(1) + b"}").hexdigest() == match.group(2).decode()
        assert json.loads(raw)["prev"] == prev
        prev = match.group(2).decode()
    result = gavel("budget", "verify", "-c", proj)
    assert result.exit_code == 0 and result.stdout.strip().endswith(f"head {prev}")
    assert gavel("budget", "verify", "--expect-head", prev[:16], "-c", proj).exit_code == 0


def test_intact_ledger_fails_the_gate_only_on_its_budget(gavel, proj):
    code, report = check_json(gavel, proj)
    assert code == 1 and not chain_errors(report)
    [exceeded] = [f for f in report["findings"] if f["policy"] == "privacy-budget-exceeded"]
    assert exceeded["status"] == "fail"


def test_edited_epsilon_is_an_error_not_a_pass(gavel, proj):
    rows = lines(proj)
    rows[1] = rows[1].replace('"epsilon": 1.5', '"epsilon": 0.15')
    write(proj, rows)
    verify = gavel("budget", "verify", "-c", proj)
    assert verify.exit_code == 1 and "ledger.jsonl:2: entry edited" in verify.stderr
    code, report = check_json(gavel, proj)
    [finding] = chain_errors(report)
    assert code == 1 and finding["subject"]["source"] == {"file": "privacy/ledger.jsonl", "line": 2}
    assert not report["gate"]["passed"]


def test_edited_last_line_is_detected(gavel, proj):
    rows = lines(proj)
    rows[2] = rows[2].replace('"epsilon": 0.1', '"epsilon": 0.01')
    write(proj, rows)
    verify = gavel("budget", "verify", "-c", proj)
    assert verify.exit_code == 1 and "ledger.jsonl:3: entry edited" in verify.stderr


def test_edit_with_a_recomputed_hash_breaks_the_next_link(gavel, proj):
    forged = dict(SPENDS[1], epsilon=0.15)
    first = json.loads(lines(proj)[0])["hash"]
    rows = lines(proj)
    rows[1] = chain(forged, prev=first).rstrip("\n")
    write(proj, rows)
    verify = gavel("budget", "verify", "-c", proj)
    assert verify.exit_code == 1 and "ledger.jsonl:3: hash chain broken" in verify.stderr
    assert "ledger.jsonl:2" not in verify.stderr  # the first broken line is the one after the forgery


def test_deleted_middle_line_is_an_error(gavel, proj):
    rows = lines(proj)
    write(proj, [rows[0], rows[2]])
    verify = gavel("budget", "verify", "-c", proj)
    assert verify.exit_code == 1 and "ledger.jsonl:2: hash chain broken" in verify.stderr
    code, report = check_json(gavel, proj)
    assert code == 1 and chain_errors(report) and not report["gate"]["passed"]


def test_deleted_first_line_is_an_error(gavel, proj):
    write(proj, lines(proj)[1:])
    verify = gavel("budget", "verify", "-c", proj)
    assert verify.exit_code == 1 and "ledger.jsonl:1: hash chain broken: the first entry" in verify.stderr


def test_deleted_last_line_needs_the_head_kept_elsewhere(gavel, proj):
    head = json.loads(lines(proj)[-1])["hash"]
    write(proj, lines(proj)[:-1])
    result = gavel("budget", "verify", "--expect-head", head, "-c", proj)
    assert result.exit_code == 1 and "not the expected" in result.stderr


def test_stripping_the_chain_is_an_error(gavel, proj):
    """Removing prev/hash from every line (a downgrade) must not switch tamper evidence off."""
    rows = [json.dumps({k: v for k, v in json.loads(r).items() if k not in ("prev", "hash")}) for r in lines(proj)]
    rows[1] = rows[1].replace('"epsilon": 1.5', '"epsilon": 0.15')
    write(proj, rows)
    verify = gavel("budget", "verify", "-c", proj)
    assert verify.exit_code == 1 and "not hash-chained" in verify.stderr and "gavel budget upgrade" in verify.stderr
    code, report = check_json(gavel, proj)
    assert code == 1 and any("not hash-chained" in f["message"] for f in chain_errors(report))
    status = gavel("budget", "status", "-c", proj)
    assert status.exit_code == 1 and "not hash-chained" in status.stderr


def test_an_unchained_line_appended_to_a_chained_ledger(gavel, proj):
    write(proj, [*lines(proj), json.dumps(dict(SPENDS[2], id="sp-4"))])
    verify = gavel("budget", "verify", "-c", proj)
    assert verify.exit_code == 1 and "ledger.jsonl:4: entry without a hash" in verify.stderr


def test_upgrade_is_explicit(gavel, proj):
    rows = [json.dumps({k: v for k, v in json.loads(r).items() if k not in ("prev", "hash")}) for r in lines(proj)]
    write(proj, rows)
    spend = gavel("budget", "spend", "ds", "--epsilon", "0.01", "--mechanism", "laplace", "--purpose", "p",
                  "--actor", "a", "-c", proj)
    assert spend.exit_code == 2 and "gavel budget upgrade" in spend.stderr  # never appended to an unchained ledger
    assert lines(proj) == rows
    done = gavel("budget", "upgrade", "-c", proj)
    assert done.exit_code == 0 and "chained 3 entries" in done.stdout
    assert [json.loads(r)["epsilon"] for r in lines(proj)] == [0.2, 1.5, 0.1]
    assert gavel("budget", "verify", "-c", proj).exit_code == 0
    assert "already hash-chained" in gavel("budget", "upgrade", "-c", proj).stdout


def test_upgrade_refuses_a_ledger_with_problems(gavel, proj):
    rows = [json.dumps({k: v for k, v in json.loads(r).items() if k not in ("prev", "hash")}) for r in lines(proj)]
    write(proj, [rows[0], "not json", rows[2]])
    result = gavel("budget", "upgrade", "-c", proj)
    assert result.exit_code == 2 and "ledger.jsonl:2" in result.stderr and "invalid JSON" in result.stderr
    assert ledger(proj).read_text().splitlines()[1] == "not json"
    tampered = lines(proj)
    chained_rows = chain(*SPENDS).splitlines()
    write(proj, [chained_rows[0], chained_rows[2]])  # partly chained, with a gap
    assert gavel("budget", "upgrade", "-c", proj).exit_code == 2
    assert tampered != lines(proj)


def test_a_ledger_with_a_bom_is_accepted_like_cards(gavel, proj):
    ledger(proj).write_bytes(b"\xef\xbb\xbf" + ledger(proj).read_bytes())
    verify = gavel("budget", "verify", "-c", proj)
    assert verify.exit_code == 0, verify.stderr
    code, report = check_json(gavel, proj)
    assert code == 1 and not chain_errors(report)
    assert gavel("budget", "status", "-c", proj).exit_code == 0
