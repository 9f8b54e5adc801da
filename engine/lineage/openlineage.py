"""The ``openlineage`` lineage source: OpenLineage RunEvents (and JobEvents, DatasetEvents), JSON or NDJSON.

Each event is validated against the OpenLineage spec's JSON Schema (``schemas/openlineage/``, the
spec's own files), and the facets Gavel reads (``columnLineage``, ``schema``, ``tags``) against
theirs. An event that does not validate is an ``error`` finding (file and line) and is skipped;
the others still count.

What an event adds: a job node (``job:<name>``), ``input`` edges from each input dataset to it and
``output`` edges from it to each output; a table edge from each input to each output (``columns``
where the output's ``columnLineage`` facet covers that input, ``opaque`` otherwise); column edges
from the facet, their kind from its transformations (``masking: true`` or the deprecated
``transformationType: MASKED`` give ``masked``; DIRECT IDENTITY / TRANSFORMATION / AGGREGATION give
direct / expression / aggregate; INDIRECT subtypes give filter, join, group_by, sort, window or
conditional edges to the output table). ``schema`` facets add columns to the schema, ``tags``
facets add tags (``{key: pii, value: "true"}`` is ``pii``; other values give ``key:value``).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from engine.resources import data_dir

SPEC = "OpenLineage.json"
FACETS = {
    "columnLineage": ("ColumnLineageDatasetFacet.json", "ColumnLineageDatasetFacet"),
    "schema": ("SchemaDatasetFacet.json", "SchemaDatasetFacet"),
    "tags": ("TagsDatasetFacet.json", "TagsDatasetFacet"),
}
_SUBTYPES = {"IDENTITY": "direct", "TRANSFORMATION": "expression", "AGGREGATION": "aggregate"}
_INDIRECT = {"FILTER": "filter", "JOIN": "join", "GROUP_BY": "group_by", "SORT": "sort", "WINDOW": "window",
             "CONDITIONAL": "conditional"}
_RANK = {"direct": 0, "expression": 1, "aggregate": 2, "masked": 3}


@cache
def _validators():
    """The event validator and one validator per facet, with $refs resolved from local copies."""
    import jsonschema
    from referencing import Registry, Resource

    folder = data_dir("schemas") / "openlineage"
    resources = []
    documents = {}
    for path in sorted(Path(folder).glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        documents[path.name] = doc
        resources.append((doc["$id"], Resource.from_contents(doc)))
    registry = Registry().with_resources(resources)
    spec = documents[SPEC]
    cls = jsonschema.validators.validator_for(spec)
    event = cls(spec, registry=registry, format_checker=cls.FORMAT_CHECKER)
    facets = {}
    for key, (file, definition) in FACETS.items():
        doc = documents[file]
        facets[key] = cls({"$ref": f"{doc['$id']}#/$defs/{definition}"}, registry=registry,
                          format_checker=cls.FORMAT_CHECKER)
    return event, facets


def validate(event) -> str | None:
    """The first schema error of an event (and of the facets Gavel reads), or None."""
    _, problems = check(event)
    return problems[0] if problems else None


def check(event: dict) -> tuple[dict | None, list[str]]:
    """``(event, problems)``: the event with every facet that does not validate dropped (each one a
    problem), or ``(None, [reason])`` when the event itself does not validate.

    A bad facet (a schema field with ``type: null``, as some dbt versions write) loses only that
    facet: the event's datasets, run and the other facets still count.
    """
    from jsonschema.exceptions import best_match

    event_validator, facet_validators = _validators()
    bad_facets: dict[tuple, object] = {}
    envelope = []
    for error in event_validator.iter_errors(event):
        facet = _facet_of(error.absolute_path)
        if facet is None:
            envelope.append(error)
        else:
            bad_facets.setdefault(facet, error)
    if envelope:
        return None, [_describe(best_match(envelope), ())]
    for side in ("inputs", "outputs"):
        for i, dataset in enumerate(event.get(side) or ()):
            for key, facet in (dataset.get("facets") or {}).items():
                validator = facet_validators.get(key)
                if validator is not None and (side, i, "facets", key) not in bad_facets:
                    error = best_match(validator.iter_errors(facet))
                    if error is not None:
                        bad_facets[(side, i, "facets", key)] = error
    if not bad_facets:
        return event, []
    import copy

    from engine.schemas import field_path

    kept = copy.deepcopy(event)
    problems = []
    for path, error in sorted(bad_facets.items(), key=lambda item: [str(p) for p in item[0]]):
        holder = kept
        for part in path[:-1]:
            holder = holder[part]
        holder.pop(path[-1], None)
        inner = tuple(error.absolute_path)[len(path):] if tuple(error.absolute_path)[:len(path)] == path \
            else tuple(error.absolute_path)
        problems.append(f"facet '{field_path(path)}' dropped: " + _describe(error, (field_path(path),), inner))
    return kept, problems


def _facet_of(path) -> tuple | None:
    """The path of the facet an error is in (``('outputs', 0, 'facets', 'schema')``), if any."""
    parts = tuple(path)
    for i, part in enumerate(parts[:-1]):
        if part == "facets":
            return parts[: i + 2]
    return None


def _describe(error, prefix: tuple, inner: tuple | None = None) -> str:
    """``field 'a.b[0].c': <reason>``: the failing field's JSON path and why, never a dump of the event."""
    from engine.schemas import field_path

    while error.context:  # anyOf / oneOf: the branch that got deepest into the event says what is wrong
        from jsonschema.exceptions import best_match

        deepest = max(len(e.absolute_path) for e in error.context)
        error = best_match([e for e in error.context if len(e.absolute_path) == deepest])
    path = tuple(error.absolute_path) if inner is None else inner
    where = ".".join(p for p in [*prefix, field_path(path) if path else ""] if p)
    reason = _reason(error)
    return f"not a valid OpenLineage event: field '{where}': {reason}" if where else \
        f"not a valid OpenLineage event: {reason}"


def _reason(error) -> str:
    """What is wrong, in words that name the expectation, not the (possibly huge) value."""
    validator, expected = error.validator, error.validator_value
    if validator in ("required", "additionalProperties", "dependentRequired"):
        return error.message if len(error.message) <= 200 else error.message[:197] + "..."
    if validator == "type":
        return f"expected {' or '.join(expected) if isinstance(expected, list) else expected}, " \
               f"got {_json_type(error.instance)}"
    if validator == "enum":
        return f"expected one of {', '.join(map(json.dumps, expected))}, got {_short(error.instance)}"
    if validator == "const":
        return f"expected {json.dumps(expected)}, got {_short(error.instance)}"
    if validator == "format":
        return f"not a valid {expected}: {_short(error.instance)}"
    if validator in ("pattern", "minLength", "maxLength", "minimum", "maximum", "minItems", "maxItems"):
        return f"{_short(error.instance)} fails {validator} {expected!r}"
    return f"fails '{validator}' of the schema"


def _json_type(value) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)


def _short(value) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def events(text: str, display: str) -> tuple[list[tuple[int, object]], list[tuple[int, str]]]:
    """``([(line, event)], [(line, error)])`` from a JSON file (one event or a list) or NDJSON."""
    from engine.errors import EvidenceError
    from engine.evidence.loader import load_json

    out: list[tuple[int, object]] = []
    errors: list[tuple[int, str]] = []
    stripped = text.lstrip()
    if display.endswith((".ndjson", ".jsonl")) or (stripped.startswith("{") and _is_ndjson(text)):
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                out.append((number, load_json(line, display, line=number)))
            except EvidenceError as exc:
                errors.append((exc.line or number, exc.message))
        return out, errors
    try:
        data = load_json(text, display)
    except EvidenceError as exc:
        return [], [(exc.line or 1, exc.message)]
    if isinstance(data, list):
        lines = _item_lines(text, len(data))
        return [(lines[i], item) for i, item in enumerate(data)], []
    return [(1, data)], []


_ENVELOPE_KEYS = ("event", "payload", "value", "body", "data", "message")


def unwrap(item, depth: int = 0) -> list:
    """The events in one JSON item, as producers and transports write them: a bare event, a list,
    ``{"events": [...]}`` (Marquez and HTTP batch exports), or one event wrapped in ``event``,
    ``payload``, ``value``, ``body``, ``data`` or ``message`` (Kafka, Kinesis and proxy dumps), as an
    object or as a JSON string. Anything else is returned as is, to be rejected with its reason."""
    if depth > 3:
        return [item]
    if isinstance(item, list):
        return [e for sub in item for e in unwrap(sub, depth + 1)]
    if not isinstance(item, dict) or "eventType" in item or "run" in item or "job" in item or "dataset" in item:
        return [item]
    if isinstance(item.get("events"), list):
        return [e for sub in item["events"] for e in unwrap(sub, depth + 1)]
    for key in _ENVELOPE_KEYS:
        inner = item.get(key)
        if isinstance(inner, str) and inner.lstrip().startswith(("{", "[")):
            try:
                inner = json.loads(inner)
            except (json.JSONDecodeError, RecursionError):
                continue
        if isinstance(inner, dict | list):
            return unwrap(inner, depth + 1)
    return [item]


def _is_ndjson(text: str) -> bool:
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) < 2:
        return False
    try:
        json.loads(lines[0])
    except (ValueError, RecursionError):
        return False
    return True


def _item_lines(text: str, count: int) -> list[int]:
    """Line of each top-level list item (JSON is YAML: compose once for line numbers)."""
    import yaml

    try:
        node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # no Python recursion
        return [item.start_mark.line + 1 for item in node.value][:count] + [1] * max(0, count - len(node.value))
    except (yaml.YAMLError, AttributeError, RecursionError):
        return [1] * count


def dataset_node(dataset: dict) -> str:
    return str(dataset["name"]).strip().lower()


def read(ctx, source: dict, where: tuple) -> None:
    files = ctx.files(source, where)
    count = 0
    for display, text in ctx.texts(files):
        found, errors = events(text, display)
        for line, message in errors:
            ctx.problem(message, file=display, line=line)
        for line, event in [(line, e) for line, item in found for e in unwrap(item)]:
            if not isinstance(event, dict):
                ctx.problem("not a valid OpenLineage event: an event is a JSON object", file=display, line=line)
                continue
            kept, problems = check(event)
            if kept is None:
                ctx.problem(problems[0], file=display, line=line)
                continue
            for message in problems:  # a dropped facet: what it said is missing, the event still counts
                ctx.lg.unresolved.append({"file": display, "line": line, "message": message})
            add_event(ctx, kept, display, line)
            count += 1
    ctx.lg.sources.append({"type": "openlineage", "files": len(files), "events": count})


def add_event(ctx, event: dict, display: str, line: int) -> None:
    lg = ctx.lg
    where = {"file": display, "line": line}
    inputs = [d for d in event.get("inputs") or () if isinstance(d, dict)]
    outputs = [d for d in event.get("outputs") or () if isinstance(d, dict)]
    for dataset in inputs + outputs:
        _dataset_facets(ctx, dataset)
    job = event.get("job")
    job_node = None
    if isinstance(job, dict):
        job_node = lg.add_job(str(job["name"]))
        lg.g.nodes[job_node]["namespace"] = job.get("namespace")
    in_nodes = [lg.add_table(dataset_node(d)) for d in inputs]
    for output in outputs:
        out_node = lg.add_table(dataset_node(output))
        covered = _column_lineage(ctx, output, out_node, where, job)
        for in_node in in_nodes:
            lg.add_edge(in_node, out_node, "columns" if in_node in covered else "opaque", **where)
        if job_node:
            lg.add_edge(job_node, out_node, "output", **where)
    if job_node:
        for in_node in in_nodes:
            lg.add_edge(in_node, job_node, "input", **where)


def _column_lineage(ctx, output: dict, out_node: str, where: dict, job) -> set[str]:
    """Column edges of an output's ``columnLineage`` facet; returns the input tables it covers."""
    lg = ctx.lg
    facet = (output.get("facets") or {}).get("columnLineage")
    if not isinstance(facet, dict):
        return set()
    covered: set[str] = set()
    for field, spec in sorted((facet.get("fields") or {}).items()):
        dst = lg.add_column(out_node, field.lower())
        legacy = str(spec.get("transformationType") or "").upper()
        for item in spec.get("inputFields") or ():
            src_table = dataset_node(item)
            covered.add(src_table)
            src = lg.add_column(src_table, str(item["field"]).lower())
            for kind, indirect in _kinds(item.get("transformations"), legacy):
                lg.add_edge(src, out_node if indirect else dst, kind, **where)
    for item in facet.get("dataset") or ():
        src_table = dataset_node(item)
        covered.add(src_table)
        src = lg.add_column(src_table, str(item["field"]).lower())
        kinds = [k for k, indirect in _kinds(item.get("transformations"), "") if indirect] or ["indirect"]
        for kind in kinds:
            lg.add_edge(src, out_node, kind, **where)
    return covered


def _kinds(transformations, legacy: str) -> list[tuple[str, bool]]:
    """``[(kind, indirect)]`` of an input field. Without transformations, a value edge whose kind
    comes from the deprecated ``transformationType`` (MASKED, IDENTITY) or is ``expression``."""
    if not transformations:
        if legacy == "MASKED":
            return [("masked", False)]
        return [("direct", False)] if legacy == "IDENTITY" else [("expression", False)]
    direct: str | None = None
    out: list[tuple[str, bool]] = []
    for t in transformations:
        if not isinstance(t, dict):
            continue
        kind_type = str(t.get("type") or "").upper()
        subtype = str(t.get("subtype") or "").upper()
        if kind_type == "INDIRECT":
            out.append((_INDIRECT.get(subtype, "indirect"), True))
            continue
        kind = "masked" if t.get("masking") else _SUBTYPES.get(subtype, "expression")
        if direct is None or _RANK[kind] > _RANK[direct]:
            direct = kind  # several direct transformations in a row: the strongest describes the value
    if direct is not None:
        out.append((direct, False))
    return out


def _dataset_facets(ctx, dataset: dict) -> None:
    lg = ctx.lg
    facets = dataset.get("facets") or {}
    table = lg.add_table(dataset_node(dataset))
    if dataset.get("namespace"):
        lg.g.nodes[table].setdefault("namespace", dataset["namespace"])
    schema = facets.get("schema")
    if isinstance(schema, dict):
        names = [str(f["name"]) for f in schema.get("fields") or () if isinstance(f, dict) and f.get("name")]
        for name in names:
            lg.add_column(table, name.lower())
        if names and table not in ctx.catalog.tables:
            ctx.catalog.add(table, names)
    tags = facets.get("tags")
    if isinstance(tags, dict):
        for tag in tags.get("tags") or ():
            if not isinstance(tag, dict):
                continue
            key, value = str(tag.get("key", "")), str(tag.get("value", ""))
            name = key if value.lower() in ("", "true") else f"{key}:{value}"
            if tag.get("field"):
                lg.tag(lg.add_column(table, str(tag["field"]).lower()), [name])
            else:
                lg.tag(table, [name])
                lg.dataset_tags.setdefault(table, set()).add(name)
