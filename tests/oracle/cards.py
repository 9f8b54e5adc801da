"""Cards generated from their JSON Schemas (the subset Gavel's card schemas use), for hypothesis.

hypothesis-jsonschema would do this, but its 0.23 release breaks on current hypothesis, so this
walks the schema itself: ``type``, ``enum``/``const``, ``properties``/``required``, ``items``, ``pattern``, ``minLength``,
``anyOf``/``oneOf``/``allOf``, local ``$ref``; strings favour the values where engines disagree.
Whatever the walk cannot express (``if``/``then``) is left to a validity
filter: generated cards that fail the schema are dropped, as Gavel drops them before policies.
"""

from __future__ import annotations

from hypothesis import strategies as st

STRINGS = st.sampled_from(["", "x", "TODO", "TODOé", "é", "\u00a0", "a\u00a0b", "👍🏽", "ß", "İ", "eu", "region:eu",
                           "europe-west4", "us-east-1", "high", "approved", "2026-11-26", "2026-11-26T00:00:00Z",
                           "2025-11-26", "2026-11-26 00:00:00Z", "raw.customers", "ops@bank.example",
                           "https://wiki.example/x"]) | st.text(max_size=8)
NUMBERS = st.sampled_from([0, 1, -1, 0.1, 0.5, 0.85, 1e-8, 1e-5, 2.5, 100, 1e9, 0.30000000000000004]) | st.floats(
    min_value=-1e6, max_value=1e6, allow_nan=False)


def strategy(schema: dict, root: dict | None = None, depth: int = 0) -> st.SearchStrategy:
    root = root or schema
    if "$ref" in schema:
        target = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return strategy({**target, **{k: v for k, v in schema.items() if k != "$ref"}}, root, depth)
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return st.one_of([strategy(s, root, depth) for s in schema[key]])
    if "allOf" in schema:
        merged = dict(schema)
        for part in merged.pop("allOf"):
            for key, value in part.items():
                if key == "properties":
                    merged["properties"] = {**merged.get("properties", {}), **value}
                elif key == "required":
                    merged["required"] = [*merged.get("required", []), *value]
                elif key not in ("if", "then", "else"):
                    merged.setdefault(key, value)
        return strategy(merged, root, depth)
    kind = schema.get("type")
    if isinstance(kind, list):
        return st.one_of([strategy({**schema, "type": k}, root, depth) for k in kind])
    if kind == "object" or "properties" in schema:
        return _object(schema, root, depth)
    if kind == "array":
        items = strategy(schema.get("items", {"type": "string"}), root, depth + 1) if depth < 4 else STRINGS
        return st.lists(items, min_size=schema.get("minItems", 0), max_size=3)
    if kind == "string" and "pattern" in schema:
        return st.from_regex(schema["pattern"], fullmatch=True).filter(lambda v: len(v) <= 40)
    if kind == "string" and schema.get("minLength"):
        return STRINGS.filter(lambda v: len(v) >= schema["minLength"])
    if kind in ("number", "integer") and ({"minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"} & set(schema)):
        low = schema.get("minimum", schema.get("exclusiveMinimum", -1e6))
        high = schema.get("maximum", schema.get("exclusiveMaximum", 1e9))
        numbers = NUMBERS if kind == "number" else st.integers(-5, 10**9)
        return numbers.filter(lambda v: low <= v <= high and v not in (schema.get("exclusiveMinimum"),
                                                                        schema.get("exclusiveMaximum")))
    return {"string": STRINGS, "number": NUMBERS, "integer": st.integers(-5, 10**9), "boolean": st.booleans(),
            "null": st.none()}.get(kind, STRINGS | NUMBERS | st.booleans() | st.none())


def _object(schema: dict, root: dict, depth: int) -> st.SearchStrategy:
    properties = schema.get("properties", {})
    required = set(schema.get("required", []))
    if depth > 4:
        return st.fixed_dictionaries({k: STRINGS for k in required})
    return st.fixed_dictionaries(
        {k: strategy(v, root, depth + 1) for k, v in properties.items() if k in required},
        optional={k: strategy(v, root, depth + 1) for k, v in properties.items() if k not in required},
    )
