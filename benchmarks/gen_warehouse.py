"""A synthetic warehouse for the lineage benchmark: tables, a known schema and realistic SQL.

``python benchmarks/gen_warehouse.py OUT [--tables 2000] [--statements 10000] [--seed 7]`` writes
``OUT/gavel.yaml`` (the schema of every table under ``lineage.schema``, so column lineage can be
resolved) and ``OUT/sql/batch_NNN.sql`` (100 statements a file). Tables have 10 to 40 columns and
sit in four layers (raw, staging, mart, report); each statement writes a table of a later layer from
tables of earlier ones, as one of: INSERT ... SELECT with CTEs, joins, aggregates and CASE; CREATE
TABLE AS with UNION ALL; CREATE VIEW with a scalar subquery; MERGE with UPDATE and INSERT branches;
INSERT ... SELECT * (expanded through the schema). Deterministic for a given seed.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

LAYERS = ("raw", "staging", "mart", "report")
TYPES = ("bigint", "varchar", "double", "date", "int", "boolean")


def make_tables(count: int, rng: random.Random) -> dict[str, list[str]]:
    tables: dict[str, list[str]] = {}
    per_layer = count // len(LAYERS)
    for li, layer in enumerate(LAYERS):
        for i in range(per_layer if li < len(LAYERS) - 1 else count - per_layer * (len(LAYERS) - 1)):
            n = rng.randint(10, 40)
            cols = ["id"] + [f"c{j}_{rng.choice(('amt', 'cat', 'ts', 'flag', 'txt', 'num'))}" for j in range(1, n)]
            tables[f"{layer}.t{li}_{i:04d}"] = cols
    return tables


def _layer(name: str) -> int:
    return LAYERS.index(name.split(".")[0])


class Writer:
    def __init__(self, tables: dict[str, list[str]], rng: random.Random):
        self.tables = tables
        self.rng = rng
        self.by_layer = {li: [t for t in tables if _layer(t) == li] for li in range(len(LAYERS))}

    def source(self, target: str) -> str:
        layer = self.rng.randrange(0, _layer(target))
        return self.rng.choice(self.by_layer[layer])

    def expr(self, alias: str, col: str, i: int) -> str:
        r = self.rng.random()
        if r < 0.45:
            return f"{alias}.{col}"
        if r < 0.6:
            return f"CAST({alias}.{col} AS VARCHAR)"
        if r < 0.75:
            return f"CASE WHEN {alias}.{col} IS NULL THEN 0 ELSE 1 END"
        if r < 0.85:
            return f"COALESCE({alias}.{col}, {alias}.id)"
        if r < 0.92:
            return f"MD5(CAST({alias}.{col} AS VARCHAR))"
        return f"UPPER(CAST({alias}.{col} AS VARCHAR)) || '-' || CAST({i} AS VARCHAR)"

    def statement(self, target: str) -> str:
        kind = self.rng.random()
        if kind < 0.40:
            return self.insert_cte(target)
        if kind < 0.55:
            return self.ctas_union(target)
        if kind < 0.70:
            return self.view_subquery(target)
        if kind < 0.85:
            return self.merge(target)
        return self.insert_star(target)

    def pick(self, table: str, k: int) -> list[str]:
        cols = self.tables[table]
        return [cols[self.rng.randrange(len(cols))] for _ in range(k)]

    def insert_cte(self, target: str) -> str:
        tcols = self.tables[target]
        a, b = self.source(target), self.source(target)
        acols = self.pick(a, len(tcols))
        bcols = self.pick(b, 3)
        filt = self.pick(a, 1)[0]
        sel = []
        for i in range(min(len(tcols), len(acols))):
            if i % 7 == 3:
                sel.append(f"agg.total_{i % 3}")
            else:
                sel.append(self.expr("x", f"v{i}", i))
        cte_a = ", ".join([f"{c} AS v{i}" for i, c in enumerate(acols)] + ["id"])
        cte_b = ", ".join(f"SUM({c}) AS total_{i}" for i, c in enumerate(bcols))
        return (
            f"INSERT INTO {target} ({', '.join(tcols[: len(sel)])})\n"
            f"WITH x AS (SELECT {cte_a} FROM {a} WHERE {filt} IS NOT NULL),\n"
            f"     agg AS (SELECT id, {cte_b} FROM {b} GROUP BY id),\n"
            f"     unused AS (SELECT * FROM {b})\n"
            f"SELECT {', '.join(sel)}\nFROM x LEFT JOIN agg ON agg.id = x.id;"
        )

    def ctas_union(self, target: str) -> str:
        tcols = self.tables[target]
        a, b = self.source(target), self.source(target)
        n = min(len(tcols), len(self.tables[a]), len(self.tables[b]))
        left = ", ".join(f"{self.expr('s', c, i)} AS {tcols[i]}" for i, c in enumerate(self.pick(a, n)))
        right = ", ".join(f"s.{c}" for c in self.pick(b, n))
        self.tables[target] = tcols[:n]
        return (f"CREATE OR REPLACE TABLE {target} AS\nSELECT {left} FROM {a} AS s\nUNION ALL\n"
                f"SELECT {right} FROM {b} AS s;")

    def view_subquery(self, target: str) -> str:
        tcols = self.tables[target]
        a, b = self.source(target), self.source(target)
        n = min(len(tcols), len(self.tables[a]))
        cols = ", ".join(f"{self.expr('s', c, i)} AS {tcols[i]}" for i, c in enumerate(self.pick(a, n - 1)))
        sub = self.pick(b, 1)[0]
        self.tables[target] = tcols[: n - 1] + ["latest"]
        return (f"CREATE OR REPLACE VIEW {target} AS\nSELECT {cols},\n"
                f"  (SELECT MAX(o.{sub}) FROM {b} AS o WHERE o.id = s.id) AS latest\nFROM {a} AS s;")

    def merge(self, target: str) -> str:
        tcols = self.tables[target]
        a = self.source(target)
        n = min(len(tcols) - 1, len(self.tables[a]) - 1, 12)
        src = self.pick(a, n)
        sets = ", ".join(f"t.{tcols[i + 1]} = s.v{i}" for i in range(n))
        sel = ", ".join(f"{c} AS v{i}" for i, c in enumerate(src))
        ins_cols = ", ".join(["id", *tcols[1 : n + 1]])
        ins_vals = ", ".join(["s.id", *(f"s.v{i}" for i in range(n))])
        return (f"MERGE INTO {target} AS t\nUSING (SELECT id, {sel} FROM {a}) AS s ON t.id = s.id\n"
                f"WHEN MATCHED THEN UPDATE SET {sets}\n"
                f"WHEN NOT MATCHED THEN INSERT ({ins_cols}) VALUES ({ins_vals});")

    def insert_star(self, target: str) -> str:
        a = self.source(target)
        return f"INSERT INTO {target}\nSELECT * FROM {a} WHERE id > 0;"


def generate(out: Path, *, tables: int = 2000, statements: int = 10000, seed: int = 7, per_file: int = 100) -> dict:
    import json

    rng = random.Random(seed)
    schema = make_tables(tables, rng)
    declared = {name: list(cols) for name, cols in schema.items()}
    writer = Writer(schema, rng)
    targets = [t for t in schema if _layer(t) > 0]
    out.mkdir(parents=True, exist_ok=True)
    sql = out / "sql"
    sql.mkdir(exist_ok=True)
    for old in sql.glob("*.sql"):
        old.unlink()
    batch: list[str] = []
    index = 0
    for i in range(statements):
        batch.append(writer.statement(targets[rng.randrange(len(targets))]))
        if len(batch) == per_file or i == statements - 1:
            (sql / f"batch_{index:03d}.sql").write_text("\n\n".join(batch) + "\n")
            batch, index = [], index + 1
    config = {
        "evidence": [],
        "lineage": {"dialect": "snowflake", "schema": declared,
                    "sources": [{"type": "sql", "path": "sql/*.sql"}]},
    }
    # JSON is YAML: a 2,000-table schema loads far faster through the JSON path than through YAML
    (out / "gavel.yaml").write_text(json.dumps(config) + "\n")
    return {"tables": len(schema), "statements": statements, "files": index}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--tables", type=int, default=2000)
    parser.add_argument("--statements", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(generate(args.out, tables=args.tables, statements=args.statements, seed=args.seed))


if __name__ == "__main__":
    main()
