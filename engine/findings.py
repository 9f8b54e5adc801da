"""Findings and reports: the one result model every renderer, history and gate reads."""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Severity(str, Enum):
    info = "info"
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"

    @property
    def rank(self) -> int:
        return SEVERITY_RANK[self.value]


SEVERITY_RANK = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}


class Status(str, Enum):
    passed = "pass"
    fail = "fail"
    warn = "warn"
    error = "error"
    waived = "waived"
    skip = "skip"


STATUS_ORDER = ("error", "fail", "warn", "waived", "skip", "pass")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", use_enum_values=True)


class Source(_Model):
    """Where something was declared: a file (relative to the project root) and a 1-based line."""

    file: str
    line: int | None = None


class SubjectRef(_Model):
    """The subject a finding judges."""

    kind: str
    id: str
    source: Source | None = None


class Finding(_Model):
    """One policy's verdict on one subject."""

    policy: str
    title: str
    severity: Severity
    status: Status
    subject: SubjectRef
    message: str = ""
    evidence: Any = None
    frameworks: list[str] = Field(default_factory=list)
    remediation: str = ""
    waiver: dict[str, Any] | None = None

    def sort_key(self) -> tuple:
        s = self.subject
        return (s.kind, s.id, self.policy, STATUS_ORDER.index(self.status), self.message)


def error_finding(
    *,
    policy: str,
    title: str,
    message: str,
    kind: str,
    id: str,
    file: str | None = None,
    line: int | None = None,
    severity: str = "high",
    evidence: Any = None,
) -> Finding:
    """Gavel could not judge something (unreadable file, engine error): never a silent pass."""
    source = Source(file=file, line=line) if file else None
    return Finding(
        policy=policy,
        title=title,
        severity=severity,
        status="error",
        subject=SubjectRef(kind=kind, id=id, source=source),
        message=message,
        evidence=evidence,
    )


class InputDigest(_Model):
    """An input file and the SHA-256 of its bytes."""

    path: str
    kind: str
    sha256: str


class PolicyInfo(_Model):
    id: str
    title: str
    severity: Severity
    target: list[str]
    frameworks: list[str] = Field(default_factory=list)
    language: str
    source: Source
    sha256: str


class Summary(_Model):
    subjects: int
    policies: int
    findings: int
    by_status: dict[str, int]
    failed_by_severity: dict[str, int]


class Gate(_Model):
    """The verdict: ``passed`` decides the exit code (0 pass, 1 gate failed)."""

    fail_on: Severity
    fail_on_warn: bool = False
    soft_fail: bool = False
    passed: bool
    exit_code: int
    reasons: list[str] = Field(default_factory=list)


class Tool(_Model):
    name: str = "gavel"
    version: str


class Run(_Model):
    id: str
    now: str
    engine: str


class Report(_Model):
    """A whole run. ``schemas/report.schema.json`` is generated from this model."""

    schema_version: str = "1"
    tool: Tool
    run: Run
    inputs: list[InputDigest]
    policies: list[PolicyInfo]
    findings: list[Finding]
    summary: Summary
    gate: Gate
    extra: dict[str, Any] = Field(default_factory=dict, description="Facts other stages attach (baseline, waivers).")

    def to_json(self) -> str:
        """Deterministic JSON: fixed field order, sorted findings, a trailing newline."""
        return self.model_dump_json(indent=2) + "\n"
