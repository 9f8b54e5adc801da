"""Framework catalogs, reference normalisation and ``gavel frameworks``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import main
from engine.frameworks import catalogs, coverage, get_framework, parse_reference, resolve, unknown_references
from engine.policy import load_paths, pack_names
from engine.resources import policies_dir

ROOT = Path(__file__).resolve().parents[2]


def run(*args):
    return CliRunner().invoke(main, ["frameworks", *map(str, args)])


def test_catalogs_are_loaded_with_unique_controls():
    assert set(catalogs()) == {"eu-ai-act", "gdpr", "nist-ai-rmf", "iso-42001"}
    for framework in catalogs().values():
        ids = [c.id for c in framework.controls]
        assert len(ids) == len(set(ids)), framework.id
        assert all(c.title for c in framework.controls)
    assert len(get_framework("nist-ai-rmf").controls) == 72
    assert sum(c.id.startswith("A.") for c in get_framework("iso-42001").controls) == 38


@pytest.mark.parametrize("reference, expected", [
    ("EU AI Act Art. 14", ("eu-ai-act", "Art. 14")),
    ("EU AI Act  Art. 10(2)(f)", ("eu-ai-act", "Art. 10(2)(f)")),
    ("GDPR Art. 35(1)", ("gdpr", "Art. 35(1)")),
    ("NIST AI RMF MEASURE 2.11", ("nist-ai-rmf", "MEASURE 2.11")),
    ("ISO/IEC 42001 A.7.5", ("iso-42001", "A.7.5")),
    ("SOC 2 CC6.1", None),
])
def test_parse_reference(reference, expected):
    assert parse_reference(reference) == expected


def test_resolve_drops_trailing_parts_to_the_most_specific_control():
    eu = get_framework("eu-ai-act")
    assert resolve(eu, "Art. 10(2)(f)") == "Art. 10(2)(f)"
    assert resolve(eu, "Art. 14(4)(a)") == "Art. 14"
    assert resolve(eu, "Annex IV(1)(a)") == "Annex IV"
    assert resolve(eu, "Art. 999") is None


def test_every_builtin_reference_resolves():
    sources = [(policies_dir() / name, name) for name in pack_names()]
    policies = load_paths(sources).policies
    assert unknown_references(policies) == []


def test_coverage_marks_checked_partly_and_unchecked():
    policies = load_paths([(policies_dir() / "eu-ai-act", "eu-ai-act")]).policies
    rows = {r.control.id: r for r in coverage(policies, get_framework("eu-ai-act"))[0]}
    assert rows["Art. 14"].status == "checked" and "aia-human-oversight" in rows["Art. 14"].policies
    assert rows["Art. 10"].status == "partly"
    assert rows["Art. 43"].status == "unchecked" and rows["Art. 43"].policies == []


def test_cli_summary_counts_every_pack_without_config(tmp_path):
    result = run("-p", tmp_path)
    assert result.exit_code == 0, result.output
    assert "counting every built-in pack" in result.output
    assert "eu-ai-act" in result.output and "nist-ai-rmf" in result.output


def test_cli_framework_detail_follows_enabled_packs(tmp_path):
    (tmp_path / "gavel.yaml").write_text("policies:\n  packs: [gdpr]\n")
    result = run("gdpr", "-p", tmp_path)
    assert result.exit_code == 0, result.output
    assert "packs: gdpr" in result.output
    assert "checked    Art. 35(1)" in result.output
    only_gdpr = run("eu-ai-act", "-p", tmp_path, "-o", "json")
    data = json.loads(only_gdpr.output)
    controls = {c["id"]: c for c in data["frameworks"][0]["controls"]}
    assert controls["Art. 14"]["policies"] == ["gdpr-automated-decision"]  # only what gdpr cites
    assert controls["Art. 27"]["status"] == "unchecked"


def test_cli_unchecked_filter(tmp_path):
    result = run("iso-42001", "-p", tmp_path, "--all-packs", "--unchecked")
    assert result.exit_code == 0
    assert "unchecked  A.2.2" in result.output and "checked    A.7.5" not in result.output


def test_cli_unknown_framework_is_a_usage_error(tmp_path):
    result = run("euaiact", "-p", tmp_path)
    assert result.exit_code == 2 and "Did you mean eu-ai-act?" in result.output
