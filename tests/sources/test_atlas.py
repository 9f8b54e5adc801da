"""The Apache Atlas lineage source, on REST v2 lineage responses and entity exports shaped as Atlas writes them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import networkx as nx

from engine.config import load_config
from engine.inventory import build_inventory
from tests.conftest import model_card

NOW = "2026-11-26T00:00:00Z"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "atlas"
CONFIG = """\
    evidence:
      - {path: "models/*.yaml", kind: model}
    lineage:
      sources:
        - {type: atlas, path: "atlas/*.json"}
    policies: {packs: [lineage]}
"""


def atlas_project(project, files: dict[str, str] | None = None, *, config: str = CONFIG):
    root = project(files or {"models/m.yaml": model_card("m")}, config=config)
    (root / "atlas").mkdir(exist_ok=True)
    for name in ("lineage_response.json", "entity_export.json"):
        shutil.copy(FIXTURES / name, root / "atlas" / name)
    return root


def build(root):
    inv = build_inventory(load_config(root), now=NOW)
    return inv, inv.lineage


def test_lineage_response_gives_tables_jobs_and_classification_tags(project):
    inv, lg = build(atlas_project(project))
    assert inv.problems == []
    g = lg.g
    # table -> process -> table, with the cluster suffix dropped and names lowercased
    assert g.has_edge("crm.contacts", "job:crm.contacts_enriched@prod:1764000000000")
    assert g.edges["crm.contacts", "crm.contacts_enriched"]["kind"] == "opaque"
    assert g.edges["crm.contacts_enriched", "features.contact_features"]["kind"] == "opaque"
    assert lg.tags_of("crm.contacts") == ["pii"]
    assert "confidential" in lg.tags_of("features.contact_features")
    # an opaque edge carries the whole table's tags downstream
    assert "pii" in lg.tags_of("features.contact_features")
    assert g.edges["crm.contacts", "crm.contacts_enriched"]["file"] == "atlas/lineage_response.json"


def test_entity_export_gives_column_lineage_with_dependency_kinds(project):
    inv, lg = build(atlas_project(project))
    g = lg.g
    assert g.edges["crm.customers.email", "mart.customer_scores.email_hash"]["kind"] == "expression"
    assert g.edges["vendor.scores.score", "mart.customer_scores.score"]["kind"] == "direct"
    # the pairs a column process covers are ``columns`` edges; the table process does not turn them opaque
    assert g.edges["crm.customers", "mart.customer_scores"]["kind"] == "columns"
    assert g.edges["vendor.scores", "mart.customer_scores"]["kind"] == "columns"
    assert lg.tags_of("crm.customers.email") == ["pii"]
    assert lg.tags_of("mart.customer_scores.email_hash") == ["pii"]
    assert lg.tags_of("mart.customer_scores.score") == ["region_us"]
    # independent check: every column edge the file declares is in the graph, and nothing else reaches
    # the output columns
    assert set(nx.ancestors(g, "mart.customer_scores.email_hash")) >= {"crm.customers.email"}
    assert "vendor.scores.score" not in nx.ancestors(g, "mart.customer_scores.email_hash")


def test_classification_map_renames_tags(project):
    config = CONFIG.replace("{type: atlas, path: \"atlas/*.json\"}",
                            "{type: atlas, path: \"atlas/*.json\", classifications: {PII: personal}}")
    _, lg = build(atlas_project(project, config=config))
    assert lg.tags_of("crm.contacts") == ["personal"]


def test_pii_from_atlas_fails_a_model_without_an_approved_dpia(project, gavel):
    root = atlas_project(project, {
        "models/m.yaml": model_card("m", extra="training_datasets: [features.contact_features]\n"
                                               "dpia: {status: not_started}\n"),
    })
    result = gavel("check", root, "--now", NOW, "-o", "json")
    report = json.loads(result.stdout)
    verdicts = {(f["policy"], f["status"]) for f in report["findings"] if f["subject"]["id"] == "m"}
    assert ("lineage-pii-dpia", "fail") in verdicts
    assert result.exit_code == 1


def test_truncated_response_and_dangling_relations_are_errors(project):
    root = atlas_project(project)
    doc = json.loads((FIXTURES / "lineage_response.json").read_text())
    doc["remainingUpstreamVertexCount"] = 12
    doc["relations"].append({"fromEntityId": "3c9d8e7f-2a1b-4c3d-9e8f-5a6b7c8d9e03", "toEntityId": "missing-guid"})
    (root / "atlas" / "lineage_response.json").write_text(json.dumps(doc, indent=1))
    inv, _ = build(root)
    messages = [(p.subject.source.file, p.message) for p in inv.problems]
    assert any("12 upstream vertices" in m and f == "atlas/lineage_response.json" for f, m in messages)
    assert any("'missing-guid'" in m for _, m in messages)
    assert all(p.status == "error" for p in inv.problems)


def test_process_input_the_export_does_not_hold_is_an_error(project):
    root = atlas_project(project)
    doc = json.loads((FIXTURES / "entity_export.json").read_text())
    del doc["referredEntities"]["-2"]
    (root / "atlas" / "entity_export.json").write_text(json.dumps(doc, indent=1))
    inv, _ = build(root)
    assert any("vendor.scores@prod" in p.message and p.subject.source.line for p in inv.problems)


def test_not_an_atlas_document_is_an_error_naming_the_file(project, gavel):
    root = atlas_project(project)
    (root / "atlas" / "bad.json").write_text('{"guidEntityMap": {"g": {"attributes": {}}}}')
    inv, _ = build(root)
    bad = [p for p in inv.problems if p.subject.source.file == "atlas/bad.json"]
    assert bad and "typeName" in bad[0].message
