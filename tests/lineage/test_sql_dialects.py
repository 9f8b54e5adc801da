"""The per-dialect corpus (tests/fixtures/lineage/dialects/): Gavel against hand-written edges, and
sqlglot.lineage as a second oracle on the single-query cases it applies to."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp
from sqlglot.lineage import lineage

from tests.lineage.corpus import FIXTURES, check, load, pairs, run

CASES = [case for path in sorted((FIXTURES / "dialects").glob("*.yaml")) for case in load(path)]


def _id(case):
    return f"{case['dialect']}: {case['name']}"


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_dialect_case(case):
    if case.get("known_gap"):
        pytest.xfail(case["known_gap"])
    check(case, run(case))


def _single_query(case) -> tuple[str, exp.Query] | None:
    """``(target, query)`` of a one-statement CREATE ... AS SELECT, where sqlglot.lineage applies."""
    try:
        statements = sqlglot.parse(case["sql"], read=case["dialect"])
    except sqlglot.errors.SqlglotError:
        return None
    statements = [s for s in statements if s is not None]
    if len(statements) != 1 or not isinstance(statements[0], exp.Create):
        return None
    create = statements[0]
    if not isinstance(create.this, exp.Table) or not isinstance(create.expression, exp.Select):
        return None
    return ".".join(p.name for p in create.this.parts).lower(), create.expression


ORACLE = [c for c in CASES if _single_query(c) and not c.get("known_gap") and not c.get("no_sqlglot")]


@pytest.mark.parametrize("case", ORACLE, ids=_id)
def test_sqlglot_lineage_agrees(case):
    target, query = _single_query(case)
    schema: dict = {}
    for table, columns in case["schema"].items():
        node = schema
        for part in table.split(".")[:-1]:
            node = node.setdefault(part, {})
        node[table.split(".")[-1]] = dict.fromkeys(columns, "unknown")
    found = set()
    columns = sorted({dst.rsplit(".", 1)[1] for _, dst in pairs(case["columns"])})
    for column in columns:
        for node in lineage(column, query.sql(dialect=case["dialect"]), schema=schema,
                            dialect=case["dialect"]).walk():
            if isinstance(node.expression, exp.Table) and not node.downstream:
                table = ".".join(p.name for p in node.expression.parts).lower()
                found.add((f"{table}.{node.name.split('.')[-1].lower()}", f"{target}.{column}"))
    assert found == pairs(case["columns"])


def test_every_dialect_is_covered():
    dialects = {Path(p).stem for p in (FIXTURES / "dialects").glob("*.yaml")}
    assert {"spark", "hive", "snowflake", "bigquery", "postgres", "redshift", "tsql", "mysql", "databricks",
            "trino", "teradata"} <= dialects
