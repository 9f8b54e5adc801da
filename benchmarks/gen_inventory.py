"""Generate a synthetic governance repo: N model cards, their datasets, 25 YAML + 25 Rego policies.

    python benchmarks/gen_inventory.py OUT_DIR [--models 10000]
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import yaml

RISKS = ["minimal", "limited", "high", "high", "unacceptable"]
STAGES = ["development", "validation", "staging", "production", "production"]
DPIA = ["approved", "approved", "in_progress", "not_started", "not_required"]


def model_card(i: int, rng: random.Random) -> dict:
    risk = rng.choice(RISKS)
    card = {
        "id": f"model-{i:05d}",
        "name": f"Model {i}",
        "version": f"{rng.randint(0, 9)}.{rng.randint(0, 20)}.0",
        "owner": {"team": f"team-{i % 40}", "contact": f"team-{i % 40}@corp.example"},
        "description": f"Scores applications for a synthetic benchmark; generated card number {i}.",
        "use_case": rng.choice(["creditworthiness", "marketing", "fraud-detection", "chatbot", "hiring"]),
        "risk_level": risk,
        "lifecycle_stage": rng.choice(STAGES),
        "intended_uses": ["Synthetic benchmarking"],
        "out_of_scope_uses": ["Anything real"] if rng.random() > 0.1 else [],
        "training_datasets": [f"ds.table_{rng.randint(0, 199):03d}" for _ in range(rng.randint(1, 3))],
        "metrics": {
            "performance": [{"name": "auc", "value": round(rng.uniform(0.55, 0.95), 3), "dataset": "ds.table_000"}],
            "fairness": [{"name": "demographic_parity_difference", "value": round(rng.uniform(0, 0.2), 3),
                          "slice": s} for s in rng.sample(["gender", "age_band", "region"], rng.randint(0, 3))],
        },
        "human_oversight": {"required": rng.random() > 0.2, "mechanism": "human-in-the-loop"},
        "dpia": {"status": rng.choice(DPIA), "reference": f"DPIA-{i}", "approver": "dpo@corp.example",
                 "date": f"2025-{rng.randint(1, 12):02d}-15"},
        "monitoring": {"enabled": rng.random() > 0.15, "alerting": rng.random() > 0.3, "logging": True},
        "license": "proprietary",
        "limitations": ["Synthetic."],
        "deployment": {"region": rng.choice(["eu-west-1", "eu-central-1", "us-east-1"]),
                       "environment": "production", "user_facing": rng.random() > 0.7,
                       "ai_disclosure": rng.random() > 0.2},
        "last_review": f"{rng.choice([2024, 2025, 2026])}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "tags": rng.sample(["nlp", "tabular", "vision", "gbm", "llm"], 2),
    }
    return card


def dataset_card(j: int, rng: random.Random) -> dict:
    return {
        "id": f"ds.table_{j:03d}",
        "owner": {"team": f"team-{j % 40}"},
        "classification": rng.choice(["internal", "confidential", "restricted"]),
        "region": rng.choice(["eu", "us"]),
        "legal_basis": rng.choice(["contract", "consent", "legitimate_interests", "none"]),
        "provenance": {"source": f"system-{j % 7}", "registered": rng.random() > 0.1},
        "retention": {"days": rng.choice([90, 365, 730, 3650])},
        "tags": ["pii"] if rng.random() > 0.6 else [],
        "columns": [{"name": f"c{k}", "type": "varchar", "tags": ["pii"] if k == 0 and rng.random() > 0.5 else []}
                    for k in range(rng.randint(5, 15))],
    }


def yaml_policies() -> list[dict]:
    """25 YAML policies exercising every operator family."""
    out = []
    for k in range(25):
        kind = k % 5
        if kind == 0:
            cond = {"all": [{"field": "subject.dpia.status", "equals": "approved"},
                            {"field": "subject.dpia.approver", "exists": True}]}
            when = {"field": "subject.risk_level", "in": ["high", "unacceptable"]}
        elif kind == 1:
            cond = {"field": "subject.metrics.fairness", "every": {"field": "value", "lte": 0.05 + k / 100}}
            when = {"field": "subject.risk_level", "not_in": ["minimal"]}
        elif kind == 2:
            cond = {"field": "subject.last_review", "max_age_days": 200 + 10 * k}
            when = {"field": "subject.lifecycle_stage", "in": ["staging", "production"]}
        elif kind == 3:
            cond = {"any": [{"field": "subject.out_of_scope_uses", "min_length": 1},
                            {"not": {"field": "subject.description", "matches": "^Scores"}}]}
            when = None
        else:
            cond = {"field": "subject.metrics.performance", "some": {"field": "value", "gte": 0.6 + k / 200}}
            when = {"field": "subject.tags", "contains": ["nlp", "tabular", "vision", "gbm", "llm"][k % 5]}
        policy = {"id": f"yaml-{k:02d}", "title": f"YAML policy {k}", "severity": ["low", "medium", "high"][k % 3],
                  "target": "model", "frameworks": ["EU AI Act Art. 10"], "assert": cond,
                  "message": "{{ id }} violates yaml-" + f"{k:02d}" + " ({{ subject.risk_level }})"}
        if when:
            policy["when"] = when
        out.append(policy)
    return out


REGO = '''# METADATA
# title: Rego policy {k}
# custom:
#   id: rego-{k:02d}
#   severity: {severity}
#   target: [model]
#   frameworks: ["NIST AI RMF MEASURE 2.{k}"]
package bench.rego_{k:02d}

import rego.v1

deny contains msg if {{
	input.subject.risk_level in {{"high", "unacceptable"}}
	not input.subject.human_oversight.required
	msg := sprintf("%s lacks oversight ({k})", [input.id])
}}

deny contains msg if {{
	some ds in input.subject.training_datasets
	card := data.gavel.inventory.datasets[ds]
	card.legal_basis == "none"
	count(input.subject.training_datasets) > {mod}
	msg := sprintf("%s trains on %s without legal basis", [input.id, ds])
}}

warn contains {{"msg": sprintf("%s: monitoring without alerting", [input.id])}} if {{
	input.subject.lifecycle_stage == "production"
	input.subject.monitoring.enabled
	not input.subject.monitoring.alerting
	startswith(input.subject.deployment.region, "{region}")
}}
'''


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    out: Path = args.out
    for sub in ("models", "datasets", "policies"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    for i in range(args.models):
        (out / "models" / f"model-{i:05d}.yaml").write_text(yaml.safe_dump(model_card(i, rng), sort_keys=False))
    for j in range(200):
        (out / "datasets" / f"table_{j:03d}.yaml").write_text(yaml.safe_dump(dataset_card(j, rng), sort_keys=False))
    for policy in yaml_policies():
        (out / "policies" / f"{policy['id']}.yaml").write_text(yaml.safe_dump(policy, sort_keys=False))
    for k in range(25):
        text = REGO.format(k=k, severity=["low", "medium", "high"][k % 3], mod=k % 3, region=["eu", "us"][k % 2])
        (out / "policies" / f"rego_{k:02d}.rego").write_text(text)
    (out / "gavel.yaml").write_text(
        "evidence:\n  - {path: models/*.yaml, kind: model}\n  - {path: datasets/*.yaml, kind: dataset}\n"
        "policies:\n  paths: [policies]\nnow: '2026-11-26T00:00:00Z'\n"
    )
    print(f"wrote {args.models} model cards, 200 dataset cards, 50 policies to {out}")


if __name__ == "__main__":
    main()
