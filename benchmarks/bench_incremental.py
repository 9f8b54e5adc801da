"""Benchmark incremental decisions: 10,000 model cards x 50 policies, then edit 1% of the cards.

Prints: a cold run (no caches), a warm re-run with nothing changed, a re-run after editing 1%
of the cards (each timed end to end as a `gavel check` process writing its JSON report, and by
stage from `-v`), how many decisions each run reused and computed, and whether the cached
run's report is byte-identical to an uncached one (`--verify`, one more cold run).

    python benchmarks/bench_incremental.py [--models 10000] [--keep DIR] [--verify] [--warm]

Each run edits a different 1% of the cards than the run before (it toggles the edit), so a kept
inventory measures a real edit every time. ``--warm`` keeps the caches of an earlier run (no cold
run): for measuring the warm paths again and again.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from installed import as_installed

ROOT = Path(__file__).resolve().parent.parent
GAVEL = [sys.executable, "-m", "engine.cli"]


def cpu() -> float:
    """User + system CPU seconds of every finished child (its forked workers included)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(out: Path, *extra: str, json_report: bool = True) -> str:
    """One ``gavel check`` process: "wall s, CPU s  decisions: ..." (on a shared machine the CPU
    time is the steadier figure)."""
    # Without the JSON report: the default, ``gavel check DIR`` (text, problems only).
    outputs = ["-v", "-o", f"json={out / 'report.json'}"] if json_report else []
    start, used = time.perf_counter(), cpu()
    done = subprocess.run([*GAVEL, "check", str(out), *outputs, *extra],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed, used = time.perf_counter() - start, cpu() - used
    if done.returncode not in (0, 1):
        sys.exit(f"gavel failed ({done.returncode}): {done.stderr}")
    found = re.search(r"decisions: .*", done.stderr)
    return f"{elapsed:6.2f} s wall, {used:6.2f} s CPU   {found.group(0) if found else ''}"


def load() -> str:
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--keep", type=Path, help="generate the inventory here and keep it")
    parser.add_argument("--verify", action="store_true", help="also compare with an uncached run's report")
    parser.add_argument("--warm", action="store_true", help="keep the caches of an earlier run: no cold run")
    args = parser.parse_args()
    as_installed()
    out = args.keep or Path(tempfile.mkdtemp()) / "inventory"
    if not (out / "gavel.yaml").exists():
        subprocess.run([sys.executable, str(ROOT / "benchmarks/gen_inventory.py"), str(out), "--models",
                        str(args.models)], check=True, stdout=subprocess.DEVNULL)
    print(f"{args.models} models x 50 policies ({os.cpu_count()} cores; {load()})")
    if not args.warm:
        shutil.rmtree(out / ".gavel", ignore_errors=True)
        print(f"cold (no cache):          {run(out)}")
    print(f"warm, nothing changed:    {run(out)}")
    print(f"… `gavel check DIR` (text):{run(out, json_report=False)}")
    cards = sorted((out / "models").glob("*.yaml"))
    step = 100
    for path in cards[::step]:  # 1% of the cards: one field each (undone by the next run)
        text = path.read_text()
        edited = text.replace("name: Model", "name: Edited model", 1)
        path.write_text(edited if edited != text else text.replace("name: Edited model", "name: Model", 1))
    print(f"warm, 1% of cards edited: {run(out)}   ({load()})")
    if args.verify:
        cached = (out / "report.json").read_bytes()
        run(out, "--no-cache")
        same = (out / "report.json").read_bytes() == cached
        print(f"cached report byte-identical to an uncached run: {same}")


if __name__ == "__main__":
    main()
