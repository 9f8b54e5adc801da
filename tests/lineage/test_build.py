"""The lineage stage end to end from Python: sources, tags, facts, cache, bad input."""

from __future__ import annotations

import json

import pytest

from engine.config import load_config
from engine.errors import ConfigError
from engine.inventory import build_inventory

NOW = "2026-11-26T00:00:00Z"

CUSTOMERS = """\
id: raw.customers
owner: data-platform
region: eu
legal_basis: contract
provenance: {registered: true}
columns:
  - {name: id, type: bigint}
  - {name: email, type: varchar, tags: [pii]}
  - {name: country, type: varchar}
"""

MODEL = """\
id: scorer
name: Scorer
version: "1"
owner: risk
risk_level: high
lifecycle_stage: production
training_datasets: [mart.features]
dpia: {status: in_progress}
deployment: {region: us-east-1}
"""

CONFIG = """\
evidence:
  - {path: datasets/*.yaml, kind: dataset}
  - {path: models/*.yaml, kind: model}
lineage:
  dialect: snowflake
  sources:
    - {type: sql, path: sql/*.sql}
  propagation:
    stop: {pii: [masked]}
"""


def build(root, overrides=()):
    config = load_config(root, overrides=list(overrides))
    inv = build_inventory(config, now=NOW)
    return inv, inv.lineage


@pytest.fixture
def warehouse(project):
    return project(
        {
            "datasets/raw.customers.yaml": CUSTOMERS,
            "models/scorer.yaml": MODEL,
            "sql/10_mart.sql": """\
                CREATE TABLE mart.features AS
                SELECT id, SPLIT_PART(email, '@', 2) AS domain, MD5(email) AS email_md5, country
                FROM raw.customers;
            """,
            "sql/20_report.sql": """\
                CREATE TABLE mart.report AS SELECT country, COUNT(*) AS n FROM mart.features GROUP BY country;
            """,
        },
        config=CONFIG,
    )


def test_pii_reaches_the_model_with_a_path(warehouse):
    inv, lg = build(warehouse)
    assert inv.problems == []
    facts = lg.facts("model", "scorer")
    assert "pii" in facts["tags"] and "region:eu" in facts["tags"]
    pii = [t for t in facts["tagged_sources"] if t["tag"] == "pii"]
    assert pii == [{"tag": "pii", "source": "raw.customers.email",
                    "path": ["raw.customers.email", "mart.features.domain", "mart.features", "model:scorer"]}]
    assert facts["sources"] == [{"id": "raw.customers", "declared": True, "registered": True,
                                 "legal_basis": "contract", "region": "eu", "file": "datasets/raw.customers.yaml"}]
    assert {"id": "mart.features.domain", "type": "column", "tags": ["pii", "region:eu"]} in facts["upstream"]


def test_masking_stops_pii_where_configured(warehouse):
    _, lg = build(warehouse)
    assert lg.tags_of("mart.features.email_md5") == ["region:eu"]
    assert lg.tags_of("mart.features.domain") == ["pii", "region:eu"]
    _, lg = build(warehouse, ["lineage.propagation.stop={}"])
    assert lg.tags_of("mart.features.email_md5") == ["pii", "region:eu"]


def test_dataset_facts_and_downstream_models(warehouse):
    _, lg = build(warehouse)
    facts = lg.facts("dataset", "raw.customers")
    assert facts["downstream_models"] == ["scorer"]
    assert facts["in_graph"] is True
    assert [d["id"] for d in facts["downstream"] if d["type"] == "table"] == ["mart.features", "mart.report"]
    # facts for a card lineage does not know keep the contract's shape
    missing = lg.facts("dataset", "raw.unknown")
    assert missing["in_graph"] is False and missing["upstream"] == [] and missing["tagged_sources"] == []


def test_facts_are_deterministic_json(warehouse):
    _, lg1 = build(warehouse)
    _, lg2 = build(warehouse)
    one = json.dumps([lg1.facts("model", "scorer"), lg1.subject()], sort_keys=False)
    two = json.dumps([lg2.facts("model", "scorer"), lg2.subject()], sort_keys=False)
    assert one == two


def test_inputs_are_digested(warehouse):
    inv, _ = build(warehouse)
    lineage_inputs = sorted(i.path for i in inv.inputs if i.kind == "lineage")
    assert lineage_inputs == ["sql/10_mart.sql", "sql/20_report.sql"]


def test_cache_reparses_only_the_changed_file(warehouse):
    _, lg = build(warehouse)
    assert lg.cache_stats == {"hits": 0, "misses": 2}
    _, lg = build(warehouse)
    assert lg.cache_stats == {"hits": 2, "misses": 0}
    (warehouse / "sql/20_report.sql").write_text("CREATE TABLE mart.report AS SELECT country FROM mart.features;\n")
    _, lg = build(warehouse)
    assert lg.cache_stats == {"hits": 1, "misses": 1}
    assert lg.g.has_edge("mart.features.country", "mart.report.country")


def test_cache_follows_schema_changes_upstream(warehouse):
    (warehouse / "sql/20_report.sql").write_text("CREATE TABLE mart.copy AS SELECT * FROM mart.features;\n")
    _, lg = build(warehouse)
    (warehouse / "sql/10_mart.sql").write_text("CREATE TABLE mart.features AS SELECT id, country FROM raw.customers;\n")
    _, lg = build(warehouse)
    assert lg.cache_stats == {"hits": 0, "misses": 2}  # the star of 20_report.sql now expands differently
    assert sorted(lg.columns_of["mart.copy"]) == ["mart.copy.country", "mart.copy.id"]


def test_unparsable_statement_is_an_error_finding_with_file_and_line(warehouse):
    (warehouse / "sql/30_bad.sql").write_text("CREATE TABLE mart.ok AS SELECT id FROM raw.customers;\n\nSELECT FROM WHERE;\n")
    inv, lg = build(warehouse)
    [problem] = inv.problems
    assert problem.status == "error" and problem.policy == "gavel-lineage"
    assert (problem.subject.source.file, problem.subject.source.line) == ("sql/30_bad.sql", 3)
    assert lg.g.has_edge("raw.customers.id", "mart.ok.id")


def test_missing_source_files_are_an_error(warehouse):
    inv, _ = build(warehouse, ["lineage.sources=[{type: sql, path: nothing/*.sql}]"])
    assert any("matches no file" in p.message for p in inv.problems)


def test_unknown_dialect_is_a_config_error_naming_the_line(warehouse):
    with pytest.raises(ConfigError) as err:
        build(warehouse, ["lineage.dialect=snowflak"])
    assert "snowflak" in str(err.value) and err.value.line is not None


def test_malformed_lineage_section_is_a_config_error(warehouse):
    with pytest.raises(ConfigError) as err:
        build(warehouse, ["lineage.sources=[{type: sql}]"])
    assert "path" in str(err.value)


def test_merge_into_its_own_source_keeps_tags_and_ends(project):
    root = project(
        {
            "datasets/raw.customers.yaml": CUSTOMERS,
            "sql/a.sql": """\
                CREATE TABLE mart.a AS SELECT id, email FROM raw.customers;
                CREATE TABLE mart.b AS SELECT id, email FROM mart.a;
                MERGE INTO mart.a t USING mart.b s ON t.id = s.id WHEN MATCHED THEN UPDATE SET t.email = s.email;
                MERGE INTO mart.b t USING mart.b s ON t.id = s.id WHEN MATCHED THEN UPDATE SET t.email = LOWER(s.email);
            """,
        },
        config=CONFIG,
    )
    _, lg = build(root)
    assert lg.tags_of("mart.b.email") == ["pii", "region:eu"]
    assert lg.tags_of("mart.a.email") == ["pii", "region:eu"]
    subject = lg.subject()
    assert subject["cycles"] == [{"tables": ["mart.a", "mart.b"], "path": ["mart.a", "mart.b", "mart.a"]}]
    assert subject["self_loops"] == ["mart.b"]


def test_bad_schema_section_is_a_config_error(warehouse):
    with pytest.raises(ConfigError) as err:
        build(warehouse, ["lineage.schema={raw.x: [a, 3]}"])
    assert "lineage.schema.raw.x" in str(err.value) and "3" in str(err.value)


def test_mixed_depth_schema_keeps_every_table_usable(project):
    # `customers` (one part) beside `raw.orders` (two): sqlglot's schema wants one depth; before, the
    # deeper table was dropped from it and its columns had "no known source"
    root = project({"sql/a.sql": """\
        CREATE TABLE mart.spend AS
        SELECT name, amount FROM customers c JOIN raw.orders o ON o.customer_id = c.id;
    """}, config="""\
        lineage:
          dialect: snowflake
          sources: [{type: sql, path: sql/*.sql}]
          schema:
            customers: [id, name]
            raw.orders: [id, customer_id, amount]
    """)
    inv, lg = build(root)
    assert inv.problems == []
    assert lg.unresolved == []
    assert lg.g.edges["raw.orders.amount", "mart.spend.amount"]["kind"] == "direct"
    assert lg.g.edges["customers.name", "mart.spend.name"]["kind"] == "direct"


def test_rename_moves_the_node_with_its_edges_and_tags(project):
    root = project({
        "datasets/raw.customers.yaml": CUSTOMERS,
        "models/scorer.yaml": MODEL,
        "sql/a.sql": """\
            CREATE TABLE mart.next AS SELECT id, email FROM raw.customers;
            ALTER TABLE mart.next RENAME TO mart.current;
            CREATE TABLE mart.report AS SELECT email FROM mart.current;
        """}, config=CONFIG)
    inv, lg = build(root)
    assert inv.problems == []
    g = lg.g
    assert "mart.next" not in g and "mart.next.email" not in g
    assert g.edges["raw.customers.email", "mart.current.email"]["kind"] == "direct"
    assert g.edges["mart.current.email", "mart.report.email"]["kind"] == "direct"
    assert lg.tags_of("mart.report.email") == ["pii", "region:eu"]
