"""The HTML report at scale, in headless Chromium: file size, first paint and filter-click time.

    python benchmarks/bench_html.py [--subjects 2000 10000] [--policies 60] [--out DIR]

Targets (issue 13.5) for 2,000 subjects x 60 policies: file < 8 MB, first paint < 2 s, a filter
click < 200 ms; 10,000 subjects loads. Needs Debian's chromium and playwright (a test extra).
First paint is Chromium's first-contentful-paint; "ready" is when the first page of findings is
in the table; a click is timed from the click to the next frame after the table changed.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.findings import Finding, PolicyInfo, Source, SubjectRef  # noqa: E402
from engine.report import build_report, decide_gate, render  # noqa: E402

SEVERITIES = ["info", "low", "medium", "high", "critical"]
FRAMEWORKS = ["EU AI Act Art. 10(2)", "EU AI Act Art. 14", "GDPR Art. 35", "GDPR Art. 6(1)", "NIST AI RMF MANAGE 4.1",
              "ISO/IEC 42001 A.6.2.7", "EU AI Act Art. 50(1)", "NIST AI RMF MEASURE 2.11"]
STATUSES = ["pass"] * 12 + ["skip"] * 5 + ["fail"] * 2 + ["warn", "waived", "error"]


def report_of(subjects: int, policies: int, seed: int = 7):
    rng = random.Random(seed)
    infos = [PolicyInfo(id=f"policy-{i:03d}", title=f"Policy number {i} checks something specific", target=["model"],
                        severity=SEVERITIES[i % 5], language="yaml", source=Source(f"policies/p{i}.yaml", 1),
                        sha256=f"{i:064x}", frameworks=rng.sample(FRAMEWORKS, 2)) for i in range(policies)]
    findings = []
    for k in range(subjects):
        sid = f"model-{k:05d}"
        src = Source(f"models/{sid}.yaml", 1)
        for p in infos:
            status = rng.choice(STATUSES)
            message = {"pass": "ok", "skip": "not applicable"}.get(status, f"{sid} does not satisfy {p.id}")
            evidence = None
            if status in ("fail", "warn") and rng.random() < 0.3:
                evidence = {"path": [f"raw.table_{k % 13}.email", "staging.users", "features.f", f"model:{sid}"]}
            waiver = ({"id": f"W-{k}", "reason": "accepted risk", "owner": "o@x.example", "approver": "a@x.example",
                       "expires": "2027-01-01"} if status == "waived" else None)
            findings.append(Finding(policy=p.id, title=p.title, severity=p.severity, status=status,
                                    subject=SubjectRef("model", sid, src), message=message, evidence=evidence,
                                    frameworks=p.frameworks, remediation="Fix the card and re-run.", waiver=waiver))
    return build_report(findings, inputs=[], policies=infos, now="2026-11-26T00:00:00Z", engine="embedded",
                        gate=decide_gate(findings, fail_on="medium"))


CLICK = """async () => {
  const box = document.querySelector('input[name=status][value=pass]');
  const t = performance.now();
  box.click();
  await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
  return performance.now() - t;
}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, nargs="+", default=[2000, 10_000])
    parser.add_argument("--policies", type=int, default=60)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    chromium = shutil.which("chromium")
    if not chromium:
        sys.exit("needs Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    out = args.out or Path(tempfile.mkdtemp(prefix="gavel-html-"))
    out.mkdir(parents=True, exist_ok=True)
    print(f"{'subjects':>8} {'findings':>9} {'size':>8} {'render':>7} {'first paint':>11} {'ready':>7} "
          f"{'filter click':>12} {'next page':>9}")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--headless", "--no-sandbox", "--disable-gpu"])
        for n in args.subjects:
            report = report_of(n, args.policies)
            start = time.perf_counter()
            html = render(report, "html")
            rendered = time.perf_counter() - start
            path = out / f"report-{n}.html"
            path.write_text(html, encoding="utf-8")
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            start = time.perf_counter()
            page.goto(path.as_uri())
            page.wait_for_selector("#findings tbody tr.finding")
            ready = time.perf_counter() - start
            paint = page.evaluate("(performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime || 0")
            clicks = sorted(page.evaluate(CLICK) for _ in range(5))
            nxt = page.evaluate("""async () => { const t = performance.now(); document.getElementById('next').click();
                await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0))); return performance.now() - t; }""")
            page.close()
            print(f"{n:>8} {len(report.findings):>9,} {len(html.encode()) / 1e6:>6.1f}MB {rendered:>6.2f}s "
                  f"{paint / 1000:>10.2f}s {ready:>6.2f}s {clicks[len(clicks) // 2]:>10.0f}ms {nxt:>7.0f}ms")
        browser.close()


if __name__ == "__main__":
    main()
