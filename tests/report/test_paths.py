"""Repo-relative, precise locations (issue 13.2): every renderer writes paths from the repository
root (git top level, else --path-prefix), and findings on the lineage graph point at the file and
line of the statement that created the offending edge, never at ``.``."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from engine.report.paths import path_prefix
from tests.conftest import EXAMPLES, NOW, ROOT, model_card

FORMATS = ["text", "github", "sarif", "markdown", "junit", "html"]


def _paths(fmt: str, text: str) -> set[str]:
    """Every location a rendered report points at (an independent reading of each format; paths
    that policies quote inside messages or evidence are the policy's words, not locations)."""
    if fmt == "sarif":
        return {loc["physicalLocation"]["artifactLocation"]["uri"] for r in json.loads(text)["runs"][0]["results"]
                for loc in r["locations"] if "physicalLocation" in loc}
    if fmt == "html":
        raw = re.search(r'<script type="application/json" id="gavel-data">(.*?)</script>', text, re.S).group(1)
        return {src.rsplit(":", 1)[0] if src.rsplit(":", 1)[-1].isdigit() else src
                for _, src in json.loads(raw)["subjects"] if src}
    pattern = {
        "github": r"file=([^,:]+)",
        "text": r"^\S+ \S+  \(([^:)]+)",
        "markdown": r"^`+ ?([^:`]+)[:`]|\(`([^:`]+):\d+`\)",
        "junit": r"^source: ([^:\n]+)",
    }[fmt]
    found = set()
    for match in re.finditer(pattern, text, flags=re.M):
        found.update(g for g in match.groups() if g)
    return found


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """`gavel check examples` from the repository root, every format to a file."""
    from click.testing import CliRunner

    from engine.cli import main

    out = tmp_path_factory.mktemp("out")
    args = ["check", str(EXAMPLES), "--now", NOW, *[a for f in FORMATS for a in ("-o", f"{f}={out / f}")]]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 1, result.output
    return {f: (out / f).read_text() for f in FORMATS}


@pytest.mark.parametrize("fmt", FORMATS)
def test_paths_are_relative_to_the_repository_root(outputs, fmt):
    paths = _paths(fmt, outputs[fmt])
    assert paths, fmt
    for path in paths:
        assert path.startswith("examples/"), (fmt, path)
        assert (ROOT / path).is_file(), (fmt, path)  # the path resolves from the repository root


def test_lineage_findings_point_at_the_statement_that_closes_the_cycle(outputs):
    log = json.loads(outputs["sarif"])
    (cycle,) = [r for r in log["runs"][0]["results"] if r["ruleId"] == "lineage-no-cycles"]
    loc = cycle["locations"][0]["physicalLocation"]
    path, line = loc["artifactLocation"]["uri"], loc["region"]["startLine"]
    statement = (ROOT / path).read_text().splitlines()[line - 1]
    # The oracle: the line named writes one table of the cycle and the statement reads the other.
    assert re.match(r"\s*(MERGE INTO|INSERT INTO|CREATE)", statement, re.I), statement
    tables = ["staging.customer_profile", "features.credit_features"]
    assert any(t in statement for t in tables)
    annotation = next(line for line in outputs["github"].splitlines() if "lineage-no-cycles" in line)
    assert f"file={path},line={line}," in annotation
    for fmt in FORMATS:
        assert "(.)" not in outputs[fmt] and "file=.," not in outputs[fmt] and '"uri": "."' not in outputs[fmt]


def test_path_prefix_option_and_projects_outside_git(gavel, tmp_path):
    project = tmp_path / "gov"
    shutil.copytree(ROOT / "tests/fixtures/minimal", project)
    (project / "models/m9.yaml").write_text(model_card("m9", "high"))  # no DPIA: a failure with a file
    plain = gavel("check", project, "-o", "github")
    assert re.search(r"file=models/", plain.stdout) and "gov/" not in plain.stdout  # no repository: as is
    prefixed = gavel("check", project, "-o", "github", "--path-prefix", "teams/risk/gov")
    assert re.search(r"file=teams/risk/gov/models/", prefixed.stdout)
    (tmp_path / ".git").mkdir()  # now the project is a subfolder of a repository
    nested = gavel("check", project, "-o", "github", "-o", f"json={tmp_path / 'r.json'}")
    assert re.search(r"file=gov/models/", nested.stdout)
    saved = json.loads((tmp_path / "r.json").read_text())
    assert saved["extra"]["path_prefix"] == "gov"
    assert all(not f["subject"]["source"]["file"].startswith("gov/") for f in saved["findings"])
    again = gavel("report", "convert", tmp_path / "r.json", "-o", "github")
    assert again.stdout == nested.stdout  # the saved report renders the same
    moved = gavel("report", "convert", tmp_path / "r.json", "-o", "github", "--path-prefix", "")
    assert re.search(r"file=models/", moved.stdout)


def test_path_prefix_normalises(tmp_path):
    assert path_prefix(tmp_path, "./a/b/") == "a/b"
    assert path_prefix(tmp_path, "") == ""
    assert path_prefix(tmp_path, "a\\b") == "a/b"
    (tmp_path / ".git").write_text("gitdir: elsewhere\n")  # a worktree or submodule
    (tmp_path / "x" / "y").mkdir(parents=True)
    assert path_prefix(tmp_path / "x" / "y") == "x/y"
    assert path_prefix(tmp_path) == ""


def test_locate_follows_paths_cycles_jobs_and_tables():
    from engine.findings import Finding, Source, SubjectRef
    from engine.lineage.graph import LineageGraph
    from engine.lineage.locate import locate_findings

    lg = LineageGraph()
    a, b = lg.add_table("raw.a"), lg.add_table("stg.b")
    ca, cb = lg.add_column("raw.a", "x"), lg.add_column("stg.b", "x")
    lg.add_edge(ca, cb, "direct", file="sql/b.sql", line=4)
    job = lg.add_job("nightly")
    lg.add_edge(b, job, "input", file="events/run.jsonl", line=9)
    lg.add_edge(job, a, "output", file="events/run.jsonl", line=10)
    lg.add_table("raw.orphan", file="schema.yaml", line=3)

    def finding(evidence, message=""):
        return Finding(policy="p", title="t", severity="high", status="fail", message=message, evidence=evidence,
                       subject=SubjectRef("lineage", "lineage", Source(".", None)))

    got = locate_findings(lg, [finding({"path": ["raw.a.x", "stg.b.x"]}), finding({"tables": ["stg.b", "raw.a"]}),
                               finding({"table": "raw.orphan"}), finding({"nothing": 1}), finding("a string")])
    assert [f.subject.source for f in got] == [Source("sql/b.sql", 4), Source("events/run.jsonl", 9),
                                               Source("schema.yaml", 3), None, None]
