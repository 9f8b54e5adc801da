"""Fairness metrics computed with fairlearn, as model observations.

fairlearn's ``MetricFrame`` has no file format of its own, so Gavel documents one
(``schemas/fairness-metrics.schema.json``) and writes it for you::

    from fairlearn.metrics import MetricFrame, selection_rate
    from engine.observations.fairlearn import write_metric_frame

    mf = MetricFrame(metrics={"selection_rate": selection_rate}, y_true=y, y_pred=y_hat,
                     sensitive_features=df[["sex"]])
    write_metric_frame(mf, "fairness/credit-scorer.json", model="credit-scorer", dataset="features.eval")

The file (``format: gavel.fairness/v1``) holds, per metric, the overall value, the value of every
group, and fairlearn's ``difference()`` (largest minus smallest group value) and ``ratio()``
(smallest over largest). Reading it, Gavel recomputes both from the groups and refuses a file
whose numbers disagree (typed by hand, or edited): policies judge computed numbers. Each file
becomes ``observations.fairness`` on its model and adds each ``<metric>_difference`` to the card's
``metrics.fairness`` (slice: the sensitive features), so the fairness policies that read metrics
judge them like any other. Only differences go there: ``metrics.fairness`` holds disparities
where 0 is parity, and a ratio (1 is parity) read as a disparity would fail every fair model;
ratios are judged from the observation (policy fair-group-disparity).
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.evidence.loader import Document
from engine.observations import Observation, require, utc

FORMAT = "gavel.fairness/v1"
_TOLERANCE = 1e-9


def from_metric_frame(frame, *, model: str, dataset: str | None = None, computed_at: str | None = None) -> dict:
    """The ``gavel.fairness/v1`` document of a fairlearn ``MetricFrame`` (fairlearn is not imported)."""
    levels = [str(name) for name in frame.sensitive_levels]
    by_group = frame.by_group
    overall = frame.overall
    difference, ratio = frame.difference(), frame.ratio()
    if hasattr(by_group, "columns"):  # several metrics: a DataFrame, one column per metric
        names = [str(c) for c in by_group.columns]
        columns = {str(c): by_group[c] for c in by_group.columns}
        pick = lambda series, name: series[name]  # noqa: E731
    else:  # one metric: Series
        names = [str(by_group.name or "metric")]
        columns = {names[0]: by_group}
        pick = lambda value, _name: value  # noqa: E731
    metrics: dict[str, Any] = {}
    for name in names:
        groups = []
        for key, value in columns[name].items():
            key = key if isinstance(key, tuple) else (key,)
            groups.append({"group": {level: str(part) for level, part in zip(levels, key, strict=True)},
                           "value": _number(value)})
        metrics[name] = {"overall": _number(pick(overall, name)), "by_group": groups,
                         "difference": _number(pick(difference, name)), "ratio": _number(pick(ratio, name))}
    when = computed_at or datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    doc: dict[str, Any] = {"format": FORMAT, "model": model, "computed_at": when, "sensitive_features": levels,
                           "library": {"name": "fairlearn", "version": _version()}, "metrics": metrics}
    if dataset:
        doc["dataset"] = dataset
    return doc


def write_metric_frame(frame, path: str | Path, **kwargs) -> dict:
    """Write :func:`from_metric_frame` to ``path`` as JSON; returns the document."""
    doc = from_metric_frame(frame, **kwargs)
    Path(path).write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return doc


def read(doc: Document, source: dict) -> list[Observation]:
    from engine import schemas

    schemas.check("fairness-metrics", doc)
    data = doc.data
    metrics = {}
    for name, metric in sorted(data["metrics"].items()):
        values = [g["value"] for g in metric["by_group"] if g["value"] is not None]
        loc = ("metrics", name)
        require(len(values) >= 2, f"fairness metric {name!r} needs values for at least two groups", doc, loc)
        high, low = max(values), min(values)
        difference = high - low
        ratio = low / high if high else (1.0 if low == high else math.inf)
        for key, computed in (("difference", difference), ("ratio", ratio)):
            typed = metric.get(key)
            if typed is not None and not math.isclose(typed, computed, rel_tol=_TOLERANCE, abs_tol=_TOLERANCE):
                require(False, f"fairness metric {name!r}: {key} is {typed} but its groups give {computed:.6g} "
                               "(the numbers were not computed together; regenerate the file)", doc, (*loc, key))
        metrics[name] = {"overall": metric.get("overall"), "by_group": metric["by_group"],
                         "difference": difference, "ratio": ratio}
    observed = {
        "observed_at": utc(data["computed_at"], doc, ("computed_at",)),
        "dataset": data.get("dataset"),
        "sensitive_features": data["sensitive_features"],
        "library": data.get("library"),
        "metrics": metrics,
    }
    return [Observation("model", data["model"], "fairness", observed, line=doc.line_of(("model",)))]


def card_metrics(observed: dict) -> list[dict]:
    """``metrics.fairness`` items for one fairness observation: each metric's difference."""
    slice_ = ", ".join(observed["sensitive_features"])
    out = []
    for name, metric in observed["metrics"].items():
        item = {"name": f"{name}_difference", "value": metric["difference"], "slice": slice_,
                "description": f"fairlearn MetricFrame.difference() at {observed['observed_at']}"}
        if observed.get("dataset"):
            item["dataset"] = observed["dataset"]
        out.append(item)
    return out


def _number(value) -> float | None:
    value = float(value)
    return None if math.isnan(value) else value


def _version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("fairlearn")
    except PackageNotFoundError:
        return None
