"""Summary lines say "1 subject", not "1 subjects", in every format that states the counts."""

from __future__ import annotations

import shutil

import pytest

from engine.report import counted
from tests.conftest import ROOT


@pytest.mark.parametrize(("n", "text"), [(0, "0 policies"), (1, "1 policy"), (2, "2 policies")])
def test_counted(n, text):
    assert counted(n, "policy", "policies") == text


def test_a_run_on_one_subject_says_so(gavel, tmp_path):
    project = tmp_path / "minimal"
    shutil.copytree(ROOT / "tests/fixtures/minimal", project)
    out = tmp_path / "out"
    result = gavel("check", project, "--no-history", "--no-cache", "--subject", "churn-predictor",
                   "-o", "text", "-o", f"markdown={out}.md", "-o", f"html={out}.html")
    assert result.exit_code == 0, result.output
    assert "Summary: 1 subject, 2 policies, 2 findings" in result.stdout
    assert "1 subject · 2 policies · 2 findings" in (tmp_path / "out.md").read_text()
    assert "1 subject · 2 policies · 2 findings" in (tmp_path / "out.html").read_text()
    for text in (result.stdout, (tmp_path / "out.md").read_text(), (tmp_path / "out.html").read_text()):
        assert "1 subjects" not in text
