"""Every stored field of a run is in the hash chain (issue 11.8), and a 0.1 history is upgraded explicitly."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace

import pytest

from engine.history.chain import GENESIS, chain_hash_v1


def sql(path, statement, *args):
    with sqlite3.connect(path) as conn:
        conn.execute(statement, args)


@pytest.fixture
def recorded(gavel, example_copy):
    for _ in range(3):
        assert gavel("check", example_copy, "--history", "-o", "json").exit_code == 1
    db = example_copy / ".gavel-history" / "history.db"
    assert gavel("history", "verify", "-p", example_copy).exit_code == 0
    return example_copy, db


@pytest.mark.parametrize("edit, words", [
    ("UPDATE runs SET passed = 1 WHERE seq = 2", "run 2: hash does not match"),
    ("UPDATE runs SET passed = 1", "gate pass differs from the report's fail"),
    ("UPDATE runs SET summary = replace(summary, '\"fail\":', '\"fail\":0,\"x\":') WHERE seq = 3", "run 3: hash"),
    ("UPDATE runs SET now = '2099-01-01T00:00:00Z' WHERE seq = 1", "run 1: hash does not match"),
    ("UPDATE runs SET run_id = 'forged' WHERE seq = 2", "run 2: hash does not match"),
    ("UPDATE runs SET recorded_at = '2020-01-01T00:00:00Z' WHERE seq = 2", "run 2: hash does not match"),
])
def test_any_edited_field_fails_verify(gavel, recorded, edit, words):
    project, db = recorded
    sql(db, edit)
    result = gavel("history", "verify", "-p", project)
    assert result.exit_code == 1 and words in result.stderr


def test_forged_verdict_with_recomputed_chain_still_disagrees_with_the_report(gavel, recorded):
    """Rebuilding every hash after `passed=1` is caught by the report stored beside the fields."""
    from engine.history.chain import canonical
    from engine.history.sqlite import SQLiteStore

    project, db = recorded
    store = SQLiteStore(db, create=False)
    rows = store.rows()
    prev, forged = GENESIS, []
    for row in rows:
        row = replace(row, passed=True, prev_hash=prev)
        row = replace(row, hash=row.expected_hash())
        forged.append(row)
        prev = row.hash
    store.rehash(forged, "2")
    store.conn.execute("UPDATE runs SET passed = 1")
    store.close()
    listing = json.loads(gavel("history", "list", "-p", project, "--format", "json").stdout)
    assert all(r["passed"] for r in listing)  # the forgery shows in `list`...
    result = gavel("history", "verify", "-p", project)
    assert result.exit_code == 1 and "gate pass differs from the report's fail" in result.stderr  # ...not in verify
    assert canonical({"b": 1, "a": 2}) == '{"a":2,"b":1}'


def test_version_1_history_is_reported_then_upgraded(gavel, recorded):
    project, db = recorded
    # make it what Gavel 0.1 wrote: version-1 hashes, no chain version recorded
    with sqlite3.connect(db) as conn:
        prev = GENESIS
        for seq, recorded_at, digest in conn.execute("SELECT seq, recorded_at, report_sha256 FROM runs ORDER BY seq"):
            h = chain_hash_v1(seq, recorded_at, digest, prev)
            conn.execute("UPDATE runs SET prev_hash = ?, hash = ? WHERE seq = ?", (prev, h, seq))
            prev = h
        conn.execute("UPDATE meta SET value = ? WHERE key = 'head'", (prev,))
        conn.execute("DELETE FROM meta WHERE key = 'chain'")
    old = gavel("history", "verify", "-p", project)
    assert old.exit_code == 1 and "gavel history upgrade" in old.stderr
    refused = gavel("check", project, "--history")
    assert refused.exit_code == 2 and "gavel history upgrade" in refused.stderr
    assert "not recorded" in refused.stderr and "FAIL" in refused.stdout  # the report itself is not lost
    done = gavel("history", "upgrade", "-p", project)
    assert done.exit_code == 0 and done.stdout.startswith("upgraded 3 runs")
    assert gavel("history", "verify", "-p", project).exit_code == 0
    assert gavel("history", "upgrade", "-p", project).stdout.startswith("already current")
    assert gavel("check", project, "--history").exit_code == 1
    assert gavel("history", "verify", "-p", project).stdout.startswith("ok: 4 runs")


def test_an_edited_version_1_history_is_not_upgraded(gavel, recorded):
    project, db = recorded
    sql(db, "DELETE FROM meta WHERE key = 'chain'")  # version 1 now, and its v1 hashes do not match
    result = gavel("history", "upgrade", "-p", project)
    assert result.exit_code == 2 and "cannot be upgraded" in result.stderr


def test_history_lives_outside_the_cache(gavel, example_copy):
    assert gavel("check", example_copy, "--history").exit_code == 1
    assert (example_copy / ".gavel-history" / "history.db").is_file()
    assert not (example_copy / ".gavel" / "history.db").exists()


def test_a_0_1_history_in_the_cache_folder_is_still_used(gavel, example_copy, tmp_path):
    assert gavel("check", example_copy, "--history").exit_code == 1
    (example_copy / ".gavel").mkdir(exist_ok=True)
    (example_copy / ".gavel-history" / "history.db").rename(example_copy / ".gavel" / "history.db")
    (example_copy / ".gavel-history").rmdir()
    assert gavel("history", "verify", "-p", example_copy).stdout.startswith("ok: 1 runs")


@pytest.mark.parametrize("url, words", [
    ("postgresql://nobody@127.0.0.1:1/db", "cannot reach the history database postgresql://nobody@127.0.0.1:1/db"),
    ("postgresql://u:secret@127.0.0.1:1/db", "postgresql://u:***@127.0.0.1:1/db"),
])
def test_unreachable_postgres_exits_2_in_one_line_and_keeps_the_report(gavel, example_copy, tmp_path, url, words):
    pytest.importorskip("psycopg", reason="psycopg 3 is not installed")
    out = tmp_path / "report.json"
    config = example_copy / "gavel.yaml"
    config.write_text(config.read_text() + f"history:\n  url: {url}\n")
    result = gavel("check", example_copy, "--history", "-o", f"json={out}")
    assert result.exit_code == 2 and words in result.stderr and "secret" not in result.stderr
    # the outputs' summary line (every output went to a file), then one error line
    errors = [line for line in result.stderr.strip().splitlines() if not line.startswith("gavel: gate")]
    assert len(errors) == 1 and errors[0].startswith("Error:") and "Traceback" not in result.stderr
    assert json.loads(out.read_text())["gate"]["passed"] is False  # the run is not lost
    listing = gavel("history", "list", "-p", example_copy)
    assert listing.exit_code == 2 and words in listing.stderr


def test_bad_history_url_is_a_config_error(gavel, example_copy):
    (example_copy / "gavel.yaml").write_text((example_copy / "gavel.yaml").read_text()
                                              + "history:\n  url: mysql://x/y\n")
    result = gavel("check", example_copy, "--history")
    assert result.exit_code == 2 and "gavel.yaml" in result.stderr and "url" in result.stderr
