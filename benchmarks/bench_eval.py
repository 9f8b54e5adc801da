"""Where the time of policy evaluation goes, per subject, in one process: regorus's evaluation of the
50 policies (by the plan ``gavel check`` uses: one ``eval_rule`` per policy or partial set; and, for
comparison, by one query of the wrapper's ``model`` object), decoding the JSON result, and building
findings; plus loading the policies and the inventory into the engine. Prints figures; run it on an
idle machine (it prints the load; CPU time is less sensitive to it than wall time).

    python benchmarks/bench_eval.py [--models 10000] [--sample 1000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=1000, help="subjects timed (the first N models)")
    parser.add_argument("--keep", type=Path, help="generate the inventory here and keep it")
    args = parser.parse_args()
    out = args.keep or Path(tempfile.mkdtemp()) / "inventory"
    if not (out / "gavel.yaml").exists():
        subprocess.run([sys.executable, str(ROOT / "benchmarks/gen_inventory.py"), str(out), "--models",
                        str(args.models)], check=True, stdout=subprocess.DEVNULL)

    from engine.check import resolve_now
    from engine.config import load_config
    from engine.context import build_subjects, inventory_data
    from engine.engines.embedded import _compiled
    from engine.evaluate import WRAPPER, _documents, prepare, verdicts
    from engine.findings import SubjectRef
    from engine.inventory import build_inventory
    from engine.policy import load_policies

    load = "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())
    config = load_config(out)
    now = resolve_now(config.now)
    t0 = time.perf_counter()
    policy_set = load_policies(config)
    inv = build_inventory(config, now=now)
    subjects = build_subjects(inv, now=now)
    t1 = time.perf_counter()
    prepared = prepare(policy_set, data={"inventory": inventory_data(inv)}, workers=1)
    t2 = time.perf_counter()
    sample = [s for s in subjects if s.kind == "model"][: args.sample]
    documents, _ = _documents(sample, digests=False)
    t3 = time.perf_counter()
    plan = prepared.plans["model"]
    start = time.perf_counter()  # the same subjects through the bounded child (deadline, memory cap), decoded
    isolated = prepared.engine.evaluate(plan, documents)
    child_s = time.perf_counter() - start
    engine = prepared.engine.native  # from here on in process
    paths = [target if isinstance(target, str) else path for _, target in plan
             for path in ([target] if isinstance(target, str) else [p for _, p in target])]
    wrapper_s = 0.0
    for document in documents:  # the wrapper's one query, for comparison
        engine.set_input_json(document)
        start = time.process_time()
        engine.eval_rule_as_json(f"data.{WRAPPER}.model")
        wrapper_s += time.process_time() - start
    eval_s = 0.0
    for document in documents:  # regorus alone, on the plan's paths
        engine.set_input_json(document)
        start = time.process_time()
        for path in paths:
            engine.eval_rule_as_json(path)
        eval_s += time.process_time() - start
    t_in = time.perf_counter()
    texts = [prepared.engine._one(_compiled(plan), document)[1] for document in documents]  # with the composition
    t4 = time.perf_counter()
    values = [json.loads(t) for t in texts]
    t5 = time.perf_counter()
    assert values == isolated, "the bounded child and the engine in process disagree"
    findings = 0
    policies = [p for p in policy_set.policies if p.applies_to("model")]
    for subject, value in zip(sample, values, strict=True):
        ref = SubjectRef(kind=subject.kind, id=subject.id, source=subject.source)
        for policy in policies:
            findings += len(verdicts(policy, ref, value.get(policy.id)))
    t6 = time.perf_counter()
    n = len(sample)
    per = 1e6 / n
    print(f"{len(subjects)} subjects, {len(policy_set.policies)} policies; {os.cpu_count()} cores; {load}")
    print(f"read evidence + build subjects: {t1 - t0:.2f} s; prepare (compile + load data): {t2 - t1:.2f} s")
    print(f"per subject ({n} timed, 1 process): input JSON {(t3 - t2) * per:.0f} us, "
          f"set input + regorus evaluation by the plan ({len(paths)} eval_rule) {(t4 - t_in) * per:.0f} us "
          f"(evaluation alone {eval_s * per:.0f} us CPU; one query of the wrapper {wrapper_s * per:.0f} us CPU), "
          f"decode {(t5 - t4) * per:.0f} us, findings {(t6 - t5) * per:.0f} us ({findings / n:.0f} findings)")
    print(f"the same through the bounded child (what gavel check does: deadline, memory cap), evaluation and "
          f"decode: {child_s * per:.0f} us per subject, vs {(t5 - t_in) * per:.0f} us in process")
    total = (t6 - t_in + t3 - t2) / n * len(subjects)
    print(f"extrapolated to all {len(subjects)} subjects: {total:.1f} CPU-seconds "
          f"({eval_s / n * len(subjects):.1f} of them in regorus); on 2 cores at best {total / 2:.1f} s")


if __name__ == "__main__":
    main()
