"""Non-regular files where a file should be: never skipped silently, never waited on.

A dangling symlink (an uninitialised submodule), a directory named like a card, or a FIFO matched
by a glob used to be skipped without a finding (``lineage-no-cycles`` went fail → pass); a FIFO
ledger or policy hung the run forever; a dangling ``gavel.yaml`` fell back to the default config.
Each is now an ``error`` finding naming the path (exit 1), or exit 2 for config and policies.

FIFO cases run ``gavel`` in a child process with a timeout, so a regression fails instead of hanging.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT, model_card

POLICY = """\
id: has-owner
title: Models name an owner
severity: high
target: model
assert: {field: subject.owner, exists: true}
message: "{{id}} has no owner"
"""
CONFIG = """\
evidence: [{path: "models/*.yaml", kind: model}]
policies: {paths: [policies]}
"""


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """``gavel ARGS`` in a child process: a hang is a test failure after ``timeout`` seconds."""
    return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT, env={**os.environ, "GAVEL_DEBUG": ""})


def errors(stdout: str) -> dict[str, str]:
    return {f["subject"]["source"]["file"]: f["message"] for f in json.loads(stdout)["findings"]
            if f["status"] == "error"}


@pytest.fixture
def repo(project):
    return project({"models/a.yaml": model_card("a"), "policies/p.yaml": POLICY}, config=CONFIG)


@pytest.mark.parametrize(("make", "message"), [
    (lambda p: p.symlink_to("../vendor/missing.yaml"), "is a symlink to a missing file (../vendor/missing.yaml)"),
    (lambda p: p.mkdir(), "is a directory, not a regular file"),
    (os.mkfifo, "is a FIFO (named pipe), not a regular file"),
])
def test_odd_evidence_files_are_error_findings(repo, make, message):
    make(repo / "models/b.yaml")
    result = run("check", str(repo), "-o", "json")
    assert result.returncode == 1, result.stderr
    assert errors(result.stdout) == {"models/b.yaml": message}


def test_a_dangling_sql_file_is_not_a_silent_pass(gavel, project):
    """Half of a cycle lives in an uninitialised submodule: the cycle is not seen, so say so."""
    config = CONFIG + "lineage:\n  sources:\n    - {type: sql, path: 'sql/*.sql'}\n"
    root = project({"models/a.yaml": model_card("a"), "policies/p.yaml": POLICY,
                    "sql/a.sql": "INSERT INTO x.b SELECT id FROM x.a;\n"}, config=config)
    (root / "sql/b.sql").symlink_to("../submodule/b.sql")
    result = gavel("check", root, "-o", "json")
    assert result.exit_code == 1
    assert errors(result.stdout) == {"sql/b.sql": "is a symlink to a missing file (../submodule/b.sql)"}


def test_a_fifo_ledger_is_an_error_not_a_hang(project):
    dataset = "id: db.a\nowner: t\nrecords: 100\nprivacy_budget: {epsilon_budget: 1.0, period: {kind: total}}\n"
    root = project({"models/a.yaml": model_card("a"), "policies/p.yaml": POLICY, "datasets/a.yaml": dataset},
                   config=CONFIG.replace("kind: model}]", "kind: model}, {path: datasets/*.yaml, kind: dataset}]")
                   + "privacy: {ledger: privacy/ledger.jsonl}\n")
    (root / "privacy").mkdir()
    os.mkfifo(root / "privacy/ledger.jsonl")
    result = run("check", str(root), "-o", "json")
    assert result.returncode == 1, result.stderr
    assert "FIFO" in errors(result.stdout)["privacy/ledger.jsonl"]


def test_a_fifo_policy_stops_the_run(repo):
    os.mkfifo(repo / "policies/q.rego")
    result = run("check", str(repo))
    assert result.returncode == 2
    assert "policies/q.rego: is a FIFO (named pipe), not a regular file" in result.stderr


def test_a_fifo_waivers_file_is_an_error(repo):
    (repo / "gavel.yaml").write_text(CONFIG + "waivers: waivers.yaml\n")
    os.mkfifo(repo / "waivers.yaml")
    result = run("check", str(repo), "-o", "json")
    assert result.returncode == 1
    assert errors(result.stdout) == {"waivers.yaml": "waivers file unusable: is a FIFO (named pipe), not a regular file"}


@pytest.mark.parametrize(("make", "message"), [
    (lambda p: p.symlink_to("shared/gavel.yaml"), "gavel.yaml: is a symlink to a missing file (shared/gavel.yaml)"),
    (os.mkfifo, "gavel.yaml: is a FIFO (named pipe), not a regular file"),
])
def test_an_odd_gavel_yaml_stops_the_run_instead_of_using_defaults(repo, make, message):
    (repo / "gavel.yaml").unlink()
    make(repo / "gavel.yaml")
    result = run("check", str(repo))
    assert result.returncode == 2
    assert message in result.stderr and "internal error" not in result.stderr


def test_a_folder_glob_still_walks_folders(gavel, project):
    """``models/**`` matches every folder on the way: those are not files that should be cards."""
    root = project({"models/team/a.yaml": model_card("a"), "policies/p.yaml": POLICY},
                   config=CONFIG.replace("models/*.yaml", "models/**"))
    result = gavel("check", root, "-o", "json")
    assert result.exit_code == 0 and errors(result.stdout) == {}
