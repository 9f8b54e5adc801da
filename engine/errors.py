"""Errors Gavel raises when it cannot run (exit 2).

Bad *evidence* never raises: it becomes an ``error`` finding so the run goes on and the gate
fails closed. These errors are for things that stop the run: bad usage, bad config, a policy
that does not load, an unreachable OPA server.
"""

from __future__ import annotations


class GavelError(Exception):
    """Root of Gavel's errors. ``str()`` gives ``file:line: code: message``."""

    code = "gavel-error"

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        if code:
            self.code = code

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        return f"{where}{self.message}"


class UsageError(GavelError):
    code = "usage"


class ConfigError(GavelError):
    code = "config"


class EvidenceError(GavelError):
    """An evidence file cannot be read or validated (becomes an ``error`` finding)."""

    code = "evidence"


class PolicyError(GavelError):
    """A policy does not load: schema error, Rego syntax error, unknown operator, duplicate id."""

    code = "policy"


class EngineError(GavelError):
    """A Rego engine failed (for one policy and subject this becomes an ``error`` finding)."""

    code = "engine"


class RenderError(GavelError):
    code = "render"
