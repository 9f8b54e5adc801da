"""Fuzz every reader through ``gavel check``: no traceback, no "internal error", no hang, no silent drop.

For every generated file (a hostile mutation of a valid seed, or JSON data built from scratch) the
run ends in one of three ways, and only these:

* exit 0 or 1 with the file **accepted and judged**: a card's subject has findings, a policy is in
  the report's policies, a lineage source, ledger or waivers file is among the report's inputs;
* exit 0 or 1 with an ``error`` finding **naming the file** (and a line when the file has lines);
* exit 2 with a one-line message **naming the file**.

Never a traceback, an "internal error", a run slower than the deadline, or a file dropped without a
finding. Examples are derandomised (the same cases on every run, so CI is stable); set
``GAVEL_FUZZ_EXAMPLES`` (e.g. 2000) and ``GAVEL_FUZZ_RANDOM=1`` to search further.
"""

from __future__ import annotations

import json
import os
import shutil
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.cli import main
from tests.conftest import EXAMPLES
from tests.fuzz.hostile import dump_json, json_data, mutation
from tests.privacy.chained import chain

EXAMPLES_PER_READER = int(os.environ.get("GAVEL_FUZZ_EXAMPLES", "40"))
FUZZ = settings(max_examples=EXAMPLES_PER_READER, deadline=timedelta(seconds=20), database=None,
                derandomize=not os.environ.get("GAVEL_FUZZ_RANDOM"),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])

CONFIG = """\
evidence:
  - {path: "models/*.yaml", kind: model}
  - {path: "models/*.json", kind: model}
  - {path: "datasets/*.yaml", kind: dataset}
  - {path: "adapters/*/README.md", kind: model}
  - {path: "adapters/*.mlflow.json", kind: model, format: mlflow}
  - {path: "adapters/*.mct.json", kind: model, format: model-card-toolkit}
policies: {paths: [policies]}
waivers: waivers.yaml
privacy: {ledger: privacy/ledger.jsonl}
lineage:
  dialect: snowflake
  sources:
    - {type: sql, path: "sql/*.sql"}
    - {type: openlineage, path: "ol/*.ndjson"}
    - {type: dbt, path: dbt/manifest.json}
    - {type: declared, path: declared.yaml}
gate: {fail_on: low}
now: "2026-11-26T00:00:00Z"
"""
MODEL = """\
id: m1
name: Model one
version: "1.0"
owner: {team: risk, contact: risk@bank.example}
risk_level: high
lifecycle_stage: production
training_datasets: [raw.customers]
features: [raw.customers.email]
dpia: {status: in_progress, reference: DPIA-1}
metrics:
  performance:
    - {name: auc, value: 0.8}
last_review: 2026-01-02
"""
DATASET = """\
id: raw.customers
name: Customers
owner: {team: risk, contact: risk@bank.example}
classification: confidential
records: 1000
columns:
  - {name: id, type: bigint}
  - {name: email, type: varchar, tags: [pii]}
privacy_budget:
  epsilon_budget: 1.0
  period: {kind: calendar, unit: month}
"""
LEDGER = chain(
    {"id": "sp-1", "time": "2026-11-01T00:00:00Z", "dataset": "raw.customers", "epsilon": 0.5, "mechanism": "laplace",
     "purpose": "monthly histogram", "actor": "a@bank.example"},
    {"id": "sp-2", "time": "2026-11-02T00:00:00Z", "dataset": "raw.customers", "epsilon": 0.75, "delta": 0,
     "mechanism": "laplace", "purpose": "counts", "actor": "a@bank.example"},
)
WAIVERS = """\
version: 1
waivers:
  - id: W-1
    policy: dpia-approved
    subject: m1
    reason: DPIA under review.
    owner: risk@bank.example
    approver: dpo@bank.example
    expires: 2026-10-31
"""
SQL = """\
CREATE TABLE mart.emails AS SELECT id, lower(email) AS email FROM raw.customers;
INSERT INTO mart.report (id, n) SELECT id, count(*) FROM mart.emails GROUP BY id;
"""
POLICY_YAML = """\
id: dpia-approved
title: High-risk models have an approved DPIA
severity: high
target: model
when: {field: subject.risk_level, equals: high}
assert: {field: subject.dpia.status, equals: approved}
message: "{{id}}: DPIA is {{subject.dpia.status}}"
"""
POLICY_REGO = """\
# METADATA
# title: Budgets are not exceeded
# custom:
#   id: budget-ok
#   severity: critical
#   target: [budget]
package fuzz.budget_ok

import rego.v1

deny contains msg if {
	input.subject.exceeded
	msg := sprintf("%s is over budget", [input.id])
}
"""
POLICY_LINEAGE = """\
id: pii-needs-dpia
title: PII reaches a model only with an approved DPIA
severity: high
target: model
when: {field: lineage.tagged_sources, min_length: 1}
assert: {field: subject.dpia.status, equals: approved}
"""
POLICY_DATASET = """\
id: dataset-owned
title: Datasets name an owner
severity: medium
target: dataset
assert: {field: subject.owner, exists: true}
"""


def seeds() -> dict[str, str]:
    adapters = EXAMPLES / "adapters"
    return {
        "gavel.yaml": CONFIG, "models/m1.yaml": MODEL,
        "models/m2.json": json.dumps({"id": "m2", "name": "M2", "version": "1", "owner": "t", "risk_level": "high",
                                      "lifecycle_stage": "production", "dpia": {"status": "not_started"}}, indent=1),
        "datasets/raw.customers.yaml": DATASET,
        "adapters/hf/README.md": (adapters / "support-intent-classifier/README.md").read_text(),
        "adapters/card.mlflow.json": (adapters / "card-fraud-scorer.mlflow.json").read_text(),
        "adapters/card.mct.json": (adapters / "affordability-checker.mct.json").read_text(),
        "privacy/ledger.jsonl": LEDGER, "waivers.yaml": WAIVERS, "sql/a.sql": SQL,
        "ol/events.ndjson": "".join((EXAMPLES / "lineage/openlineage/fraud_features.ndjson").read_text()
                                    .splitlines(keepends=True)[:2]),
        "dbt/manifest.json": (EXAMPLES / "lineage/dbt/manifest.json").read_text(),
        "declared.yaml": (EXAMPLES / "lineage/declared.yaml").read_text(),
        "policies/dpia.yaml": POLICY_YAML, "policies/budget.rego": POLICY_REGO, "policies/pii.yaml": POLICY_LINEAGE,
        "policies/dataset.yaml": POLICY_DATASET,
    }


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("fuzz") / "proj"
    for name, text in seeds().items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def check(root: Path):
    return CliRunner().invoke(main, ["check", str(root), "-o", "json", "--no-cache"])


def test_the_seed_project_is_judged_as_expected(base):
    result = check(base)
    assert result.exit_code == 1, result.stderr
    report = json.loads(result.stdout)
    statuses = {(f["policy"], f["subject"]["id"]): f["status"] for f in report["findings"]}
    assert statuses[("dpia-approved", "m1")] == "fail" and statuses[("budget-ok", "raw.customers")] == "fail"
    assert statuses[("pii-needs-dpia", "m1")] == "fail"
    assert not [f for f in report["findings"] if f["status"] == "error"]


#: file → how "accepted and judged" shows in the report
READERS = {
    "models/m1.yaml": "subject", "models/m2.json": "subject", "datasets/raw.customers.yaml": "subject",
    "adapters/hf/README.md": "subject", "adapters/card.mlflow.json": "subject", "adapters/card.mct.json": "subject",
    "gavel.yaml": "config", "waivers.yaml": "input", "privacy/ledger.jsonl": "input", "sql/a.sql": "input",
    "ol/events.ndjson": "input", "dbt/manifest.json": "input", "declared.yaml": "input",
    "policies/dpia.yaml": "policy", "policies/budget.rego": "policy",
}
JSON_FILES = {"models/m2.json", "adapters/card.mlflow.json", "adapters/card.mct.json", "privacy/ledger.jsonl",
              "ol/events.ndjson", "dbt/manifest.json"}


def assert_outcome(result, name: str, how: str) -> None:
    """The oracle: accepted and judged, an error finding naming ``name``, or exit 2 naming it."""
    everything = (result.stdout or "") + (result.stderr or "")
    assert "internal error" not in everything and "Traceback" not in everything, everything[-2000:]
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    if result.exit_code == 2:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: ") and name in lines[0], result.stderr
        return
    assert result.exit_code in (0, 1), (result.exit_code, everything[-2000:])
    report = json.loads(result.stdout)
    errors = [f for f in report["findings"] if f["status"] == "error" and f["subject"]["source"]["file"] == name]
    for error in errors:
        assert error["message"], error
    if errors:
        return
    assert how != "config" or report["summary"]["findings"] > 0
    if how == "subject":
        assert any(f["subject"]["source"]["file"] == name for f in report["findings"]), f"{name} dropped silently"
    elif how == "input":
        assert name in {i["path"] for i in report["inputs"]}, f"{name} not read and no error"
    elif how == "policy":
        assert any(p["source"]["file"] == name for p in report["policies"]), f"{name} loaded no policy, no error"


def run_case(base: Path, tmp_path_factory, name: str, raw: bytes) -> None:
    root = tmp_path_factory.mktemp("case") / "proj"
    shutil.copytree(base, root)
    (root / name).write_bytes(raw)
    try:
        assert_outcome(check(root), name, READERS[name])
    finally:
        shutil.rmtree(root.parent, ignore_errors=True)


@pytest.mark.parametrize("name", sorted(READERS))
def test_mutated_files(base, tmp_path_factory, name):
    seed = (base / name).read_text()

    @FUZZ
    @given(raw=mutation(seed, json_like=name in JSON_FILES))
    def case(raw):
        run_case(base, tmp_path_factory, name, raw)

    case()


KEYS = {
    "models/m2.json": ["id", "name", "version", "owner", "risk_level", "lifecycle_stage", "dpia", "status", "metrics",
                       "fairness", "value", "training_datasets", "features"],
    "adapters/card.mlflow.json": ["registered_model", "model_version", "run", "mlmodel", "name", "tags", "key", "value",
                                  "data", "metrics", "inputs", "dataset_inputs", "dataset", "flavors", "aliases"],
    "adapters/card.mct.json": ["schema_version", "model_details", "name", "owners", "contact", "version", "licenses",
                               "quantitative_analysis", "performance_metrics", "type", "value", "threshold", "slice",
                               "considerations", "risks", "model_parameters", "data"],
    "dbt/manifest.json": ["nodes", "sources", "metadata", "resource_type", "unique_id", "database", "schema", "name",
                          "alias", "compiled_code", "depends_on", "columns", "relation_name", "tags"],
    "ol/events.ndjson": ["eventType", "eventTime", "producer", "schemaURL", "run", "runId", "job", "namespace", "name",
                         "inputs", "outputs", "facets", "columnLineage", "fields", "inputFields", "schema"],
    "privacy/ledger.jsonl": ["id", "time", "dataset", "epsilon", "delta", "mechanism", "purpose", "actor", "model"],
}


@pytest.mark.parametrize("name", sorted(KEYS))
def test_generated_json(base, tmp_path_factory, name):
    lines = name.endswith(("jsonl", "ndjson"))

    @FUZZ
    @given(values=st.lists(json_data(KEYS[name]), min_size=1, max_size=3 if lines else 1))
    def case(values):
        raw = b"\n".join(dump_json(v) for v in values) + b"\n"
        run_case(base, tmp_path_factory, name, raw)

    case()
