"""Hugging Face model and dataset cards: ``README.md`` with YAML front matter.

The front matter gives ``license``, ``base_model``, ``datasets``, ``language``, ``tags``,
``pipeline_tag``, ``library_name`` and ``model-index`` (tasks, datasets, metrics); the Markdown
body gives the description, uses, out-of-scope uses and limitations from the sections of the
Hugging Face card template, and which sections are still template text ("[More Information
Needed]"). Governance facts Hugging Face has no field for (owner, risk level, life-cycle stage,
DPIA, oversight, ...) go in a ``gavel:`` block of the front matter, in Gavel's own field names;
it wins over anything derived.

Example front matter::

    ---
    license: apache-2.0
    base_model: distilbert/distilbert-base-uncased
    datasets: [acme/support-tickets-2025]
    model-index:
      - name: support-intent-classifier
        results:
          - task: {type: text-classification}
            dataset: {type: acme/support-tickets-2025, name: Support tickets, split: test}
            metrics:
              - {type: accuracy, value: 0.91}
    gavel:
      owner: {team: support-ml, contact: support-ml@acme.example}
      risk_level: limited
      lifecycle_stage: production
    ---

The card's ``x-source`` records, for every Gavel field, the front-matter path or body section
and line it came from, plus ``sections`` (heading → filled / template / empty) and
``template_sections``. Malformed input (no front matter, bad YAML, an invalid ``model-index``)
is an ``EvidenceError`` naming the line.
"""

from __future__ import annotations

import re
from typing import Any

from engine.evidence.adapted import Card, as_list, direct, fail, slug
from engine.evidence.loader import Document, parse

RAW = True  # read_card passes the unparsed text: a README is Markdown, not YAML

PLACEHOLDER = re.compile(r"\[More Information Needed\]|This (model|dataset) card has been automatically generated",
                         re.IGNORECASE)
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
FAIRNESS = re.compile(r"parity|equali[sz]ed[_ -]?odds|equal[_ -]?opportunity|disparate|fairness|bias", re.IGNORECASE)
ROBUSTNESS = re.compile(r"robust|adversarial|perturb|noise|corrupt|\bood\b|out[_ -]of[_ -]distribution|shift",
                        re.IGNORECASE)
NUMBER = re.compile(r"^\s*([-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)")

# Body sections (lower-cased headings of the huggingface_hub card templates) → Gavel fields.
MODEL_SECTIONS = {
    "description": ["model description", "model details", "model summary", "description"],
    "intended_uses": ["direct use", "downstream use", "downstream use [optional]", "intended uses", "intended use",
                      "intended uses & limitations", "uses"],
    "out_of_scope_uses": ["out-of-scope use", "out-of-scope uses", "out of scope use", "misuse"],
    "limitations": ["bias, risks, and limitations", "limitations", "risks and limitations", "recommendations"],
}
DATASET_SECTIONS = {
    "description": ["dataset summary", "dataset description", "dataset details", "description"],
}
REQUIRED = {"model": ["owner", "risk_level", "lifecycle_stage", "version"], "dataset": ["owner"]}


def adapt(doc: Document, kind: str) -> Document:
    front, offset, body_start = _front_matter(doc)
    meta = _parse_front(doc, front, offset)
    lines = doc.text.splitlines()
    sections = _sections(lines[body_start:], body_start)

    card = Card("huggingface", kind=kind)

    def line(*loc) -> int | None:
        return meta.line_of(list(loc))

    gavel = meta.data.get("gavel") or {}
    if not isinstance(gavel, dict):
        raise fail("'gavel' in the front matter must be a mapping of Gavel card fields", doc, line("gavel"))
    title = next((s for s in sections if s["level"] == 1), None)
    if kind == "model":
        _model_fields(card, meta.data, sections, line, doc)
        names = [("model_name", meta.data.get("model_name"), line("model_name")),
                 ("model-index[0].name", _index_name(meta.data), line("model-index", 0, "name"))]
    else:
        _dataset_fields(card, meta.data, sections, line)
        names = [("pretty_name", meta.data.get("pretty_name"), line("pretty_name"))]
    if title:
        names.append((f"# {title['title']}", title["title"], title["line"]))
    for source, name, at in names:
        if isinstance(name, str) and name.strip():
            card.set(["name"], name.strip(), source, at)
            card.set(["id"], slug(name), source, at)
            break
    for key, value in gavel.items():  # the gavel: block wins
        card.data.pop(key, None)
        card.set([key], value, f"gavel.{key}", line("gavel", key))
        _note_nested(card, [key], value, line)
    card.extra["sections"] = {s["title"]: s["status"] for s in sections if s["level"] > 1}
    card.extra["template_sections"] = [s["title"] for s in sections if s["status"] == "template"]
    missing = [f for f in ["id", *REQUIRED[kind]] if f not in card.data]
    if missing:
        where = line("gavel") or 1
        raise fail(f"Hugging Face {kind} card lacks {', '.join(missing)}: add them under 'gavel:' in the front matter",
                   doc, where)
    return card.document(doc, default_line=1)


adapt.RAW = RAW  # type: ignore[attr-defined]


def _note_nested(card: Card, path: list, value: Any, line) -> None:
    """Record the source line of every nested field of a ``gavel:`` block value."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        sub = [*path, key]
        card.note(sub, "gavel." + ".".join(map(str, sub)), line("gavel", *sub))
        _note_nested(card, sub, child, line)


# -- front matter --------------------------------------------------------------------------
def _front_matter(doc: Document) -> tuple[str, int, int]:
    """``(yaml text, line offset, index of the first body line)``; raises without front matter."""
    lines = doc.text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise fail("no YAML front matter: a Hugging Face card starts with a '---' metadata block "
                   "(Gavel needs at least gavel.owner there)", doc, 1)
    for i in range(1, len(lines)):
        if lines[i].strip() == "---":
            return "\n".join(lines[1:i]) + "\n", 1, i + 1
    raise fail("the front matter opened on line 1 is never closed with '---'", doc, 1)


def _parse_front(doc: Document, text: str, offset: int) -> Document:
    # Blank lines for the opening '---': every line the loader reports (in an error message, or
    # both lines of a duplicate key) is then a line of the card file itself.
    meta = parse("\n" * offset + text, doc.path)
    if meta.data is None:
        meta.data = {}
    if not isinstance(meta.data, dict):
        raise fail("the front matter must be a YAML mapping", doc, 2)
    return meta


def _index_name(meta: dict) -> Any:
    index = meta.get("model-index")
    if isinstance(index, list) and index and isinstance(index[0], dict):
        return index[0].get("name")
    return None


# -- body sections -------------------------------------------------------------------------
def _sections(lines: list[str], start: int) -> list[dict[str, Any]]:
    """Every heading: title, level, line, status (filled/template/empty) and filled text lines."""
    out: list[dict[str, Any]] = []
    text = "\n".join(lines)
    # blank out HTML comments, keeping line numbers
    text = COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    fence = False
    current = None
    for i, raw in enumerate(text.split("\n")):
        if raw.lstrip().startswith("```"):
            fence = not fence
        match = None if fence else HEADING.match(raw)
        if match:
            current = {"title": match.group(2).strip(), "level": len(match.group(1)), "line": start + i + 1,
                       "filled": [], "template": 0}
            out.append(current)
            continue
        if current is None or not raw.strip():
            continue
        if PLACEHOLDER.search(raw):
            current["template"] += 1
        else:
            current["filled"].append((start + i + 1, raw.strip()))
    for s in out:
        s["status"] = "filled" if s["filled"] else ("template" if s["template"] else "empty")
    return out


def _find(sections: list[dict], names: list[str]) -> list[dict]:
    return [s for s in sections if s["title"].lower() in names and s["filled"]]


def _items(section: dict) -> list[str]:
    """Bullet items of a section, or its paragraphs when it has no bullets."""
    bullets = [re.sub(r"^[-*+]\s+|^\d+[.)]\s+", "", t) for _, t in section["filled"] if re.match(r"^([-*+]|\d+[.)])\s+", t)]
    if bullets:
        return [b for b in bullets if b]
    paragraphs, current = [], []
    for _, t in section["filled"]:
        current.append(t)
    if current:
        paragraphs.append(" ".join(current))
    return paragraphs


def _prose(section: dict) -> str:
    """The section's text without ``- **Key:** value`` metadata bullets."""
    lines = [t for _, t in section["filled"] if not re.match(r"^[-*+]\s+\*\*[^*]+:\*\*", t)]
    return " ".join(lines).strip()


def _body_fields(card: Card, sections: list[dict], mapping: dict[str, list[str]]) -> None:
    for field_name, names in mapping.items():
        found = _find(sections, names)
        if not found:
            continue
        if field_name == "description":
            text = " ".join(p for p in (_prose(s) for s in found) if p)
            card.set(["description"], text or None, f"## {found[0]['title']}", found[0]["line"])
            continue
        for s in found:
            for item in _items(s):
                card.append([field_name], item, f"## {s['title']}", s["line"])


# -- models ----------------------------------------------------------------------------------
def _model_fields(card: Card, meta: dict, sections: list[dict], line, doc: Document) -> None:
    license_ = meta.get("license_name") if meta.get("license") == "other" and meta.get("license_name") else meta.get("license")
    if isinstance(license_, list):
        license_ = " OR ".join(str(x) for x in license_)
    card.set(["license"], str(license_) if license_ is not None else None, "license", line("license"))
    base = meta.get("base_model")
    if base is not None:
        card.set(["base_model"], base if isinstance(base, str) else [str(b) for b in as_list(base)], "base_model",
                 line("base_model"))
    for ds in as_list(meta.get("datasets")):
        card.append(["training_datasets"], str(ds), "datasets", line("datasets"))
    for key, prefix in (("tags", ""), ("pipeline_tag", "pipeline:"), ("library_name", "library:"),
                        ("language", "language:")):
        for value in as_list(meta.get(key)):
            card.append(["tags"], f"{prefix}{value}", key, line(key))
    _body_fields(card, sections, MODEL_SECTIONS)
    if "model-index" in meta:
        _model_index(card, meta["model-index"], line, doc)


def _model_index(card: Card, index: Any, line, doc: Document) -> None:
    """``model-index``: [{name, results: [{task, dataset, metrics: [{type, value, name?}]}]}]."""
    if not isinstance(index, list) or not index:
        raise fail("model-index must be a non-empty list of {name, results}", doc, line("model-index"))
    evaluation: list[str] = []
    for i, entry in enumerate(index):
        where = ("model-index", i)
        if not isinstance(entry, dict) or not isinstance(entry.get("results"), list):
            raise fail(f"model-index[{i}] must be a mapping with a 'results' list", doc, line(*where))
        for j, result in enumerate(entry["results"]):
            at = (*where, "results", j)
            if not isinstance(result, dict):
                raise fail(f"model-index[{i}].results[{j}] must be a mapping", doc, line(*at))
            task, dataset, metrics = result.get("task"), result.get("dataset"), result.get("metrics")
            if not isinstance(task, dict) or not task.get("type"):
                raise fail(f"model-index[{i}].results[{j}].task needs a 'type'", doc, line(*at, "task"))
            if not isinstance(dataset, dict) or not (dataset.get("type") or dataset.get("name")):
                raise fail(f"model-index[{i}].results[{j}].dataset needs a 'type' and 'name'", doc, line(*at, "dataset"))
            if not isinstance(metrics, list) or not metrics:
                raise fail(f"model-index[{i}].results[{j}].metrics must be a non-empty list", doc, line(*at, "metrics"))
            ds_id = str(dataset.get("type") or dataset.get("name"))
            if ds_id not in evaluation:
                evaluation.append(ds_id)
                card.append(["evaluation_datasets"], ds_id, f"model-index[{i}].results[{j}].dataset",
                            line(*at, "dataset"))
            split = "/".join(str(x) for x in (dataset.get("config"), dataset.get("split")) if x)
            for k, metric in enumerate(metrics):
                mat = (*at, "metrics", k)
                path = f"model-index[{i}].results[{j}].metrics[{k}]"
                if not isinstance(metric, dict) or not metric.get("type"):
                    raise fail(f"{path} needs a 'type'", doc, line(*mat))
                value = _number(metric.get("value"))
                if value is None:
                    raise fail(f"{path}.value must be a number, got {metric.get('value')!r}", doc,
                               line(*mat, "value"))
                name = str(metric["type"])
                entry_out: dict[str, Any] = {"name": name, "value": value, "dataset": ds_id}
                if split:
                    entry_out["slice"] = split
                label = metric.get("name")
                if label and str(label) != name:
                    entry_out["description"] = f"{label} ({task.get('name') or task['type']})"
                group = "fairness" if FAIRNESS.search(f"{name} {label or ''}") else (
                    "robustness" if ROBUSTNESS.search(f"{name} {label or ''}") else "performance")
                card.append(["metrics", group], direct(entry_out), path, line(*mat))


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):  # "20.0 ± 1.2", "91.3%"
        match = NUMBER.match(value)
        if match:
            number = float(match.group(1))
            return number / 100 if value.strip().endswith("%") else number
    return None


# -- datasets --------------------------------------------------------------------------------
def _dataset_fields(card: Card, meta: dict, sections: list[dict], line) -> None:
    license_ = meta.get("license")
    if isinstance(license_, list):
        license_ = " OR ".join(str(x) for x in license_)
    card.set(["license"], str(license_) if license_ is not None else None, "license", line("license"))
    for key, prefix in (("tags", ""), ("task_categories", "task:"), ("language", "language:"),
                        ("size_categories", "size:")):
        for value in as_list(meta.get(key)):
            card.append(["tags"], f"{prefix}{value}", key, line(key))
    sources = [str(s) for s in as_list(meta.get("source_datasets"))]
    if sources:
        card.set(["provenance", "source"], ", ".join(sources), "source_datasets", line("source_datasets"))
    creators = [f"{key.split('_')[0]}: {', '.join(map(str, as_list(meta[key])))}"
                for key in ("language_creators", "annotations_creators") if meta.get(key)]
    if creators:
        card.set(["provenance", "collected"], "; ".join(creators), "annotations_creators",
                 line("annotations_creators") or line("language_creators"))
    records = _records(meta.get("dataset_info"))
    if records is not None:
        card.set(["records"], records, "dataset_info.splits", line("dataset_info"))
    _body_fields(card, sections, DATASET_SECTIONS)


def _records(info: Any) -> int | None:
    total, found = 0, False
    for config in as_list(info):
        if isinstance(config, dict):
            for split in as_list(config.get("splits")):
                if isinstance(split, dict) and isinstance(split.get("num_examples"), int):
                    total += split["num_examples"]
                    found = True
    return total if found else None
