"""Both history backends (SQLite file, PostgreSQL): the same chain, concurrent writers, kill -9 (issue 13.6).

The PostgreSQL tests run against a real server they start themselves (tests/history/conftest.py).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WRITERS = 8


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request, tmp_path):
    """(project, the history's location, a function running SQL on the store).

    A small project (two models, no policies: its gate passes), so that many writers start quickly.
    """
    example_copy = tmp_path / "proj"
    shutil.copytree(ROOT / "tests" / "fixtures" / "minimal", example_copy)
    config = example_copy / "gavel.yaml"
    if request.param == "sqlite":
        db = example_copy / ".gavel-history" / "history.db"

        def sql(statement: str) -> None:
            import sqlite3

            with sqlite3.connect(db) as conn:
                conn.execute(statement.replace("gavel_history_runs", "runs").replace("gavel_history_meta", "meta"))

        return example_copy, str(db), sql
    url = request.getfixturevalue("postgres_url")
    config.write_text(config.read_text() + f"history:\n  url: {url}\n")

    def sql(statement: str) -> None:
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(statement)

    return example_copy, url, sql


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _check(project: Path) -> subprocess.Popen:
    # stdout to /dev/null: a full pipe nobody reads would block the writer
    return subprocess.Popen([sys.executable, "-m", "engine.cli", "check", str(project), "--history", "-o", "json"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=_env())


def _runs(gavel, project: Path) -> list[dict]:
    listing = gavel("history", "list", "-p", project, "--format", "json")
    assert listing.exit_code == 0, listing.stderr
    return json.loads(listing.stdout)


def test_record_list_verify_and_tamper(gavel, backend):
    project, _where, sql = backend
    for _ in range(3):
        assert gavel("check", project, "--history").exit_code == 0
    runs = _runs(gavel, project)
    assert [r["seq"] for r in runs] == [1, 2, 3] and all(r["passed"] for r in runs)
    ok = gavel("history", "verify", "-p", project)
    assert ok.exit_code == 0 and ok.stdout.startswith("ok: 3 runs, chain intact")
    shown = gavel("history", "show", "2", "-p", project, "-o", "json")
    assert json.loads(shown.stdout)["run"]["id"] == runs[1]["run"]

    sql("UPDATE gavel_history_runs SET passed = (1 = 0) WHERE seq = 2")  # false on both
    bad = gavel("history", "verify", "-p", project)
    assert bad.exit_code == 1 and "run 2: hash does not match" in bad.stderr


@pytest.mark.parametrize("statement, words", [
    ("DELETE FROM gavel_history_runs WHERE seq = 2", "run 2 missing"),
    ("DELETE FROM gavel_history_runs WHERE seq = 3", "run 3 missing: deleted from the end"),
    ("UPDATE gavel_history_runs SET report = report || ' ' WHERE seq = 1", "run 1: report edited"),
    ("UPDATE gavel_history_runs SET now = '2099-01-01T00:00:00Z' WHERE seq = 3", "run 3: hash does not match"),
])
def test_edited_or_deleted_runs_fail_verify(gavel, backend, statement, words):
    project, _where, sql = backend
    for _ in range(3):
        assert gavel("check", project, "--history").exit_code == 0
    sql(statement)
    result = gavel("history", "verify", "-p", project)
    assert result.exit_code == 1 and words in result.stderr


def test_concurrent_writers_never_fork_the_chain(gavel, backend):
    project, _where, _sql = backend
    assert gavel("check", project, "--history").exit_code == 0  # the store exists before the race
    procs = [_check(project) for _ in range(WRITERS)]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    for p in procs:
        p.stderr.close()
    assert all(code == 0 for code, _ in results), results
    runs = _runs(gavel, project)
    assert [r["seq"] for r in runs] == list(range(1, WRITERS + 2))
    assert len({r["hash"] for r in runs}) == WRITERS + 1
    ok = gavel("history", "verify", "-p", project)
    assert ok.exit_code == 0, ok.stderr


def test_concurrent_writers_on_a_new_store(gavel, backend):
    """No store yet: the writers race to create it too."""
    project, _where, _sql = backend
    procs = [_check(project) for _ in range(WRITERS)]
    codes = [p.wait(timeout=300) for p in procs]
    errors = [p.stderr.read() for p in procs]
    for p in procs:
        p.stderr.close()
    assert codes == [0] * WRITERS, errors
    assert len(_runs(gavel, project)) == WRITERS
    assert gavel("history", "verify", "-p", project).exit_code == 0


def test_kill_9_mid_write_loses_nothing(gavel, backend):
    """Writers killed at random moments: every run whose writer finished is kept, the chain verifies."""
    project, _where, _sql = backend
    began = time.monotonic()
    first = _check(project)
    assert first.wait(timeout=300) == 0
    first.stderr.close()
    # kill moments spread over the time 8 writers take on this machine, so some land in the write
    span = (time.monotonic() - began) * WRITERS / (os.cpu_count() or 1)
    rng = random.Random(11)
    finished = 1
    for _round in range(2):
        procs = [_check(project) for _ in range(WRITERS)]
        victims = rng.sample(procs, 3)
        start = time.monotonic()
        moments = sorted(rng.uniform(0.4, 1.2) * span for _ in victims)
        for moment, victim in zip(moments, victims, strict=True):
            time.sleep(max(0.0, start + moment - time.monotonic()))
            victim.send_signal(signal.SIGKILL)
        for p in procs:
            code = p.wait(timeout=300)
            p.stderr.close()
            if code == 0:
                finished += 1
            else:
                assert code == -signal.SIGKILL, code
    runs = _runs(gavel, project)
    # every finished writer's run is there; a killed one may have committed just before the signal
    assert finished <= len(runs) <= finished + 6
    assert [r["seq"] for r in runs] == list(range(1, len(runs) + 1))
    ok = gavel("history", "verify", "-p", project)
    assert ok.exit_code == 0, ok.stderr
