"""Gavel: policy-as-code and compliance for data and ML governance.

The pipeline, usable from Python as from the ``gavel`` command::

    from engine import load_config, render, run_check
    report = run_check(load_config("examples"), now="2026-11-26T00:00:00Z")
    print(report.gate.passed)
    print(render(report, "markdown"))

docs/api.md documents this surface (and why the import name is ``engine``).
"""

from engine.errors import ConfigError, EngineError, EvidenceError, GavelError, PolicyError, UsageError

#: The one place the version is written: pyproject.toml reads it (hatch dynamic version).
__version__ = "0.1.0"
#: The PyPI distribution (``pip install gavel-governance``); ``gavel`` on PyPI is another project.
DISTRIBUTION = "gavel-governance"
#: The project's links, equal to ``[project.urls]`` in pyproject.toml (a test checks it).
URLS = {
    "Homepage": "https://github.com/gavel-governance/gavel",
    "Documentation": "https://github.com/gavel-governance/gavel/tree/main/docs",
    "Repository": "https://github.com/gavel-governance/gavel",
    "Issues": "https://github.com/gavel-governance/gavel/issues",
}

__all__ = [
    "ConfigError",
    "EngineError",
    "EvidenceError",
    "GavelError",
    "PolicyError",
    "DISTRIBUTION",
    "URLS",
    "UsageError",
    "__version__",
    "load_config",
    "render",
    "run_check",
]


def load_config(*args, **kwargs):
    from engine.config import load_config as _load

    return _load(*args, **kwargs)


def run_check(*args, **kwargs):
    from engine.check import run_check as _run

    return _run(*args, **kwargs)


def render(report, fmt: str, **options) -> str:
    """``report`` in one output format (``text``, ``json``, ``sarif``, ...), as a string."""
    from engine.report import render as _render

    return _render(report, fmt, **options)
