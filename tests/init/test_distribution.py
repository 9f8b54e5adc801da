"""Gavel installs as itself: the distribution name, version and links come from one place, and
everything that installs Gavel (CI templates, README, docs) uses them."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib import metadata

import yaml

import engine
from tests.conftest import ROOT


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_distribution_name_license_and_urls_agree_with_the_package():
    project = _pyproject()
    assert project["name"] == engine.DISTRIBUTION == "gavel-governance"
    assert project["scripts"] == {"gavel": "engine.cli:main"}
    assert project["urls"] == engine.URLS
    assert "version" in project["dynamic"]
    # The installed metadata is what `pip` sees: same name, and the version written in engine/__init__.py.
    meta = metadata.metadata(engine.DISTRIBUTION)
    assert meta["Name"] == "gavel-governance" and meta["Version"] == engine.__version__
    license_text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in license_text and "Version 2.0, January 2004" in license_text
    assert project["license"] == "Apache-2.0"


def test_scaffolded_ci_installs_this_distribution_read_from_metadata(gavel, tmp_path):
    assert gavel("init", tmp_path).exit_code == 0
    expected = f"pip install {metadata.metadata('gavel-governance')['Name']}=={metadata.version('gavel-governance')}"
    workflow = yaml.safe_load((tmp_path / ".github/workflows/gavel.yml").read_text())
    runs = [str(step.get("run", "")) for step in workflow["jobs"]["gate"]["steps"]]
    assert expected in runs
    gitlab = yaml.safe_load((tmp_path / ".gitlab-ci.yml").read_text())
    assert expected in gitlab["gavel"]["script"]
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert not re.search(r"pip install [\"']?gavel(==|[\"'\s]|$)", path.read_text()), path


def test_init_install_pins_a_wheel_or_git_url(gavel, tmp_path):
    spec = "gavel-governance @ git+https://github.com/gavel-governance/gavel@v0.1.0"
    assert gavel("init", tmp_path, "--install", spec).exit_code == 0
    workflow = yaml.safe_load((tmp_path / ".github/workflows/gavel.yml").read_text())
    runs = [str(step.get("run", "")) for step in workflow["jobs"]["gate"]["steps"]]
    assert f"pip install '{spec}'" in runs  # quoted for the shell: one argument
    bad = gavel("init", tmp_path / "x", "--install", "gavel-governance\n  - run: curl evil")
    assert bad.exit_code == 2 and "--install expects" in bad.output and not (tmp_path / "x").exists()


def test_readme_and_docs_install_the_distribution_by_its_name():
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    installs = []
    for page in pages:
        for line in page.read_text().splitlines():
            if re.search(r"pip install [\"']?gavel\b", line):
                installs.append((page.name, line))
                assert re.search(r"pip install [\"']?gavel-governance\b", line), (page.name, line)
    assert any(name == "README.md" for name, _ in installs)  # the README says how to install from PyPI


def test_api_page_examples_run():
    """Every ```python block of docs/api.md runs as written (in a fresh interpreter, from the repo root)."""
    text = (ROOT / "docs/api.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 3
    for block in blocks:
        run = subprocess.run([sys.executable, "-c", block], cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, f"{block}\n{run.stderr}"
    assert "gavel: examples/gavel.yaml" in run.stdout  # the error example prints a one-line message with the file
