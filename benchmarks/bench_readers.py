"""Benchmark the hardened readers: the loader's checks (duplicate keys, JSON-only values) and the
evidence stage cold and warm (authenticated cache, looked up by the hash of the bytes read now).

    python benchmarks/bench_readers.py [--models 2000] [--runs 3]

Prints cards per second for ``parse`` on YAML and JSON cards, and the evidence stage's wall time
cold (no cache) and warm (cache filled). Run it on an idle machine.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml  # noqa: E402

from benchmarks.gen_inventory import model_card  # noqa: E402
from engine.config import load_config  # noqa: E402
from engine.evidence import load_evidence  # noqa: E402
from engine.evidence.loader import parse  # noqa: E402
from engine.inventory import Inventory  # noqa: E402


def per_second(texts: list[str], suffix: str, runs: int) -> float:
    best = []
    for _ in range(runs):
        start = time.perf_counter()
        for i, text in enumerate(texts):
            parse(text, f"m{i}{suffix}")
        best.append(time.perf_counter() - start)
    return len(texts) / min(best)


def evidence_stage(root: Path, *, cache: bool) -> float:
    config = load_config(root, overrides=[f"cache.enabled={str(cache).lower()}"])
    config.workers = 1
    start = time.perf_counter()
    inv = Inventory(root=config.root)
    load_evidence(config, inv)
    assert not inv.problems, inv.problems[:1]
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(7)
    cards = [model_card(i, rng) for i in range(args.models)]
    yaml_texts = [yaml.safe_dump(c, sort_keys=False) for c in cards]
    json_texts = [json.dumps(c, indent=1) for c in cards]
    print(f"parse, YAML cards: {per_second(yaml_texts, '.yaml', args.runs):,.0f} cards/s")
    print(f"parse, JSON cards: {per_second(json_texts, '.json', args.runs):,.0f} cards/s")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "models").mkdir()
        for i, text in enumerate(yaml_texts):
            (root / "models" / f"m{i:05d}.yaml").write_text(text)
        (root / "gavel.yaml").write_text("evidence: [{path: models/*.yaml, kind: model}]\n")
        cold = statistics.median(evidence_stage(root, cache=False) for _ in range(args.runs))
        evidence_stage(root, cache=True)  # fill the cache
        warm = statistics.median(evidence_stage(root, cache=True) for _ in range(args.runs))
    print(f"evidence stage, {args.models} YAML cards, one process: cold {cold:.2f} s, warm (cache) {warm:.2f} s")


if __name__ == "__main__":
    main()
