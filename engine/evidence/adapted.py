"""What the card adapters share: a Gavel card built from another format, with its origin.

An adapter builds the card field by field with ``Card.set(gavel_path, value, source_path,
line)``. The result is an ``AdaptedDocument``: its ``data`` is the Gavel card, with an
``x-source`` key recording, for every Gavel field, the field path and line in the original file
(so a finding or a schema error points at the source line), and its ``line_of`` maps Gavel
field paths to those source lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.errors import EvidenceError
from engine.evidence.loader import Document


def dotted(loc: Sequence[str | int]) -> str:
    """``["metrics", "performance", 0, "value"]`` → ``metrics.performance[0].value``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@dataclass
class AdaptedDocument(Document):
    """A Gavel card adapted from another format; lines point into the original file."""

    origin: dict[str, int] = field(default_factory=dict)  # dotted Gavel path -> source line
    default_line: int = 1

    def line_of(self, loc: Sequence[str | int]) -> int | None:
        loc = list(loc)
        while loc:
            line = self.origin.get(dotted(loc))
            if line is not None:
                return line
            loc.pop()
        return self.default_line

    def key_line(self, key: str) -> int | None:
        return self.origin.get(key, self.default_line)


class Card:
    """A Gavel card under construction, remembering where each field came from."""

    def __init__(self, fmt: str, *, kind: str):
        self.data: dict[str, Any] = {}
        self.kind = kind
        self.fmt = fmt
        self.fields: dict[str, dict[str, Any]] = {}
        self.lines: dict[str, int] = {}
        self.extra: dict[str, Any] = {}

    def set(self, path: Sequence[str | int], value: Any, source: str, line: int | None) -> None:
        """Set ``path`` (Gavel field path, list of keys) to ``value``; skip None and empty values."""
        if value is None or value == "" or value == [] or value == {}:
            return
        node = self.data
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value
        self.note(path, source, line)

    def append(self, path: Sequence[str], value: Any, source: str, line: int | None) -> None:
        """Append ``value`` to the list at ``path``."""
        node = self.data
        for key in path[:-1]:
            node = node.setdefault(key, {})
        items = node.setdefault(path[-1], [])
        items.append(value)
        self.note([*path, len(items) - 1], source, line)

    def note(self, path: Sequence[str | int], source: str, line: int | None) -> None:
        key = dotted(path)
        self.fields[key] = {"path": source, "line": line}
        if line is not None:
            self.lines[key] = line

    def document(self, doc: Document, *, default_line: int = 1) -> AdaptedDocument:
        data = dict(self.data)
        data["x-source"] = {"format": self.fmt, "file": doc.path, "fields": dict(sorted(self.fields.items())),
                            **self.extra}
        return AdaptedDocument(doc.path, doc.text, data, origin=self.lines, default_line=default_line)


def fail(message: str, doc: Document, line: int | None) -> EvidenceError:
    return EvidenceError(message, file=doc.path, line=line)


def slug(text: str) -> str:
    """A card id from a free-text name: ``Credit Scoring (v3)`` → ``credit-scoring-v3``."""
    import re

    out = re.sub(r"[^A-Za-z0-9._:/-]+", "-", text.strip()).strip("-._:/").lower()
    return out or "unnamed"


def as_list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def coerce(value: Any, doc: Document | None = None, line: int | None = None) -> Any:
    """A tag value: JSON (lists, objects, numbers, booleans) when it parses as such, else the string.

    JSON that parses but holds what Gavel refuses (a duplicate key, NaN, a lone surrogate, deep
    nesting) is an ``EvidenceError`` at ``line``, never a silent last-one-wins.
    """
    from engine.evidence.loader import load_json

    if isinstance(value, str):
        text = value.strip()
        if text[:1] in "[{" or text in ("true", "false") or _NUMERIC.match(text):
            try:
                return load_json(text, doc.path if doc else "<tag>")
            except EvidenceError as exc:
                if exc.message.startswith("invalid JSON"):
                    return value  # not JSON after all: the plain string
                raise EvidenceError(f"tag value: {exc.message}", file=doc.path if doc else None, line=line) from None
    return value


def put(card: Card, path: list[str], value: Any, source: str, line: int | None) -> None:
    """Set a Gavel field from a ``gavel.a.b`` key (overriding what was derived), noting nested lines."""
    node = card.data
    for key in path[:-1]:
        existing = node.get(key)
        if not isinstance(existing, dict):
            node[key] = {}
        node = node[key]
    node.pop(path[-1], None)
    card.set(path, value, source, line)
    if isinstance(value, dict | list):
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, _child in items:
            card.note([*path, key], source, line)


_NUMERIC = __import__("re").compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")


LOWER_IS_BETTER = __import__("re").compile(
    r"error|loss|\bmse\b|\bmae\b|mape|rmse|brier|perplexity|\bwer\b|\bcer\b|latency", __import__("re").IGNORECASE)


def direct(metric: dict[str, Any]) -> dict[str, Any]:
    """Mark error-like metrics (``mape``, ``log_loss``, ``wer``, ...) as lower-is-better."""
    if LOWER_IS_BETTER.search(metric["name"]):
        metric["higher_is_better"] = False
    return metric
