"""The input document: one JSON document per subject, the same for YAML and Rego policies.

Shape (``schemas/input.schema.json``): ``kind``, ``id``, ``source``, ``subject`` (the card),
``lineage`` (derived lineage facts), ``privacy`` (budgets involved), ``now``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.findings import Source
from engine.inventory import Inventory, Record

EMPTY_LINEAGE: dict[str, Any] = {
    "upstream": [],  # [{"id", "type", "tags"}]: tables and columns this subject reads from, transitively
    "downstream": [],  # [{"id", "type", "tags"}]: what reads from this subject, transitively
    "tagged_sources": [],  # [{"tag", "source", "path": [node ids]}]: tagged nodes that reach it
    "tags": [],  # every tag that reaches this subject
}
EMPTY_PRIVACY: dict[str, Any] = {"budgets": [], "spends": []}  # budgets involved; this subject's own spends


@dataclass
class Subject:
    """One thing policies judge, and its input document."""

    kind: str
    id: str
    source: Source | None
    doc: dict[str, Any]


def _source_dict(source: Source | None) -> dict | None:
    return {"file": source.file, "line": source.line} if source else None


def subject_of(record: Record, *, now: str, lineage: dict | None = None, privacy: dict | None = None) -> Subject:
    doc = {
        "kind": record.kind,
        "id": record.id,
        "source": _source_dict(record.source),
        "subject": record.data,
        "lineage": lineage if lineage is not None else EMPTY_LINEAGE,
        "privacy": privacy if privacy is not None else EMPTY_PRIVACY,
        "now": now,
    }
    return Subject(record.kind, record.id, record.source, doc)


def build_subjects(inv: Inventory, *, now: str) -> list[Subject]:
    """Every subject of the inventory, in a stable order (kind, then id)."""
    out: list[Subject] = []
    for kind in ("model", "dataset"):
        records = inv.records(kind)
        for key in sorted(records):
            record = records[key]
            lineage = inv.lineage.facts(kind, record.id) if inv.lineage is not None else None
            privacy = inv.privacy.facts(record) if inv.privacy is not None else None
            out.append(subject_of(record, now=now, lineage=lineage, privacy=privacy))
    if inv.lineage is not None:
        graph = Record("lineage", "lineage", inv.lineage.subject(), Source(file=".", line=None))
        out.append(subject_of(graph, now=now))
    if inv.privacy is not None:
        for record in sorted(inv.privacy.subjects(), key=lambda r: r.id):
            out.append(subject_of(record, now=now))
    return out


def inventory_data(inv: Inventory) -> dict[str, Any]:
    """What Rego sees as ``data.gavel.inventory``: every card by kind and id, for cross-subject rules."""
    return {
        "models": {k: r.data for k, r in sorted(inv.models.items())},
        "datasets": {k: r.data for k, r in sorted(inv.datasets.items())},
    }
