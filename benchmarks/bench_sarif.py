"""SARIF at scale: result count and size GitHub code scanning would receive, for 2k and 10k models.

    python benchmarks/bench_sarif.py [--models 2000 10000] [--keep DIR]

For each size: generate a synthetic inventory (gen_inventory.py: N model cards, 200 dataset
cards, 50 policies) plus the five built-in packs, run `gavel check` once (not timed), then
render SARIF from the saved JSON report and print the problems in the report, the results in
the SARIF run (GitHub's limit: 25,000), how many were aggregated, the largest location count
(limit 1,000), whether the fingerprints are unique, and the size raw and gzipped (GitHub's
upload limit: 10 MB gzipped).
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from engine.findings import load_report  # noqa: E402
from engine.report import render  # noqa: E402

PACKS = ["model-card", "eu-ai-act", "gdpr", "nist-ai-rmf", "iso-42001"]


def report_for(models: int, root: Path) -> Path:
    project = root / f"inv-{models}"
    saved = root / f"report-{models}.json"
    if not saved.exists():
        subprocess.run([sys.executable, str(HERE / "gen_inventory.py"), str(project), "--models", str(models)],
                       check=True, stdout=subprocess.DEVNULL)
        packs = [arg for pack in PACKS for arg in ("--pack", pack)]
        run = subprocess.run([sys.executable, "-m", "engine", "check", str(project), *packs, "-o", f"json={saved}"],
                             capture_output=True, text=True)
        if run.returncode not in (0, 1):
            sys.exit(f"gavel check failed: {run.stderr}")
    return saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, nargs="+", default=[2000, 10_000])
    parser.add_argument("--keep", type=Path, help="generate here and keep (reruns reuse the saved reports)")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="gavel-sarif-"))
    root.mkdir(parents=True, exist_ok=True)
    print(f"{'models':>7} {'problems':>9} {'results':>8} {'aggregated':>10} {'max locs':>8} {'unique fp':>9} "
          f"{'size':>8} {'gzipped':>8} {'render':>7}")
    for models in args.models:
        report = load_report(report_for(models, root).read_text())
        problems = sum(1 for f in report.findings if f.status in ("fail", "warn", "error", "waived"))
        start = time.perf_counter()
        text = render(report, "sarif")
        elapsed = time.perf_counter() - start
        results = json.loads(text)["runs"][0]["results"]
        aggregated = sum(r["properties"].get("count", 0) for r in results if r["properties"].get("aggregate"))
        prints = [r["partialFingerprints"]["gavelFinding/v2"] for r in results]
        raw = len(text.encode())
        packed = len(gzip.compress(text.encode(), 6))
        print(f"{models:>7} {problems:>9,} {len(results):>8,} {aggregated:>10,} "
              f"{max((len(r['locations']) for r in results), default=0):>8} {str(len(set(prints)) == len(prints)):>9} "
              f"{raw / 1e6:>6.1f}MB {packed / 1e6:>6.2f}MB {elapsed:>6.2f}s")


if __name__ == "__main__":
    main()
