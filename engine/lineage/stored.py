"""The lineage stage's result, stored: a warm ``gavel check`` whose lineage inputs are unchanged
reads the facts every subject gets from ``.gavel/cache/lineage-facts.json`` and imports neither
sqlglot nor networkx (~0.5 s of a CI gate).

The key is a SHA-256 of everything the graph is built from: the ``lineage:`` section, the path and
content of every file its sources match, every model and dataset card (their ids, locations and
the fields lineage reads, ``engine.lineage.CARD_FIELDS``: the graph is built from exactly those), the read limits, and Gavel's version and the installed sqlglot and networkx
(fingerprints of their ``RECORD`` files). The value is what
the rest of the run reads from the stage: each card's facts, the ``lineage`` subject, the problems
and input digests it recorded. The file is authenticated (``engine.cachefile``), so a planted one is ignored.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

FILE = "lineage-facts.json"
FORMAT = 1


def key(config, inv) -> str | None:
    """The digest of every input of the lineage stage (``inv``: the cards as lineage sees them,
    ``engine.lineage.lineage_view``), or ``None`` when one cannot be read."""
    from engine import __version__
    from engine.decisions import installed
    from engine.evidence import expand, relative

    versions = [installed("sqlglot", "sqlglot"), installed("networkx", "networkx")]
    if None in versions:
        return None
    section = config.lineage or {}
    h = hashlib.sha256()
    h.update(json.dumps([FORMAT, __version__, versions, section, config.max_bytes, config.max_depth],
                        sort_keys=True, default=str).encode())
    for source in section.get("sources", []):
        patterns = source.get("path") or []
        patterns = patterns if isinstance(patterns, list) else [patterns]
        exclude = source.get("exclude") or []
        paths = expand(config.root, patterns, exclude if isinstance(exclude, list) else [exclude])
        if source.get("type") == "dbt":  # the dbt reader also reads catalog.json beside each manifest
            paths += [c for c in (p.with_name("catalog.json") for p in paths) if c.is_file() and c not in paths]
        for path in paths:
            try:
                data = path.read_bytes()
            except OSError:
                return None
            h.update(f"\0{relative(path, config.root)}\0{len(data)}\0".encode())
            h.update(data)
    for kind, records in (("model", inv.models), ("dataset", inv.datasets)):
        for record_key in sorted(records):
            record = records[record_key]
            source = record.source
            h.update(json.dumps([kind, record_key, record.id, record.data, source.file if source else None,
                                 source.line if source else None], sort_keys=True, default=str).encode())
    return h.hexdigest()


class StoredLineage:
    """Answers what ``build_subjects`` and the privacy stage ask of a lineage graph
    (``facts(kind, id)``, ``subject()``) from stored facts; builds the real graph only if asked
    anything else."""

    def __init__(self, facts: dict[str, dict[str, Any]], subject: dict[str, Any], build,
                 locations: dict[str, Any] | None = None, remember=None):
        self._facts = facts
        self._subject = subject
        self._build = build
        self._graph = None
        #: Where findings on the lineage subject were anchored before (engine.lineage.locate), by
        #: a digest of what a finding says; ``remember`` stores new ones with the facts.
        self.locations = locations if locations is not None else {}
        self._remember = remember

    def remember(self, locations: dict[str, Any]) -> None:
        if self._remember is not None and locations:
            self.locations.update(locations)
            self._remember(self.locations)

    def facts(self, kind: str, id: str) -> dict:
        found = self._facts.get(kind, {}).get(id)
        return found if found is not None else self.graph().facts(kind, id)

    def subject(self) -> dict:
        return self._subject

    def graph(self):
        if self._graph is None:
            self._graph = self._build()
        return self._graph

    def __getattr__(self, name: str):
        return getattr(self.graph(), name)


def load(path: Path, digest: str) -> dict | None:
    from engine import cachefile

    body = cachefile.read(path, str(FORMAT))
    if body is None:
        return None
    try:
        data = json.loads(bytes(body))
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("key") != digest:
        return None
    return data


def save(path: Path, digest: str, graph, inv, problems: list, inputs: list) -> dict:
    """Store what the run reads from ``graph``; returns the facts (so they are computed once)."""
    facts = {"model": {r.id: graph.facts("model", r.id) for _, r in sorted(inv.models.items())},
             "dataset": {r.id: graph.facts("dataset", r.id) for _, r in sorted(inv.datasets.items())}}
    data = {"format": FORMAT, "key": digest, "facts": facts, "subject": graph.subject(),
            "problems": [f.to_dict() for f in problems],
            "inputs": [[i.path, i.kind, i.sha256] for i in inputs], "locations": {}}
    write(path, data)
    return data


def write(path: Path, data: dict) -> None:
    from engine import cachefile

    cachefile.write(path, str(FORMAT), json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str).encode())


def finding(data: dict):
    """A problem finding back from its ``to_dict()``."""
    from engine.findings import Finding, Source, SubjectRef

    s = data["subject"]
    source = Source(**s["source"]) if s.get("source") else None
    return Finding(**{**data, "subject": SubjectRef(kind=s["kind"], id=s["id"], source=source)})
