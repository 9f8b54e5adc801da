"""Safe reading of untrusted YAML and JSON files, with line numbers for error messages.

Evidence is untrusted: a 1 KB YAML alias bomb loads in a millisecond but expands to gigabytes
of JSON on its way to the Rego engine. Files are refused when they use aliases, nest too deep
or are too large. Line numbers are only computed when an error needs one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from engine.errors import EvidenceError

try:  # libyaml is several times faster; fall back to the pure-Python loader.
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _SafeLoader


class _Loader(_SafeLoader):
    """Safe loader that keeps dates as ISO strings: JSON and Rego have no date type."""


_Loader.yaml_implicit_resolvers = {
    first: [r for r in resolvers if r[0] != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 5 * 1024 * 1024
    max_depth: int = 64
    allow_aliases: bool = False


DEFAULT_LIMITS = Limits()


@dataclass
class Document:
    """A parsed file: its data, its text, and a lazy map from field paths to lines."""

    path: str  # as shown to users (relative to the project root)
    text: str
    data: Any
    _nodes: Any = field(default=None, repr=False)

    def key_line(self, key: str) -> int | None:
        """Line of a top-level ``key`` by a cheap text scan (no re-parse); None if not found."""
        match = re.search(rf'^(?:{re.escape(key)}|\s*"{re.escape(key)}")\s*:', self.text, re.MULTILINE)
        return self.text.count("\n", 0, match.start()) + 1 if match else None

    def line_of(self, loc: Sequence[str | int]) -> int | None:
        """The 1-based line of the field at ``loc`` (or of its nearest existing parent)."""
        if self._nodes is None:
            try:
                self._nodes = yaml.compose(self.text, Loader=yaml.SafeLoader) or False
            except yaml.YAMLError:
                self._nodes = False
        node = self._nodes
        if not node:
            return None
        line = node.start_mark.line + 1
        for key in loc:
            child = None
            if isinstance(node, yaml.MappingNode):
                for k, v in node.value:
                    if k.value == str(key):
                        child = k if v is None else v
                        line = k.start_mark.line + 1
                        break
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
                child = node.value[key]
                line = child.start_mark.line + 1
            if child is None:
                break
            node = child
        return line


def read_text(path: Path, display: str, limits: Limits = DEFAULT_LIMITS) -> str:
    try:
        size = path.stat().st_size
        if size > limits.max_bytes:
            raise EvidenceError(f"file is {size} bytes, over the {limits.max_bytes}-byte limit", file=display)
        raw = path.read_bytes()
    except OSError as exc:
        raise EvidenceError(f"cannot read file: {exc.strerror or exc}", file=display) from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise EvidenceError(f"not UTF-8 text (byte {exc.start})", file=display) from exc


def parse(text: str, display: str, *, fmt: str | None = None, limits: Limits = DEFAULT_LIMITS) -> Document:
    """Parse YAML or JSON text (by ``fmt`` or the file suffix) under ``limits``."""
    fmt = fmt or ("json" if display.endswith(".json") else "yaml")
    if fmt == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise EvidenceError(f"invalid JSON: {exc.msg} (column {exc.colno})", file=display, line=exc.lineno) from exc
        except RecursionError as exc:
            raise EvidenceError(f"nesting deeper than {limits.max_depth} levels", file=display) from exc
    else:
        if not limits.allow_aliases and "*" in text:
            _refuse_aliases(text, display)
        try:
            data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a *safe* loader
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else None
            raise EvidenceError(f"invalid YAML: {exc.problem or exc.context}", file=display, line=line) from exc
        except yaml.YAMLError as exc:
            raise EvidenceError(f"invalid YAML: {exc}", file=display) from exc
        except RecursionError as exc:
            raise EvidenceError(f"nesting deeper than {limits.max_depth} levels", file=display) from exc
    doc = Document(display, text, data)
    _check_depth(doc, limits.max_depth)
    return doc


def read_document(path: Path, display: str, *, fmt: str | None = None, limits: Limits = DEFAULT_LIMITS) -> Document:
    return parse(read_text(path, display, limits), display, fmt=fmt, limits=limits)


def _refuse_aliases(text: str, display: str) -> None:
    try:
        for event in yaml.parse(text, Loader=_SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                line = event.start_mark.line + 1 if event.start_mark else None
                raise EvidenceError(
                    f"YAML alias '*{event.anchor}' refused: aliases can expand a small file into gigabytes",
                    file=display,
                    line=line,
                )
    except yaml.MarkedYAMLError:
        return  # the real parse reports the syntax error with its line


def _check_depth(doc: Document, max_depth: int) -> None:
    stack: list[tuple[Any, int, tuple]] = [(doc.data, 1, ())]
    while stack:
        value, depth, loc = stack.pop()
        if isinstance(value, dict):
            items = value.items()
        elif isinstance(value, list):
            items = enumerate(value)
        else:
            continue
        if depth > max_depth:
            raise EvidenceError(f"nesting deeper than {max_depth} levels", file=doc.path, line=doc.line_of(loc))
        for k, v in items:
            if isinstance(v, dict | list):
                stack.append((v, depth + 1, loc + (k,)))
