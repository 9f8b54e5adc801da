"""Benchmark: `gavel budget status` and `verify` over a 100,000-entry ledger across 1,000 datasets.

Builds a synthetic governance repo (1,000 dataset cards with privacy budgets of every period
kind and both compositions, and a two-year ledger of 100,000 spends) in two versions with the
same cards and spends:

* ``totals``: every spend carries the totals diffprivlib computed for its period when it was
  recorded (what `gavel budget spend` writes since they exist), with the figures for its rolling
  window without the k oldest spends (``expiring``, k up to 16) and, under advanced composition,
  for no spends (``empty``). They are written by the real `gavel budget upgrade`, which records
  each entry's totals as of that entry with the function `spend` uses; that costs about 90 s of
  CPU once per benchmark.
* ``legacy``: hash-chained, without recorded totals (a ledger from before them), so every
  budget is accounted by diffprivlib.

Then it times the real `gavel` command in fresh processes (start-up, config, cards, ledger,
accounting and output included) and prints, for each, the best and median wall-clock time, the
median CPU time (user + system, the child's and its workers') and the load average around the
runs: on a shared machine wall-clock time grows with the load, CPU time much less. Targets: cold
`gavel budget status` and `gavel budget verify` under 2 s.

Each status command is timed cold (``--set cache.enabled=false``: no cache read or written,
every line validated) and warm (after one run has filled ``.gavel/cache``, an unchanged ledger:
no validation, no diffprivlib), and warm after one appended spend. The status lines also say
how many budgets were accounted from recorded totals and how many needed diffprivlib (which
imports scikit-learn: about 1.3 s of CPU on its own).

    python benchmarks/bench_budget.py [--datasets 1000] [--entries 100000] [--runs 5]
                                      [--ledgers totals,legacy] [--keep DIR] [--only verify]
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

from installed import as_installed

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


def generate(root: Path, datasets: int, entries: int, *, totals: bool, seed: int = 7) -> dict:
    """The repo: cards and a chained ledger; with ``totals``, chained and given totals by `gavel budget upgrade`."""
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
    ledger = root / "privacy" / "ledger.jsonl"
    with ledger.open("wb") as out:
        for n, stamp in enumerate(stamps):
            entry = {"id": f"sp-{n:016x}", "time": stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
                     "dataset": rng.choice(ids), "epsilon": rng.choice([0.01, 0.05, 0.1, 0.25]),
                     "delta": rng.choice([0, 0, 1e-10]), "mechanism": rng.choice(MECHANISMS),
                     "purpose": "synthetic release", "actor": f"analyst{n % 50}@example.com", "ref": f"JOB-{n}"}
            if totals:  # un-chained: `gavel budget upgrade` chains it and records each entry's totals
                out.write(dump_entry(entry))
                continue
            line = dump_entry(entry, prev=head)  # hash-chained, as `gavel budget spend` writes it
            head = json.loads(line)["hash"]
            out.write(line)
    if totals:
        upgraded = subprocess.run([*GAVEL, "budget", "upgrade", "-c", str(root)], capture_output=True, text=True)
        if upgraded.returncode != 0:
            raise SystemExit(f"gavel budget upgrade failed: {upgraded.stderr.strip()[:500]}")
    return {"datasets": datasets, "entries": entries, "advanced": advanced, "ledger_bytes": ledger.stat().st_size}


def timed(args: list[str], runs: int) -> tuple[float, float, float, subprocess.CompletedProcess]:
    """Best and median wall-clock time, and median CPU time (user + system) of the child and its workers."""
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


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def appended(root: Path, status: list[str], runs: int) -> int:
    """`gavel budget status` right after `gavel budget spend` appended a line (each run after its own spend)."""
    doc = json.loads(subprocess.run([*status, "--json"], capture_output=True, text=True).stdout)
    dataset = next(b["dataset"] for b in doc["budgets"] if b["remaining"]["epsilon"] > 0.01 * runs
                   and (b["max_epsilon_per_query"] or 1) >= 0.001)
    times, cpu = [], []
    for _ in range(runs):
        subprocess.run(status, capture_output=True)  # the cache knows the ledger as it is
        spent = subprocess.run([*GAVEL, "budget", "spend", dataset, "--epsilon", "0.001", "--mechanism", "laplace",
                                "--purpose", "bench", "--actor", "bench", "--now", f"{NOW:%Y-%m-%dT%H:%M:%SZ}",
                                "-c", str(root)], capture_output=True, text=True)
        if spent.returncode != 0:
            print(f"gavel budget spend FAILED ({spent.returncode}): {spent.stderr.strip()[:300]}")
            return 1
        best, _median, used, _result = timed(status, 1)
        times.append(best)
        cpu.append(used)
    name = "status after a spend (warm)"
    print(f"  {name:<44} {min(times):>6.2f}s {statistics.median(times):>6.2f}s {statistics.median(cpu):>6.2f}s  "
          f"load {_load()}")
    return 0


GAVEL = [sys.executable, "-m", "engine.cli"]
#: the ledger format the generated repos have: a kept repo (--keep) of another format is generated again
#: (2: totals with ``expiring`` and ``empty``)
FORMAT = 2


def bench(root: Path, runs: int, only: str = "") -> int:
    """Time every case on the repo at ``root`` (or those whose name starts with ``only``); 1 when one failed."""
    some = "warehouse.team00.table_0000"
    cold = ["--set", "cache.enabled=false"]
    status = [*GAVEL, "budget", "status", "-c", str(root)]
    cases = [
        ("status (cold)", [*status, *cold]),
        ("status (warm)", status),
        ("status --json (cold)", [*status, "--json", *cold]),
        ("status --json (warm)", [*status, "--json"]),
        (f"status {some} (cold)", [*status, some, *cold]),
        (f"status {some} (warm)", [*status, some]),
        ("verify", [*GAVEL, "budget", "verify", "-c", str(root)]),
    ]
    print(f"  {'gavel budget ...':<44} {'best':>7} {'median':>7} {'cpu':>7}  (wall best, median; median CPU of "
          f"{runs} runs; load average 1/5/15 min after)")
    verdict = 0
    for name, args in cases:
        if not name.startswith(only):
            continue
        if name.endswith("(warm)"):
            subprocess.run(args, capture_output=True)  # fill the cache
        best, median, cpu, result = timed(args, runs)
        ok = result.returncode == 0 or (result.returncode == 1 and "verify" not in name
                                        and "ledger" not in result.stderr)  # 1: budgets over, not a bad ledger
        print(f"  {name:<44} {best:>6.2f}s {median:>6.2f}s {cpu:>6.2f}s  load {_load()}"
              + ("" if ok else f"  FAILED ({result.returncode})"))
        if not ok:
            print(result.stderr.strip()[:500])
            verdict = 1
        said = [line for line in result.stdout.splitlines() if line.startswith("accounted: ")]
        if said and name.startswith("status ("):
            print(f"  {'':<44} {said[0]}")
        if name in ("status (cold)", "verify"):
            print(f"  {'':<44} target 2 s: CPU {'under' if cpu < 2.0 else 'OVER'} ({cpu:.2f} s), "
                  f"wall {'under' if median < 2.0 else 'OVER'} ({median:.2f} s median)")
    if "status after a spend".startswith(only):
        verdict |= appended(root, status, runs)
    return verdict


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=1000)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--ledgers", default="totals,legacy", help="Which ledgers to time (totals, legacy).")
    parser.add_argument("--keep", metavar="DIR", help="Generate into DIR/<ledger> and keep it (reused when it exists).")
    parser.add_argument("--only", default="", metavar="CASE",
                        help="Time only the cases whose name starts with CASE (e.g. verify, status).")
    options = parser.parse_args()
    as_installed()
    kinds = [k for k in options.ledgers.split(",") if k]
    if set(kinds) - {"totals", "legacy"}:
        parser.error("--ledgers takes totals and/or legacy")
    base = Path(options.keep) if options.keep else Path(tempfile.mkdtemp(prefix="gavel-bench-budget-"))
    print(f"machine: {os.cpu_count()} cores, load average {_load()} (wall-clock times grow with the load)")
    for name, args in [("python -c pass (interpreter start-up)", [sys.executable, "-c", "pass"]),
                       ("python -c 'import diffprivlib.accountant'",
                        [sys.executable, "-c", "import diffprivlib.accountant"])]:
        best, median, cpu, _result = timed(args, options.runs)
        print(f"  {name:<44} {best:>6.2f}s {median:>6.2f}s {cpu:>6.2f}s  load {_load()}")
    verdict = 0
    try:
        for kind in kinds:
            root = base / kind
            marker = root / "bench.json"
            if options.keep and marker.exists() and json.loads(marker.read_text()).get("args") == [
                    options.datasets, options.entries, FORMAT]:
                facts = json.loads(marker.read_text())["facts"]
                print(f"\n{kind}: reusing {root}")
            else:
                shutil.rmtree(root, ignore_errors=True)
                began = time.perf_counter()
                facts = generate(root, options.datasets, options.entries, totals=kind == "totals")
                marker.write_text(json.dumps({"args": [options.datasets, options.entries, FORMAT],
                                             "facts": facts}))
                print(f"\n{kind}: generated {facts['datasets']} dataset cards ({facts['advanced']} with advanced "
                      f"composition) and a {facts['entries']:,}-entry ledger ({facts['ledger_bytes'] / 1e6:.1f} MB) "
                      f"in {time.perf_counter() - began:.1f} s")
                shutil.copyfile(root / "privacy" / "ledger.jsonl", root / "ledger.orig")
            # every run starts from the generated ledger (the timed spends append to it) and without a cache
            shutil.copyfile(root / "ledger.orig", root / "privacy" / "ledger.jsonl")
            shutil.rmtree(root / ".gavel", ignore_errors=True)
            verdict |= bench(root, options.runs, options.only)
        return verdict
    finally:
        if not options.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
