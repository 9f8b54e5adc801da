"""Evidently (0.7) data-drift reports as model observations.

Reads both JSON forms of a ``Snapshot`` (``Report.run()``'s result):

- ``snapshot.dumps()`` / Evidently's workspace files: ``timestamp``, ``metadata``, ``tags`` and
  ``metric_results`` (this form records when the report ran);
- ``snapshot.json()`` / ``save_json()``: ``{"metrics": [...], "tests": [...]}`` (no time: the
  report's ``observed_at`` is null, so a recency policy fails it rather than guessing).

Each becomes ``observations.drift`` on the model card named by the gavel.yaml entry's ``model``,
else the report's ``metadata.model`` (or ``model_id``)::

    {"observed_at": "2026-11-30T06:00:00Z", "drift_share": 0.33, "drifted_columns": 1,
     "columns": [{"column": "income", "method": "K-S p_value", "threshold": 0.05,
                  "score": 1.7e-71, "drifted": true}, ...],
     "reference_period": "2026-01-01/2026-06-30", "current_period": "2026-11-01/2026-11-30",
     "tags": ["production"]}

A column drifted as Evidently decides it: for p-value tests when the p-value is below the
threshold, for distances (Wasserstein, Jensen-Shannon, PSI, ...) when the score is at or above it
(energy distance: above it).
"""

from __future__ import annotations

import re

from engine.evidence.loader import Document
from engine.observations import Observation, require, utc

_PARAMS = re.compile(r"^(\w+)\((.*)\)$")


def read(doc: Document, source: dict) -> list[Observation]:
    data = doc.data
    require(isinstance(data, dict), "an Evidently report is a JSON object", doc)
    if isinstance(data.get("metric_results"), dict):
        metrics = [_from_result(r) for r in data["metric_results"].values() if isinstance(r, dict)]
        when = utc(data.get("timestamp"), doc, ("timestamp",))
        metadata = data.get("metadata") or {}
        tags = data.get("tags") or []
    else:
        require(isinstance(data.get("metrics"), list),
                "not an Evidently report: expected 'metric_results' (snapshot.dumps()) or 'metrics' "
                "(snapshot.json())", doc)
        metrics = [_from_metric(m) for m in data["metrics"] if isinstance(m, dict)]
        when, metadata, tags = None, {}, []
    columns = sorted((m for m in metrics if m and m["kind"] == "ValueDrift"), key=lambda m: m["column"])
    counts = next((m for m in metrics if m and m["kind"] == "DriftedColumnsCount"), None)
    require(bool(columns) or counts is not None,
            "the Evidently report has no drift metrics (run it with DataDriftPreset or ValueDrift)", doc)
    drift = [{"column": c["column"], "method": c["method"], "threshold": c["threshold"], "score": c["score"],
              "drifted": _drifted(c)} for c in columns]
    share = counts["share"] if counts else (sum(d["drifted"] for d in drift) / len(drift))
    data_out = {
        "observed_at": when,
        "drift_share": share,
        "drifted_columns": int(counts["count"]) if counts else sum(d["drifted"] for d in drift),
        "columns": drift,
        "reference_period": metadata.get("reference_period"),
        "current_period": metadata.get("current_period"),
        "tags": [t for t in tags if isinstance(t, str)],
    }
    model = metadata.get("model") or metadata.get("model_id")
    return [Observation("model", None, "drift", data_out, names=[model] if isinstance(model, str) else [])]


def _from_metric(metric: dict) -> dict | None:
    config = metric.get("config") or {}
    return _shape(str(config.get("type", "")), config, metric.get("value"))


def _from_result(result: dict) -> dict | None:
    params = ((result.get("metric_value_location") or {}).get("metric") or {}).get("params") or {}
    value = result.get("value")
    if value is None and "count" in result:
        value = {"count": (result.get("count") or {}).get("value"), "share": (result.get("share") or {}).get("value")}
    return _shape(str(params.get("type", "")), params, value)


def _shape(type_name: str, config: dict, value) -> dict | None:
    kind = type_name.rsplit(":", 1)[-1]
    if kind == "ValueDrift" and isinstance(value, int | float) and config.get("column"):
        return {"kind": kind, "column": str(config["column"]), "method": str(config.get("method") or ""),
                "threshold": config.get("threshold"), "score": float(value)}
    if kind == "DriftedColumnsCount" and isinstance(value, dict) and isinstance(value.get("share"), int | float):
        return {"kind": kind, "count": value.get("count") or 0, "share": float(value["share"])}
    return None


def _drifted(metric: dict) -> bool:
    threshold, score, method = metric["threshold"], metric["score"], metric["method"].lower()
    if not isinstance(threshold, int | float):
        threshold = 0.05 if "p_value" in method else 0.1  # Evidently's defaults
    if "p_value" in method:
        return score < threshold
    if "energy" in method:
        return score > threshold
    return score >= threshold
