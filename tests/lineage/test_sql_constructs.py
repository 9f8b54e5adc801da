"""Hand-written expected lineage for each SQL construct (tests/fixtures/lineage/constructs.yaml)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from engine.lineage.sql import Catalog, Options, analyze

FIXTURES = Path(__file__).parent.parent / "fixtures" / "lineage"
SCHEMA = {
    "raw.customers": ["id", "email", "ssn", "country", "created_at"],
    "raw.loans": ["loan_id", "customer_id", "amount", "status"],
    "raw.payments": ["loan_id", "paid", "paid_at"],
}


def load_cases(only: str | None = None) -> list[dict]:
    cases = yaml.safe_load((FIXTURES / "constructs.yaml").read_text())["cases"]
    return [c for c in cases if only is None or only in c["name"]]


def run(sql: str, dialect: str = "snowflake"):
    catalog = Catalog(dialect)
    for table, columns in SCHEMA.items():
        catalog.add(table, columns)
    return analyze(sql, catalog, Options(dialect=dialect))


def edges(result, level: str) -> set[str]:
    out = set()
    for lvl, st, sc, dt, dc, kind, _ in result.edges:
        if lvl != level:
            continue
        if level == "c":
            out.add(f"{st}.{sc} -> {dt}.{dc} {kind}")
        elif level == "t":
            out.add(f"{st} -> {dt} {kind}")
        else:
            out.add(f"{st}.{sc} -> {dt} {kind}")
    return out


@pytest.mark.parametrize("case", load_cases(), ids=lambda c: c["name"])
def test_construct(case):
    result = run(case["sql"], case.get("dialect", "snowflake"))
    assert result.problems == []
    assert edges(result, "c") == set(case["columns"])
    assert edges(result, "t") == set(case["tables"])
    if "indirect" in case:
        assert edges(result, "i") == set(case["indirect"])


def test_every_statement_has_its_line():
    result = run("CREATE TABLE a.x AS SELECT id FROM raw.customers;\n\n"
                 "CREATE TABLE a.y AS\nSELECT email FROM raw.customers;")
    assert sorted({e[6] for e in result.edges if e[0] == "c"}) == [1, 3]


def test_one_bad_statement_does_not_lose_the_rest():
    text = (FIXTURES / "broken.sql").read_text()
    result = run(text)
    assert [p["line"] for p in result.problems] == [5]
    assert "SQL syntax error" in result.problems[0]["message"]
    targets = {e[3] for e in result.edges if e[0] == "c"}
    assert targets == {"staging.customer_countries", "staging.customer_profile"}


def test_unterminated_string_reports_the_statement_and_keeps_the_others():
    result = run("CREATE TABLE a.x AS SELECT id FROM raw.customers;\nSELECT 'oops FROM raw.loans;\n")
    assert len(result.problems) == 1
    assert result.problems[0]["line"] == 2
    assert {e[3] for e in result.edges if e[0] == "c"} == {"a.x"}


def test_create_statements_grow_the_schema_for_later_files():
    catalog = Catalog("snowflake")
    analyze("CREATE TABLE s.t (a INT, b INT);", catalog, Options(dialect="snowflake"))
    result = analyze("CREATE TABLE s.u AS SELECT * FROM s.t;", catalog, Options(dialect="snowflake"))
    assert edges(result, "c") == {"s.t.a -> s.u.a direct", "s.t.b -> s.u.b direct"}
    assert result.deps["s.t"] == catalog.fingerprint("s.t") != "-"


def test_unresolved_columns_are_reported():
    result = run("CREATE TABLE a.x AS SELECT * FROM vendor.feed;")
    assert result.unresolved and "not expanded" in result.unresolved[0]["message"]
