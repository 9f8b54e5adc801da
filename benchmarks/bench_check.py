"""Benchmark ``gavel check``: 10,000 model cards x 50 policies (25 YAML, 25 Rego), and a cold
``gavel check`` on examples/. Prints its figures, wall and CPU time (user + system, of every
process of the run: the machine's load changes the wall figure more than the CPU one); run it on
an idle machine.

    python benchmarks/bench_check.py [--models 10000] [--runs 3] [--keep DIR] [--inventory-only] [--stages]
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

from installed import as_installed

ROOT = Path(__file__).resolve().parent.parent
GAVEL = [sys.executable, "-m", "engine.cli"]


def reap_orphans() -> None:
    """Become the reaper of orphaned descendants (Linux), so the CPU time of the evaluation
    children (forked by workers that exit before them) is counted too."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def children_cpu() -> float:
    """User + system CPU seconds of every reaped descendant so far."""
    import resource

    while True:  # reap the orphans handed to us
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                break
        except ChildProcessError:
            break
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(args: list[str], cwd: Path | None = None) -> tuple[float, int, float]:
    """(wall seconds, exit code, CPU seconds of the run and all its processes)."""
    cpu = children_cpu()
    start = time.perf_counter()
    done = subprocess.run(args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        sys.exit(f"gavel failed ({done.returncode}): {done.stderr}")
    return elapsed, done.returncode, children_cpu() - cpu


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def stages(root: Path, workers: list[int]) -> None:
    """Where a cold run's time goes, in this process: wall, and CPU here and in the workers (the
    caches are written in line here; ``gavel check`` writes them aside while it renders)."""
    import engine.check
    import engine.evaluate
    from engine.config import load_config
    from engine.decisions import DecisionCache, ReadyFindings
    from engine.report import render

    def cpu() -> tuple[float, float]:
        return time.process_time(), children_cpu()

    def timer(owner, name: str):
        real = getattr(owner, name)

        def timed_stage(*args, **kwargs):
            wall, (own, kids) = time.perf_counter(), cpu()
            try:
                return real(*args, **kwargs)
            finally:
                now_own, now_kids = cpu()
                print(f"  {name:18} wall {time.perf_counter() - wall:6.2f} s  CPU here {now_own - own:6.2f} s, "
                      f"in workers {now_kids - kids:6.2f} s")
        setattr(owner, name, timed_stage)

    for owner, name in [(engine.check, "load_policies"), (engine.check, "build_inventory"),
                        (engine.check, "build_subjects"), (engine.evaluate, "prepare"),
                        (engine.evaluate.Prepared, "judge"), (DecisionCache, "save"), (ReadyFindings, "save"),
                        (engine.check, "build_report")]:
        timer(owner, name)
    for count in workers:
        shutil.rmtree(root / ".gavel", ignore_errors=True)
        print(f"stages of a cold run, {count or os.cpu_count()} workers, in process ({load()}):")
        wall, (own, kids) = time.perf_counter(), cpu()
        config = load_config(root, settings={"engine.workers": count} if count else {})
        report = engine.check.run_check(config)
        start = time.perf_counter()
        text = render(report, "json")
        print(f"  {'render json':18} wall {time.perf_counter() - start:6.2f} s")
        now_own, now_kids = cpu()
        print(f"  {'total':18} wall {time.perf_counter() - wall:6.2f} s  CPU here {now_own - own:6.2f} s, "
              f"in workers {now_kids - kids:6.2f} s ({len(text) / 1e6:.0f} MB of JSON; {load()})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="generate the inventory here and keep it")
    parser.add_argument("--examples-only", action="store_true", help="only the examples/ figures")
    parser.add_argument("--inventory-only", action="store_true", help="only the 10k-model figures")
    parser.add_argument("--stages", action="store_true", help="also time the stages of a cold run, in process")
    args = parser.parse_args()
    reap_orphans()
    as_installed()
    sys.path.insert(0, str(ROOT))

    if not args.inventory_only:
        examples(args.runs)
    if not args.examples_only:
        inventory(args)


def examples(runs: int) -> None:
    """Cold start on the example repo (no evidence cache): what a CI job pays per run."""
    example = Path(tempfile.mkdtemp()) / "examples"
    shutil.copytree(ROOT / "examples", example, ignore=shutil.ignore_patterns(".gavel"))
    timed([*GAVEL, "check", str(example)])  # untimed: writes the bytecode (benchmarks/installed.py)
    cold = []
    for _ in range(max(runs, 5)):
        shutil.rmtree(example / ".gavel", ignore_errors=True)
        cold.append(timed([*GAVEL, "check", str(example)])[0])
    print(f"examples/ cold gavel check: median {statistics.median(cold):.3f} s, best {min(cold):.3f} s "
          f"({len(cold)} runs; {load()})")
    warm = [timed([*GAVEL, "check", str(example), "--no-history"])[0] for _ in range(max(runs, 5))]
    print(f"examples/ warm gavel check (.gavel/cache kept: cards, lineage result, decisions, privacy): "
          f"median {statistics.median(warm):.3f} s, best {min(warm):.3f} s ({len(warm)} runs; {load()})")
    # A CI job whose cache step restored .gavel/cache from an earlier commit, on a change that
    # edits one card: the lineage result and the other decisions come from the restored cache.
    card = example / "models" / "fraud-detector.yaml"
    restored = []
    for run in range(max(runs, 5)):
        card.write_text(card.read_text().replace("description: ", f"description: edit {run} ", 1))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        elapsed = timed([*GAVEL, "check", str(example), "--no-history"])[0]
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        restored.append((elapsed, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime))
    print(f"examples/ CI gate with a restored .gavel/cache, one card edited: median "
          f"{statistics.median(w for w, _ in restored):.3f} s wall, "
          f"{statistics.median(c for _, c in restored):.3f} s CPU ({len(restored)} runs; {load()})")


def inventory(args) -> None:
    """The synthetic inventory: cold (no .gavel/), then warm (evidence and decision caches)."""
    out = args.keep or Path(tempfile.mkdtemp()) / "inventory"
    if not (out / "gavel.yaml").exists():
        subprocess.run([sys.executable, str(ROOT / "benchmarks/gen_inventory.py"), str(out), "--models",
                        str(args.models)], check=True, stdout=subprocess.DEVNULL)
    for label, extra in [("1 worker", ["--workers", "1"]), (f"{os.cpu_count()} workers", [])]:
        shutil.rmtree(out / ".gavel", ignore_errors=True)
        before = load()
        cold_s, code, cold_cpu = timed([*GAVEL, "check", str(out), "-o", "json=" + str(out / "report.json"), *extra])
        print(f"{args.models} models x 50 policies, {label}: cold (no .gavel/) {cold_s:.2f} s, CPU {cold_cpu:.1f} s "
              f"(load before {before.split()[-3]}, after {load().split()[-3]})  [exit {code}]")
        warm = [timed([*GAVEL, "check", str(out), "-o", "json=" + str(out / "report.json"), *extra])
                for _ in range(args.runs)]
        print(f"  warm (.gavel/ caches): median {statistics.median(w for w, _, _ in warm):.2f} s, CPU median "
              f"{statistics.median(c for _, _, c in warm):.1f} s ({load()})")
    size = (out / "report.json").stat().st_size / 1e6
    print(f"report.json: {size:.1f} MB")
    if args.stages:
        stages(out, [1, 0])


if __name__ == "__main__":
    main()
