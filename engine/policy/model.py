"""The policy record every loader produces, whatever the source language."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.findings import PolicyInfo, Source

KINDS = ("model", "dataset", "lineage", "budget")


@dataclass
class Policy:
    """One policy: metadata plus the Rego module(s) it runs as.

    YAML policies carry their definition in ``definition`` and their compiled Rego in
    ``modules``; Rego policies carry the file as written.
    """

    id: str
    title: str
    severity: str
    target: list[str]
    language: str  # "yaml" or "rego"
    source: Source
    package: str  # Rego package path without "data.", e.g. "gavel.yaml.model_card_complete"
    modules: dict[str, str]  # name → Rego text
    rules: list[str]  # verdict rules present: deny, violation, warn (and their deny_* forms)
    sha256: str
    frameworks: list[str] = field(default_factory=list)
    description: str = ""
    remediation: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    pack: str | None = None
    has_applicable: bool = False  # the package defines `applicable` (false → status skip)
    definition: dict[str, Any] | None = None  # the YAML policy as written

    def info(self) -> PolicyInfo:
        return PolicyInfo(
            id=self.id,
            title=self.title,
            severity=self.severity,
            target=self.target,
            frameworks=self.frameworks,
            language=self.language,
            source=self.source,
            sha256=self.sha256,
        )

    def applies_to(self, kind: str) -> bool:
        return kind in self.target


@dataclass
class PolicySet:
    """Every policy of a run, plus Rego library modules (files without verdict rules)."""

    policies: list[Policy]
    libraries: dict[str, str] = field(default_factory=dict)
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    allow_builtins: list[str] = field(default_factory=list)  # see engine.policy.capabilities
    #: module → the builtins it calls (name → line), read when it loaded; None: not known
    builtin_calls: dict[str, dict[str, int]] | None = None

    def get(self, policy_id: str) -> Policy | None:
        return next((p for p in self.policies if p.id == policy_id), None)

    def modules(self) -> dict[str, str]:
        """Every Rego module to load into an engine, by name, in a stable order."""
        out = dict(sorted(self.libraries.items()))
        for policy in self.policies:
            out.update(policy.modules)
        return out
