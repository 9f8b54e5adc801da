"""Benchmark: `gavel budget status` over a 100,000-entry ledger across 1,000 datasets.

Builds a synthetic governance repo (1,000 dataset cards with privacy budgets of every period
kind and both compositions, and a two-year ledger of 100,000 spends), then times the real
`gavel` command in fresh processes (start-up, config, cards, ledger, diffprivlib accounting and
output included) and prints the figures. Target: `gavel budget status` under 2 s.

Each command is timed cold (``--set cache.enabled=false``: no cache read or written, every line
validated, diffprivlib imported) and warm (after one run has filled ``.gavel/cache``, an unchanged
ledger: no validation, no diffprivlib), and warm after one appended spend (the cached prefix is
trusted, the new line validated, its dataset's budget re-accounted with diffprivlib).

    python benchmarks/bench_budget.py [--datasets 1000] [--entries 100000] [--runs 5] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

NOW = datetime(2026, 11, 26, tzinfo=UTC)
PERIODS = [
    ({"kind": "lifetime"}, 2),
    ({"kind": "rolling", "days": 30}, 1),
    ({"kind": "rolling", "days": 90}, 1),
    ({"kind": "rolling", "days": 365}, 1),
    ({"kind": "calendar", "unit": "month"}, 2),
    ({"kind": "calendar", "unit": "quarter"}, 2),
    ({"kind": "calendar", "unit": "year"}, 1),
]
MECHANISMS = ["laplace", "gaussian", "dp-sgd", "exponential"]


def generate(root: Path, datasets: int, entries: int, seed: int = 7) -> dict:
    rng = random.Random(seed)
    (root / "datasets").mkdir(parents=True)
    (root / "privacy").mkdir()
    (root / "gavel.yaml").write_text("version: 1\nevidence:\n  - {path: datasets/*.yaml, kind: dataset}\n"
                                     f"privacy:\n  ledger: privacy/ledger.jsonl\nnow: \"{NOW:%Y-%m-%dT%H:%M:%SZ}\"\n")
    periods = [p for p, weight in PERIODS for _ in range(weight)]
    ids = [f"warehouse.team{i % 40:02d}.table_{i:04d}" for i in range(datasets)]
    advanced = 0
    for i, dataset in enumerate(ids):
        period = periods[i % len(periods)]
        lines = [f"id: {dataset}", f"owner: team{i % 40:02d}", f"records: {rng.randint(10_000, 50_000_000)}",
                 "privacy_budget:", f"  epsilon_budget: {rng.choice([1, 2, 4, 8, 10, 20])}.0",
                 "  delta_budget: 1.0e-7", f"  period: {json.dumps(period)}",
                 "  max_epsilon_per_query: 1.0", "  allowed_mechanisms: [laplace, gaussian, dp-sgd]"]
        if i % 5 == 0:
            lines += ["  composition: advanced", "  slack: 1.0e-8"]
            advanced += 1
        (root / "datasets" / f"{dataset}.yaml").write_text("\n".join(lines) + "\n")
    start = NOW - timedelta(days=730)
    stamps = sorted(start + timedelta(seconds=rng.randrange(730 * 86400)) for _ in range(entries))
    from engine.privacy.ledger import GENESIS, dump_entry

    head = GENESIS
    with (root / "privacy" / "ledger.jsonl").open("wb") as out:
        for n, stamp in enumerate(stamps):
            entry = {"id": f"sp-{n:016x}", "time": stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
                     "dataset": rng.choice(ids), "epsilon": rng.choice([0.01, 0.05, 0.1, 0.25]),
                     "delta": rng.choice([0, 0, 1e-10]), "mechanism": rng.choice(MECHANISMS),
                     "purpose": "synthetic release", "actor": f"analyst{n % 50}@example.com", "ref": f"JOB-{n}"}
            line = dump_entry(entry, prev=head)  # hash-chained, as `gavel budget spend` writes it
            head = json.loads(line)["hash"]
            out.write(line)
    return {"datasets": datasets, "entries": entries, "advanced": advanced,
            "ledger_bytes": (root / "privacy" / "ledger.jsonl").stat().st_size}


def timed(args: list[str], runs: int) -> tuple[float, float, float, subprocess.CompletedProcess]:
    """Best and median wall-clock time, and median CPU time (user + system) of the child."""
    times, cpu = [], []
    result = None
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        began = time.perf_counter()
        result = subprocess.run(args, capture_output=True, text=True)
        times.append(time.perf_counter() - began)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return min(times), statistics.median(times), statistics.median(cpu), result


def appended(gavel: list[str], root: Path, status: list[str], runs: int) -> int:
    """`gavel budget status` right after `gavel budget spend` appended a line (each run after its own spend)."""
    doc = json.loads(subprocess.run([*status, "--json"], capture_output=True, text=True).stdout)
    dataset = next(b["dataset"] for b in doc["budgets"] if b["remaining"]["epsilon"] > 0.01 * runs
                   and (b["max_epsilon_per_query"] or 1) >= 0.001)
    times = []
    for _ in range(runs):
        subprocess.run(status, capture_output=True)  # the cache knows the ledger as it is
        spent = subprocess.run([*gavel, "budget", "spend", dataset, "--epsilon", "0.001", "--mechanism", "laplace",
                                "--purpose", "bench", "--actor", "bench", "--now", f"{NOW:%Y-%m-%dT%H:%M:%SZ}",
                                "-c", str(root)], capture_output=True, text=True)
        if spent.returncode != 0:
            print(f"gavel budget spend FAILED ({spent.returncode}): {spent.stderr.strip()[:300]}")
            return 1
        began = time.perf_counter()
        subprocess.run(status, capture_output=True)
        times.append(time.perf_counter() - began)
    name = "gavel budget status after a spend (warm)"
    print(f"{name:<58} {min(times):>6.2f}s {statistics.median(times):>6.2f}s {'':>7}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=1000)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", metavar="DIR", help="Generate into DIR and keep it.")
    options = parser.parse_args()
    root = Path(options.keep) if options.keep else Path(tempfile.mkdtemp(prefix="gavel-bench-budget-"))
    if root.exists() and options.keep:
        shutil.rmtree(root)
    try:
        began = time.perf_counter()
        facts = generate(root, options.datasets, options.entries)
        print(f"generated {facts['datasets']} dataset cards ({facts['advanced']} with advanced composition) and a "
              f"{facts['entries']:,}-entry ledger ({facts['ledger_bytes'] / 1e6:.1f} MB) in "
              f"{time.perf_counter() - began:.1f} s")
        gavel = [sys.executable, "-m", "engine.cli"]
        some = "warehouse.team00.table_0000"
        cold = ["--set", "cache.enabled=false"]
        status = [*gavel, "budget", "status", "-c", str(root)]
        cases = [
            ("gavel budget status (cold)", [*status, *cold]),
            ("gavel budget status (warm)", status),
            ("gavel budget status --json (cold)", [*status, "--json", *cold]),
            ("gavel budget status --json (warm)", [*status, "--json"]),
            (f"gavel budget status {some} (cold)", [*status, some, *cold]),
            (f"gavel budget status {some} (warm)", [*status, some]),
            ("gavel budget verify", [*gavel, "budget", "verify", "-c", str(root)]),
            ("python -c pass (interpreter start-up)", [sys.executable, "-c", "pass"]),
            ("python -c 'import diffprivlib.accountant'", [sys.executable, "-c", "import diffprivlib.accountant"]),
        ]
        load = os.getloadavg()[0]
        print(f"machine: {os.cpu_count()} cores, load average {load:.2f} (wall-clock times grow with the load)")
        print(f"{'command':<58} {'best':>7} {'median':>7} {'cpu':>7}  (of {options.runs} runs)")
        verdict = 0
        for name, args in cases:
            if name.endswith("(warm)"):
                subprocess.run(args, capture_output=True)  # fill the cache
            best, median, cpu, result = timed(args, options.runs)
            ok = result.returncode == 0 or (result.returncode == 1 and "verify" not in name
                                            and "ledger" not in result.stderr)  # 1: budgets over, not a bad ledger
            print(f"{name:<58} {best:>6.2f}s {median:>6.2f}s {cpu:>6.2f}s"
                  + ("" if ok else f"  FAILED ({result.returncode})"))
            if not ok:
                print(result.stderr.strip()[:500])
                verdict = 1
            if name.startswith("gavel budget status (") or name == "gavel budget status after a spend (warm)":
                target = "under" if median < 2.0 else "OVER"
                print(f"{'':<58} target 2 s: {target} (best {best:.2f} s, median {median:.2f} s)")
        verdict |= appended(gavel, root, status, options.runs)
        return verdict
    finally:
        if not options.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
