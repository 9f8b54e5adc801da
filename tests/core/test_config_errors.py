"""Config errors name gavel.yaml and the line: an unknown evidence or output format, an unknown pack,
a missing policy path, a bad ``now``. They used to say only what was wrong, not where."""

from __future__ import annotations

import pytest

from tests.conftest import model_card

POLICY = "id: p\ntitle: T\nseverity: high\ntarget: model\nassert: {field: subject.owner, exists: true}\n"


@pytest.mark.parametrize(("config", "message"), [
    ('evidence:\n  - {path: "models/*", kind: model}\n  - {path: "x/*", kind: model, format: mlfow}\n'
     "policies: {paths: [policies]}\n", "gavel.yaml:3: unknown evidence format 'mlfow'. Did you mean mlflow?"),
    ('evidence: [{path: "models/*", kind: model}]\npolicies: {paths: [policies]}\noutputs:\n  - text\n  - jsn=r.json\n',
     "gavel.yaml:5: unknown output format 'jsn'. Did you mean json?"),
    ('evidence: [{path: "models/*", kind: model}]\npolicies:\n  paths: [policies]\n  packs:\n    - lineage\n'
     "    - privcy\n", "gavel.yaml:6: unknown policy pack 'privcy'. Did you mean privacy?"),
    ('evidence: [{path: "models/*", kind: model}]\npolicies:\n  paths:\n    - policies\n    - policies/missing.yaml\n',
     "gavel.yaml:5: no such policy file or folder: policies/missing.yaml"),
    ('evidence: [{path: "models/*", kind: model}]\npolicies: {paths: [policies]}\nnow: "26/11/2026"\n',
     "gavel.yaml:3: now: not an ISO 8601 date or time: '26/11/2026'"),
])
def test_config_errors_name_file_and_line(gavel, project, config, message):
    root = project({"models/a.yaml": model_card("a"), "policies/p.yaml": POLICY}, config=config)
    result = gavel("check", root)
    assert result.exit_code == 2
    assert result.stderr == f"Error: {root / message}\n"


def test_the_command_line_keeps_its_own_messages(gavel, project):
    root = project({"models/a.yaml": model_card("a"), "policies/p.yaml": POLICY},
                   config='evidence: [{path: "models/*", kind: model}]\npolicies: {paths: [policies]}\n')
    assert gavel("check", root, "--now", "tuesday").stderr == "Error: --now: not an ISO 8601 date or time: 'tuesday'\n"
    assert "unknown output format 'jsn'" in gavel("check", root, "-o", "jsn").stderr
