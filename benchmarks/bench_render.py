"""Render every output format for a synthetic 100,000-finding report; target: under 10 s in total.

    python benchmarks/bench_render.py [--findings 100000] [--out DIR]

Prints the wall-clock and CPU seconds and the size of each format (CPU time is the steadier figure on
a busy machine). Building the report is not timed.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.findings import Finding, InputDigest, PolicyInfo, Source, SubjectRef  # noqa: E402
from engine.report import build_report, decide_gate, render, renderers  # noqa: E402

FRAMEWORKS = ["EU AI Act Art. 10(2)", "EU AI Act Art. 14", "GDPR Art. 35", "GDPR Art. 6(1)", "NIST AI RMF MANAGE 4.1",
              "ISO/IEC 42001 A.6.2.7", "EU AI Act Art. 50(1)", "NIST AI RMF MEASURE 2.11"]
SEVERITIES = ["info", "low", "medium", "high", "critical"]
STATUSES = ["pass"] * 10 + ["skip"] * 5 + ["fail"] * 3 + ["warn", "waived", "error"]


def synthetic_report(n: int, *, seed: int = 7):
    rng = random.Random(seed)
    policies = [PolicyInfo(id=f"policy-{i:03d}", title=f"Policy number {i}", severity=SEVERITIES[i % 5],
                           target=["model", "dataset"], language="yaml", source=Source(f"policies/p{i}.yaml", 1),
                           sha256=f"{i:064x}", frameworks=rng.sample(FRAMEWORKS, 2)) for i in range(50)]
    findings = []
    for k in range(n):
        p = policies[k % len(policies)]
        kind = "model" if k % 3 else "dataset"
        sid = f"{kind}-{k // len(policies):05d}"
        status = rng.choice(STATUSES)
        evidence = None
        if status in ("fail", "warn"):
            evidence = {"failed": [{"condition": "subject.owner exists true", "actual": None, "expected": True}]}
            if k % 7 == 0:
                evidence = {"path": [f"raw.table_{k % 13}.email", "staging.users", "features.f", f"model:{sid}"]}
        waiver = ({"id": f"W-{k}", "policy": p.id, "subject": sid, "reason": "accepted risk", "owner": "o@x.example",
                   "approver": "a@x.example", "expires": "2027-01-01"} if status == "waived" else None)
        findings.append(Finding(policy=p.id, title=p.title, severity=p.severity, status=status,
                                subject=SubjectRef(kind, sid, Source(f"{kind}s/{sid}.yaml", 1 + k % 40)),
                                message=f"{sid} does not satisfy {p.id} <{k}>", evidence=evidence,
                                frameworks=p.frameworks, remediation="Fix the card & re-run.", waiver=waiver))
    inputs = [InputDigest(f"models/m{i}.yaml", "model", f"{i:064x}") for i in range(2000)]
    gate = decide_gate(findings, fail_on="medium")
    return build_report(findings, inputs=inputs, policies=policies, now="2026-11-26T00:00:00Z", engine="embedded",
                        gate=gate)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--findings", type=int, default=100_000)
    parser.add_argument("--out", type=Path, help="also write each output here")
    parser.add_argument("--budget", type=float, default=10.0, help="seconds allowed for all formats together")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    report = synthetic_report(args.findings)
    print(f"built a {len(report.findings):,}-finding report in {time.perf_counter() - t0:.2f} s (not counted)")
    total = cpu_total = 0.0
    print(f"  {'format':<9} {'wall':>7}  {'cpu':>7}  {'size':>8}")
    for fmt in renderers.names():
        renderers.get_or_raise(fmt)  # import outside the timing
        start, cpu = time.perf_counter(), time.process_time()
        text = render(report, fmt)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        total += elapsed
        cpu_total += cpu
        print(f"  {fmt:<9} {elapsed:6.2f}s  {cpu:6.2f}s  {len(text.encode()) / 1e6:6.1f} MB")
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / f"report.{fmt}").write_text(text, encoding="utf-8")
    verdict = "OK" if total < args.budget else "OVER BUDGET"
    print(f"all {len(renderers.names())} formats: {total:.2f} s wall, {cpu_total:.2f} s CPU "
          f"(budget {args.budget:.0f} s wall): {verdict}")
    return 0 if total < args.budget else 1


if __name__ == "__main__":
    sys.exit(main())
