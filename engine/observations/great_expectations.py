"""Great Expectations (1.x) validation results as dataset observations.

Reads what GX writes for a validation: ``ExpectationSuiteValidationResult.to_json_dict()`` (the
files of a validation results store, or what ``ValidationDefinition.run()`` returns), one result
or a JSON array of them. Each becomes ``observations.validations`` on the dataset card whose id is
the batch's ``data_asset_name`` (or the ``map``/``dataset`` of the gavel.yaml entry)::

    {"suite": "customers_suite", "success": false, "observed_at": "2026-12-04T14:19:15Z",
     "asset": "raw.customers", "datasource": "warehouse",
     "statistics": {"evaluated": 3, "successful": 1, "unsuccessful": 2, "success_percent": 33.3},
     "expectations": [{"type": "expect_column_values_to_not_be_null", "column": "email",
                       "success": false, "severity": "critical", "unexpected_percent": 25.0}, ...],
     "failed": [ ...the expectations above with success false... ]}

``observed_at`` is the run's time (``meta.run_id.run_time``, which a scheduled checkpoint sets),
else ``meta.validation_time``. ``severity`` is GX's own (critical, warning or info; GX's default is critical), else
``meta.severity``. An expectation that raised an exception counts as failed.
"""

from __future__ import annotations

from engine.evidence.loader import Document
from engine.observations import Observation, require, utc


def read(doc: Document, source: dict) -> list[Observation]:
    if isinstance(doc.data, list):
        return [_result(doc, item, (index,)) for index, item in enumerate(doc.data)]
    return [_result(doc, doc.data, ())]


def _result(doc: Document, result, loc: tuple) -> Observation:
    require(isinstance(result, dict) and isinstance(result.get("results"), list) and "success" in result,
            "not a Great Expectations validation result: expected 'success' and a 'results' list "
            "(ExpectationSuiteValidationResult.to_json_dict())", doc, loc)
    meta = result.get("meta") or {}
    batch = meta.get("active_batch_definition") or {}
    run_id = meta.get("run_id") if isinstance(meta.get("run_id"), dict) else {}
    # The run's time names the schedule slot a validation belongs to (GX's Data Docs group by it);
    # validation_time is the wall clock when it ran, which equals it unless a run_id was given.
    when = run_id.get("run_time") or meta.get("validation_time") or (meta.get("batch_markers") or {}).get("ge_load_time")
    field = ("meta", "run_id", "run_time") if run_id.get("run_time") else ("meta", "validation_time")
    expectations = [_expectation(doc, e, (*loc, "results", i)) for i, e in enumerate(result["results"])]
    stats = result.get("statistics") or {}
    asset = batch.get("data_asset_name")
    data = {
        "suite": result.get("suite_name") or meta.get("expectation_suite_name"),
        "success": bool(result["success"]),
        "observed_at": utc(when, doc, (*loc, *field)),
        "asset": asset,
        "datasource": batch.get("datasource_name"),
        "statistics": {
            "evaluated": stats.get("evaluated_expectations", len(expectations)),
            "successful": stats.get("successful_expectations", sum(e["success"] for e in expectations)),
            "unsuccessful": stats.get("unsuccessful_expectations", sum(not e["success"] for e in expectations)),
            "success_percent": stats.get("success_percent"),
        },
        "expectations": expectations,
        "failed": [e for e in expectations if not e["success"]],
    }
    # A result that says success while an expectation failed is inconsistent: believe the failure.
    if data["failed"]:
        data["success"] = False
    names = [n for n in (asset, data["suite"]) if isinstance(n, str) and n]
    return Observation("dataset", None, "validations", data, line=doc.line_of(loc) if loc else 1, names=names)


def _expectation(doc: Document, item, loc: tuple) -> dict:
    require(isinstance(item, dict) and isinstance(item.get("expectation_config"), dict),
            "each GX result needs an 'expectation_config'", doc, loc)
    config = item["expectation_config"]
    kwargs = config.get("kwargs") or {}
    raised = bool((item.get("exception_info") or {}).get("raised_exception"))
    outcome = item.get("result") or {}
    column = kwargs.get("column") or kwargs.get("column_A")
    return {
        "type": config.get("type") or config.get("expectation_type"),
        "column": column,
        "columns": [c for c in (kwargs.get("column_list") or [column, kwargs.get("column_B")]) if c],
        "success": bool(item.get("success")) and not raised,
        "severity": str(config.get("severity") or (config.get("meta") or {}).get("severity") or "critical").lower(),
        "unexpected_percent": outcome.get("unexpected_percent"),
        "exception": raised,
    }
