"""``gavel policy fmt``: write YAML policies in one canonical layout, keeping what people wrote.

A round trip through ruamel.yaml (made for exactly this: it keeps comments, quotes, folded text
and the flow or block style of each collection), plus a few canonical rules:

- top-level keys in a fixed order (id, title, severity, level, target, frameworks, tags,
  description, remediation, params, when, assert, message); in a condition, ``field`` first and
  ``description`` last;
- two-space indentation, list items indented under their key;
- inline (``[a, b]``, ``{field: x, equals: y}``) or block collections stay as written, except an
  inline one whose line would pass 120 columns, which becomes a block (ruamel writes an inline
  collection on one line, so a hand-wrapped long one cannot stay wrapped).

Formatting never changes meaning: the result is parsed back (PyYAML, safe) and compared with
the original before it is used. Only policy files are touched (a mapping, or a list of them,
with ``id`` and ``assert``): catalogs, packs, tests, cards and configs are left alone.
"""

from __future__ import annotations

import io

import yaml

from engine.errors import PolicyError
from engine.evidence.loader import parse

TOP_ORDER = ("id", "title", "severity", "level", "target", "frameworks", "tags", "description", "remediation",
             "params", "when", "assert", "message")
WIDTH = 120


class NotAPolicy(PolicyError):
    """The file is YAML but not a policy (a catalog, a pack, a card, a config): fmt leaves it alone."""


def is_policy(data) -> bool:
    """A YAML policy document: a mapping (or a non-empty list of them) with ``id`` and ``assert``."""
    items = data if isinstance(data, list) else [data]
    return bool(items) and all(isinstance(i, dict) and "id" in i and "assert" in i for i in items)


def _yaml():
    from ruamel.yaml import YAML

    rt = YAML(typ="rt")
    rt.preserve_quotes = True
    # Escapes stay escapes: a regex that spells out Unicode spaces must not become invisible
    # characters in the file (policies are ASCII; other text round-trips as \u escapes).
    rt.allow_unicode = False
    rt.width = 4096  # never re-wrap what people wrapped; long inline collections become blocks instead
    rt.indent(mapping=2, sequence=4, offset=2)
    return rt


def _reorder(node, keys: list) -> None:
    for key in keys:
        node.move_to_end(key)


def _inline_length(node) -> int:
    """The length of ``node`` written inline (flow style)."""
    return len(yaml.safe_dump(_plain(node), default_flow_style=True, width=10**6).strip())


def _plain(node):
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, str):  # ruamel's quoted-string subclasses: as plain text
        return str(node)
    if isinstance(node, int | float):
        return float(node) if isinstance(node, float) else int(node)
    return str(node)


def _is_flow(node) -> bool:
    return bool(getattr(node, "fa", None) and node.fa.flow_style())


def _canonical(node, *, indent: int, top: bool = False) -> None:
    """Apply the canonical rules in place; ``indent`` is the column the node's lines start at."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(node, CommentedMap):
        if top:
            _reorder(node, [k for k in TOP_ORDER if k in node] + [k for k in node if k not in TOP_ORDER])
        elif "field" in node:
            _reorder(node, ["field", *[k for k in node if k not in ("field", "description")]]
                     + (["description"] if "description" in node else []))
        for key, value in node.items():
            if _is_flow(value) and indent + len(str(key)) + 2 + _inline_length(value) > WIDTH:
                value.fa.set_block_style()
            _canonical(value, indent=indent + 2)
    elif isinstance(node, CommentedSeq):
        for value in node:
            if _is_flow(value) and indent + 4 + _inline_length(value) > WIDTH:
                value.fa.set_block_style()
            _canonical(value, indent=indent + 4)


def format_text(text: str, display: str) -> str:
    """The canonical form of one YAML policy file; raises ``PolicyError`` when it cannot be formatted safely."""
    try:
        doc = parse(text, display)
    except Exception as exc:  # EvidenceError: report it as a policy problem
        raise PolicyError(getattr(exc, "message", str(exc)), file=display, line=getattr(exc, "line", None)) from None
    data = doc.data
    if not is_policy(data):
        raise NotAPolicy("not a YAML policy (a mapping with id and assert, or a list of them): left as is",
                         file=display)
    rt = _yaml()
    try:
        tree = rt.load(text)
    except Exception as exc:  # ruamel refuses something PyYAML accepted: leave the file alone
        raise PolicyError(f"cannot be formatted safely ({type(exc).__name__}): left as is", file=display) from None
    for item in tree if isinstance(tree, list) else [tree]:
        _canonical(item, indent=2 if isinstance(tree, list) else 0, top=True)
    buffer = io.StringIO()
    rt.dump(tree, buffer)
    out = buffer.getvalue()
    if parse(out, display).data != data:  # never change meaning
        raise PolicyError("formatting would change the policy's meaning; left as is", file=display)
    return out


def show_text(definition: dict) -> str:
    """A parsed policy as YAML for display (``gavel policy show``): top-level keys in canonical order."""
    ordered = {k: definition[k] for k in TOP_ORDER if k in definition}
    ordered.update({k: v for k, v in definition.items() if k not in ordered})
    return yaml.safe_dump(ordered, sort_keys=False, allow_unicode=True, width=100, indent=2)
