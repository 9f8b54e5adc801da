"""Issue 10's lineage fail-open repros, through ``gavel check``: each one said skip where it must fail."""

from __future__ import annotations

import json

NOW = "2026-11-26T00:00:00Z"

CONFIG = """\
evidence:
  - {path: datasets/*.yaml, kind: dataset}
  - {path: models/*.yaml, kind: model}
lineage:
  sources:
    - {type: sql, path: sql/*.sql}
policies:
  packs: [lineage]
"""


def model(id: str, extra: str) -> str:
    return f"""\
id: {id}
name: {id}
version: "1"
owner: risk
risk_level: high
lifecycle_stage: production
{extra}"""


def verdicts(gavel, root, policy: str) -> dict[str, dict]:
    result = gavel("check", root, "--now", NOW, "-o", "json")
    assert result.exit_code in (0, 1), result.output
    report = json.loads(result.stdout)
    return {f["subject"]["id"]: f for f in report["findings"] if f["policy"] == policy}


#: The issue's repro for item 1: two tagged sources joined into features.f, a model trained on it.
ITEM_1 = {
    "datasets/raw.visits.yaml": """\
        id: raw.visits
        owner: data
        tags: [special_category]
        columns: [{name: person_id, type: int}, {name: ward, type: varchar}]
    """,
    "datasets/raw.people.yaml": """\
        id: raw.people
        owner: data
        columns: [{name: person_id, type: int}, {name: email, type: varchar, tags: [confidential]}]
    """,
    "sql/f.sql": "INSERT INTO features.f (email, ward) SELECT p.email, v.ward FROM raw.people AS p "
                 "JOIN raw.visits AS v ON v.person_id = p.person_id;\n",
    "models/m.yaml": model("m", "training_datasets: [features.f]\ndpia: {status: not_started}\n"),
}


def test_a_second_tag_reaching_a_queued_table_still_flows_on(gavel, project):
    """Item 1: features.f (it has a card, so it is tagged first) gets `confidential` and then
    `special_category` while queued; the second tag was recorded on features.f but never sent on
    to the model, which got `skip` from lineage-pii-dpia."""
    root = project({
        **ITEM_1,
        "datasets/features.f.yaml": """\
            id: features.f
            owner: data
            region: eu
            columns: [{name: email, type: varchar}, {name: ward, type: varchar}]
        """,
    }, config=CONFIG)
    found = verdicts(gavel, root, "lineage-pii-dpia")["m"]
    assert found["status"] == "fail", found
    assert "raw.visits" in found["message"] and "not_started" in found["message"]
    shown = gavel("lineage", "show", "model:m", "--json", "-c", root)
    assert "special_category" in json.loads(shown.stdout)["tags"]


def test_the_issue_repro_without_a_card_for_the_feature_table(gavel, project):
    """Item 1 as filed (no card for features.f): the model fails too."""
    root = project(ITEM_1, config=CONFIG)
    assert verdicts(gavel, root, "lineage-pii-dpia")["m"]["status"] == "fail"


def test_a_model_with_only_feature_columns_has_sources(gavel, project):
    """Item 2: a model naming only `features:` columns of a view had no sources, so
    lineage-registered-sources said skip; the same model trained on the view failed."""
    root = project({
        "sql/v.sql": """\
            CREATE TABLE vendor.scores (person_id INT, score INT);
            CREATE VIEW analytics.v_scores AS SELECT person_id, score FROM vendor.scores;
        """,
        "models/m.yaml": model("m", "features: [analytics.v_scores.score]\n"),
        "models/n.yaml": model("n", "training_datasets: [analytics.v_scores]\n"),
    }, config=CONFIG)
    found = verdicts(gavel, root, "lineage-registered-sources")
    for id in ("m", "n"):
        assert found[id]["status"] == "fail", found[id]
        assert found[id]["message"] == f"{id} is built on data from vendor.scores, which has no dataset card"
    upstream = gavel("lineage", "upstream", "m", "--json", "-c", root)
    assert {n["id"] for n in json.loads(upstream.stdout)["nodes"]} == {
        "analytics.v_scores", "analytics.v_scores.score", "vendor.scores", "vendor.scores.score"}


def test_data_written_opaquely_into_a_table_reaches_what_reads_its_columns(gavel, project):
    """An INSERT whose column lineage is unknown (a star over a table of unknown columns) tagged the
    table only: a model using one of its columns through another table got `skip` from both
    lineage-pii-dpia and lineage-registered-sources. Any column may hold the data: all are tagged."""
    root = project({
        "datasets/raw.blob.yaml": """\
            id: raw.blob
            owner: data
            tags: [pii]
            legal_basis: contract
        """,
        "sql/a.sql": """\
            CREATE TABLE mart.t (email VARCHAR, score INT);
            INSERT INTO mart.t SELECT * FROM raw.blob;
            CREATE TABLE features.f AS SELECT email FROM mart.t;
        """,
        "models/m.yaml": model("m", "features: [features.f.email]\ndpia: {status: not_started}\n"),
    }, config=CONFIG)
    dpia = verdicts(gavel, root, "lineage-pii-dpia")["m"]
    assert dpia["status"] == "fail"
    assert "(raw.blob -> mart.t.email -> features.f.email -> model:m)" in dpia["message"]
    sources = verdicts(gavel, root, "lineage-registered-sources")["m"]
    assert sources["status"] == "fail"
    assert sources["message"] == "m is built on data from raw.blob, whose source is not registered"
    shown = gavel("lineage", "path", "raw.blob", "model:m", "-c", root)
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.splitlines()[:2] == ["raw.blob", "  -> mart.t.email  (opaque, sql/a.sql:2)"]
