"""``gavel init`` scaffolds a governance repo that passes ``gavel check`` out of the box."""

from __future__ import annotations

import json
import re

import yaml
from click.testing import CliRunner

from engine.cli import main
from engine.cli.init import FILES


def gavel(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_init_then_check_passes(tmp_path):
    target = tmp_path / "governance"
    result = gavel("init", target)
    assert result.exit_code == 0, result.output
    for dest in FILES.values():
        assert (target / dest).is_file(), dest
        assert not re.search(r"(?<!\$)\{\{", (target / dest).read_text()), dest  # ${{ }} is GitHub's
    check = gavel("check", target, "-o", "json")
    assert check.exit_code == 0, check.output
    report = json.loads(check.output)
    statuses = {f["status"] for f in report["findings"]}
    assert statuses <= {"pass", "skip"}, [f for f in report["findings"] if f["status"] not in ("pass", "skip")]
    assert len({f["policy"] for f in report["findings"]}) >= 40  # every built-in pack ran


def test_scaffolded_ci_runs_the_gate_and_keeps_sarif_and_junit(tmp_path):
    assert gavel("init", tmp_path).exit_code == 0
    workflow = yaml.safe_load((tmp_path / ".github/workflows/gavel.yml").read_text())
    steps = workflow["jobs"]["gate"]["steps"]
    commands = " ".join(str(s.get("run", "")) for s in steps)
    assert "gavel check ." in commands and "sarif=" in commands and "junit=" in commands
    assert any(s.get("uses", "").startswith("github/codeql-action/upload-sarif") for s in steps)
    gitlab = yaml.safe_load((tmp_path / ".gitlab-ci.yml").read_text())
    assert gitlab["gavel"]["artifacts"]["reports"]["junit"] == "reports/gavel-junit.xml"
    assert any("sarif=" in line for line in gitlab["gavel"]["script"])
    hooks = yaml.safe_load((tmp_path / ".pre-commit-config.yaml").read_text())
    assert hooks["repos"][0]["hooks"][0]["entry"].startswith("gavel check")
    waivers = yaml.safe_load((tmp_path / "waivers.yaml").read_text())
    assert waivers == {"version": 1, "waivers": []}


def test_init_refuses_to_overwrite_and_writes_nothing(tmp_path):
    (tmp_path / "waivers.yaml").write_text("mine\n")
    result = gavel("init", tmp_path)
    assert result.exit_code == 2
    assert "refusing to overwrite" in result.output and str(tmp_path / "waivers.yaml") in result.output
    assert (tmp_path / "waivers.yaml").read_text() == "mine\n"
    assert not (tmp_path / "gavel.yaml").exists()


def test_init_ci_choice(tmp_path):
    assert gavel("init", tmp_path, "--ci", "gitlab").exit_code == 0
    assert (tmp_path / ".gitlab-ci.yml").exists() and not (tmp_path / ".github").exists()
    none = tmp_path / "none"
    assert gavel("init", none, "--ci", "none").exit_code == 0
    assert not (none / ".gitlab-ci.yml").exists() and (none / "gavel.yaml").exists()
