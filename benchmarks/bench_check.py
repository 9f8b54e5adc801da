"""Benchmark ``gavel check``: 10,000 model cards x 50 policies (25 YAML, 25 Rego), and a cold
``gavel check`` on examples/. Prints its figures; run it on an idle machine.

    python benchmarks/bench_check.py [--models 10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GAVEL = [sys.executable, "-m", "engine.cli"]


def timed(args: list[str], cwd: Path | None = None) -> tuple[float, int]:
    start = time.perf_counter()
    done = subprocess.run(args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        sys.exit(f"gavel failed ({done.returncode}): {done.stderr}")
    return elapsed, done.returncode


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="generate the inventory here and keep it")
    parser.add_argument("--examples-only", action="store_true", help="only the examples/ figures")
    args = parser.parse_args()

    # 1. Cold start on the example repo (no evidence cache): what a CI job pays per run.
    example = Path(tempfile.mkdtemp()) / "examples"
    shutil.copytree(ROOT / "examples", example, ignore=shutil.ignore_patterns(".gavel"))
    cold = []
    for _ in range(max(args.runs, 5)):
        shutil.rmtree(example / ".gavel", ignore_errors=True)
        cold.append(timed([*GAVEL, "check", str(example)])[0])
    print(f"examples/ cold gavel check: median {statistics.median(cold):.3f} s, best {min(cold):.3f} s "
          f"({len(cold)} runs; {load()})")
    warm = [timed([*GAVEL, "check", str(example), "--no-history"])[0] for _ in range(max(args.runs, 5))]
    print(f"examples/ warm gavel check (.gavel/cache kept: cards, lineage result, decisions, privacy): "
          f"median {statistics.median(warm):.3f} s, best {min(warm):.3f} s ({len(warm)} runs; {load()})")
    # A CI job whose cache step restored .gavel/cache from an earlier commit, on a change that
    # edits one card: the lineage result and the other decisions come from the restored cache.
    card = example / "models" / "fraud-detector.yaml"
    restored = []
    for run in range(max(args.runs, 5)):
        card.write_text(card.read_text().replace("description: ", f"description: edit {run} ", 1))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        elapsed = timed([*GAVEL, "check", str(example), "--no-history"])[0]
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        restored.append((elapsed, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime))
    print(f"examples/ CI gate with a restored .gavel/cache, one card edited: median "
          f"{statistics.median(w for w, _ in restored):.3f} s wall, "
          f"{statistics.median(c for _, c in restored):.3f} s CPU ({len(restored)} runs; {load()})")
    if args.examples_only:
        return

    # 2. The synthetic inventory.
    out = args.keep or Path(tempfile.mkdtemp()) / "inventory"
    if not (out / "gavel.yaml").exists():
        subprocess.run([sys.executable, str(ROOT / "benchmarks/gen_inventory.py"), str(out), "--models",
                        str(args.models)], check=True, stdout=subprocess.DEVNULL)
    for label, extra in [("1 worker", ["--workers", "1"]), (f"{os.cpu_count()} workers", [])]:
        shutil.rmtree(out / ".gavel", ignore_errors=True)
        cold_s, code = timed([*GAVEL, "check", str(out), "-o", "json=" + str(out / "report.json"), *extra])
        warm = [timed([*GAVEL, "check", str(out), "-o", "json=" + str(out / "report.json"), *extra])[0]
                for _ in range(args.runs)]
        print(f"{args.models} models x 50 policies, {label}: cold (no cache) {cold_s:.2f} s, "
              f"warm (evidence cache) median {statistics.median(warm):.2f} s  [exit {code}]")
    size = (out / "report.json").stat().st_size / 1e6
    print(f"report.json: {size:.1f} MB")


if __name__ == "__main__":
    main()
