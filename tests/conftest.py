"""Shared fixtures: run the ``gavel`` command as a user would, and build small projects."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
NOW = "2026-11-26T00:00:00Z"


@pytest.fixture
def gavel():
    """``gavel(*args)`` → click Result (exit_code, stdout, stderr)."""
    runner = CliRunner()

    def run(*args: str, **kwargs):
        return runner.invoke(main, [str(a) for a in args], catch_exceptions=False, **kwargs)

    return run


@pytest.fixture
def project(tmp_path):
    """``project({"models/a.yaml": "...", ...})`` writes files (dedented) under a temp project root."""

    def make(files: dict[str, str], *, config: str | None = None) -> Path:
        root = tmp_path / "proj"
        root.mkdir(exist_ok=True)
        if config is not None:
            (root / "gavel.yaml").write_text(textwrap.dedent(config))
        for name, text in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text))
        return root

    return make


@pytest.fixture
def example_copy(tmp_path):
    """A private copy of examples/ that a test may change."""
    dest = tmp_path / "examples"
    shutil.copytree(EXAMPLES, dest, ignore=shutil.ignore_patterns(".gavel"))
    return dest


MODEL = """\
id: {id}
name: Model {id}
version: "1.0"
owner: team-a
risk_level: {risk}
lifecycle_stage: production
"""


def model_card(id: str = "m1", risk: str = "high", extra: str = "") -> str:
    return MODEL.format(id=id, risk=risk) + textwrap.dedent(extra)


def free_port() -> int:
    """A loopback port nobody listens on (for a server a test starts, or an unreachable URL)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def generated_inventory(root: Path, models: int, waivers: str) -> Path:
    """A synthetic inventory at ``root`` (benchmarks/gen_inventory.py: ``models`` cards, 50 policies)
    with ``waivers`` as its waivers file, and no audit history."""
    subprocess.run([sys.executable, str(ROOT / "benchmarks/gen_inventory.py"), str(root), "--models", str(models)],
                   check=True, stdout=subprocess.DEVNULL)
    (root / "waivers.yaml").write_text(waivers)
    with (root / "gavel.yaml").open("a") as handle:
        handle.write("waivers: waivers.yaml\nhistory: {enabled: false}\n")
    return root
