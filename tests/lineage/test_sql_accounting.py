"""No silent drops: over a generated corpus, every statement is analysed, classified as having no
lineage by nature, or reported (with its line, kind and reason); and the kind of each is the one the
generator meant, an independent oracle."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.lineage.sql import Catalog, Options, analyze

SCHEMA = {"raw.a": ["id", "x", "y"], "raw.b": ["id", "z"]}

# (statement, what it is): analysed (edges or schema), classified (no lineage by nature), reported
# (Gavel cannot tell its lineage), error (does not parse: an error finding). {t} is a fresh table.
TEMPLATES = [
    ("CREATE TABLE mart.{t} AS SELECT id, x FROM raw.a", "analysed"),
    ("INSERT INTO mart.{t} (k, v) SELECT a.id, b.z FROM raw.a a JOIN raw.b b ON a.id = b.id", "analysed"),
    ("INSERT INTO mart.{t} (k) VALUES ((SELECT max(id) FROM raw.b))", "analysed"),
    ("INSERT INTO mart.{t} VALUES (1, 2)", "analysed"),
    ("CREATE VIEW mart.{t} (k) AS (SELECT x FROM raw.a)", "analysed"),
    ("UPDATE raw.a SET x = b.z FROM raw.b b WHERE raw.a.id = b.id", "analysed"),
    ("MERGE INTO raw.a USING raw.b ON raw.a.id = raw.b.id WHEN MATCHED THEN UPDATE SET y = raw.b.z", "analysed"),
    ("DELETE FROM raw.a WHERE id IN (SELECT id FROM raw.b)", "analysed"),
    ("COPY INTO raw.b FROM @stage/{t}", "analysed"),
    ("CREATE TABLE mart.{t} CLONE raw.a", "analysed"),
    ("CREATE TABLE mart.{t} (c1 INT, c2 TEXT)", "analysed"),
    ("SELECT id INTO mart.{t} FROM raw.a UNION SELECT id FROM raw.b", "analysed"),
    ("SELECT * FROM raw.a", "classified"),
    ("DROP TABLE IF EXISTS mart.{t}", "classified"),
    ("TRUNCATE TABLE raw.b", "classified"),
    ("GRANT SELECT ON raw.a TO ROLE r", "classified"),
    ("SET v = 1", "classified"),
    ("USE SCHEMA raw", "classified"),
    ("DELETE FROM raw.b", "classified"),
    ("CREATE SCHEMA IF NOT EXISTS s{t}", "classified"),
    ("EXECUTE IMMEDIATE :stmt_{t}", "reported"),
    ("CREATE PROCEDURE p{t}() RETURNS STRING LANGUAGE JAVASCRIPT AS 'return 1'", "reported"),
    ("INSERT INTO FROM WHERE", "error"),
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(range(len(TEMPLATES))), min_size=1, max_size=12),
       st.sampled_from([";\n", ";\n\n", "; "]))
def test_every_statement_is_analysed_classified_or_reported(picks, separator):
    statements = [TEMPLATES[i][0].format(t=f"t{n}") for n, i in enumerate(picks)]
    expected = {"analysed": 0, "classified": 0, "reported": 0}
    errors = 0
    for i in picks:
        kind = TEMPLATES[i][1]
        if kind == "error":
            errors += 1
            kind = "reported"
        expected[kind] += 1
    catalog = Catalog("snowflake")
    for table, columns in SCHEMA.items():
        catalog.add(table, columns)
    result = analyze(separator.join(statements) + ";", catalog, Options(dialect="snowflake"))

    assert result.statements == len(statements)
    assert result.counts == expected
    assert sum(result.classified.values()) == expected["classified"]
    assert len(result.problems) == errors
    reported = [u for u in result.unresolved if "kind" in u]
    assert len(reported) == expected["reported"] - errors
    for item in reported:
        assert item["line"] >= 1 and item["kind"] and "not analysed: " in item["message"]


def test_a_procedure_counts_its_header_and_each_statement_of_its_body():
    text = ("CREATE PROCEDURE p AS\nBEGIN\n  INSERT INTO mart.x SELECT id FROM raw.a;\n"
            "  DROP TABLE mart.y;\n  EXEC sp_executesql @dynamic_sql;\nEND\n")
    catalog = Catalog("tsql")
    for table, columns in SCHEMA.items():
        catalog.add(table, columns)
    result = analyze(text, catalog, Options(dialect="tsql"))
    assert result.statements == 4
    assert result.counts == {"analysed": 1, "classified": 2, "reported": 1}
    assert result.classified == {"CREATE PROCEDURE": 1, "DROP": 1}
    assert [u["line"] for u in result.unresolved] == [5]
