"""What evaluating in the bounded child process costs (deadline, memory cap; docs/writing-policies.md).

    python benchmarks/bench_isolation.py [--subjects 1500] [--calls 200]

Prints, for the embedded engine with ``isolate`` on and off: the time of one small query
(a policy alone, what the per-policy fallback runs) and of judging SUBJECTS model cards against
the five card packs. Runs alternate, so machine load hits both alike.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.context import subject_of  # noqa: E402
from engine.evaluate import prepare  # noqa: E402
from engine.findings import Source  # noqa: E402
from engine.inventory import Record  # noqa: E402
from engine.policy import load_paths, pack_path  # noqa: E402

PACKS = ["model-card", "eu-ai-act", "gdpr", "nist-ai-rmf", "iso-42001"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subjects", type=int, default=1500)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    policy_set = load_paths([(pack_path(name), name) for name in PACKS])
    cards = [{"id": f"m{i}", "name": "x", "version": "1", "owner": "t", "risk_level": "high",
              "lifecycle_stage": "production", "last_review": f"2026-01-0{1 + i % 9}"} for i in range(args.subjects)]
    subjects = [subject_of(Record("model", c["id"], c, Source("m.yaml", 1)), now="2026-11-26T00:00:00Z") for c in cards]
    document = json.dumps(subjects[0].doc)
    for round_ in range(2):
        for isolate in (True, False):
            prepared = prepare(policy_set, data={"inventory": {"models": {}, "datasets": {}}}, workers=1,
                               options={"isolate": isolate})
            start = time.perf_counter()
            for _ in range(args.calls):
                prepared.engine.evaluate("data.gavel_eval.p0", [document])
            per_call = (time.perf_counter() - start) / args.calls * 1000
            start = time.perf_counter()
            findings = prepared.evaluate(subjects)
            whole = time.perf_counter() - start
            print(f"round {round_ + 1}, isolate={isolate!s:5}: one policy alone {per_call:.2f} ms per query; "
                  f"{len(subjects)} subjects x {len(policy_set.policies)} policies {whole:.1f} s "
                  f"({len(findings)} findings)")


if __name__ == "__main__":
    main()
