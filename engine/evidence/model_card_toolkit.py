"""Google Model Card Toolkit (MCT) JSON, schema versions 0.0.1 and 0.0.2.

The version comes from ``schema_version`` when present, else from the shape (0.0.1 has
``model_details.license`` as a string and ``model_parameters.data.train/eval``; 0.0.2 has
``model_details.licenses`` and ``model_parameters.data`` as a list).

Mapping: ``name`` ← model_details.name (``id`` its slug); ``version`` ← model_details.version.name;
``owner`` ← the first of model_details.owners ({team: name, contact}); ``description`` ←
model_details.overview; ``license`` ← licenses[0].identifier (or custom_text) / license;
``intended_uses`` ← considerations.use_cases; ``limitations`` ← considerations.limitations and
ethical_considerations (risk and mitigation); training / evaluation datasets ← model_parameters.data
(0.0.1: train / eval; 0.0.2: by a name containing eval, test or valid); metrics ←
quantitative_analysis.performance_metrics (type, value, slice; MCT's ``threshold``, the decision
threshold a metric was computed at, as ``decision_threshold``, never as an acceptance
``threshold``), sorted into fairness or robustness by their type, else performance.

MCT has no fields for the governance facts (risk level, life-cycle stage, DPIA, oversight):
put them in a top-level ``gavel`` object in Gavel's field names; it wins over derived values.
"""

from __future__ import annotations

import re
from typing import Any

from engine.evidence.adapted import Card, as_list, direct, fail, put, slug
from engine.evidence.huggingface import FAIRNESS, ROBUSTNESS, _number
from engine.evidence.loader import Document

VERSIONS = ("0.0.1", "0.0.2")
REQUIRED = ["id", "name", "version", "owner", "risk_level", "lifecycle_stage"]
EVAL = re.compile(r"eval|test|valid|holdout", re.IGNORECASE)


def adapt(doc: Document, kind: str) -> Document:
    data = doc.data
    if kind != "model":
        raise fail("Model Card Toolkit cards describe models; list them as model evidence", doc, 1)
    if not isinstance(data, dict) or not isinstance(data.get("model_details"), dict):
        raise fail("not a Model Card Toolkit card: expected a JSON object with 'model_details'", doc, 1)
    version = _version(data, doc)
    card = Card("model-card-toolkit", kind=kind)
    card.extra["schema_version"] = version
    at = doc.line_of

    details = data["model_details"]
    if details.get("name"):
        card.set(["name"], str(details["name"]), "model_details.name", at(["model_details", "name"]))
        card.set(["id"], slug(str(details["name"])), "model_details.name", at(["model_details", "name"]))
    ver = details.get("version")
    if isinstance(ver, dict) and ver.get("name") is not None:
        card.set(["version"], str(ver["name"]), "model_details.version.name", at(["model_details", "version", "name"]))
    owners = as_list(details.get("owners"))
    if owners:
        first = owners[0]
        if not isinstance(first, dict) or not first.get("name"):
            raise fail("model_details.owners[0] needs a 'name'", doc, at(["model_details", "owners", 0]))
        owner = {"team": str(first["name"])}
        if first.get("contact"):
            owner["contact"] = str(first["contact"])
        card.set(["owner"], owner, "model_details.owners[0]", at(["model_details", "owners", 0]))
    card.set(["description"], details.get("overview"), "model_details.overview", at(["model_details", "overview"]))
    _license(card, details, version, doc)
    _considerations(card, data.get("considerations") or {}, version, doc)
    _datasets(card, (data.get("model_parameters") or {}).get("data"), version, doc)
    _metrics(card, (data.get("quantitative_analysis") or {}).get("performance_metrics"), doc)

    gavel = data.get("gavel") or {}
    if not isinstance(gavel, dict):
        raise fail("'gavel' must be an object of Gavel card fields", doc, at(["gavel"]))
    for key, value in gavel.items():
        put(card, [key], value, f"gavel.{key}", at(["gavel", key]))
    missing = [f for f in REQUIRED if f not in card.data]
    if missing:
        raise fail(f"Model Card Toolkit card lacks {', '.join(missing)}: add them to a top-level 'gavel' object",
                   doc, at(["gavel"]) if "gavel" in data else 1)
    return card.document(doc)


def _version(data: dict, doc: Document) -> str:
    declared = data.get("schema_version")
    if declared is not None:
        if str(declared) not in VERSIONS:
            raise fail(f"unsupported Model Card Toolkit schema_version {declared!r} (supported: {', '.join(VERSIONS)})",
                       doc, doc.line_of(["schema_version"]))
        return str(declared)
    details = data["model_details"]
    if "licenses" in details or isinstance((data.get("model_parameters") or {}).get("data"), list):
        return "0.0.2"
    return "0.0.1"


def _text(item: Any, version: str) -> str | None:
    """A considerations entry: a string (0.0.1) or ``{description}`` (0.0.2)."""
    if isinstance(item, str):
        return item
    if isinstance(item, dict):
        return item.get("description")
    return None


def _license(card: Card, details: dict, version: str, doc: Document) -> None:
    if version == "0.0.1" or "license" in details:
        value = details.get("license")
        if isinstance(value, str):
            card.set(["license"], value, "model_details.license", doc.line_of(["model_details", "license"]))
        return
    licenses = as_list(details.get("licenses"))
    if licenses:
        first = licenses[0]
        value = (first.get("identifier") or first.get("custom_text")) if isinstance(first, dict) else first
        card.set(["license"], str(value) if value else None, "model_details.licenses[0]",
                 doc.line_of(["model_details", "licenses", 0]))


def _considerations(card: Card, cons: dict, version: str, doc: Document) -> None:
    if not isinstance(cons, dict):
        raise fail("'considerations' must be an object", doc, doc.line_of(["considerations"]))
    for src, dest in (("use_cases", "intended_uses"), ("limitations", "limitations")):
        for i, item in enumerate(as_list(cons.get(src))):
            text = _text(item, version)
            if text:
                card.append([dest], text, f"considerations.{src}[{i}]", doc.line_of(["considerations", src, i]))
    for i, item in enumerate(as_list(cons.get("ethical_considerations"))):
        if isinstance(item, dict) and item.get("name"):
            text = str(item["name"])
            if item.get("mitigation_strategy"):
                text += f" (mitigation: {item['mitigation_strategy']})"
            card.append(["limitations"], text, f"considerations.ethical_considerations[{i}]",
                        doc.line_of(["considerations", "ethical_considerations", i]))


def _datasets(card: Card, data: Any, version: str, doc: Document) -> None:
    at = ["model_parameters", "data"]
    if data is None:
        return
    if isinstance(data, dict):  # 0.0.1: {train: {...}, eval: {...}}
        for role, dest in (("train", "training_datasets"), ("eval", "evaluation_datasets")):
            ds = data.get(role)
            if isinstance(ds, dict) and ds.get("name"):
                card.append([dest], str(ds["name"]), f"model_parameters.data.{role}", doc.line_of([*at, role]))
        return
    if not isinstance(data, list):
        raise fail("model_parameters.data must be a list (0.0.2) or {train, eval} (0.0.1)", doc, doc.line_of(at))
    for i, ds in enumerate(data):
        if not isinstance(ds, dict) or not ds.get("name"):
            raise fail(f"model_parameters.data[{i}] needs a 'name'", doc, doc.line_of([*at, i]))
        dest = "evaluation_datasets" if EVAL.search(str(ds["name"])) else "training_datasets"
        card.append([dest], str(ds["name"]), f"model_parameters.data[{i}]", doc.line_of([*at, i]))


def _metrics(card: Card, metrics: Any, doc: Document) -> None:
    at = ["quantitative_analysis", "performance_metrics"]
    if metrics is None:
        return
    if not isinstance(metrics, list):
        raise fail("quantitative_analysis.performance_metrics must be a list", doc, doc.line_of(at))
    for i, m in enumerate(metrics):
        where = f"quantitative_analysis.performance_metrics[{i}]"
        if not isinstance(m, dict) or not m.get("type"):
            raise fail(f"{where} needs a 'type'", doc, doc.line_of([*at, i]))
        value = _number(m.get("value"))
        if value is None:
            raise fail(f"{where}.value must be a number, got {m.get('value')!r}", doc, doc.line_of([*at, i, "value"]))
        out: dict[str, Any] = {"name": str(m["type"]), "value": value}
        if m.get("slice"):
            out["slice"] = str(m["slice"])
        threshold = _number(m.get("threshold"))
        if threshold is not None:
            # MCT 0.0.1: "the decision threshold the metric was computed on" (recall at a 0.7 score
            # cut-off); 0.0.2 has no such field. Read as an acceptance threshold it failed good
            # models and passed bad ones, so it is kept apart: acceptance thresholds come from the
            # card's ``gavel`` object only.
            out["decision_threshold"] = threshold
        label = f"{m['type']} {m.get('name') or ''}"
        group = "fairness" if FAIRNESS.search(label) else "robustness" if ROBUSTNESS.search(label) else "performance"
        card.append(["metrics", group], direct(out), where, doc.line_of([*at, i]))
