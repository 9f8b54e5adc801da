"""JSON Schema validation of every file Gavel reads, with errors that name the file, line and field."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from engine.errors import EvidenceError
from engine.resources import schema_path


@cache
def validator(name: str):
    """A compiled validator for ``schemas/<name>.schema.json`` (compiled once per process)."""
    import jsonschema

    schema = json.loads(schema_path(name).read_text())
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def errors(name: str, data: Any) -> list:
    """All schema errors, most specific first, in document order."""
    found = list(validator(name).iter_errors(data))
    return sorted(found, key=lambda e: (list(map(str, e.absolute_path)), -len(e.absolute_path)))


def describe(error) -> str:
    """``field 'a.b[0]': message`` for one jsonschema error."""
    from jsonschema.exceptions import best_match

    if error.context:  # oneOf/anyOf: report the branch that got furthest
        error = best_match(error.context)
    where = field_path(error.absolute_path)
    message = error.message
    if len(message) > 200:
        message = message[:197] + "..."
    return f"field '{where}': {message}" if where else message


def field_path(loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def check(name: str, doc, *, at: tuple = (), error=EvidenceError) -> None:
    """Raise ``error`` (file, line, field) for the first schema error of a ``Document``.

    ``at`` validates one section of the document (e.g. ``("lineage",)`` of ``gavel.yaml``).
    """
    data = doc.data
    for key in at:
        data = data[key]
    found = errors(name, data)
    if found:
        first = found[0]
        if first.context:
            from jsonschema.exceptions import best_match

            first = best_match(first.context)
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        loc = [*at, *first.absolute_path]
        if at:
            first.path.extendleft(reversed(at))  # so the message names the full field path
        raise error(describe(first) + more, file=doc.path, line=doc.line_of(loc))
