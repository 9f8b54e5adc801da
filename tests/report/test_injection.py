"""Untrusted card fields cannot act on the terminal, the CI runner or the PR comment (issue 11.10).

A model card's ``name`` flows into the policy message. It carries a GitHub Actions
``::stop-commands::`` line, an ANSI/OSC escape, an image, a link and an ``@team`` mention; the
text, GitHub and Markdown outputs must show it as inert text.
"""

from __future__ import annotations

import json
import re

import pytest

from engine.report.escape import code_span, command_safe, html_text, markdown_text, printable

HOSTILE = ("Evil\n::stop-commands::abc\n\x1b]0;owned\x07\x1b[31mred ![x](https://evil.example/p.png) "
           "[click](https://evil.example) @acme/security #12 <img src=x onerror=alert(1)> www.evil.example")
DPIA = """\
id: high-risk-dpia-approved
title: High-risk models have an approved DPIA
severity: high
target: model
when: {field: subject.risk_level, equals: high}
assert: {field: subject.dpia.status, equals: approved}
message: "{{ subject.name }} has no approved DPIA"
"""


@pytest.fixture
def hostile(project):
    card = {"id": "m1", "name": HOSTILE, "version": "1", "owner": "team-a", "risk_level": "high",
            "lifecycle_stage": "production"}
    return project({"models/m1.yaml": json.dumps(card), "policies/dpia.yaml": DPIA},
                   config="evidence: [{path: models/*.yaml, kind: model}]\npolicies: {paths: [policies]}\n")


def _runner_commands(text: str) -> list[str]:
    """Lines GitHub Actions would execute as workflow commands (it trims leading blanks first)."""
    return [line for line in text.splitlines() if line.lstrip().startswith("::")]


def test_text_output_escapes_controls_and_command_lines(gavel, hostile):
    result = gavel("check", hostile, "-o", "text", "--color", color=True)
    assert result.exit_code == 1
    assert _runner_commands(result.stdout) == []
    assert "stop-commands" in result.stdout  # shown, not obeyed
    assert "\x1b]" not in result.stdout and "\x07" not in result.stdout and "\x1b[31mred" not in result.stdout
    assert "\\e]0;owned\\x07\\e[31mred" in result.stdout
    assert "\x1b[31mFAIL" in result.stdout  # Gavel's own colours still work


def test_github_annotations_carry_the_name_as_data(gavel, hostile):
    result = gavel("check", hostile, "-o", "github")
    commands = _runner_commands(result.stdout)
    assert commands == result.stdout.splitlines()  # every line is one of Gavel's own commands
    assert [c.split(" ", 1)[0] for c in commands] == ["::error", "::error"]  # the gate, then the failure
    assert not any("::stop-commands::" in c.split("::", 2)[2] and "%0A::stop" not in c for c in commands)
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout


def test_markdown_neutralises_images_links_mentions_and_html(gavel, hostile):
    result = gavel("check", hostile, "-o", "markdown")
    md = result.stdout
    assert "Evil" in md
    assert "![x](" not in md and "](https://" not in md and "https://evil" not in md
    assert "@acme" not in md and "#12" not in md and "www.evil" not in md
    assert "<img" not in md and "\x1b" not in md
    assert re.search(r"!\\\[x\\\]", md)  # still readable as text


@pytest.mark.parametrize("text", [HOSTILE, "a\u202eb", "\x00\x85\u2028", "plain"])
def test_escapers_leave_no_control_characters(text):
    for out in (printable(text), markdown_text(text), html_text(text), code_span(text)):
        assert not re.search("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]", out)


def test_command_safe_guards_every_runner_prefix():
    assert command_safe("::error::x") == "\\::error::x"
    assert command_safe("   ::add-mask::x") == "   \\::add-mask::x"
    assert command_safe("##vso[task.setvariable]x") == "\\##vso[task.setvariable]x"
    assert command_safe("FAIL a::b") == "FAIL a::b"


def test_code_span_cannot_be_closed_early():
    span = code_span("a`b``c|d")
    assert span.startswith("```") and span.endswith("```") and "\\|" in span
