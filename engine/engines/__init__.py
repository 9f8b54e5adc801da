"""Rego engines behind one small interface: embedded (regorus, default) and a real OPA server.

An engine loads Rego modules and data once (prepare), then evaluates one rule for many inputs
(evaluate). An engine error for one input comes back as an ``EngineError`` in the results, so
the caller turns it into an ``error`` finding for that policy and subject, never a crash.
"""

from __future__ import annotations

from typing import Any, Protocol

from engine.registry import Registry


class RegoEngine(Protocol):
    name: str

    def load(self, modules: dict[str, str], data: dict[str, Any]) -> None:
        """Compile ``modules`` (name → Rego) with ``data``; raise ``PolicyError`` naming file and line."""

    def evaluate(self, rule: str, inputs: list[str]) -> list[Any]:
        """Evaluate ``rule`` (e.g. ``data.gavel_eval.model``) for each JSON input: a value or an EngineError."""


engines = Registry("engine", {"embedded": "engine.engines.embedded:EmbeddedEngine", "opa": "engine.engines.opa:OpaEngine"})
