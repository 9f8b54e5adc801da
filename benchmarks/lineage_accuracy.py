"""Per-dialect lineage accuracy on the hand-written corpus (tests/fixtures/lineage/dialects/ and
shapes.yaml): prints the Markdown table of docs/lineage.md. Not a test (test_sql_dialects.py is).

    python benchmarks/lineage_accuracy.py

Table level: the share of cases whose table edges (source -> target, kind aside) are exactly the
expected ones; column level the same for column edges. Recall and precision count single edges.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "lineage"))  # (an installed package may be named `tests`)

from corpus import FIXTURES, edges, load, pairs, run  # noqa: E402


def main() -> None:
    stats: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    paths = [*sorted((FIXTURES / "dialects").glob("*.yaml")), FIXTURES / "shapes.yaml"]
    for path in paths:
        for case in load(path):
            result = run(case)
            s = stats[case["dialect"]]
            s["cases"] += 1
            for level, key in (("t", "tables"), ("c", "columns")):
                found, expected = pairs(edges(result, level)), pairs(case[key])
                s[f"{key}_exact"] += found == expected
                s[f"{key}_hit"] += len(found & expected)
                s[f"{key}_expected"] += len(expected)
                s[f"{key}_found"] += len(found)
            s["statements"] += result.statements
            s["reported"] += result.counts["reported"]

    def pct(a: int, b: int) -> str:
        return f"{100 * a / b:.1f}%" if b else "-"

    print("| Dialect | Cases | Statements | Table level | Column level | Column edges recall / precision | Reported |")
    print("|---------|------:|-----------:|------------:|-------------:|------------------:|---------:|")
    total: dict[str, int] = defaultdict(int)
    for dialect in sorted(stats):
        s = stats[dialect]
        for k, v in s.items():
            total[k] += v
        print(f"| {dialect} | {s['cases']} | {s['statements']} | {pct(s['tables_exact'], s['cases'])} | "
              f"{pct(s['columns_exact'], s['cases'])} | {pct(s['columns_hit'], s['columns_expected'])} / "
              f"{pct(s['columns_hit'], s['columns_found'])} | {s['reported']} |")
    s = total
    print(f"| **all** | {s['cases']} | {s['statements']} | {pct(s['tables_exact'], s['cases'])} | "
          f"{pct(s['columns_exact'], s['cases'])} | {pct(s['columns_hit'], s['columns_expected'])} / "
          f"{pct(s['columns_hit'], s['columns_found'])} | {s['reported']} |")


if __name__ == "__main__":
    main()
