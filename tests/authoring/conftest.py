"""Helpers for the authoring toolkit tests: run `gavel` as a user would."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


@pytest.fixture
def gavel():
    from engine.cli import main

    runner = CliRunner()

    def run(*args, **kwargs):
        return runner.invoke(main, [str(a) for a in args], catch_exceptions=False, **kwargs)

    return run


@pytest.fixture
def policy_dir(tmp_path):
    """A folder with copies of two example policies (one YAML, one Rego)."""
    folder = tmp_path / "policies"
    folder.mkdir()
    for name in ("high-risk-dpia.yaml", "human_oversight.rego"):
        shutil.copy(EXAMPLES / "policies" / name, folder / name)
    return folder
