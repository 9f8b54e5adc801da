"""Outputs through the ``gavel`` command: several formats in one run, ``report convert``, atomic writes."""

from __future__ import annotations

import json
import os

import pytest

from tests.conftest import EXAMPLES


def test_several_outputs_in_one_run(gavel, tmp_path):
    outs = {fmt: tmp_path / "out" / f"r.{fmt}" for fmt in ("json", "junit", "sarif", "github", "markdown", "html")}
    args = [a for fmt, path in outs.items() for a in ("-o", f"{fmt}={path}")]
    result = gavel("check", EXAMPLES, *args)
    assert result.exit_code == 1, result.stderr
    assert result.stdout == ""  # everything went to files
    for path in outs.values():
        assert path.stat().st_size > 0
    report = json.loads(outs["json"].read_text())
    assert report["summary"]["by_status"]["waived"] == 1
    assert "<testsuites" in outs["junit"].read_text()
    assert outs["html"].read_text().startswith("<!DOCTYPE html>")


def test_same_inputs_same_bytes(gavel, tmp_path):
    for run in ("a", "b"):
        gavel("check", EXAMPLES, "-o", f"html={tmp_path / run}.html", "-o", f"sarif={tmp_path / run}.sarif")
    assert (tmp_path / "a.html").read_bytes() == (tmp_path / "b.html").read_bytes()
    assert (tmp_path / "a.sarif").read_bytes() == (tmp_path / "b.sarif").read_bytes()


def test_report_convert_round_trip(gavel, tmp_path):
    saved = tmp_path / "report.json"
    gavel("check", EXAMPLES, "-o", f"json={saved}", "-o", f"markdown={tmp_path / 'direct.md'}")
    result = gavel("report", "convert", saved, "-o", f"markdown={tmp_path / 'converted.md'}", "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "converted.md").read_text() == (tmp_path / "direct.md").read_text()
    assert result.stdout == saved.read_text()  # JSON survives the round trip byte for byte


@pytest.mark.parametrize("content, message", [
    (None, "no such report file"),
    ("not json at all", "not a JSON report"),
    ('{"tool": {}}', "not a Gavel report"),
    ("{broken", "not a Gavel report"),
])
def test_report_convert_bad_input(gavel, tmp_path, content, message):
    path = tmp_path / "r.json"
    if content is not None:
        path.write_text(content)
    result = gavel("report", "convert", path, "-o", "html")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ") and message in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_format_writes_nothing(gavel, tmp_path):
    saved = tmp_path / "report.json"
    gavel("check", EXAMPLES, "-o", f"json={saved}")
    result = gavel("report", "convert", saved, "-o", f"html={tmp_path / 'x.html'}", "-o", "sariff")
    assert result.exit_code == 2 and "Did you mean sarif?" in result.stderr
    assert not (tmp_path / "x.html").exists()


def test_atomic_write_keeps_old_file_on_crash(gavel, tmp_path, monkeypatch):
    """A crash mid-write leaves the old report whole and no temporary file behind."""
    target = tmp_path / "report.html"
    target.write_text("OLD REPORT")

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    monkeypatch.setenv("GAVEL_DEBUG", "")
    result = gavel("check", EXAMPLES, "-o", f"html={target}")
    assert result.exit_code == 2 and "disk full" in result.stderr
    assert target.read_text() == "OLD REPORT"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_gate_options(gavel):
    # the example fails on high findings; its one critical failure is the overspent budget
    calm = ["--disable", "privacy-budget-exceeded"]
    assert gavel("check", EXAMPLES, "--fail-on", "critical", *calm).exit_code == 0
    assert gavel("check", EXAMPLES, "--fail-on", "critical").exit_code == 1
    assert gavel("check", EXAMPLES, "--fail-on", "high").exit_code == 1
    soft = gavel("check", EXAMPLES, "--soft-fail", "-o", "markdown")
    assert soft.exit_code == 0 and "soft-fail" in soft.stdout
    # warnings (including the example's stale waiver) fail only with --fail-on-warn
    assert gavel("check", EXAMPLES, "--fail-on", "critical", "--fail-on-warn", *calm).exit_code == 1
