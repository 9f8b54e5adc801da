"""OpenLineage, dbt and declared sources, each with good and bad input."""

from __future__ import annotations

import json

from engine.config import load_config
from engine.inventory import build_inventory
from engine.lineage.openlineage import validate

NOW = "2026-11-26T00:00:00Z"
PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.24.0/integration/spark"


def event(**over):
    base = {
        "eventType": "COMPLETE", "eventTime": "2026-11-25T02:00:00Z", "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": "0193a1c2-5f00-7d3e-9a51-2b8f6c0e1a01"},
        "job": {"namespace": "spark", "name": "mask_job"},
        "inputs": [{"namespace": "pg", "name": "raw.users", "facets": {"tags": {
            "_producer": PRODUCER, "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/TagsDatasetFacet.json",
            "tags": [{"key": "pii", "value": "true", "field": "email"}]}}}],
        "outputs": [{"namespace": "pg", "name": "mart.users", "facets": {"columnLineage": {
            "_producer": PRODUCER,
            "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json",
            "fields": {
                "email_hash": {"inputFields": [{"namespace": "pg", "name": "raw.users", "field": "email",
                                                "transformations": [{"type": "DIRECT", "subtype": "TRANSFORMATION",
                                                                     "masking": True}]}]},
                "domain": {"inputFields": [{"namespace": "pg", "name": "raw.users", "field": "email",
                                            "transformations": [{"type": "DIRECT", "subtype": "TRANSFORMATION"},
                                                                {"type": "INDIRECT", "subtype": "FILTER"}]}]},
            }}}}],
    }
    base.update(over)
    return base


def ol_project(project, lines: list[str]):
    return project({"events/run.ndjson": "\n".join(lines) + "\n"}, config="""\
        lineage:
          sources:
            - {type: openlineage, path: events/*.ndjson}
          propagation: {stop: {pii: [masked]}}
    """)


def build(root):
    inv = build_inventory(load_config(root), now=NOW)
    return inv, inv.lineage


def test_openlineage_column_lineage_and_masking(project):
    inv, lg = build(ol_project(project, [json.dumps(event())]))
    assert inv.problems == []
    g = lg.g
    assert g.edges["raw.users.email", "mart.users.email_hash"]["kind"] == "masked"
    assert g.edges["raw.users.email", "mart.users.domain"]["kind"] == "expression"
    assert g.edges["raw.users.email", "mart.users"]["kind"] == "filter"
    assert g.edges["raw.users", "mart.users"]["kind"] == "columns"
    assert g.has_edge("raw.users", "job:mask_job") and g.has_edge("job:mask_job", "mart.users")
    assert lg.tags_of("mart.users.domain") == ["pii"]
    assert lg.tags_of("mart.users.email_hash") == []


def test_malformed_event_is_an_error_with_its_line_and_the_others_count(project):
    bad = event(run={"runId": 42})
    lines = [json.dumps(event(outputs=[{"namespace": "pg", "name": "mart.other"}])), json.dumps(bad), "{not json"]
    inv, lg = build(ol_project(project, lines))
    messages = sorted((p.subject.source.line, p.message) for p in inv.problems)
    assert messages[0][0] == 2 and "run.runId" in messages[0][1] and "OpenLineage" in messages[0][1]
    assert messages[1][0] == 3 and "invalid JSON" in messages[1][1]
    assert lg.g.edges["raw.users", "mart.other"]["kind"] == "opaque"


def test_facets_are_validated_against_their_own_schema():
    broken = event()
    broken["outputs"][0]["facets"]["columnLineage"]["fields"]["domain"]["inputFields"][0].pop("field")
    message = validate(broken)
    assert message and "outputs[0].facets.columnLineage" in message and "'field'" in message
    assert validate(event()) is None


def test_json_list_of_events(project):
    root = project({"events/all.json": json.dumps([event(), event(eventType="START")], indent=2)}, config="""\
        lineage:
          sources:
            - {type: openlineage, path: events/*.json}
    """)
    inv, lg = build(root)
    assert inv.problems == []
    assert lg.subject()["sources"] == [{"type": "openlineage", "files": 1, "events": 2}]


def test_dbt_manifest_from_the_example(example_copy):
    inv, lg = build(example_copy)
    assert not [p for p in inv.problems if p.policy == "gavel-lineage"]
    g = lg.g
    assert g.edges["staging.customer_profile.country", "analytics.default_rates.region"]["kind"] == "direct"
    assert g.edges["features.credit_features.defaults_5y", "analytics.default_rates.default_rate"]["kind"] == "aggregate"
    assert g.edges["features.credit_features.age_years", "analytics.default_rates.age_band"]["kind"] == "expression"
    assert g.has_edge("job:model.credit_risk.default_rates", "analytics.default_rates")
    assert "pii" in lg.g.nodes["marts.customer_360.email"]["tags"]  # a dbt column tag


def test_dbt_manifest_that_is_not_one(project):
    root = project({"target/manifest.json": '{"metadata": {}}'}, config="""\
        lineage:
          sources:
            - {type: dbt, path: target/manifest.json}
    """)
    inv, _ = build(root)
    assert [p.message for p in inv.problems] == [
        "not a dbt manifest: expected an object with 'nodes' (and 'sources') objects"]


def test_declared_edges_and_their_errors(project):
    root = project({
        "lineage/edges.yaml": """\
            edges:
              - from: vendor.feed
                to: raw.bureau
                job: sftp
                columns:
                  - {from: score, to: bureau_score}
              - from: model:scorer
                to: scoring.out
            tags:
              vendor.feed: [region:us]
        """,
        "lineage/bad.yaml": """\
            edges:
              - from: a.b
                too: c.d
        """,
    }, config="""\
        lineage:
          sources:
            - {type: declared, path: "lineage/*.yaml"}
    """)
    inv, lg = build(root)
    [problem] = inv.problems
    assert problem.subject.source.file == "lineage/bad.yaml" and problem.subject.source.line == 2
    assert "'to' is a required property" in problem.message
    assert lg.g.edges["vendor.feed.score", "raw.bureau.bureau_score"]["kind"] == "direct"
    assert lg.g.edges["vendor.feed", "raw.bureau"]["kind"] == "columns"
    assert lg.g.has_edge("model:scorer", "scoring.out")
    assert lg.tags_of("raw.bureau.bureau_score") == ["region:us"]


def test_dbt_manifest_with_odd_shapes_does_not_crash(project):
    manifest = {"nodes": {
        "model.p.a": {"resource_type": "model", "schema": "s", "name": "a", "depends_on": ["not", "a", "dict"],
                      "columns": [], "compiled_code": "select 1 as x"},
        "model.p.b": {"resource_type": "model", "schema": 3, "name": "b"},
        "model.p.c": {"resource_type": "model", "schema": "s", "name": "c", "depends_on": {"nodes": "model.p.a"},
                      "columns": {"x": "not a dict"}, "compiled_code": "select x from s.a where"},
    }}
    root = project({"target/manifest.json": json.dumps(manifest)}, config="""\
        lineage:
          sources:
            - {type: dbt, path: target/manifest.json}
    """)
    inv, lg = build(root)
    assert "s.a" in lg.g and "s.c" in lg.g
    assert [p.subject.source.file for p in inv.problems] == ["target/manifest.json"]
    assert "model.p.c" in inv.problems[0].message


def test_rejection_names_the_field_and_its_path_never_a_dump():
    missing = event()
    missing.pop("producer")
    assert validate(missing) == "not a valid OpenLineage event: 'producer' is a required property"
    wrong = event(eventType="FINISHED")
    message = validate(wrong)
    assert message.startswith("not a valid OpenLineage event: field 'eventType': expected one of ")
    bad_input = event()
    bad_input["inputs"][0]["name"] = ["x" * 500]
    message = validate(bad_input)
    assert message == "not a valid OpenLineage event: field 'inputs[0].name': expected string, got an array"
    assert "x" * 50 not in message


def test_a_bad_facet_is_dropped_and_the_event_kept(project):
    dbt_like = event()
    dbt_like["outputs"][0]["facets"]["schema"] = {
        "_producer": PRODUCER, "_schemaURL": "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json",
        "fields": [{"name": "email_hash", "type": None}]}  # dbt writes type: null for untyped columns
    inv, lg = build(ol_project(project, [json.dumps(dbt_like)]))
    assert inv.problems == []
    assert lg.g.edges["raw.users.email", "mart.users.email_hash"]["kind"] == "masked"  # column lineage kept
    assert lg.g.has_edge("job:mask_job", "mart.users")
    [dropped] = [u for u in lg.unresolved if "dropped" in u["message"]]
    assert dropped["line"] == 1
    assert dropped["message"].startswith("facet 'outputs[0].facets.schema' dropped: not a valid OpenLineage event: "
                                         "field 'outputs[0].facets.schema.fields[0].type': expected string, got null")


def test_envelopes_of_real_producers(project):
    wrapped = [
        json.dumps({"events": [event(job={"namespace": "airflow", "name": "dag.task"})]}),  # HTTP batch export
        json.dumps({"key": "x", "value": json.dumps(event(job={"namespace": "flink", "name": "stream"}))}),  # Kafka
        json.dumps({"event": event(job={"namespace": "dbt", "name": "model.m"})}),  # proxy / Marquez
        json.dumps(event(job={"namespace": "spark", "name": "app.plan"})),  # bare
    ]
    inv, lg = build(ol_project(project, wrapped))
    assert inv.problems == []
    assert {n for n in lg.g if n.startswith("job:")} == {"job:dag.task", "job:stream", "job:model.m", "job:app.plan"}
    assert lg.subject()["sources"] == [{"type": "openlineage", "files": 1, "events": 4}]


def dbt_project(project, *, with_catalog: bool):
    def node(uid, rtype, schema, name, sql=None, deps=()):
        return {"unique_id": uid, "resource_type": rtype, "database": "wh", "schema": schema, "name": name,
                "alias": name, "columns": {}, "depends_on": {"nodes": list(deps)},
                **({"compiled_code": sql} if sql else {})}

    manifest = {"nodes": {
        "seed.p.countries": node("seed.p.countries", "seed", "raw", "countries"),
        "model.p.stg_countries": node("model.p.stg_countries", "model", "stg", "stg_countries",
                                      "select * from wh.raw.countries", ["seed.p.countries"]),
        "model.p.a": node("model.p.a", "model", "mart", "a", None, ["model.p.stg_countries"]),
        "model.p.b": node("model.p.b", "model", "mart", "b", None, ["model.p.stg_countries"]),
    }, "sources": {}}
    files = {"target/manifest.json": json.dumps(manifest)}
    if with_catalog:
        files["target/catalog.json"] = json.dumps({"nodes": {"seed.p.countries": {"columns": {
            "NAME": {"type": "TEXT", "index": 2, "name": "NAME"},
            "CODE": {"type": "TEXT", "index": 1, "name": "CODE"}}}}, "sources": {}})
    return project(files, config="""\
        lineage:
          sources:
            - {type: dbt, path: target/manifest.json}
    """)


def test_dbt_catalog_gives_select_star_models_and_seeds_column_lineage(project):
    inv, lg = build(dbt_project(project, with_catalog=True))
    assert inv.problems == []
    g = lg.g
    assert g.edges["raw.countries.code", "stg.stg_countries.code"]["kind"] == "direct"
    assert g.edges["raw.countries.name", "stg.stg_countries.name"]["kind"] == "direct"
    assert "target/catalog.json" in {i.path for i in inv.inputs}
    # the models without compiled SQL are listed once, together
    listed = [u["message"] for u in lg.unresolved if "compiled SQL" in u["message"]]
    assert listed == ["2 dbt model(s) without compiled SQL (run dbt compile): table-level lineage only: "
                      "model.p.a, model.p.b"]


def test_dbt_without_catalog_keeps_select_star_table_level(project):
    inv, lg = build(dbt_project(project, with_catalog=False))
    assert not lg.g.has_edge("raw.countries.code", "stg.stg_countries.code")
    assert lg.g.edges["raw.countries", "stg.stg_countries"]["kind"] == "opaque"
