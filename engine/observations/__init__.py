"""Observations: results other tools computed about a subject, attached to its card.

A card says what a team *declares*; an observation is what a tool *measured*, with its own time:
a Great Expectations validation of a dataset, an Evidently drift report on a model, fairness
metrics computed with fairlearn. ``gavel.yaml`` lists the files::

    observations:
      - {type: great_expectations, path: quality/gx/*.json}     # matched by data asset name
      - {type: evidently, path: monitoring/*.json, model: credit-scorer}
      - {type: fairlearn, path: fairness/*.json}                 # the file names its model

``attach(config, inv)`` is the stage entry point: each file is read (no tool is imported: Gavel
reads the JSON the tools write), matched to a card, and added to the card's ``observations``
(``validations``, ``drift``, ``fairness``; newest first), so policies see it as
``input.subject.observations`` and, across subjects, in ``data.gavel.inventory``. Cards cannot
declare ``observations`` themselves (the card schemas refuse the key): only files can.

Fail closed: a file that does not parse, is not the tool's format, or matches no card is an
``error`` finding naming the file, line and field; a configured glob matching no file is one too.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.errors import ConfigError, EvidenceError
from engine.findings import error_finding
from engine.registry import Registry

if TYPE_CHECKING:
    from engine.config import Config
    from engine.evidence.loader import Document
    from engine.inventory import Inventory

POLICY = "gavel-observations"
TITLE = "Observation file is valid"

#: Readers by ``type``: ``read(doc, source) -> list[Observation]``.
readers = Registry(
    "observation type",
    {
        "great_expectations": "engine.observations.great_expectations:read",
        "evidently": "engine.observations.evidently:read",
        "fairlearn": "engine.observations.fairlearn:read",
    },
)


@dataclass
class Observation:
    """One measured result for one subject."""

    kind: str  # the card kind it belongs to: model or dataset
    subject: str | None  # the card id, when the file says it (else matched by the source's mapping)
    slot: str  # where it goes under the card's observations: validations, drift, fairness
    data: dict[str, Any]  # what policies read (with "observed_at", RFC 3339, or None when unknown)
    line: int | None = 1
    names: list[str] = field(default_factory=list)  # other names to match a card by (a data asset)


def attach(config: Config, inv: Inventory) -> None:
    """Read every configured observation file and attach each result to its card."""
    from engine import schemas
    from engine.evidence import expand, outside_problem, relative
    from engine.evidence.loader import Limits, parse, read_text
    from engine.findings import InputDigest

    found = schemas.errors("observations-config", config.observations)
    if found:
        line = config.document.line_of(("observations", *found[0].absolute_path)) if config.document else None
        raise ConfigError(f"observations: {schemas.describe(found[0])}", file=_config_name(config), line=line)
    limits = Limits(max_bytes=config.max_bytes, max_depth=config.max_depth)
    for index, source in enumerate(config.observations):
        read = readers.get_or_raise(source["type"])
        patterns = source["path"] if isinstance(source["path"], list) else [source["path"]]
        paths = expand(config.root, patterns)
        if not paths:
            line = config.document.line_of(("observations", index, "path")) if config.document else None
            inv.problems.append(_problem(f"observations {', '.join(patterns)} match no file (a configured source "
                                         "that is missing is not a pass)", _config_name(config), line))
        for path in paths:
            display = relative(path, config.root)
            if config.outside(path):  # a `..` glob or a symlink out of the project
                inv.problems.append(outside_problem(POLICY, TITLE, "observation", display, path))
                continue
            try:
                text = read_text(Path(path), display, limits)
            except EvidenceError as exc:
                inv.problems.append(_problem(exc.message, exc.file or display, exc.line))
                continue
            inv.inputs.append(InputDigest(path=display, kind="observation",
                                          sha256=hashlib.sha256(text.encode("utf-8")).hexdigest()))
            try:
                doc = parse(text, display, fmt="json", limits=limits)
                observations = read(doc, source)
            except EvidenceError as exc:
                inv.problems.append(_problem(exc.message, exc.file or display, exc.line))
                continue
            for item in observations:
                _attach_one(inv, item, source, doc)
    for kind in ("model", "dataset"):
        for record in inv.records(kind).values():
            for items in (record.data.get("observations") or {}).values():
                # newest first (RFC 3339 UTC times sort as text); an observation without a time last
                items.sort(key=lambda o: o.get("observed_at") or "", reverse=True)


def _attach_one(inv: Inventory, item: Observation, source: dict, doc: Document) -> None:
    subject = source.get(item.kind) or item.subject
    mapping = source.get("map") or {}
    if subject is None:
        subject = next((mapping[n] for n in item.names if n in mapping), None)
    records = inv.records(item.kind)
    if subject is None:
        subject = next((n for n in item.names if n in records), None)
    if subject is None or subject not in records:
        named = subject or ", ".join(repr(n) for n in item.names) or "nothing"
        inv.problems.append(_problem(
            f"{source['type']} result for {named} matches no {item.kind} card (set '{item.kind}:' or 'map:' on the "
            "observations entry in gavel.yaml)", doc.path, item.line))
        return
    data = {**item.data, "source": {"file": doc.path, "line": item.line}}
    record = records[subject]
    record.data.setdefault("observations", {}).setdefault(item.slot, []).append(data)
    if item.slot == "fairness":
        from engine.observations.fairlearn import card_metrics

        record.data.setdefault("metrics", {}).setdefault("fairness", []).extend(card_metrics(data))


def _problem(message: str, file: str | None, line: int | None):
    return error_finding(policy=POLICY, title=TITLE, message=message, kind="observation", id=file or "?",
                         file=file, line=line)


def _config_name(config: Config) -> str:
    return Path(config.file).name if config.file else "gavel.yaml"


def utc(value: Any, doc: Document, loc: tuple) -> str | None:
    """An RFC 3339 UTC time (``2026-11-30T06:00:00Z``) from a tool's timestamp, None when absent.

    A timestamp without a zone is read as UTC (what the tools write: GX and Evidently use UTC);
    one that does not parse is an error naming its field.
    """
    from engine.check import utc_rfc3339

    if value in (None, ""):
        return None
    text = str(value).strip()
    if len(text) >= 15 and text[8] == "T" and text[:8].isdigit():  # GX run names: 20261204T141915.622398Z
        text = f"{text[:4]}-{text[4:6]}-{text[6:8]}T{text[9:11]}:{text[11:13]}:{text[13:]}"
    try:
        return utc_rfc3339(text)
    except ValueError:
        raise EvidenceError(f"field '{'.'.join(map(str, loc))}': {value!r} is not a date-time",
                            file=doc.path, line=doc.line_of(loc)) from None


def require(condition: bool, message: str, doc: Document, loc: tuple = ()) -> None:
    if not condition:
        raise EvidenceError(message, file=doc.path, line=doc.line_of(loc) if loc else 1)
