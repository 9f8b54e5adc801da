"""Sharded audits: N shard reports merged are the bytes (and gate) of one run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from engine.shard import parse_shard, shard_of
from tests.conftest import generated_inventory

ROOT = Path(__file__).resolve().parents[2]
NOW = "2026-12-01T00:00:00Z"


@pytest.fixture
def example(tmp_path) -> Path:
    root = tmp_path / "examples"
    shutil.copytree(ROOT / "examples", root, ignore=shutil.ignore_patterns(".gavel"))
    return root


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """A synthetic inventory (benchmarks/gen_inventory.py) with waivers that match in some shards only."""
    return generated_inventory(tmp_path_factory.mktemp("gen") / "inventory", 40, """\
version: 1
waivers:
  - {id: W1, policy: rego-0*, subject: model-0000*, reason: r, owner: o@x.example, approver: a@x.example,
     expires: 2027-01-31}
  - {id: W2, policy: yaml-0*, subject: model-0001*, reason: r, owner: o@x.example, approver: a@x.example,
     expires: 2026-01-31}
  - {id: W3, policy: nothing-matches, subject: "*", reason: r, owner: o@x.example, approver: a@x.example,
     expires: 2027-01-31}
""")


def run(gavel, project: Path, out: Path, *extra: str):
    return gavel("check", project, "--now", NOW, "--no-history", "-o", f"json={out}", *extra)


def shards_then_merge(gavel, project: Path, tmp_path: Path, count: int, *extra: str):
    files = []
    for k in range(count, 0, -1):  # any order
        out = tmp_path / f"shard-{k}.json"
        result = run(gavel, project, out, "--shard", f"{k}/{count}", *extra)
        assert result.exit_code in (0, 1), result.stderr
        files.append(out)
    merged = tmp_path / "merged.json"
    result = gavel("report", "merge", *files, "-o", f"json={merged}")
    return result, merged.read_bytes(), files


@pytest.mark.parametrize("count", [1, 2, 3])
def test_merged_shards_of_the_example_are_the_single_run_byte_for_byte(gavel, example, tmp_path, count):
    whole = run(gavel, example, tmp_path / "whole.json")
    merged, data, _ = shards_then_merge(gavel, example, tmp_path, count)
    assert merged.exit_code == whole.exit_code == 1
    assert data == (tmp_path / "whole.json").read_bytes()


@pytest.mark.parametrize("count", [2, 5])
def test_merged_shards_of_a_generated_inventory_are_the_single_run(gavel, generated, tmp_path, count):
    whole = run(gavel, generated, tmp_path / "whole.json")
    merged, data, files = shards_then_merge(gavel, generated, tmp_path, count)
    assert merged.exit_code == whole.exit_code
    assert data == (tmp_path / "whole.json").read_bytes()
    # each subject is judged in exactly one shard (the independent oracle: the single run's subjects)
    subjects = [{(f["subject"]["kind"], f["subject"]["id"]) for f in json.loads(p.read_text())["findings"]
                 if f["subject"]["kind"] != "waiver"} for p in files]
    assert sum(len(s) for s in subjects) == len(set().union(*subjects))
    single = {(f["subject"]["kind"], f["subject"]["id"]) for f in json.loads(data)["findings"]
              if f["subject"]["kind"] != "waiver"}
    assert set().union(*subjects) == single


def test_merge_with_a_baseline(gavel, generated, tmp_path):
    baseline = tmp_path / "baseline.json"
    run(gavel, generated, baseline)
    project = tmp_path / "changed"
    shutil.copytree(generated, project, ignore=shutil.ignore_patterns(".gavel"))
    card = project / "models/model-00003.yaml"
    text = card.read_text()
    for risk in ("minimal", "limited", "unacceptable"):
        text = text.replace(f"risk_level: {risk}", "risk_level: high")
    card.write_text(text.replace("required: true", "required: false"))
    whole = run(gavel, project, tmp_path / "whole.json", "--baseline", str(baseline))
    merged, data, _ = shards_then_merge(gavel, project, tmp_path, 3, "--baseline", str(baseline))
    assert merged.exit_code == whole.exit_code
    assert data == (tmp_path / "whole.json").read_bytes()


def test_merge_refuses_incomplete_duplicate_or_foreign_shards(gavel, example, tmp_path):
    for k in (1, 2):
        run(gavel, example, tmp_path / f"s{k}.json", "--shard", f"{k}/3")
    result = gavel("report", "merge", tmp_path / "s1.json", tmp_path / "s2.json")
    assert result.exit_code == 2 and "missing shard(s) 3/3" in result.stderr
    result = gavel("report", "merge", tmp_path / "s1.json", tmp_path / "s1.json")
    assert result.exit_code == 2 and "given twice" in result.stderr
    run(gavel, example, tmp_path / "whole.json")
    result = gavel("report", "merge", tmp_path / "whole.json")
    assert result.exit_code == 2 and "not a shard report" in result.stderr
    gavel("check", example, "--now", "2027-01-01", "--no-history", "--shard", "3/3", "-o", f"json={tmp_path}/s3.json")
    result = gavel("report", "merge", tmp_path / "s1.json", tmp_path / "s2.json", tmp_path / "s3.json")
    assert result.exit_code == 2 and "not a shard of the same run" in result.stderr


@pytest.mark.parametrize("text", ["0/3", "4/3", "3", "a/b", "1/0"])
def test_bad_shard_spec_is_a_usage_error(gavel, example, text):
    result = gavel("check", example, "--shard", text)
    assert result.exit_code == 2
    assert "--shard expects K/N" in result.stderr


def test_shard_assignment_is_stable_and_spread():
    assert parse_shard("2/4") == (2, 4)
    counts = [0] * 4
    for i in range(4000):
        counts[shard_of("model", f"m{i}", 4) - 1] += 1
    assert all(900 < c < 1100 for c in counts)
    assert shard_of("model", "credit-scoring-v3", 4) == shard_of("model", "credit-scoring-v3", 4)


def test_init_writes_matrix_examples_that_shard_and_merge(gavel, tmp_path):
    import yaml

    assert gavel("init", tmp_path).exit_code == 0
    github = yaml.safe_load((tmp_path / ".github/gavel-sharded.yml").read_text())
    shards = github["jobs"]["shard"]["strategy"]["matrix"]["shard"]
    assert shards == list(range(1, int(github["env"]["SHARDS"]) + 1))
    steps = " ".join(str(s.get("run", "")) for s in github["jobs"]["shard"]["steps"])
    assert "--shard ${{ matrix.shard }}/${{ env.SHARDS }}" in steps
    assert github["jobs"]["gate"]["needs"] == "shard"
    assert any("gavel report merge shards/shard-*.json" in str(s.get("run", "")) for s in github["jobs"]["gate"]["steps"])
    gitlab = yaml.safe_load((tmp_path / ".gitlab/gavel-sharded.yml").read_text())
    assert gitlab["gavel-shard"]["parallel"] == 4
    assert any('--shard "$CI_NODE_INDEX/$CI_NODE_TOTAL"' in line for line in gitlab["gavel-shard"]["script"])
    assert gitlab["gavel"]["needs"] == ["gavel-shard"]
    # what the jobs run, run here: 4 shards, merged, equal the single run
    whole = gavel("check", tmp_path, "--now", NOW, "--no-history", "-o", f"json={tmp_path}/whole.json")
    merged, data, _ = shards_then_merge(gavel, tmp_path, tmp_path, 4)
    assert merged.exit_code == whole.exit_code == 0
    assert data == (tmp_path / "whole.json").read_bytes()
