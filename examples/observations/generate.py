"""Regenerate the example's observation files by running the real tools on small synthetic data.

    pip install great_expectations 'evidently<0.8' fairlearn 'pandas<3'
    python examples/observations/generate.py

Seeds and timestamps are fixed, so the tools' results (not their wall-clock times) are stable.
tests/sources/test_example_observations.py re-runs this into a temporary folder and checks that
Gavel reads what the tools write today the same way as the committed files.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent

# dataset -> (rows, [(column, values)], expectations); one of them fails a critical expectation
DATASETS = {
    "features.credit_features": ("2026-11-25T02:00:00", {"customer_id": "id", "age_years": (18, 90),
                                                         "avg_monthly_spend": (0, 20000), "bureau_score": (300, 850)}),
    "features.fraud_features": ("2026-11-25T02:10:00", {"transaction_id": "id", "merchant_risk": (0, 1)}),
    "raw.transactions": ("2026-11-24T23:30:00", {"transaction_id": "id", "customer_id": "id", "amount": (0, 1e6)}),
    "raw.bureau_scores": ("2026-11-23T04:00:00", {"customer_id": "id", "bureau_score": (300, 850)}),
    "raw.marketing_leads": ("2026-11-25T03:00:00", {"lead_id": "id", "email": "email"}),
}

# model -> (report time, drifting column or None, columns); fraud-detector's report is stale
DRIFT = {
    "credit-scoring-v3": ("2026-11-24T06:00:00", None, ["age_years", "avg_monthly_spend", "bureau_score"]),
    "credit-limit-optimizer": ("2026-11-24T06:00:00", "avg_monthly_spend", ["avg_monthly_spend", "bureau_score",
                                                                             "age_years", "defaults_5y"]),
    "collections-prioritizer": ("2026-11-20T06:00:00", None, ["amount", "bureau_score"]),
    "fraud-detector": ("2026-09-01T06:00:00", None, ["amount_zscore", "merchant_risk"]),
    "marketing-propensity": ("2026-11-22T06:00:00", None, ["estimated_income"]),
    "support-assistant": ("2026-11-25T06:00:00", None, ["prompt_tokens", "response_tokens"]),
    "card-fraud-scorer": ("2026-11-25T06:00:00", None, ["amount_zscore", "merchant_risk"]),
    "support-intent-classifier": ("2026-11-21T06:00:00", None, ["message_length"]),
    "affordability-checker": ("2026-11-19T06:00:00", None, ["income", "outgoings"]),
}

# model -> (computed at, selection rate of group F, of group M)
FAIRNESS = {
    "credit-scoring-v3": ("2026-11-10T10:00:00Z", 0.41, 0.43),
    "credit-limit-optimizer": ("2026-11-12T10:00:00Z", 0.22, 0.35),
    "collections-prioritizer": ("2026-10-30T10:00:00Z", 0.30, 0.31),
    "income-estimator": ("2026-11-05T10:00:00Z", 0.50, 0.52),
    "affordability-checker": ("2026-11-15T10:00:00Z", 0.61, 0.63),
}


def great_expectations(out: Path) -> None:
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier

    rng = np.random.default_rng(11)
    context = gx.get_context(mode="ephemeral")
    source = context.data_sources.add_pandas("warehouse")
    for dataset, (when, columns) in DATASETS.items():
        n = 200
        frame = {}
        suite = context.suites.add(gx.ExpectationSuite(name=f"{dataset}.suite"))
        for column, spec in columns.items():
            if spec == "id":
                frame[column] = np.arange(1, n + 1)
                suite.add_expectation(gx.expectations.ExpectColumnValuesToBeUnique(column=column))
            elif spec == "email":
                values = [f"lead{i}@example.org" for i in range(n)]
                values[17] = None  # one lead without an email: a critical failure
                frame[column] = values
                suite.add_expectation(gx.expectations.ExpectColumnValuesToNotBeNull(column=column))
                suite.add_expectation(gx.expectations.ExpectColumnValuesToMatchRegex(column=column, regex=r"^[^@]+@[^@]+$"))
            else:
                low, high = spec
                values = rng.uniform(low, high, n)
                frame[column] = values
                suite.add_expectation(gx.expectations.ExpectColumnValuesToNotBeNull(column=column))
                suite.add_expectation(gx.expectations.ExpectColumnValuesToBeBetween(
                    column=column, min_value=low, max_value=high, severity="warning"))
        batch = source.add_dataframe_asset(name=dataset).add_batch_definition_whole_dataframe("all")
        definition = context.validation_definitions.add(gx.ValidationDefinition(name=dataset, data=batch, suite=suite))
        run_id = RunIdentifier(run_name="nightly", run_time=datetime.fromisoformat(when).replace(tzinfo=UTC))
        result = definition.run(batch_parameters={"dataframe": pd.DataFrame(frame)}, run_id=run_id).to_json_dict()
        (out / "gx" / f"{dataset}.json").write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")


def evidently(out: Path) -> None:
    from evidently import Report
    from evidently.presets import DataDriftPreset

    for model, (when, drifting, columns) in DRIFT.items():
        rng = np.random.default_rng(len(model))
        reference = pd.DataFrame({c: rng.normal(100, 15, 300) for c in columns})
        current = reference + rng.normal(0, 0.5, reference.shape)  # the same population, remeasured
        if drifting:
            current[drifting] = rng.normal(160, 15, 300)
        report = Report([DataDriftPreset()], metadata={"model": model, "reference_period": "2026-01/2026-06",
                                                       "current_period": when[:7]})
        snapshot = report.run(reference_data=reference, current_data=current, timestamp=datetime.fromisoformat(when))
        (out / "evidently" / f"{model}.json").write_text(snapshot.dumps() + "\n")


def fairlearn(out: Path) -> None:
    from fairlearn.metrics import MetricFrame, selection_rate

    sys.path.insert(0, str(HERE.parent.parent))
    from engine.observations.fairlearn import write_metric_frame

    for model, (when, rate_f, rate_m) in FAIRNESS.items():
        rng = np.random.default_rng(len(model) * 7)
        n = 2000
        sex = np.array(["F"] * (n // 2) + ["M"] * (n // 2))
        y_pred = np.where(sex == "F", rng.random(n) < rate_f, rng.random(n) < rate_m).astype(int)
        frame = MetricFrame(metrics={"selection_rate": selection_rate}, y_true=rng.integers(0, 2, n), y_pred=y_pred,
                            sensitive_features=pd.Series(sex, name="sex"))
        write_metric_frame(frame, out / "fairness" / f"{model}.json", model=model, computed_at=when,
                           dataset="features.credit_features")


def main(out: Path = HERE) -> None:
    for folder in ("gx", "evidently", "fairness"):
        (out / folder).mkdir(parents=True, exist_ok=True)
    great_expectations(out)
    evidently(out)
    fairlearn(out)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
