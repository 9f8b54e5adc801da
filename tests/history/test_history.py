"""The audit history: recording, the hash chain (edits and deletions detected), diff, baseline gating."""

from __future__ import annotations

import json
import sqlite3

import pytest

from engine.history import diff_reports, get_run, list_runs, record_run, verify
from tests.conftest import NOW
from tests.report.conftest import make_report


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "h" / "history.db"
    for i in range(3):
        record_run(make_report(), path, recorded_at=f"2026-11-2{i}T00:00:00Z")
    return path


def sql(path, statement, *args):
    with sqlite3.connect(path) as conn:
        conn.execute(statement, args)


def test_record_and_read(db):
    runs = list_runs(db)
    assert [r.seq for r in runs] == [1, 2, 3]
    assert runs[0].prev_hash == "0" * 64 and runs[1].prev_hash == runs[0].hash
    assert get_run(db, "2").load().to_json() == make_report().to_json()
    assert get_run(db, "latest").seq == 3 and get_run(db, "latest~2").seq == 1
    assert get_run(db, runs[0].run_id[:8]).seq == 3  # a run-id prefix: the newest run with it
    ok = verify(db)
    assert ok.ok and ok.runs == 3 and ok.head == runs[-1].hash


def test_edited_report_is_detected(db):
    sql(db, "UPDATE runs SET report = replace(report, '\"fail\"', '\"pass\"') WHERE seq = 2")
    result = verify(db)
    assert not result.ok and any("run 2: report edited" in p for p in result.problems)


def test_edit_with_recomputed_digest_is_detected(db):
    import hashlib

    row = get_run(db, "2")
    forged = row.report.replace('"fail"', '"pass"')
    sql(db, "UPDATE runs SET report = ?, report_sha256 = ? WHERE seq = 2", forged,
        hashlib.sha256(forged.encode()).hexdigest())
    result = verify(db)
    assert not result.ok and any("run 2: hash does not match" in p for p in result.problems)


def test_edit_with_recomputed_hash_breaks_the_next_link(db):
    from engine.history import chain_hash

    row = get_run(db, "2")
    sql(db, "UPDATE runs SET recorded_at = '2020-01-01T00:00:00Z', hash = ? WHERE seq = 2",
        chain_hash(2, row.run_id, "2020-01-01T00:00:00Z", row.now, row.passed, row.summary, row.report_sha256,
                   row.prev_hash))
    result = verify(db)
    assert not result.ok and any("run 3: chain broken" in p for p in result.problems)


def test_deleted_middle_run_is_detected(db):
    sql(db, "DELETE FROM runs WHERE seq = 2")
    result = verify(db)
    assert not result.ok and any("run 2 missing" in p for p in result.problems)


def test_deleted_last_run_is_detected(db):
    sql(db, "DELETE FROM runs WHERE seq = 3")
    result = verify(db)
    assert not result.ok and any("run 3 missing" in p for p in result.problems)


def test_expected_head_from_elsewhere(db):
    head = verify(db).head
    assert verify(db, expect_head=head).ok
    assert not verify(db, expect_head="f" * 64).ok


def test_diff_new_fixed_changed():
    from dataclasses import replace

    old = make_report()
    findings = []
    for f in old.findings:
        if f.policy == "dpia-approved" and f.status == "fail":
            f = replace(f, status="pass")  # fixed
        elif f.policy == "human-oversight" and f.status == "pass":
            f = replace(f, status="fail")  # new failure
        elif f.policy == "monitoring" and f.status == "waived":
            f = replace(f, status="skip")  # changed
        findings.append(f)
    from engine.report import build_report, decide_gate

    new = build_report(findings, inputs=old.inputs, policies=old.policies, now=NOW, engine="embedded",
                       gate=decide_gate(findings, fail_on="critical"))
    d = diff_reports(old, new)
    assert [(e["policy"], e["id"], e["was"], e["status"]) for e in d["new"]] == [
        ("human-oversight", "chatbot", "pass", "fail")]
    assert [(e["policy"], e["id"], e["status"]) for e in d["fixed"]] == [("dpia-approved", "chatbot", "pass")]
    assert [(e["policy"], e["was"], e["status"]) for e in d["changed"]] == [("monitoring", "waived", "skip")]


# --- through the command ----------------------------------------------------------------------------

def test_cli_record_list_show_diff_verify(gavel, example_copy):
    assert gavel("check", example_copy, "--history").exit_code == 1
    card = example_copy / "models" / "support-assistant.yaml"
    card.write_text(card.read_text().replace("ai_disclosure: false", "ai_disclosure: true"))
    assert gavel("check", example_copy, "--history").exit_code == 1
    assert (example_copy / ".gavel-history" / "history.db").is_file()

    listing = gavel("history", "list", "-p", example_copy)
    assert listing.exit_code == 0 and len(listing.stdout.strip().splitlines()) == 3
    runs = json.loads(gavel("history", "list", "-p", example_copy, "--format", "json").stdout)
    assert [r["seq"] for r in runs] == [1, 2]

    shown = gavel("history", "show", "1", "-p", example_copy, "-o", "json")
    assert shown.exit_code == 0 and json.loads(shown.stdout)["run"]["id"] == runs[0]["run"]

    diff = gavel("history", "diff", "1", "2", "-p", example_copy, "--format", "json")
    result = json.loads(diff.stdout)
    assert [(e["policy"], e["id"]) for e in result["fixed"]] == [("ai-disclosure", "support-assistant")]
    text = gavel("history", "diff", "1", "-p", example_copy).stdout
    assert "fixed: 1" in text and "ai-disclosure" in text

    ok = gavel("history", "verify", "-p", example_copy)
    assert ok.exit_code == 0 and ok.stdout.startswith("ok: 2 runs, chain intact")
    sql(example_copy / ".gavel-history" / "history.db", "UPDATE runs SET report = report || ' ' WHERE seq = 1")
    bad = gavel("history", "verify", "-p", example_copy)
    assert bad.exit_code == 1 and "run 1: report edited" in bad.stderr


def test_cli_history_path_and_errors(gavel, example_copy, tmp_path):
    db = tmp_path / "elsewhere.db"
    assert gavel("check", example_copy, "--history", "--history-path", db).exit_code == 1
    assert db.is_file() and not (example_copy / ".gavel-history" / "history.db").exists()
    assert gavel("history", "list", "-p", example_copy, "--history-path", db).exit_code == 0
    missing = gavel("history", "list", "-p", example_copy)
    assert missing.exit_code == 2 and "no audit history" in missing.stderr
    unknown = gavel("history", "show", "99", "-p", example_copy, "--history-path", db)
    assert unknown.exit_code == 2 and "no run '99'" in unknown.stderr
    db2 = tmp_path / "junk.db"
    db2.write_text("not sqlite")
    junk = gavel("history", "verify", "-p", example_copy, "--history-path", db2)
    assert junk.exit_code == 2 and junk.stderr.startswith("Error: ")


# --- baseline ---------------------------------------------------------------------------------------

def test_baseline_report_file_gates_only_new_findings(gavel, example_copy, tmp_path):
    base = tmp_path / "base.json"
    assert gavel("check", example_copy, "-o", f"json={base}").exit_code == 1
    same = gavel("check", example_copy, "--baseline", base, "-o", "json")
    assert same.exit_code == 0  # the known debt no longer fails the gate
    assert json.loads(same.stdout)["extra"]["baseline"]["new"] == []
    card = example_copy / "models" / "credit-scoring-v3.yaml"
    # make a new failure: switch off the monitoring of a production model that passed
    text = card.read_text()
    assert "monitoring: {enabled: true" in text
    card.write_text(text.replace("monitoring: {enabled: true", "monitoring: {enabled: false"))
    worse = gavel("check", example_copy, "--baseline", base, "-o", "json")
    report = json.loads(worse.stdout)
    new = report["extra"]["baseline"]["new"]
    assert worse.exit_code == 1 and [n[:3] for n in new] == [["production-monitoring", "model", "credit-scoring-v3"]]
    assert any("1 medium failure" in r for r in report["gate"]["reasons"])


def test_baseline_history_run(gavel, example_copy):
    assert gavel("check", example_copy, "--history").exit_code == 1
    assert gavel("check", example_copy, "--baseline", "1").exit_code == 0
    assert gavel("check", example_copy, "--baseline", "latest").exit_code == 0
    bad = gavel("check", example_copy, "--baseline", "nope-not-there")
    assert bad.exit_code == 2 and "no run 'nope-not-there'" in bad.stderr


def test_baseline_errors_always_fail(gavel, example_copy, tmp_path):
    base = tmp_path / "base.json"
    gavel("check", example_copy, "-o", f"json={base}")
    (example_copy / "models" / "broken.yaml").write_text("id: [unclosed")
    result = gavel("check", example_copy, "--baseline", base)
    assert result.exit_code == 1 and "error(s)" in result.stdout


def test_bad_baseline_file(gavel, example_copy, tmp_path):
    bad = tmp_path / "base.json"
    bad.write_text('{"not": "a report"}')
    result = gavel("check", example_copy, "--baseline", bad)
    assert result.exit_code == 2 and "not a Gavel report" in result.stderr
