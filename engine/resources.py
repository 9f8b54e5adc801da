"""Where the built-in ``policies/`` and ``schemas/`` live: inside the wheel, or in a checkout."""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


@cache
def data_dir(name: str) -> Path:
    """Return the directory of the bundled ``policies`` or ``schemas`` folder."""
    bundled = _PACKAGE / "_bundled" / name  # a wheel install (pyproject's force-include)
    if bundled.is_dir():
        return bundled
    return _PACKAGE.parent / name  # a checkout or an editable install


def schema_path(name: str) -> Path:
    return data_dir("schemas") / f"{name}.schema.json"


def policies_dir() -> Path:
    return data_dir("policies")


@cache
def read_library(name: str) -> str:
    """A Rego module of Gavel's own library (``engine/lib/``), loaded with every policy set."""
    return (_PACKAGE / "lib" / name).read_text(encoding="utf-8")
