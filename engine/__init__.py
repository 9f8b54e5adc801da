"""Gavel: policy-as-code and compliance for data and ML governance.

The pipeline, usable from Python as from the ``gavel`` command::

    from engine import load_config, run_check
    report = run_check(load_config("examples"), now="2026-11-26T00:00:00Z")
    print(report.gate.passed)
"""

from engine.errors import ConfigError, EngineError, EvidenceError, GavelError, PolicyError, UsageError

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "EngineError",
    "EvidenceError",
    "GavelError",
    "PolicyError",
    "UsageError",
    "__version__",
    "load_config",
    "run_check",
]


def load_config(*args, **kwargs):
    from engine.config import load_config as _load

    return _load(*args, **kwargs)


def run_check(*args, **kwargs):
    from engine.check import run_check as _run

    return _run(*args, **kwargs)
