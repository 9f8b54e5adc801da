"""``gavel lineage ...`` and ``gavel check`` with the lineage pack, end to end on the example."""

from __future__ import annotations

import json

from tests.conftest import EXAMPLES


def test_downstream_models_of_a_pii_column(gavel):
    result = gavel("lineage", "downstream", "raw.customers.email", "--type", "model", "-c", EXAMPLES)
    assert result.exit_code == 0, result.output
    models = [line.split()[0] for line in result.stdout.splitlines()]
    assert models == ["model:income-estimator", "model:credit-limit-optimizer", "model:credit-scoring-v3"]


def test_upstream_with_tag_and_depth_as_json(gavel):
    result = gavel("lineage", "upstream", "credit-limit-optimizer", "--tag", "pii", "--depth", "3", "--json",
                   "-c", EXAMPLES)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    ids = [n["id"] for n in data["nodes"]]
    assert data["node"] == "model:credit-limit-optimizer"
    assert "staging.customer_profile.email_domain" in ids
    assert all("pii" in n["tags"] and n["distance"] <= 3 for n in data["nodes"])


def test_path_names_files_and_lines(gavel):
    result = gavel("lineage", "path", "raw.customers.email", "model:credit-limit-optimizer", "-c", EXAMPLES)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "raw.customers.email",
        "  -> staging.customer_profile.email_domain  (expression, lineage/sql/10_staging.sql:5)",
        "  -> features.credit_features.email_domain  (direct, lineage/sql/20_features.sql:2)",
        "  -> model:credit-limit-optimizer  (feature, models/credit-limit-optimizer.yaml:1)",
    ]


def test_show_and_unknown_node(gavel):
    result = gavel("lineage", "show", "raw.customers.email", "-c", EXAMPLES)
    assert result.exit_code == 0
    assert "declared here: pii, region:eu" in result.stdout
    result = gavel("lineage", "show", "raw.custmers", "-c", EXAMPLES)
    assert result.exit_code == 2
    assert result.stderr.strip() == ("Error: no lineage node 'raw.custmers'; did you mean raw.customers, "
                                     "raw.customers.ssn, raw.customers.email?")


def test_no_path(gavel):
    result = gavel("lineage", "path", "model:fraud-detector", "raw.customers", "-c", EXAMPLES)
    assert result.exit_code == 2
    assert "no lineage path from model:fraud-detector to raw.customers" in result.stderr


def test_exports(gavel, tmp_path):
    for fmt, marker in (("json", '"nodes"'), ("dot", "digraph lineage {"), ("graphml", "<graphml"),
                        ("mermaid", "flowchart LR")):
        result = gavel("lineage", "export", "--format", fmt, "-c", EXAMPLES)
        assert result.exit_code == 0 and marker in result.stdout, fmt
    out = tmp_path / "tables.json"
    result = gavel("lineage", "export", "--level", "table", "-o", out, "-c", EXAMPLES)
    assert result.exit_code == 0
    data = json.loads(out.read_text())
    assert not [n for n in data["nodes"] if n["type"] == "column"]
    assert any(e["source"] == "features.credit_features" and e["target"] == "staging.customer_profile"
               for e in data["edges"])


def test_without_lineage_config(gavel, project):
    root = project({}, config="evidence: []\n")
    result = gavel("lineage", "show", "x", "-c", root)
    assert result.exit_code == 2
    assert "no lineage configured" in result.stderr


def test_bad_dialect_exits_2_naming_the_line(gavel, example_copy):
    result = gavel("lineage", "show", "raw.customers", "-c", example_copy, "--set", "lineage.dialect=snowflak")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: gavel.yaml:")
    assert "Unknown dialect 'snowflak'" in result.stderr
    assert "Traceback" not in result.output


def test_check_shows_lineage_findings(gavel):
    result = gavel("check", EXAMPLES, "--set", "policies.packs=[lineage]", "-o", "json")
    report = json.loads(result.stdout)
    failing = {(f["policy"], f["subject"]["id"]) for f in report["findings"] if f["status"] in ("fail", "warn")}
    assert ("lineage-pii-dpia", "credit-limit-optimizer") in failing
    assert ("lineage-pii-dpia", "marketing-propensity") in failing
    assert ("lineage-pii-dpia", "credit-scoring-v3") not in failing  # its DPIA is approved
    assert ("lineage-registered-sources", "marketing-propensity") in failing
    assert ("lineage-eu-data-deployment", "income-estimator") in failing
    assert ("lineage-no-cycles", "lineage") in failing
    assert ("lineage-orphan-tables", "lineage") in failing
    assert not [f for f in report["findings"] if f["policy"] == "gavel-lineage"]
    assert result.exit_code == 1


def test_check_reports_unparsable_sql_as_an_error(gavel, example_copy):
    (example_copy / "lineage/sql/40_bad.sql").write_text("SELECT 1;\nINSERT INTO x SELECT FROM WHERE;\n")
    result = gavel("check", example_copy, "--set", "policies.packs=[lineage]", "-o", "json")
    report = json.loads(result.stdout)
    errors = [f for f in report["findings"] if f["policy"] == "gavel-lineage"]
    assert len(errors) == 1 and errors[0]["status"] == "error"
    assert errors[0]["subject"]["source"] == {"file": "lineage/sql/40_bad.sql", "line": 2}
    assert result.exit_code == 1


def test_incomplete_lineage_warns_the_subjects_downstream(gavel, example_copy):
    # dynamic SQL writing a feature table: Gavel cannot tell what flows, so every verdict on a model
    # trained on that table rests on incomplete lineage, and says so
    (example_copy / "lineage/sql/40_dynamic.sql").write_text(
        "CREATE TABLE mart.audit AS SELECT id FROM raw.customers;\n"
        "EXECUTE IMMEDIATE 'INSERT INTO features.credit_features SELECT * FROM ' || :source_table;\n")
    result = gavel("check", example_copy, "--set", "policies.packs=[lineage]", "-o", "json")
    report = json.loads(result.stdout)
    warns = {f["subject"]["id"]: f for f in report["findings"] if f["policy"] == "gavel-lineage-incomplete"}
    assert "credit-limit-optimizer" in warns
    assert "fraud-detector" not in warns  # nothing it reads is touched
    warn = warns["credit-limit-optimizer"]
    assert warn["status"] == "warn"
    assert "features.credit_features" in warn["message"]
    assert "lineage/sql/40_dynamic.sql:2" in warn["message"]

    result = gavel("lineage", "problems", "-c", example_copy)
    assert result.exit_code == 0, result.output
    assert ("lineage/sql/40_dynamic.sql:2: EXECUTE statement not analysed: dynamic SQL: the statement it runs "
            "is known only at run time") in result.stdout
    assert "sql (snowflake): " in result.stdout and "1 reported" in result.stdout


def test_problems_as_json_counts_every_statement(gavel):
    result = gavel("lineage", "problems", "--json", "-c", EXAMPLES)
    assert result.exit_code == 0, result.output
    sources = json.loads(result.stdout)["sources"]
    for source in sources:
        assert source["analysed"] + source["classified"] + source["reported"] == source["statements"]
