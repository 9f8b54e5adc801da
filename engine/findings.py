"""Findings and reports: the one result model every renderer, history and gate reads.

The records are plain dataclasses so ``gavel check`` starts fast; pydantic validates them
where untrusted JSON comes in (a saved report for ``report convert``, a baseline, history) and
generates ``schemas/report.schema.json`` from them (``gavel schema report``), imported only then.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import cache
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
        for people. Findings are written by ``_finding_lines``, which encodes what repeats (a
        policy's metadata, a subject) once: 500,000 findings are mostly the same few hundred parts.
        """
        lines = ["{"]  # joined once at the end: the findings are ~200 MB on 10,000 cards, copied once
        items = list(self.to_dict_shallow(inputs=False).items())
        for index, (key, value) in enumerate(items):
            comma = "," if index < len(items) - 1 else ""
            if key == "findings" and self.findings:
                lines.append(f"  {json.dumps(key)}: [")
                lines += _finding_lines(self.findings)
                lines.append(f"  ]{comma}")
                continue
            if key == "findings":
                body = "[]"
            elif key == "inputs":  # one per evidence file (10,000+): json.dumps(indent=2) is pure Python
                body = _input_lines(self.inputs)
            else:
                body = json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n  ")
            lines.append(f"  {json.dumps(key)}: {body}{comma}")
        lines.append("}\n")
        return "\n".join(lines)

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


def _finding_lines(findings: list[Finding]) -> list[str]:
    """Each finding as ``json.dumps(f.to_dict(), separators=(", ", ": "))`` would write it,
    indented by four spaces and followed by a comma (but the last), with the repeated parts
    encoded once.

    Parts are remembered by value (messages) or by identity (a policy's fields, an evidence
    object: findings of one policy or one cached decision share them); the findings hold those
    objects for as long as this runs, so an ``id`` cannot be reused meanwhile."""
    encode = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode
    # (policy, status) -> the policy fields it was made from, what comes before the subject and
    # what comes after the evidence; reused while those fields are the very same objects.
    ends: dict[tuple[str, str], tuple] = {}
    messages: dict[str, str] = {}
    evidences: dict[int, str] = {}
    last_subject: SubjectRef | None = None
    subject = ""
    out = []
    for f in findings:
        end = ends.get((f.policy, f.status))
        if end is None or not (end[0] is f.title and end[1] is f.severity and end[2] is f.frameworks
                               and end[3] is f.remediation):
            end = ends[(f.policy, f.status)] = (
                f.title, f.severity, f.frameworks, f.remediation,
                f'    {{"policy": {encode(f.policy)}, "title": {encode(f.title)}, "severity": {encode(f.severity)}, '
                f'"status": {encode(f.status)}, "subject": ',
                f', "frameworks": {encode(f.frameworks)}, "remediation": {encode(f.remediation)}, "waiver": ')
        if f.subject is not last_subject:  # sorted findings: one subject's come together
            last_subject = s = f.subject
            source = {"file": s.source.file, "line": s.source.line} if s.source else None
            subject = encode({"kind": s.kind, "id": s.id, "source": source})
        message = messages.get(f.message)
        if message is None:
            message = messages[f.message] = encode(f.message)
        if f.evidence is None:
            evidence = "null"
        else:
            evidence = evidences.get(id(f.evidence))
            if evidence is None:
                evidence = evidences[id(f.evidence)] = encode(f.evidence)
        waiver = "null" if f.waiver is None else encode(f.waiver)
        out.append(f'{end[4]}{subject}, "message": {message}, "evidence": {evidence}{end[5]}{waiver}}},')
    if out:
        out[-1] = out[-1][:-1]  # no comma after the last one
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
