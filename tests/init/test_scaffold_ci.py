"""`gavel init` writes CI files where CI looks (issue 13.8): at the repository root when the
project is a subfolder, valid against the GitHub workflow and GitLab CI schemas (SchemaStore's,
vendored in check-jsonschema, offline), a pre-commit config pre-commit accepts and runs, hooks
that watch every path of the generated gavel.yaml, and --force / --skip-existing."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        pytest.skip(f"{name} (a test extra) is not installed")
    return str(path)


def _git_repo(path: Path) -> Path:
    if not shutil.which("git"):
        pytest.skip("git is not installed")
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    return path


@pytest.fixture
def monorepo(gavel, tmp_path):
    repo = _git_repo(tmp_path / "repo")
    result = gavel("init", repo / "teams" / "risk gov")
    assert result.exit_code == 0, result.output
    return repo


def test_ci_files_go_to_the_repository_root_and_run_in_the_subfolder(monorepo):
    project = monorepo / "teams" / "risk gov"
    assert (project / "gavel.yaml").is_file() and (project / ".gitignore").is_file()
    assert not (project / ".github").exists() and not (project / ".pre-commit-config.yaml").exists()
    workflow = yaml.safe_load((monorepo / ".github/workflows/gavel.yml").read_text())
    assert workflow["permissions"] == {"contents": "read", "actions": "read", "security-events": "write"}
    job = workflow["jobs"]["gate"]
    assert job["defaults"]["run"]["working-directory"] == "teams/risk gov"
    upload = next(s for s in job["steps"] if s.get("uses", "").startswith("github/codeql-action/upload-sarif"))
    assert upload["with"]["sarif_file"] == "teams/risk gov/reports/gavel.sarif"
    gitlab = yaml.safe_load((monorepo / ".gitlab-ci.yml").read_text())
    assert gitlab["gavel"]["script"][1].startswith("cd 'teams/risk gov'")
    assert gitlab["gavel"]["artifacts"]["reports"]["junit"] == "teams/risk gov/reports/gavel-junit.xml"


def test_generated_ci_files_validate_against_their_schemas(monorepo):
    check = _tool("check-jsonschema")
    for schema, path in (("vendor.github-workflows", ".github/workflows/gavel.yml"), ("vendor.gitlab-ci", ".gitlab-ci.yml")):
        run = subprocess.run([check, "--builtin-schema", schema, str(monorepo / path)], capture_output=True, text=True)
        assert run.returncode == 0, run.stdout + run.stderr
    # The validation is real: a broken workflow is rejected.
    broken = monorepo / "broken.yml"
    broken.write_text("on: push\njobs:\n  gate:\n    steps: 3\n")
    run = subprocess.run([check, "--builtin-schema", "vendor.github-workflows", str(broken)], capture_output=True)
    assert run.returncode != 0


def test_pre_commit_config_validates_and_its_hook_watches_every_configured_path(monorepo):
    pre_commit = _tool("pre-commit")
    config = monorepo / ".pre-commit-config.yaml"
    run = subprocess.run([pre_commit, "validate-config", str(config)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    hooks = {h["id"]: h for h in yaml.safe_load(config.read_text())["repos"][0]["hooks"]}
    files = re.compile(hooks["gavel-check"]["files"])
    gavel_yaml = yaml.safe_load((monorepo / "teams/risk gov/gavel.yaml").read_text())
    # The oracle: a concrete file for every path gavel.yaml reads, as a glob would match it.
    samples = ["gavel.yaml", gavel_yaml["waivers"], "policies/mine.rego"]
    samples += [e["path"].replace("**/", "sub/").replace("*", "x") for e in gavel_yaml["evidence"]]
    for sample in samples:
        assert files.search(f"teams/risk gov/{sample}"), sample
    assert not files.search("teams/risk gov/README.md") and not files.search("other/models/x.yaml")


def test_the_pre_commit_hook_runs_once_in_a_fresh_repository(monorepo):
    pre_commit = _tool("pre-commit")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "PRE_COMMIT_HOME": str(monorepo.parent / "pc"),
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x"}
    subprocess.run(["git", "add", "-A"], cwd=monorepo, check=True, env=env)
    run = subprocess.run([pre_commit, "run", "--all-files"], cwd=monorepo, capture_output=True, text=True, env=env,
                         timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"gavel check\.+Passed", run.stdout), run.stdout


def test_force_and_skip_existing(gavel, tmp_path):
    (tmp_path / "waivers.yaml").write_text("mine\n")
    refused = gavel("init", tmp_path)
    assert refused.exit_code == 2 and "--force overwrites" in refused.output
    assert not (tmp_path / "gavel.yaml").exists()
    kept = gavel("init", tmp_path, "--skip-existing")
    assert kept.exit_code == 0 and (tmp_path / "waivers.yaml").read_text() == "mine\n"
    assert (tmp_path / "gavel.yaml").is_file() and "waivers.yaml" not in kept.output
    (tmp_path / "gavel.yaml").write_text("edited\n")
    forced = gavel("init", tmp_path, "--force")
    assert forced.exit_code == 0 and (tmp_path / "gavel.yaml").read_text().startswith("# Gavel project config")
    both = gavel("init", tmp_path, "--force", "--skip-existing")
    assert both.exit_code == 2 and "contradict" in both.output


def test_gitignore_ignores_only_the_caches(gavel, tmp_path):
    repo = _git_repo(tmp_path / "repo")
    assert gavel("init", repo).exit_code == 0
    for name in (".gavel/cache/evidence.json", ".gavel/history.db", "reports/gavel.sarif", "history/audit.db"):
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text("x")
    ignored = subprocess.run(["git", "check-ignore", "--no-index", ".gavel/cache/evidence.json", ".gavel/history.db",
                              "reports/gavel.sarif", "history/audit.db"], cwd=repo, capture_output=True, text=True)
    assert ignored.stdout.split() == [".gavel/cache/evidence.json"]


def test_init_onto_a_dangling_symlink_is_a_clean_refusal(gavel, tmp_path):
    (tmp_path / "gavel.yaml").symlink_to(tmp_path / "nowhere.yaml")
    result = gavel("init", tmp_path)
    assert result.exit_code == 2 and "gavel.yaml" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "nowhere.yaml").exists()
