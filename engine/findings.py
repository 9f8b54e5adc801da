"""Findings and reports: the one result model every renderer, history and gate reads.

The records are plain dataclasses so ``gavel check`` starts fast; pydantic validates them
where untrusted JSON comes in (a saved report for ``report convert``, a baseline, history) and
generates ``schemas/report.schema.json`` from them (``gavel schema report``), imported only then.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from operator import attrgetter
from typing import Any, Literal

Severity = Literal["info", "low", "medium", "high", "critical"]
Status = Literal["pass", "fail", "warn", "error", "waived", "skip"]

SEVERITIES: tuple[str, ...] = ("info", "low", "medium", "high", "critical")
SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}
STATUSES: tuple[str, ...] = ("pass", "fail", "warn", "error", "waived", "skip")
STATUS_ORDER = ("error", "fail", "warn", "waived", "skip", "pass")
_STATUS_RANK = {name: rank for rank, name in enumerate(STATUS_ORDER)}


class _Record:
    """pydantic-style helpers over a dataclass: ``model_dump`` and ``model_validate_json``."""

    def model_dump(self, **_options) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def model_validate_json(cls, text: str | bytes):
        return adapter(cls).validate_json(text)


@cache
def adapter(cls):
    """The pydantic ``TypeAdapter`` of a record class (pydantic is imported on first use)."""
    from pydantic import ConfigDict, TypeAdapter, with_config

    with_config(ConfigDict(extra="forbid"))(cls)
    return TypeAdapter(cls)


@dataclass(slots=True)
class Source(_Record):
    """Where something was declared: a file (relative to the project root) and a 1-based line."""

    file: str
    line: int | None = None


@dataclass(slots=True)
class SubjectRef(_Record):
    """The subject a finding judges: kind (model, dataset, lineage, budget, ...), id, source."""

    kind: str
    id: str
    source: Source | None = None


@dataclass(slots=True)
class Finding(_Record):
    """One policy's verdict on one subject."""

    policy: str
    title: str
    severity: Severity
    status: Status
    subject: SubjectRef
    message: str = ""
    evidence: Any = None
    frameworks: list[str] = field(default_factory=list)
    remediation: str = ""
    waiver: dict[str, Any] | None = None

    def sort_key(self) -> tuple:
        s = self.subject
        return (s.kind, s.id, self.policy, _STATUS_RANK[self.status], self.message)

    def to_dict(self) -> dict[str, Any]:
        s = self.subject
        return {
            "policy": self.policy,
            "title": self.title,
            "severity": self.severity,
            "status": self.status,
            "subject": {"kind": s.kind, "id": s.id,
                        "source": {"file": s.source.file, "line": s.source.line} if s.source else None},
            "message": self.message,
            "evidence": self.evidence,
            "frameworks": self.frameworks,
            "remediation": self.remediation,
            "waiver": self.waiver,
        }


def error_finding(
    *,
    policy: str,
    title: str,
    message: str,
    kind: str,
    id: str,
    file: str | None = None,
    line: int | None = None,
    severity: Severity = "high",
    evidence: Any = None,
) -> Finding:
    """Gavel could not judge something (unreadable file, engine error): never a silent pass."""
    source = Source(file=file, line=line) if file else None
    return Finding(policy=policy, title=title, severity=severity, status="error",
                   subject=SubjectRef(kind=kind, id=id, source=source), message=message, evidence=evidence)


@dataclass(slots=True)
class InputDigest(_Record):
    """An input file and the SHA-256 of its content."""

    path: str
    kind: str
    sha256: str


@dataclass(slots=True)
class PolicyInfo(_Record):
    id: str
    title: str
    severity: Severity
    target: list[str]
    language: str
    source: Source
    sha256: str
    frameworks: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Summary(_Record):
    subjects: int
    policies: int
    findings: int
    by_status: dict[str, int]
    failed_by_severity: dict[str, int]


@dataclass(slots=True)
class Gate(_Record):
    """The verdict: ``passed`` and ``exit_code`` (0 pass or soft-fail, 1 gate failed)."""

    fail_on: Severity
    passed: bool
    exit_code: int
    fail_on_warn: bool = False
    soft_fail: bool = False
    reasons: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Tool(_Record):
    version: str
    name: str = "gavel"


@dataclass(slots=True)
class Run(_Record):
    id: str
    now: str
    engine: str


@dataclass(slots=True)
class Report(_Record):
    """A whole run. ``schemas/report.schema.json`` is generated from this class."""

    tool: Tool
    run: Run
    inputs: list[InputDigest]
    policies: list[PolicyInfo]
    findings: list[Finding]
    summary: Summary
    gate: Gate
    extra: dict[str, Any] = field(default_factory=dict)  # facts other stages attach (waivers, baseline)
    schema_version: str = "1"

    def to_dict(self) -> dict[str, Any]:
        return {**self.to_dict_shallow(), "findings": [f.to_dict() for f in self.findings]}

    def model_dump(self, **_options) -> dict[str, Any]:
        return self.to_dict()

    def to_json(self) -> str:
        """Deterministic JSON: fixed field order, sorted findings one per line, a trailing newline.

        One compact line per finding keeps the file easy to diff and grep; the rest is indented
        for people. Findings are written by :class:`Encoder`, which encodes what repeats (a
        policy's metadata, a subject) once: 500,000 findings are mostly the same few hundred parts;
        a block the findings cache made ready is written as it was the last time.
        """
        return "".join(self.json_pieces())

    def json_pieces(self) -> list[str]:
        """``to_json()`` as pieces to write in order (~200 MB on 10,000 cards: never held whole)."""
        out = ["{\n"]
        items = list(self.to_dict_shallow(inputs=False).items())
        for index, (key, value) in enumerate(items):
            comma = "," if index < len(items) - 1 else ""
            if key == "findings" and self.findings:
                pieces = _finding_pieces(self.findings)
                pieces[-1] = pieces[-1][:-2] + "\n"  # no comma after the last one
                out.append(f"  {json.dumps(key)}: [\n")
                out += pieces
                out.append(f"  ]{comma}\n")
                continue
            if key == "findings":
                body = "[]"
            elif key == "inputs":  # one per evidence file (10,000+): json.dumps(indent=2) is pure Python
                body = _input_lines(self.inputs)
            else:
                body = json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n  ")
            out.append(f"  {json.dumps(key)}: {body}{comma}\n")
        out.append("}\n")
        return out

    def to_dict_shallow(self, *, inputs: bool = True) -> dict[str, Any]:
        """``to_dict()`` without the findings (``None`` in their place), and without the inputs
        (``None`` too) when not ``inputs``."""
        return {
            "schema_version": self.schema_version,
            "tool": asdict(self.tool),
            "run": asdict(self.run),
            "inputs": [asdict(i) for i in self.inputs] if inputs else None,
            "policies": [asdict(p) for p in self.policies],
            "findings": None,
            "summary": asdict(self.summary),
            "gate": asdict(self.gate),
            "extra": self.extra,
        }


def _input_lines(inputs: list[InputDigest]) -> str:
    """``json.dumps([asdict(i) for i in inputs], indent=2, ensure_ascii=False)`` nested one level
    deeper, as ``to_json`` writes it (written by hand: the indenting encoder is pure Python)."""
    if not inputs:
        return "[]"
    encode = json.JSONEncoder(ensure_ascii=False).encode
    return "[\n" + ",\n".join(f'    {{\n      "path": {encode(i.path)},\n      "kind": {encode(i.kind)},\n'
                                f'      "sha256": {encode(i.sha256)}\n    }}' for i in inputs) + "\n  ]"


class Block:
    """Findings sharing one subject (kind and id), in the order they were made.

    Either held (``items``), or ready-made by an earlier run (``engine.decisions.ReadyFindings``):
    their ``counts`` by (status, severity) and their JSON ``pieces`` (see :class:`Encoder`) are
    known, and ``make`` builds the ``Finding`` objects, once, only when something reads them.
    ``make(statuses)`` builds only those of the given statuses (``of_status``), in the same order."""

    __slots__ = ("kind", "id", "_items", "make", "counts", "pieces", "key")

    def __init__(self, kind: str, id: str, items: list[Finding] | None = None, *, make=None,
                 counts: dict[tuple[str, str], int] | None = None, pieces: list[str] | None = None):
        self.kind, self.id, self._items, self.make = kind, id, items, make
        self.counts, self.pieces = counts, pieces
        self.key: tuple | None = None  # the findings cache's key, when this block may be stored (``Prepared.judge``)

    @property
    def items(self) -> list[Finding]:
        if self._items is None:
            self._items = self.make()
        return self._items

    def of_status(self, statuses: frozenset[str]) -> list[Finding]:
        """Its findings whose status is in ``statuses``, in order; a ready-made block builds only
        those and keeps none, unless every status is asked for (then it keeps them: ``items``)."""
        if self._items is None and not statuses.issuperset(STATUSES):
            return self.make(statuses)
        return [f for f in self.items if f.status in statuses]

    @property
    def ready(self) -> bool:
        """Its counts and JSON are known without reading its findings."""
        return self.pieces is not None

    def size(self) -> int:
        return sum(self.counts.values()) if self._items is None else len(self._items)

    def tally(self) -> Counter:
        return Counter(self.counts) if self._items is None else Counter(map(attrgetter("status", "severity"), self._items))


class Findings(Sequence):
    """A run's findings in blocks of one subject each (:class:`Block`): a sequence of ``Finding``
    like a list, whose ready-made blocks are only built into ``Finding`` objects when read.

    What needs only counts (``summarize``, ``decide_gate``) or the JSON report reads the blocks;
    anything else iterating the findings gets every ``Finding`` as before."""

    __slots__ = ("blocks", "_flat", "_counts")

    def __init__(self, blocks: Iterable[Block] = ()):
        self.blocks = [b for b in blocks if b.size()]
        self._flat: list[Finding] | None = None
        self._counts: Counter | None = None

    @classmethod
    def of(cls, findings: Iterable[Finding]) -> Findings:
        """``findings`` as blocks (those of one block already are)."""
        if isinstance(findings, Findings):
            return findings
        groups: dict[tuple[str, str], list[Finding]] = {}
        for f in findings:
            groups.setdefault((f.subject.kind, f.subject.id), []).append(f)
        return cls(Block(kind, sid, items) for (kind, sid), items in groups.items())

    def __iter__(self) -> Iterator[Finding]:
        for block in self.blocks:
            yield from block.items

    def __len__(self) -> int:
        return sum(self.counts().values())

    def __getitem__(self, index):
        if self._flat is None:
            self._flat = list(self)
        return self._flat[index]

    def __eq__(self, other) -> bool:
        if isinstance(other, Findings | list | tuple):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __add__(self, other: Iterable[Finding]) -> Findings:
        return Findings([*self.blocks, *Findings.of(other).blocks])

    def __radd__(self, other: Iterable[Finding]) -> Findings:
        return Findings([*Findings.of(other).blocks, *self.blocks])

    def __repr__(self) -> str:
        return f"Findings({len(self.blocks)} blocks, {len(self)} findings)"

    def counts(self) -> Counter:
        """How many findings have each ``(status, severity)``."""
        if self._counts is None:
            total: dict[tuple[str, str], int] = {}
            get = total.get
            for block in self.blocks:
                for key, count in (block.counts if block._items is None else block.tally()).items():
                    total[key] = get(key, 0) + count
            self._counts = Counter(total)
        return Counter(self._counts)

    def subjects(self) -> set[tuple[str, str]]:
        """The ``(kind, id)`` of every subject with a finding."""
        return {(block.kind, block.id) for block in self.blocks}

    def edit(self, select: Callable[[str, str], bool], change: Callable[[list[Finding]], list[Finding]]) -> Findings:
        """``change`` applied to the findings of the blocks whose ``(kind, id)`` ``select`` picks (in
        their order, built if need be); the other blocks are kept as they are. ``change`` may add
        findings: they come after every other, as if appended to the whole list."""
        kept, picked = [], []
        for block in self.blocks:
            (picked if select(block.kind, block.id) else kept).append(block)
        if not picked:
            return self
        return Findings([*kept, *Findings.of(change([f for block in picked for f in block.items])).blocks])

    def sorted(self) -> Findings:
        """Sorted as ``sorted(findings, key=Finding.sort_key)`` sorts them: one block per subject in
        (kind, id) order, its findings in ``sort_key`` order. A ready-made block alone on its
        subject stays ready (its pieces were written from its findings sorted so)."""
        groups: dict[tuple[str, str], list[Block]] = {}
        for block in self.blocks:
            groups.setdefault((block.kind, block.id), []).append(block)
        out = []
        for (kind, sid), blocks in sorted(groups.items()):
            if len(blocks) == 1 and blocks[0]._items is None and blocks[0].ready:
                out.append(_sorted_block(blocks[0]))
            else:
                out.append(Block(kind, sid, sorted([f for b in blocks for f in b.items], key=Finding.sort_key)))
        return Findings(out)


def _sorted_block(block: Block) -> Block:
    def make(statuses: frozenset[str] | None = None) -> list[Finding]:
        # a stable sort: sorting some of them keeps their order among all of them sorted
        return sorted(block.items if statuses is None else block.of_status(statuses), key=Finding.sort_key)

    sort = Block(block.kind, block.id, make=make, counts=block.counts, pieces=block.pieces)
    sort.key = block.key
    return sort


class Encoder:
    """Findings as the lines of the JSON report: each finding as
    ``json.dumps(f.to_dict(), separators=(", ", ": "))`` would write it, indented by four spaces and
    followed by ``,\n``; as pieces to join (``"".join(pieces)``), four per finding: its head (policy
    fields and status), its subject, its message and evidence, its tail (more policy fields, waiver).

    The pieces that repeat are encoded once and shared: remembered by value (messages) or by
    identity (a policy's fields, an evidence object: findings of one policy or one cached decision
    share them); the findings hold those objects for as long as the encoder lives, so an ``id``
    cannot be reused meanwhile. Shared pieces keep the findings cache small (marshal writes an
    object once)."""

    def __init__(self):
        self._encode = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode
        # (policy, status) -> the policy fields it was made from, the head and the tail (no waiver)
        self._ends: dict[tuple[str, str], tuple] = {}
        self._middles: dict[tuple[str, int], str] = {}
        self._evidence: dict[int, str] = {}
        self._subject: tuple[SubjectRef | None, str] = (None, "")

    def pieces(self, findings: Iterable[Finding]) -> list[str]:
        encode = self._encode
        ends, middles, evidences = self._ends, self._middles, self._evidence
        last_subject, subject = self._subject
        out: list[str] = []
        for f in findings:
            end = ends.get((f.policy, f.status))
            if end is None or not (end[0] is f.title and end[1] is f.severity and end[2] is f.frameworks
                                   and end[3] is f.remediation):
                tail = f', "frameworks": {encode(f.frameworks)}, "remediation": {encode(f.remediation)}, "waiver": '
                end = ends[(f.policy, f.status)] = (
                    f.title, f.severity, f.frameworks, f.remediation,
                    f'    {{"policy": {encode(f.policy)}, "title": {encode(f.title)}, '
                    f'"severity": {encode(f.severity)}, "status": {encode(f.status)}, "subject": ',
                    tail, f"{tail}null}},\n")
            if f.subject is not last_subject:  # sorted findings: one subject's come together
                last_subject = s = f.subject
                source = {"file": s.source.file, "line": s.source.line} if s.source else None
                subject = encode({"kind": s.kind, "id": s.id, "source": source})
            middle = middles.get((f.message, id(f.evidence)))
            if middle is None:
                if f.evidence is None:
                    evidence = "null"
                else:
                    evidence = evidences.get(id(f.evidence))
                    if evidence is None:
                        evidence = evidences[id(f.evidence)] = encode(f.evidence)
                middle = middles[(f.message, id(f.evidence))] = \
                    f', "message": {encode(f.message)}, "evidence": {evidence}'
            out += (end[4], subject, middle, end[6] if f.waiver is None else f"{end[5]}{encode(f.waiver)}}},\n")
        self._subject = (last_subject, subject)
        return out


def _finding_pieces(findings: Iterable[Finding]) -> list[str]:
    """The pieces of the report's findings lines (:class:`Encoder`), ready-made blocks as they are."""
    encoder = Encoder()
    if not isinstance(findings, Findings):
        return encoder.pieces(findings)
    out: list[str] = []
    for block in findings.blocks:
        out += block.pieces if block._items is None and block.ready else encoder.pieces(block.items)
    return out


def load_report(text: str | bytes, *, file: str = "<report>") -> Report:
    """Validate a saved JSON report into a ``Report``; raise ``UsageError`` naming the problem."""
    from pydantic import ValidationError

    from engine.errors import UsageError

    try:
        return Report.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UsageError(f"not a Gavel report: {where}: {first['msg']}", file=file) from None
