"""MLflow: an ``MLmodel`` file, or registered-model / model-version metadata exported as JSON.

The JSON export combines the bodies MLflow's REST API returns (any subset)::

    {
      "registered_model": {...},   # GET /api/2.0/mlflow/registered-models/get
      "model_version": {...},      # GET /api/2.0/mlflow/model-versions/get
      "run": {...},                # GET /api/2.0/mlflow/runs/get (metrics, dataset inputs)
      "mlmodel": {...}             # the MLmodel file of the version's artifacts (optional)
    }

Mapping: ``name`` ← registered model name; ``id`` ← tag ``gavel.id`` or the name as a slug;
``version`` ← model version; ``description`` ← version (else model) description;
``lifecycle_stage`` ← stage (Production → production, Staging → staging, Archived → retired,
None → development) or an alias named production/staging; ``owner`` ← tag ``gavel.owner``
(else ``owner``, else the creating ``user_id``); run metrics → ``metrics.performance``, except
keys starting ``fairness.``/``fairness/`` (→ fairness) and ``robustness.``/``robustness/``;
run dataset inputs → ``training_datasets`` / ``evaluation_datasets`` by their
``mlflow.data.context`` tag; MLmodel flavors → ``tags`` (``flavor:sklearn``).

Every other Gavel field comes from tags named ``gavel.<field>`` (nested with dots, e.g.
``gavel.dpia.status``; JSON values such as ``["a", "b"]`` or ``true`` are parsed), model-version
tags winning over registered-model tags. An ``MLmodel`` file alone uses the same ``gavel.*``
keys in its ``metadata`` mapping.
"""

from __future__ import annotations

import re
from typing import Any

from engine.evidence.adapted import Card, as_list, coerce, direct, fail, put, slug
from engine.evidence.loader import Document, duplicate_message

STAGES = {"production": "production", "staging": "staging", "archived": "retired", "none": "development"}
REQUIRED = ["id", "name", "version", "owner", "risk_level", "lifecycle_stage"]
GROUP = re.compile(r"^(fairness|robustness)[./](.+)$")


def adapt(doc: Document, kind: str) -> Document:
    data = doc.data
    if kind != "model":
        raise fail("the mlflow format describes models; list it as model evidence", doc, 1)
    if not isinstance(data, dict):
        raise fail("an MLflow export must be a mapping", doc, 1)
    card = Card("mlflow", kind=kind)
    if "flavors" in data and not any(k in data for k in ("registered_model", "model_version", "run")):
        _mlmodel(card, data, doc, ())
        _gavel_keys(card, data.get("metadata") or {}, doc, ("metadata",))
        hint = "add gavel.* keys to the MLmodel metadata"
    elif any(k in data for k in ("registered_model", "model_version")):
        _export(card, data, doc)
        hint = "set gavel.* tags on the registered model or model version"
    else:
        raise fail("not an MLflow export: expected 'registered_model' / 'model_version' (REST API JSON) "
                   "or an MLmodel file with 'flavors'", doc, 1)
    missing = [f for f in REQUIRED if f not in card.data]
    if missing:
        raise fail(f"MLflow model lacks {', '.join(missing)}: {hint}", doc, 1)
    return card.document(doc)


def _export(card: Card, data: dict, doc: Document) -> None:
    rm = data.get("registered_model") or {}
    mv = data.get("model_version") or {}
    for key, value in (("registered_model", rm), ("model_version", mv), ("run", data.get("run") or {})):
        if not isinstance(value, dict):
            raise fail(f"'{key}' must be a mapping (the REST API's response body)", doc, doc.line_of([key]))
    name = rm.get("name") or mv.get("name")
    name_at = ("registered_model", "name") if rm.get("name") else ("model_version", "name")
    if name:
        card.set(["name"], str(name), ".".join(name_at), doc.line_of(name_at))
        card.set(["id"], slug(str(name)), ".".join(name_at), doc.line_of(name_at))
    if mv.get("version") is not None:
        card.set(["version"], str(mv["version"]), "model_version.version", doc.line_of(["model_version", "version"]))
    for src, body in (("registered_model", rm), ("model_version", mv)):  # the version's description wins
        if body.get("description"):
            card.data.pop("description", None)
            card.set(["description"], body["description"], f"{src}.description", doc.line_of([src, "description"]))
    stage = _stage(mv)
    if stage:
        card.set(["lifecycle_stage"], stage[0], stage[1], doc.line_of(stage[2]))
    if rm.get("user_id") or mv.get("user_id"):
        src = "registered_model" if rm.get("user_id") else "model_version"
        card.set(["owner"], (rm.get("user_id") or mv.get("user_id")), f"{src}.user_id", doc.line_of([src, "user_id"]))
    run = data.get("run") or {}
    _run(card, run, doc)
    if isinstance(data.get("mlmodel"), dict):
        _mlmodel(card, data["mlmodel"], doc, ("mlmodel",))
    for src, body in (("registered_model", rm), ("model_version", mv)):
        tags = _tags(body.get("tags"), doc, (src, "tags"))
        if "owner" in tags:
            value, at = tags["owner"]
            put(card, ["owner"], coerce(value, doc, doc.line_of(at)), f"{src}.tags.owner", doc.line_of(at))
        _gavel_keys(card, {k: v for k, (v, _) in tags.items()}, doc, (src, "tags"),
                    lines={k: doc.line_of(at) for k, (_, at) in tags.items()})


def _stage(mv: dict) -> tuple[str, str, tuple] | None:
    for i, alias in enumerate(as_list(mv.get("aliases"))):
        name = alias.get("alias") if isinstance(alias, dict) else alias
        if str(name).lower() in ("production", "prod", "staging"):
            value = "production" if str(name).lower() != "staging" else "staging"
            return value, f"model_version.aliases[{i}]", ("model_version", "aliases", i)
    stage = mv.get("current_stage")
    if isinstance(stage, str) and stage.lower() in STAGES:
        return STAGES[stage.lower()], "model_version.current_stage", ("model_version", "current_stage")
    return None


def _tags(tags: Any, doc: Document, at: tuple) -> dict[str, tuple[Any, tuple]]:
    """REST tags ``[{key, value}]`` (or a plain mapping) → {key: (value, location)}."""
    out: dict[str, tuple[Any, tuple]] = {}
    if isinstance(tags, dict):
        return {str(k): (v, (*at, k)) for k, v in tags.items()}
    if tags is None:
        return out
    if not isinstance(tags, list):
        raise fail(f"{'.'.join(at)} must be a list of {{key, value}}", doc, doc.line_of(list(at)))
    for i, tag in enumerate(tags):
        if not isinstance(tag, dict) or "key" not in tag:
            raise fail(f"{'.'.join(at)}[{i}] must be a {{key, value}} mapping", doc, doc.line_of([*at, i]))
        key = str(tag["key"])
        if key in out:  # MLflow keeps one value per tag key: two in an export is an edit, not data
            first = doc.line_of(list(out[key][1][:-1]))
            again = doc.line_of([*at, i])
            raise fail(f"{'.'.join(at)}: {duplicate_message(key, first, again).replace('key', 'tag', 1)}", doc, again)
        out[key] = (tag.get("value"), (*at, i, "value"))
    return out


def _gavel_keys(card: Card, mapping: dict, doc: Document, at: tuple, lines: dict | None = None) -> None:
    """Apply ``gavel.<field>`` keys (and a nested ``gavel:`` mapping) in a stable order."""
    if not isinstance(mapping, dict):
        raise fail(f"{'.'.join(at)} must be a mapping", doc, doc.line_of(list(at)))
    nested = mapping.get("gavel")
    if isinstance(nested, dict):
        for key, value in nested.items():
            put(card, [key], value, f"{'.'.join(at)}.gavel.{key}", doc.line_of([*at, "gavel", key]))
    for key in sorted(k for k in mapping if isinstance(k, str) and k.startswith("gavel.")):
        path = key[len("gavel."):].split(".")
        line = (lines or {}).get(key) or doc.line_of([*at, key])
        value = mapping[key] if path == ["version"] else coerce(mapping[key], doc, line)  # "7" stays a string
        put(card, path, value, f"{'.'.join(at)}.{key}", line)


def _run(card: Card, run: dict, doc: Document) -> None:
    metrics = (run.get("data") or {}).get("metrics") or []
    if not isinstance(metrics, list):
        raise fail("run.data.metrics must be a list of {key, value}", doc, doc.line_of(["run", "data", "metrics"]))
    for i, metric in enumerate(metrics):
        at = ("run", "data", "metrics", i)
        if not isinstance(metric, dict) or "key" not in metric:
            raise fail(f"run.data.metrics[{i}] must be a {{key, value}} mapping", doc, doc.line_of(list(at)))
        value = metric.get("value")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise fail(f"run.data.metrics[{i}].value must be a number, got {value!r}", doc,
                       doc.line_of([*at, "value"]))
        key = str(metric["key"])
        match = GROUP.match(key)
        group, name = (match.group(1), match.group(2)) if match else ("performance", key)
        card.append(["metrics", group], direct({"name": name, "value": value}), f"run.data.metrics[{i}]", doc.line_of(list(at)))
    inputs = ((run.get("inputs") or {}).get("dataset_inputs")) or []
    for i, item in enumerate(as_list(inputs)):
        at = ("run", "inputs", "dataset_inputs", i)
        dataset = item.get("dataset") if isinstance(item, dict) else None
        if not isinstance(dataset, dict) or not dataset.get("name"):
            raise fail(f"run.inputs.dataset_inputs[{i}].dataset needs a 'name'", doc, doc.line_of(list(at)))
        context = {t.get("key"): t.get("value") for t in as_list(item.get("tags")) if isinstance(t, dict)}
        role = context.get("mlflow.data.context", "training")
        field_name = "evaluation_datasets" if str(role).lower() in ("eval", "evaluation", "test", "validation") \
            else "training_datasets"
        if dataset["name"] not in card.data.get(field_name, []):
            card.append([field_name], str(dataset["name"]), f"run.inputs.dataset_inputs[{i}]", doc.line_of(list(at)))


def _mlmodel(card: Card, mlmodel: dict, doc: Document, at: tuple) -> None:
    flavors = mlmodel.get("flavors")
    if not isinstance(flavors, dict) or not flavors:
        raise fail("MLmodel 'flavors' must be a non-empty mapping", doc, doc.line_of([*at, "flavors"]))
    for name in flavors:
        if name != "python_function":
            card.append(["tags"], f"flavor:{name}", ".".join([*at, "flavors", name]), doc.line_of([*at, "flavors", name]))
    if mlmodel.get("model_uuid") and "version" not in card.data:
        card.set(["version"], str(mlmodel["model_uuid"]), ".".join([*at, "model_uuid"]), doc.line_of([*at, "model_uuid"]))
