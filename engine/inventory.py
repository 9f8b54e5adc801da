"""The inventory: every subject Gavel knows of, read from the evidence, plus derived state.

Later stages attach their own state: ``inventory.lineage`` (engine.lineage) and
``inventory.privacy`` (engine.privacy). Problems found while reading become ``error`` findings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.findings import Finding, InputDigest, Source


@dataclass
class Record:
    """One declared subject: a model card or a dataset card, validated."""

    kind: str
    id: str
    data: dict[str, Any]
    source: Source


@dataclass
class Inventory:
    root: Path
    models: dict[str, Record] = field(default_factory=dict)
    datasets: dict[str, Record] = field(default_factory=dict)
    problems: list[Finding] = field(default_factory=list)
    inputs: list[InputDigest] = field(default_factory=list)
    lineage: Any = None  # engine.lineage.LineageGraph, when lineage sources are configured
    privacy: Any = None  # engine.privacy.PrivacyState, when budgets or a ledger are configured

    def records(self, kind: str) -> dict[str, Record]:
        return {"model": self.models, "dataset": self.datasets}[kind]


def add_records(inv: Inventory, records: list[Record]) -> None:
    """Add validated cards to the inventory, except cards that share a kind and id.

    Two cards with one id (for datasets, one table name in any case: lineage matches them so)
    are each an ``error`` finding naming the other's file and line, and
    neither is judged: Gavel cannot tell which one is canonical (the order files sort in says
    nothing), and judging either would report on one card while the other hides behind it.
    """
    from engine.findings import error_finding

    first: dict[tuple[str, str], Record] = {}
    again: dict[tuple[str, str], list[Record]] = {}  # only the ids declared twice: a list per card is slow
    for record in records:
        # A dataset id names a table, and lineage matches table names case-insensitively.
        key = (record.kind, record.id.lower() if record.kind == "dataset" else record.id)
        if key in first:
            again.setdefault(key, [first[key]]).append(record)
        else:
            first[key] = record
    into = {"model": inv.models, "dataset": inv.datasets}
    for key, one in first.items():
        found = again.get(key)
        if found is None:
            into[one.kind][one.id] = one
            continue
        kind = one.kind
        for record in found:
            others = ", ".join(f"{o.source.file}:{o.source.line}" for o in found if o is not record)
            inv.problems.append(error_finding(
                policy="gavel-evidence", title="Evidence file is valid", kind=kind, id=record.id,
                message=f"duplicate {kind} id '{record.id}' (also declared in {others}): neither card is judged "
                        "until one is renamed or removed",
                file=record.source.file, line=record.source.line,
            ))


def build_inventory(config, *, now: str, aside=None) -> Inventory:
    """Read the evidence, then let the lineage and privacy stages attach their state. ``aside``:
    see ``load_evidence``."""
    from engine.evidence import load_evidence

    inv = Inventory(root=config.root)
    load_evidence(config, inv, aside=aside)
    if config.observations:
        from engine import observations

        observations.attach(config, inv)
    if config.lineage:
        from engine import lineage

        lineage.build(config, inv)
    if config.privacy or any("privacy_budget" in r.data for r in inv.datasets.values()):
        from engine import privacy

        privacy.build(config, inv, now)
    return inv
