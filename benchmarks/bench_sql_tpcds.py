"""TPC-DS in ``Analyzer.analyze``: CPU time of the 99 queries as one file, each written into a table.

    python benchmarks/bench_sql_tpcds.py --sqlglot PATH [--repeat 5]

PATH is a checkout (or bare clone) of https://github.com/tobymao/sqlglot: the queries
(tests/fixtures/optimizer/tpc-ds/tpc-ds.sql) and their schema (TPCDS_SCHEMA in tests/helpers.py) are
read from it and not copied here. Each query becomes ``CREATE TABLE bench.qN AS <query>`` (spark
dialect, TPC-DS schema); the figure is the best of ``--repeat`` runs, each with a fresh catalog, under
the garbage-collector thresholds of a lineage build.
Prints figures; not a test.
"""

from __future__ import annotations

import argparse
import ast
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _read(repo: Path, path: str) -> str:
    if (repo / path).is_file():
        return (repo / path).read_text(encoding="utf-8")
    return subprocess.run(["git", "--git-dir", str(repo if (repo / "HEAD").exists() else repo / ".git"), "show",
                           f"HEAD:{path}"], capture_output=True, text=True, check=True).stdout


def load(repo: Path) -> tuple[list[str], dict]:
    text = _read(repo, "tests/fixtures/optimizer/tpc-ds/tpc-ds.sql")
    lines = [line for line in text.splitlines() if not line.startswith(("--", "#"))]
    chunks = [c.strip() for c in "\n".join(lines).split(";\n") if c.strip()]
    queries = chunks[0::2]  # each query is followed by its optimized form
    helpers = ast.parse(_read(repo, "tests/helpers.py"))
    schema = next(ast.literal_eval(node.value) for node in helpers.body if isinstance(node, ast.Assign)
                  and any(getattr(t, "id", None) == "TPCDS_SCHEMA" for t in node.targets))
    return queries, schema


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sqlglot", type=Path, required=True, help="a sqlglot checkout or clone")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    import gc

    from engine.lineage.sql import Analyzer, Catalog, Options

    # the collector thresholds engine.lineage.build_graph runs the analysis under
    gc.set_threshold(50_000, 20, 100)
    queries, schema = load(args.sqlglot)
    text = "".join(f"CREATE TABLE bench.q{i + 1} AS\n{q};\n" for i, q in enumerate(queries))
    best, result = float("inf"), None
    for _ in range(args.repeat):
        catalog = Catalog("spark")
        for table, columns in schema.items():
            catalog.add(table, list(columns), dict(columns))
        t0 = time.process_time()
        result = Analyzer(catalog, Options(dialect="spark")).analyze(text)
        best = min(best, time.process_time() - t0)
    column_edges = sum(1 for e in result.edges if e[0] == "c")
    print(f"TPC-DS: {len(queries)} statements, {column_edges} column edges, counts {getattr(result, 'counts', '-')}, "
          f"{len(result.problems)} problems, {len(result.unresolved)} unresolved")
    print(f"Analyzer.analyze: {best * 1000:.0f} ms CPU (best of {args.repeat})")


if __name__ == "__main__":
    main()
