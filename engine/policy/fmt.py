"""``gavel policy fmt``: write YAML policies in one canonical layout.

Keys in a fixed order (id, title, severity, level, target, frameworks, tags, description,
remediation, params, when, assert, message; in conditions: field, the operator, description),
two-space indentation, short lists of scalars inline, long text folded. Formatting never
changes meaning: the result is parsed back and compared with the original before it is used.

PyYAML does not keep comments, so a file with comments inside the policy is refused (move them
into ``description``); a comment header at the top of the file is kept.
"""

from __future__ import annotations

import yaml

from engine.errors import PolicyError
from engine.evidence.loader import parse

TOP_ORDER = ("id", "title", "severity", "level", "target", "frameworks", "tags", "description", "remediation",
             "params", "when", "assert", "message")
WIDTH = 100


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow=False, indentless=False):  # lists indented under their key
        return super().increase_indent(flow, False)


def _str(dumper, value: str):
    if "\n" in value.rstrip("\n"):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    if value.endswith("\n") or len(value) > WIDTH - 12:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=">")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


class _Flow(list):
    """A short list of scalars, written inline: ``[a, b]``."""


def _flow(dumper, value):
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=True)


class _FlowMap(dict):
    """A short mapping of scalars, written inline: ``{field: x, equals: y}``."""


def _flow_map(dumper, value):
    return dumper.represent_mapping("tag:yaml.org,2002:map", value.items(), flow_style=True)


_Dumper.add_representer(str, _str)
_Dumper.add_representer(_Flow, _flow)
_Dumper.add_representer(_FlowMap, _flow_map)


def _short(value) -> bool:
    return len(yaml.safe_dump(value, default_flow_style=True, width=10_000)) < WIDTH - 30


def _order(node, *, top: bool = False):
    if isinstance(node, dict):
        if top:
            keys = [k for k in TOP_ORDER if k in node] + [k for k in node if k not in TOP_ORDER]
        elif "field" in node:
            keys = ["field"] + [k for k in node if k not in ("field", "description")]
            keys += ["description"] if "description" in node else []
        else:
            keys = list(node)
        out = {k: _order(node[k]) for k in keys}
        flat = all(_scalar(v) or isinstance(v, _Flow | _FlowMap) for v in out.values())
        if not top and out and flat and _short(dict(node)) and not any("\n" in str(v) for v in out.values()):
            return _FlowMap(out)
        return out
    if isinstance(node, list):
        items = [_order(v) for v in node]
        if items and all(_scalar(v) for v in items) and _short(list(node)):
            return _Flow(items)
        return items
    return node


def _scalar(value) -> bool:
    return isinstance(value, str | int | float | bool) or value is None


def format_text(text: str, display: str) -> str:
    """The canonical form of one YAML policy file; raises ``PolicyError`` when it cannot be formatted safely."""
    try:
        doc = parse(text, display)
    except Exception as exc:  # EvidenceError: report it as a policy problem
        raise PolicyError(getattr(exc, "message", str(exc)), file=display, line=getattr(exc, "line", None)) from None
    header, body_comment = _comments(text)
    if body_comment:
        raise PolicyError("has comments inside the policy, which formatting would drop; move them into "
                          "'description' or above the first line", file=display, line=body_comment)
    data = doc.data
    if isinstance(data, list):
        ordered = [_order(item, top=True) for item in data]
        body = "\n".join(_dump([item]) for item in ordered)  # a blank line between policies
    else:
        body = _dump(_order(data, top=True))
    out = header + body
    if parse(out, display).data != data:  # never change meaning
        raise PolicyError("formatting would change the policy's meaning; left as is", file=display)
    return out


def _dump(data) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=WIDTH, indent=2,
                     default_flow_style=False)


def _comments(text: str) -> tuple[str, int | None]:
    """The comment header (leading comment and blank lines) and the line of the first comment after it."""
    lines = text.splitlines(keepends=True)
    i = 0
    while i < len(lines) and (lines[i].lstrip().startswith("#") or not lines[i].strip()):
        i += 1
    header = "".join(lines[:i]).rstrip("\n")
    header = header + "\n" if header else ""
    if "#" not in "".join(lines[i:]):
        return header, None
    for index, line in enumerate(lines[i:], start=i):
        if "#" in line and _has_comment(text, index):
            return header, index + 1
    return header, None


def _has_comment(text: str, index: int) -> bool:
    """Whether line ``index`` (0-based) holds a YAML comment (not a ``#`` inside a string)."""
    line = text.splitlines()[index]
    for pos, char in enumerate(line):
        if char == "#" and (pos == 0 or line[pos - 1] in " \t"):
            prefix = line[:pos]
            if prefix.count('"') % 2 == 0 and prefix.count("'") % 2 == 0:
                return True
    return False
