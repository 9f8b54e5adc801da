"""Durability and concurrency of the ledger, through the `gavel budget` command in real processes.

* 8 processes spending at once against one budget record exactly the spends that fit;
* a process killed with SIGKILL in the middle of spending leaves a ledger that `gavel budget
  verify` accepts and that holds every spend acknowledged before the kill;
* a torn last line (a crash mid-write) is reported, ignored, and removed by the next spend
  without losing an acknowledged entry.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from engine.privacy.ledger import read_ledger
from tests.privacy.chained import chain

SPENDER = Path(__file__).with_name("spender.py")
ROOT = Path(__file__).resolve().parents[2]


def _project(tmp_path: Path, epsilon_budget: float) -> Path:
    root = tmp_path / "proj"
    (root / "datasets").mkdir(parents=True)
    (root / "gavel.yaml").write_text("evidence:\n  - {path: datasets/*.yaml, kind: dataset}\n")
    (root / "datasets" / "ds.yaml").write_text(textwrap.dedent(f"""\
        id: ds
        owner: team
        privacy_budget:
          epsilon_budget: {epsilon_budget}
        """))
    return root


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _gavel(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "engine.cli", *args], capture_output=True, text=True, env=_env(),
                          timeout=120)


def _race(root, go, *, workers: int, epsilon: str, spends: int) -> list[str]:
    """Start ``workers`` processes that each spend ``epsilon`` on ``ds`` ``spends`` times, all at once
    (when ``go`` appears); every line they print."""
    started = [subprocess.Popen([sys.executable, str(SPENDER), str(root), "ds", epsilon, str(spends), str(go)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
               for _ in range(workers)]
    time.sleep(0.5)
    go.touch()
    outputs = []
    for worker in started:
        out, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err
        outputs += out.splitlines()
    return outputs


def test_eight_concurrent_processes_never_overdraw(tmp_path):
    root = _project(tmp_path, 1.0)
    # 8 workers × 4 spends of 1/16 against a budget of 1: exactly 16 fit (1/16 is exact in binary).
    outputs = _race(root, tmp_path / "go", workers=8, epsilon="0.0625", spends=4)
    assert len(outputs) == 32
    assert not [line for line in outputs if line.startswith("error")], outputs
    acknowledged = [line.split()[1] for line in outputs if line.startswith("ok ")]
    assert len(acknowledged) == 16
    assert outputs.count("refused") == 16

    ledger = read_ledger(root / "privacy" / "ledger.jsonl", "ledger")
    assert not ledger.problems and ledger.torn is None and not ledger.unterminated
    assert sorted(e.id for e in ledger.entries) == sorted(acknowledged)
    assert sum(e.epsilon for e in ledger.entries) == 1.0
    raw = (root / "privacy" / "ledger.jsonl").read_bytes()
    assert raw.count(b"\n") == 16 and raw.endswith(b"\n")
    assert _gavel("budget", "verify", "-c", str(root)).returncode == 0


def test_sigkill_mid_spend_loses_nothing_acknowledged(tmp_path):
    root = _project(tmp_path, 1e6)
    ledger_path = root / "privacy" / "ledger.jsonl"
    rng = random.Random(4)
    acknowledged: list[str] = []
    for kills in range(1, 7):
        worker = subprocess.Popen([sys.executable, str(SPENDER), str(root), "ds", "0.5", "100000"],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=_env())
        first = worker.stdout.readline()  # the worker is spending now
        assert first.startswith("ok "), first
        acknowledged.append(first.split()[1])
        time.sleep(rng.uniform(0.05, 0.6))
        os.kill(worker.pid, signal.SIGKILL)
        out, _ = worker.communicate(timeout=60)
        acknowledged += [line.split()[1] for line in out.splitlines() if line.startswith("ok ")]

        result = _gavel("budget", "verify", "-c", str(root))
        assert result.returncode == 0, result.stderr
        ids = [e.id for e in read_ledger(ledger_path, "ledger").entries]
        assert set(acknowledged) <= set(ids)
        # at most one spend per kill was written but not yet acknowledged
        assert len(ids) - len(acknowledged) <= kills
    assert len(acknowledged) > 6


def test_torn_tail_is_reported_ignored_and_repaired(tmp_path, gavel):
    root = _project(tmp_path, 10.0)
    for _ in range(2):
        assert gavel("budget", "spend", "ds", "--epsilon", "1", "--mechanism", "laplace", "--purpose", "p",
                     "--actor", "a", "-c", root).exit_code == 0
    ledger_path = root / "privacy" / "ledger.jsonl"
    before = ledger_path.read_bytes()
    line = b'{"id": "sp-torn", "time": "2026-01-01T00:00:00Z", "dataset": "ds", "epsilon": 5.0, "mech'
    ledger_path.write_bytes(before + line)  # a power loss in the middle of a write

    result = gavel("budget", "verify", "-c", root)
    assert result.exit_code == 1
    assert "privacy/ledger.jsonl:3: incomplete last line" in result.stderr

    status = gavel("budget", "status", "ds", "--json", "-c", root)
    assert status.exit_code == 1 and "ledger.jsonl:3" in status.stderr
    assert json.loads(status.stdout)["budget"]["spent"]["epsilon"] == 2.0  # the torn spend does not count

    result = gavel("budget", "spend", "ds", "--epsilon", "1", "--mechanism", "laplace", "--purpose", "p",
                   "--actor", "a", "-c", root)
    assert result.exit_code == 0, result.stderr
    assert "removed an incomplete last line" in result.stderr
    after = ledger_path.read_bytes()
    assert after.startswith(before) and after.count(b"\n") == 3 and b"sp-torn" not in after
    assert gavel("budget", "verify", "-c", root).exit_code == 0


def test_verify_repair_removes_only_the_torn_tail(tmp_path, gavel):
    root = _project(tmp_path, 10.0)
    assert gavel("budget", "spend", "ds", "--epsilon", "1", "--mechanism", "laplace", "--purpose", "p",
                 "--actor", "a", "-c", root).exit_code == 0
    ledger_path = root / "privacy" / "ledger.jsonl"
    good = ledger_path.read_bytes()
    ledger_path.write_bytes(good + b'{"id": "x"')
    result = gavel("budget", "verify", "--repair", "-c", root)
    assert result.exit_code == 0, result.stderr
    assert "removed the incomplete line 2" in result.stderr
    assert ledger_path.read_bytes() == good


def test_complete_last_line_without_newline_is_kept(tmp_path, gavel):
    root = _project(tmp_path, 10.0)
    ledger_path = root / "privacy" / "ledger.jsonl"
    ledger_path.parent.mkdir()
    hand = chain('{"id": "sp-hand", "time": "2026-01-01T00:00:00Z", "dataset": "ds", "epsilon": 2, '
                 '"mechanism": "laplace"}').rstrip("\n").encode()
    ledger_path.write_bytes(hand)  # a hand edit; editors may drop the final newline
    assert gavel("budget", "verify", "-c", root).exit_code == 0
    assert gavel("budget", "spend", "ds", "--epsilon", "1", "--mechanism", "laplace", "--purpose", "p",
                 "--actor", "a", "-c", root).exit_code == 0
    lines = ledger_path.read_bytes().splitlines()
    assert lines[0] == hand and len(lines) == 2
    assert gavel("budget", "verify", "-c", root).exit_code == 0


@pytest.mark.parametrize("epsilon", ["0.1"])
def test_floating_point_sums_do_not_overdraw(tmp_path, gavel, epsilon):
    root = _project(tmp_path, 0.3)
    codes = [gavel("budget", "spend", "ds", "--epsilon", epsilon, "--mechanism", "laplace", "--purpose", "p",
                   "--actor", "a", "-c", root).exit_code for _ in range(4)]
    assert codes == [0, 0, 0, 1]  # 0.1 + 0.1 + 0.1 is 0.30000000000000004: within 0.3


def test_sixteen_concurrent_spenders_all_succeed(tmp_path):
    """No spender holds the ledger lock while it imports diffprivlib (about a second each, more under load):
    with a 10 s lock timeout, 16 first spends importing it under the lock in turn would time out."""
    root = _project(tmp_path, 100.0)
    (root / "gavel.yaml").write_text((root / "gavel.yaml").read_text() + "privacy:\n  lock_timeout: 10\n")
    outputs = _race(root, tmp_path / "go", workers=16, epsilon="0.5", spends=1)
    assert len(outputs) == 16 and all(line.startswith("ok ") for line in outputs), outputs
    assert _gavel("budget", "verify", "-c", str(root)).returncode == 0
