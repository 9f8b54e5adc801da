"""JSON Schema validation of every file Gavel reads, with errors that name the file, line and field."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from engine.errors import EvidenceError
from engine.resources import schema_path


@cache
def validator(name: str, definition: str | None = None):
    """A compiled validator for ``schemas/<name>.schema.json``, or for one of its ``$defs``."""
    import jsonschema

    schema = json.loads(schema_path(name).read_text())
    if definition:
        schema = {"$schema": schema.get("$schema"), "$defs": schema["$defs"], "$ref": f"#/$defs/{definition}"}
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def errors(name: str, data: Any, definition: str | None = None) -> list:
    """All schema errors, most specific first, in document order."""
    found = list(validator(name, definition).iter_errors(data))
    return sorted(found, key=lambda e: (list(map(str, e.absolute_path)), -len(e.absolute_path)))


def describe(error) -> str:
    """``field 'a.b[0]': message`` for one jsonschema error."""
    from jsonschema.exceptions import best_match

    if error.context:  # oneOf/anyOf: report the branch that got furthest
        error = best_match(error.context)
    where = field_path(error.absolute_path)
    message = error.message
    if error.validator == "pattern" and error.validator_value == "\\S":  # the schemas' "not blank"
        message = f"{error.instance!r} is blank"
    if len(message) > 200:
        message = message[:197] + "..."
    return f"field '{where}': {message}" if where else message


def _unknown_field(error) -> tuple[str, str] | None:
    """For an additionalProperties error: the first unexpected key and a "did you mean" hint."""
    import re
    from difflib import get_close_matches

    if error.validator != "additionalProperties" or not isinstance(error.instance, dict):
        return None
    known = set(error.schema.get("properties", {}))
    patterns = list(error.schema.get("patternProperties", {}))
    extras = [k for k in error.instance if k not in known and not any(re.search(p, k) for p in patterns)]
    if not extras:
        return None
    close = get_close_matches(extras[0], sorted(known), n=1)
    return extras[0], f" (did you mean '{close[0]}'?)" if close else ""


def field_path(loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def check(name: str, doc, *, at: tuple = (), error=EvidenceError, definition: str | None = None) -> None:
    """Raise ``error`` (file, line, field) for the first schema error of a ``Document``.

    ``at`` validates one section of the document (e.g. ``("lineage",)`` of ``gavel.yaml``).
    """
    data = doc.data
    for key in at:
        data = data[key]
    found = errors(name, data, definition)
    if found:
        first = found[0]
        if first.context:
            from jsonschema.exceptions import best_match

            first = best_match(first.context)
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        unknown = _unknown_field(first)
        if unknown:  # name the field itself, with its own line, and suggest the likely one
            key, hint = unknown
            loc = [*at, *first.absolute_path, key]
            where = field_path([*first.absolute_path, key])
            raise error(f"unknown field '{where}'{hint}{more}", file=doc.path, line=doc.line_of(loc))
        loc = [*at, *first.absolute_path]
        if at:
            first.path.extendleft(reversed(at))  # so the message names the full field path
        raise error(describe(first) + more, file=doc.path, line=doc.line_of(loc))
