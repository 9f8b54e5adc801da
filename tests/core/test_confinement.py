"""Reads and writes stay inside the project unless ``--allow-outside`` says otherwise.

A cloned repository used to make Gavel read ``../../etc/passwd`` as evidence (globs, absolute
paths, symlinks out), read a ledger or waivers file from anywhere, and write its cache, history or
configured outputs over files elsewhere.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import model_card

POLICY = "id: p\ntitle: T\nseverity: high\ntarget: model\nassert: {field: subject.owner, exists: true}\n"
CONFIG = 'evidence: [{path: "models/*.yaml", kind: model}]\npolicies: {paths: [policies]}\n'


@pytest.fixture
def repo(project):
    root = project({"models/a.yaml": model_card("a"), "policies/p.yaml": POLICY}, config=CONFIG)
    outside = root.parent / "outside"
    outside.mkdir()
    (outside / "b.yaml").write_text(model_card("b"))
    return root


def report(result) -> dict:
    assert "internal error" not in result.stderr
    return json.loads(result.stdout)


def errors(result) -> dict[str, str]:
    return {f["subject"]["source"]["file"]: f["message"] for f in report(result)["findings"] if f["status"] == "error"}


@pytest.mark.parametrize("pattern", ["../outside/*.yaml", "{outside}/*.yaml"])
def test_evidence_globs_outside_are_errors(gavel, repo, pattern):
    outside = repo.parent / "outside"
    pattern = pattern.format(outside=outside)
    (repo / "gavel.yaml").write_text(CONFIG.replace('"models/*.yaml"', f'["models/*.yaml", "{pattern}"]'))
    result = gavel("check", repo, "-o", "json")
    assert result.exit_code == 1
    [(file, message)] = errors(result).items()
    assert file.endswith("outside/b.yaml") and "is outside the project" in message and "--allow-outside" in message
    allowed = gavel("check", repo, "-o", "json", "--allow-outside")
    assert allowed.exit_code == 0 and "b" in {f["subject"]["id"] for f in report(allowed)["findings"]}


def test_a_symlink_out_of_the_project_is_not_followed(gavel, repo):
    (repo / "models/b.yaml").symlink_to(repo.parent / "outside/b.yaml")
    result = gavel("check", repo, "-o", "json")
    assert result.exit_code == 1
    message = errors(result)["models/b.yaml"]
    assert message.startswith("models/b.yaml is outside the project (it leads to ") and "outside/b.yaml" in message


def test_a_lineage_source_symlinked_out_is_an_error(gavel, repo):
    (repo.parent / "outside/x.sql").write_text("INSERT INTO a.b SELECT id FROM a.c;\n")
    (repo / "sql").mkdir()
    (repo / "sql/x.sql").symlink_to(repo.parent / "outside/x.sql")
    (repo / "gavel.yaml").write_text(CONFIG + "lineage:\n  sources: [{type: sql, path: 'sql/*.sql'}]\n")
    result = gavel("check", repo, "-o", "json")
    assert result.exit_code == 1 and "is outside the project" in errors(result)["sql/x.sql"]


@pytest.mark.parametrize(("setting", "line"), [
    ("waivers: ../outside/w.yaml", 3),
    ("privacy: {ledger: /etc/passwd}", 3),
    ("cache: {path: /tmp}", 3),
    ("history: {enabled: true, path: ../outside/history.db}", 3),
    ("outputs: [json=/etc/gavel-report.json]", 3),
])
def test_configured_paths_outside_stop_the_run(gavel, repo, setting, line):
    (repo / "gavel.yaml").write_text(CONFIG + setting + "\n")
    result = gavel("check", repo)
    assert result.exit_code == 2
    assert f"gavel.yaml:{line}: " in result.stderr and "is outside the project" in result.stderr
    assert "--allow-outside" in result.stderr


def test_a_planted_cache_folder_symlink_is_refused(gavel, repo):
    """``.gavel`` committed as a symlink out: the cache would be written over files elsewhere."""
    (repo / ".gavel").symlink_to(repo.parent / "outside")
    result = gavel("check", repo)
    assert result.exit_code == 2 and "cache.path: .gavel/cache is outside the project" in result.stderr
    assert not (repo.parent / "outside/cache").exists()
    assert gavel("check", repo, "--allow-outside").exit_code == 0


def test_the_command_line_may_point_outside(gavel, repo, tmp_path):
    """What the operator types is their choice; only what the repository says is confined."""
    history = tmp_path / "elsewhere/history.db"
    assert gavel("check", repo, "--history", "--history-path", history).exit_code == 0
    assert history.exists()


def test_init_onto_a_dangling_symlink_is_a_clean_error(gavel, tmp_path):
    (tmp_path / "gavel.yaml").symlink_to("missing/gavel.yaml")
    result = gavel("init", tmp_path)
    assert result.exit_code == 2 and "refusing to overwrite existing file(s)" in result.stderr
    assert "internal error" not in result.stderr


@pytest.mark.parametrize(("output", "message"), [("", "-o : the path is empty"),
                                                 ("{dir}", "-o {dir}: cannot write the bundle: is a directory")])
def test_bundle_output_errors_are_clean(gavel, repo, tmp_path, output, message):
    output, message = output.format(dir=tmp_path), message.format(dir=tmp_path)
    result = gavel("bundle", "build", repo, "-o", output)
    assert result.exit_code == 2 and result.stderr == f"Error: {message}\n"


def test_confinement_agrees_with_inside_on_every_kind_of_path(tmp_path):
    """``Confinement`` (one realpath per folder) answers exactly as ``inside`` (one per file):
    plain files, symlinks out and in, links through a folder that leads out, dangling links,
    ``..`` in the path and as the last name, and a folder that is itself a link out."""
    import os

    from engine.fsutil import Confinement, inside

    root, away = tmp_path / "project", tmp_path / "away"
    (root / "models" / "deep").mkdir(parents=True)
    away.mkdir()
    (away / "secret.yaml").write_text("x")
    (root / "models" / "a.yaml").write_text("x")
    (root / "models" / "deep" / "b.yaml").write_text("x")
    (root / "models" / "out.yaml").symlink_to(away / "secret.yaml")
    (root / "models" / "in.yaml").symlink_to(root / "models" / "a.yaml")
    (root / "models" / "dangling.yaml").symlink_to(away / "missing.yaml")
    (root / "models" / "dangling-in.yaml").symlink_to(root / "missing.yaml")
    (root / "linked").symlink_to(away)  # a folder inside the project that leads out
    (root / "models" / "up").symlink_to(root / "models" / "deep")
    paths = [
        root / "models" / "a.yaml", root / "models" / "deep" / "b.yaml", root / "models" / "out.yaml",
        root / "models" / "in.yaml", root / "models" / "dangling.yaml", root / "models" / "dangling-in.yaml",
        root / "linked" / "secret.yaml", root / "linked" / "missing.yaml", root / "models" / "up" / ".." / "..",
        root / "models" / "up" / ".." / "a.yaml", root / "models" / "..", root / ".." / "away" / "secret.yaml",
        root / "models" / "up" / "b.yaml", root / "missing" / "x.yaml", root, tmp_path,
    ]
    confinement = Confinement(root)
    answers = {str(p): (p in confinement, inside(root, p)) for p in paths}
    assert all(mine == expected for mine, expected in answers.values()), answers
    assert not answers[str(root / "models" / "out.yaml")][0] and not answers[str(root / "linked" / "secret.yaml")][0]
    assert answers[str(root / "models" / "a.yaml")][0] and answers[str(root / "models" / "in.yaml")][0]
    relative = Confinement(os.path.relpath(root))  # relative paths resolve against the working directory
    assert [os.path.relpath(p) in relative for p in paths] == [inside(root, p) for p in paths]
