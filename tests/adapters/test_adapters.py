"""The Hugging Face, MLflow and Model Card Toolkit adapters, on realistic cards (no network)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import main
from engine.errors import EvidenceError
from engine.evidence import adapters, format_for, read_card
from engine.evidence.loader import Limits

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "adapters"


def card(fmt: str, name: str, kind: str = "model"):
    path = FIXTURES / name
    return read_card(path.read_text(), f"cards/{path.name}", kind, adapters.get_or_raise(fmt), Limits())


def error(fmt: str, name: str, kind: str = "model") -> EvidenceError:
    with pytest.raises(EvidenceError) as info:
        card(fmt, name, kind)
    return info.value


def source_line(name: str, needle: str) -> int:
    lines = (FIXTURES / name).read_text().splitlines()
    return next(i + 1 for i, line in enumerate(lines) if needle in line)


# -- Hugging Face --------------------------------------------------------------------------
def test_hf_complete_card_maps_front_matter_model_index_and_body():
    record = card("huggingface", "huggingface/complete.md")
    data = record.data
    assert record.id == "support-intent-classifier"
    assert data["license"] == "apache-2.0"
    assert data["base_model"] == "distilbert/distilbert-base-multilingual-cased"
    assert data["training_datasets"] == ["acme/support-tickets-2025"]
    assert data["evaluation_datasets"] == ["acme/support-tickets-2025"]
    assert {"pipeline:text-classification", "library:transformers", "language:de"} <= set(data["tags"])
    assert [m["name"] for m in data["metrics"]["performance"]] == ["accuracy", "f1"]
    assert data["metrics"]["robustness"][0]["name"] == "accuracy_under_typo_noise"
    fairness = data["metrics"]["fairness"][0]
    assert fairness == {"name": "demographic_parity_difference", "value": 0.031, "dataset": "acme/support-tickets-2025",
                        "slice": "de/test", "description": "Escalation-rate parity (language) (text-classification)"}
    assert data["description"].startswith("Fine-tuned multilingual DistilBERT")
    assert "Developed by" not in data["description"]
    assert data["intended_uses"][0].startswith("Route English and German")
    assert data["out_of_scope_uses"] == ["Deciding on refunds, credit or account closure",
                                         "Messages in languages other than English and German"]
    assert len(data["limitations"]) == 2
    assert data["owner"] == {"team": "support-ml", "contact": "support-ml@acme.example"}
    assert data["last_review"] == "2026-04-15"
    assert data["x-source"]["template_sections"] == []


def test_hf_keeps_source_paths_and_lines():
    record = card("huggingface", "huggingface/complete.md")
    fields = record.data["x-source"]["fields"]
    name = "huggingface/complete.md"
    assert fields["license"] == {"path": "license", "line": source_line(name, "license: apache-2.0")}
    assert fields["metrics.fairness[0]"]["path"] == "model-index[0].results[1].metrics[0]"
    assert fields["metrics.fairness[0]"]["line"] == source_line(name, "type: demographic_parity_difference")
    assert fields["out_of_scope_uses[0]"]["path"] == "## Out-of-Scope Use"
    assert fields["monitoring.metrics"]["line"] == source_line(name, "metrics: [intent_distribution_psi")
    assert record.source.line == source_line(name, "- name: support-intent-classifier")


def test_hf_partial_card_reports_template_sections():
    data = card("huggingface", "huggingface/partial.md").data
    assert data["id"] == "churn-lite" and data["owner"] == "growth-analytics"
    assert "intended_uses" not in data and "out_of_scope_uses" not in data
    assert data["x-source"]["template_sections"] == ["Direct Use", "Out-of-Scope Use"]
    assert data["x-source"]["sections"]["Bias, Risks, and Limitations"] == "filled"


def test_hf_template_only_card_has_no_content_fields():
    data = card("huggingface", "huggingface/template-only.md").data
    for key in ("description", "intended_uses", "out_of_scope_uses", "limitations", "metrics"):
        assert key not in data
    assert set(data["x-source"]["template_sections"]) == {
        "Model Description", "Direct Use", "Out-of-Scope Use", "Bias, Risks, and Limitations", "Results"}


def test_hf_without_front_matter_is_an_error_on_line_1():
    exc = error("huggingface", "huggingface/no-front-matter.md")
    assert exc.line == 1 and "no YAML front matter" in exc.message and exc.file == "cards/no-front-matter.md"


def test_hf_invalid_model_index_points_at_the_metric_value():
    exc = error("huggingface", "huggingface/invalid-model-index.md")
    assert exc.line == source_line("huggingface/invalid-model-index.md", "value: n/a")
    assert "model-index[0].results[0].metrics[0].value must be a number" in exc.message


@pytest.mark.parametrize("front, message, needle", [
    ("model-index: {name: x}\n", "model-index must be a non-empty list", "model-index:"),
    ("model-index:\n  - name: x\n    results:\n      - dataset: {type: imdb}\n        metrics: []\n",
     "results[0].task needs a 'type'", "- dataset:"),
    ("model-index:\n  - name: x\n    results:\n      - task: {type: t}\n        dataset: {type: imdb}\n        metrics: []\n",
     "metrics must be a non-empty list", "metrics: []"),
    ("license: [unclosed\n", "invalid YAML", None),
    ("gavel: [1, 2]\n", "'gavel' in the front matter must be a mapping", "gavel:"),
])
def test_hf_malformed_front_matter(tmp_path, front, message, needle):
    text = "---\n" + front + "---\n# x\n"
    with pytest.raises(EvidenceError) as info:
        read_card(text, "README.md", "model", adapters.get_or_raise("huggingface"), Limits())
    assert message in info.value.message
    if needle:
        assert info.value.line == next(i + 1 for i, line in enumerate(text.splitlines()) if needle in line)
    else:
        assert info.value.line is not None and info.value.line > 1


def test_hf_unclosed_front_matter():
    with pytest.raises(EvidenceError, match="never closed"):
        read_card("---\nlicense: mit\n# x\n", "README.md", "model", adapters.get_or_raise("huggingface"), Limits())


def test_hf_missing_governance_fields_name_the_gavel_block():
    exc = error("huggingface", "huggingface/missing-governance.md")
    assert "lacks owner, risk_level, lifecycle_stage, version" in exc.message and "gavel:" in exc.message


def test_hf_schema_errors_point_at_the_source_line(tmp_path):
    text = "---\nlicense: mit\ngavel:\n  id: m\n  version: 1\n  owner: t\n  risk_level: extreme\n  lifecycle_stage: dev\n---\n# m\n"
    with pytest.raises(EvidenceError) as info:
        read_card(text, "README.md", "model", adapters.get_or_raise("huggingface"), Limits())
    assert info.value.line in (7, 8)


def test_hf_dataset_card():
    data = card("huggingface", "huggingface/dataset.md", kind="dataset").data
    assert data["id"] == "acme/support-tickets-2025"
    assert data["records"] == 200000
    assert data["provenance"] == {"source": "original", "collected": "language: found; annotations: expert-generated"}
    assert data["description"].startswith("Customer support messages")
    assert data["tags"] == ["pii"]  # the gavel: block wins


# -- MLflow ------------------------------------------------------------------------------------
def test_mlflow_export_maps_rest_bodies_tags_and_run():
    data = card("mlflow", "mlflow/fraud-detector.json").data
    assert (data["id"], data["version"], data["lifecycle_stage"]) == ("fraud-detector", "14", "production")
    assert data["owner"] == {"team": "fraud-ml", "contact": "fraud-ml@bank.example"}
    assert data["description"].startswith("XGBoost model")  # the version's description wins
    assert data["human_oversight"] == {"required": True, "mechanism": "human-in-the-loop"}
    assert data["monitoring"]["metrics"] == ["psi", "precision_at_threshold"]
    assert data["metrics"]["fairness"] == [{"name": "fpr_difference_age_band", "value": 0.018}]
    assert data["metrics"]["robustness"][0]["name"] == "auc_drop_under_noise"
    assert data["training_datasets"] == ["features.fraud_features"]
    assert data["evaluation_datasets"] == ["features.fraud_features_holdout"]
    fields = data["x-source"]["fields"]
    assert fields["risk_level"]["path"] == "registered_model.tags.gavel.risk_level"
    assert fields["risk_level"]["line"] == source_line("mlflow/fraud-detector.json", '"gavel.risk_level"')


def test_mlflow_mlmodel_file_with_metadata():
    record = card("mlflow", "mlflow/MLmodel")
    assert record.id == "churn-predictor-mlflow"
    assert record.data["version"] == "7" and record.data["tags"] == ["flavor:sklearn"]
    assert record.source.line == source_line("mlflow/MLmodel", "gavel.id:")


def test_mlflow_bad_metric_and_missing_risk_level():
    exc = error("mlflow", "mlflow/bad-metric.json")
    assert exc.line == source_line("mlflow/bad-metric.json", '"value": "high"') and "must be a number" in exc.message
    exc = error("mlflow", "mlflow/no-risk-level.json")
    assert "lacks risk_level" in exc.message and "gavel.*" in exc.message


def test_mlflow_rejects_unrelated_json():
    with pytest.raises(EvidenceError, match="not an MLflow export"):
        read_card('{"id": "x"}', "x.json", "model", adapters.get_or_raise("mlflow"), Limits())


# -- Model Card Toolkit -----------------------------------------------------------------------
def test_mct_v002():
    data = card("model-card-toolkit", "model-card-toolkit/v0.0.2.json").data
    assert data["x-source"]["schema_version"] == "0.0.2"
    assert (data["id"], data["version"], data["license"]) == ("income-estimator", "1.4.0", "proprietary")
    assert data["owner"] == {"team": "credit-risk", "contact": "risk-ml@bank.example"}
    assert data["training_datasets"] == ["features.income_features_train"]
    assert data["evaluation_datasets"] == ["features.income_features_eval"]
    assert data["metrics"]["performance"] == [{"name": "mean_absolute_percentage_error", "value": 0.12, "slice": "overall",
                                               "decision_threshold": 0.15, "higher_is_better": False}]
    assert data["metrics"]["fairness"][0]["name"] == "mape_gap_gender"
    assert any("mitigation" in item for item in data["limitations"])


def test_mct_v001():
    data = card("model-card-toolkit", "model-card-toolkit/v0.0.1.json").data
    assert data["x-source"]["schema_version"] == "0.0.1"
    assert data["license"] == "proprietary"
    assert data["intended_uses"] == ["Rank customers for savings offers"]
    assert data["training_datasets"] == ["raw.marketing_leads"]
    assert data["evaluation_datasets"] == ["raw.marketing_leads_2026q1"]


def test_mct_threshold_is_the_decision_threshold_never_an_acceptance_threshold():
    """MCT 0.0.1's ``threshold`` is "the decision threshold the metric was computed on" (the toolkit's
    own example: accuracy at 0.5); read as an acceptance threshold it judged the wrong thing."""
    data = card("model-card-toolkit", "model-card-toolkit/toolkit-example-v0.0.1.json").data
    performance = data["metrics"]["performance"]
    assert [(m["value"], m.get("slice")) for m in performance] == [(0.978, None), (0.993, "cat"), (0.965, "Dog")]
    assert all(m["decision_threshold"] == 0.5 and "threshold" not in m for m in performance)
    data = card("model-card-toolkit", "model-card-toolkit/recall-at-decision-threshold.json").data
    assert data["metrics"]["performance"] == [{"name": "recall", "value": 0.62, "decision_threshold": 0.7}]


MCT_PACKS = """\
evidence:
  - {path: "mct/*.json", kind: model, format: model-card-toolkit}
policies:
  packs: [eu-ai-act, iso-42001]
now: "2026-06-01T00:00:00Z"
"""


@pytest.mark.parametrize("fixture", ["recall-at-decision-threshold.json", "toolkit-example-v0.0.1.json"])
def test_gavel_check_judges_no_acceptance_threshold_on_an_mct_decision_threshold(tmp_path, fixture):
    """Recall 0.62 computed at a 0.7 decision threshold failed aia-metric-thresholds-met and passed
    iso-acceptance-criteria: the card declares no acceptance threshold, so it is the other way round."""
    root = tmp_path / "proj"
    (root / "mct").mkdir(parents=True)
    (root / "gavel.yaml").write_text(MCT_PACKS)
    shutil.copy(FIXTURES / "model-card-toolkit" / fixture, root / "mct" / fixture)
    report = json.loads(CliRunner().invoke(main, ["check", str(root), "-o", "json"]).output)
    status = {f["policy"]: f["status"] for f in report["findings"]}
    assert status["aia-metric-thresholds-met"] == "pass"
    assert status["iso-acceptance-criteria"] == "fail"


def test_gavel_check_acceptance_thresholds_come_from_the_gavel_object(tmp_path):
    """An MCT card declares acceptance criteria in its ``gavel`` object; those are judged."""
    root = tmp_path / "proj"
    (root / "mct").mkdir(parents=True)
    (root / "gavel.yaml").write_text(MCT_PACKS)
    card = json.loads((FIXTURES / "model-card-toolkit" / "recall-at-decision-threshold.json").read_text())
    card["gavel"]["metrics"] = {"performance": [{"name": "recall", "value": 0.62, "threshold": 0.7}]}
    (root / "mct" / "churn.json").write_text(json.dumps(card))
    report = json.loads(CliRunner().invoke(main, ["check", str(root), "-o", "json"]).output)
    status = {f["policy"]: f["status"] for f in report["findings"]}
    assert status["aia-metric-thresholds-met"] == "fail"
    assert status["iso-acceptance-criteria"] == "pass"


def test_mct_errors():
    exc = error("model-card-toolkit", "model-card-toolkit/bad-metric.json")
    assert exc.line == source_line("model-card-toolkit/bad-metric.json", '"excellent"')
    exc = error("model-card-toolkit", "model-card-toolkit/unsupported-version.json")
    assert "unsupported Model Card Toolkit schema_version '0.1.0'" in exc.message and exc.line == 2


def test_format_by_file_type():
    assert format_for(Path("models/x/README.md"), "gavel") == "huggingface"
    assert format_for(Path("models/x/MLmodel"), "gavel") == "mlflow"
    assert format_for(Path("models/x.yaml"), "gavel") == "gavel"
    assert format_for(Path("models/x.json"), "model-card-toolkit") == "model-card-toolkit"


# -- end to end through `gavel check` ----------------------------------------------------------
CONFIG = """\
evidence:
  - {path: "models/*/README.md", kind: model}
  - {path: "models/*/MLmodel", kind: model}
  - {path: "registry/*.json", kind: model, format: mlflow}
  - {path: "mct/*.json", kind: model, format: model-card-toolkit}
policies:
  packs: [model-card]
now: "2026-06-01T00:00:00Z"
"""


def _project(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "proj"
    (root).mkdir()
    (root / "gavel.yaml").write_text(CONFIG)
    for dest, src in files.items():
        (root / dest).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(FIXTURES / src, root / dest)
    return root


def test_gavel_check_reads_every_format(tmp_path):
    root = _project(tmp_path, {
        "models/support/README.md": "huggingface/complete.md",
        "models/churn/README.md": "huggingface/partial.md",
        "models/churn-mlflow/MLmodel": "mlflow/MLmodel",
        "registry/fraud.json": "mlflow/fraud-detector.json",
        "mct/income.json": "model-card-toolkit/v0.0.2.json",
    })
    result = CliRunner().invoke(main, ["check", str(root), "-o", "json"])
    report = json.loads(result.output)
    subjects = {f["subject"]["id"] for f in report["findings"]}
    assert {"support-intent-classifier", "churn-lite", "churn-predictor-mlflow", "fraud-detector",
            "income-estimator"} <= subjects
    assert not [f for f in report["findings"] if f["status"] == "error"]
    placeholder = [f for f in report["findings"] if f["policy"] == "card-no-placeholder-text"
                   and f["subject"]["id"] == "churn-lite"]
    assert placeholder[0]["status"] == "fail"
    assert placeholder[0]["subject"]["source"]["file"] == "models/churn/README.md"


def test_gavel_check_bad_cards_are_error_findings_with_file_and_line(tmp_path):
    root = _project(tmp_path, {
        "models/bad/README.md": "huggingface/invalid-model-index.md",
        "models/plain/README.md": "huggingface/no-front-matter.md",
        "registry/bad.json": "mlflow/bad-metric.json",
        "mct/bad.json": "model-card-toolkit/bad-metric.json",
    })
    result = CliRunner().invoke(main, ["check", str(root), "-o", "json"])
    assert result.exit_code == 1
    report = json.loads(result.output)
    errors = {f["subject"]["source"]["file"]: f for f in report["findings"]
              if f["status"] == "error" and f["policy"] == "gavel-evidence"
              and "matches no file" not in f["message"]}  # the shared config has globs this test leaves empty
    assert set(errors) == {"models/bad/README.md", "models/plain/README.md", "registry/bad.json", "mct/bad.json"}
    assert errors["models/bad/README.md"]["subject"]["source"]["line"] == source_line(
        "huggingface/invalid-model-index.md", "value: n/a")
    assert errors["models/plain/README.md"]["subject"]["source"]["line"] == 1
    text = CliRunner().invoke(main, ["check", str(root)]).output
    assert "Traceback" not in text and "models/bad/README.md" in text
