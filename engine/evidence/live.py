"""Live evidence sources: model cards read from a running system instead of files.

One kind today, an **MLflow model registry** (``gavel.yaml``)::

    evidence:
      - {source: mlflow, tracking_uri: "http://mlflow.internal:5000", models: ["credit-*"], timeout: 10}

Through MLflow's own client (``mlflow-skinny`` is enough for a server; a local ``sqlite:///``
store needs the full ``mlflow`` package), Gavel lists the registered models whose names match
``models`` (every model by default) and, for each, the versions **in use**: those an alias points
at, those in the Production or Staging stage, and the latest version. Each becomes a model card
through the same mapping as an exported MLflow file (engine.evidence.mlflow: ``gavel.*`` tags,
run metrics, dataset inputs, stage and aliases), with the id ``<card id>:v<version>`` (so two
versions in use are two subjects) and the source ``<tracking_uri>#<model>/<version>``.

MLflow is imported only when such a source is configured. Fail closed: an unreachable registry
(bounded by ``timeout`` per request, no retries), a pattern matching no model, or a version whose
card does not validate is an ``error`` finding naming the URI.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import math
import os
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from engine.errors import EvidenceError
from engine.findings import InputDigest

if TYPE_CHECKING:
    from engine.config import Config
    from engine.inventory import Inventory, Record


def read_live(config: Config, inv: Inventory, source: dict) -> list[Record]:
    """The cards of one live source (problems become error findings in ``inv``)."""
    from engine.evidence import _problem, adapters, read_card
    from engine.evidence.loader import Limits

    uri = source["tracking_uri"]
    try:
        exports = mlflow_exports(uri, source.get("models") or ["*"], timeout=float(source.get("timeout", 10)))
    except LiveSourceError as exc:
        inv.problems.append(_problem("model", EvidenceError(str(exc), file=uri)))
        return []
    adapt = adapters.get_or_raise("mlflow")
    limits = Limits(max_bytes=config.max_bytes, max_depth=config.max_depth)
    records = []
    for where, export in exports:
        text = json.dumps(export, indent=1, sort_keys=True)
        try:
            record = read_card(text, where, "model", _versioned(adapt, export), limits)
        except EvidenceError as exc:  # its line is in the export Gavel wrote, not in the registry: left out
            inv.problems.append(_problem("model", EvidenceError(exc.message, file=where)))
            continue
        inv.inputs.append(InputDigest(path=where, kind="model", sha256=hashlib.sha256(text.encode()).hexdigest()))
        records.append(record)
    return records


class LiveSourceError(Exception):
    """The live source could not be read (one line, naming the URI)."""


def mlflow_exports(uri: str, patterns: list[str], *, timeout: float) -> list[tuple[str, dict]]:
    """``[(source location, export)]`` for every version in use of every matching model.

    An export has the shape of the JSON files engine.evidence.mlflow reads: ``registered_model``,
    ``model_version`` and ``run``, as MLflow's REST API writes them.
    """
    try:
        from mlflow import MlflowClient
    except ImportError:
        raise LiveSourceError(f"MLflow source {uri}: the MLflow client is not installed "
                              "(pip install 'gavel-governance[mlflow]' or mlflow-skinny)") from None
    with _bounded(timeout):
        try:
            client = MlflowClient(tracking_uri=uri, registry_uri=uri)
            models = _all_models(client)
            chosen = sorted((m for m in models if any(fnmatch.fnmatchcase(m.name, p) for p in patterns)),
                            key=lambda m: m.name)
            if not chosen:
                raise LiveSourceError(f"MLflow source {uri}: no registered model matches {', '.join(patterns)} "
                                      "(a configured source that yields nothing is not a pass)")
            out = []
            for model in chosen:
                versions = client.search_model_versions(f"name='{_quote(model.name)}'")
                for version in _in_use(model, versions):
                    run = client.get_run(version.run_id) if version.run_id else None
                    out.append((f"{uri}#{model.name}/{version.version}", _export(model, version, run)))
            return out
        except LiveSourceError:
            raise
        except Exception as exc:  # noqa: BLE001 - MLflow raises many kinds; each is one error finding
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise LiveSourceError(f"MLflow source {uri}: cannot read the registry ({message[:300]})") from None


def _all_models(client) -> list:
    models, token = [], None
    while True:
        page = client.search_registered_models(max_results=200, page_token=token)
        models.extend(page)
        token = page.token
        if not token:
            return models


def _in_use(model, versions: list) -> list:
    """The versions an alias points at, in the Production or Staging stage, and the latest one."""
    if not versions:
        return []
    aliased = {str(v) for v in (model.aliases or {}).values()}
    latest = max(versions, key=lambda v: int(v.version))
    keep = [v for v in versions if str(v.version) in aliased or (v.current_stage or "").lower()
            in ("production", "staging") or v is latest]
    return sorted(keep, key=lambda v: int(v.version))


def _export(model, version, run) -> dict[str, Any]:
    """The REST API shape of a registered model, one of its versions and its source run."""
    aliases = sorted((model.aliases or {}).items())
    export: dict[str, Any] = {
        "registered_model": {
            "name": model.name,
            "description": model.description or "",
            "tags": [{"key": k, "value": v} for k, v in sorted((model.tags or {}).items())],
            "aliases": [{"alias": a, "version": str(v)} for a, v in aliases],
        },
        "model_version": {
            "name": version.name,
            "version": str(version.version),
            "current_stage": version.current_stage or "None",
            "description": version.description or "",
            "user_id": version.user_id or None,
            "run_id": version.run_id or None,
            "source": version.source,
            "aliases": sorted(version.aliases or [a for a, v in aliases if str(v) == str(version.version)]),
            "tags": [{"key": k, "value": v} for k, v in sorted((version.tags or {}).items())],
        },
    }
    if run is not None:
        inputs = getattr(run, "inputs", None)
        datasets = getattr(inputs, "dataset_inputs", None) or []
        export["run"] = {
            "info": {"run_id": run.info.run_id},
            "data": {
                "metrics": [{"key": k, "value": v} for k, v in sorted(run.data.metrics.items())],
                "params": [{"key": k, "value": v} for k, v in sorted(run.data.params.items())],
            },
            "inputs": {"dataset_inputs": [
                {"dataset": {"name": d.dataset.name}, "tags": [{"key": t.key, "value": t.value} for t in d.tags]}
                for d in datasets
            ]},
        }
    return {k: _drop_none(v) for k, v in export.items()}


def _versioned(adapt, export: dict):
    """The MLflow adapter, with the card id made unique per version (``<id>:v<version>``)."""

    def run(doc, kind):
        adapted = adapt(doc, kind)
        version = export["model_version"]["version"]
        adapted.data["id"] = f"{adapted.data['id']}:v{version}"
        return adapted

    return run


@contextmanager
def _bounded(timeout: float):
    """Each MLflow request gives up after ``timeout`` seconds, without MLflow's retries and backoff."""
    names = {"MLFLOW_HTTP_REQUEST_TIMEOUT": str(max(1, math.ceil(timeout))),
             "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "0"}
    saved = {k: os.environ.get(k) for k in names}
    os.environ.update(names)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _quote(name: str) -> str:
    return name.replace("\\", "\\\\").replace("'", "\\'")


def _drop_none(body: dict) -> dict:
    return {k: v for k, v in body.items() if v is not None}

