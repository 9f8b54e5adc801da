"""YAML policies and the Rego they compile to (``gavel policy compile``), as golden files.

GAVEL_UPDATE_GOLDEN=1 rewrites the expected Rego after a deliberate compiler change; review the diff.
"""

import os

import pytest

from tests.conftest import ROOT

FIXTURES = ROOT / "tests/fixtures/compile"


@pytest.mark.parametrize("name", sorted(p.stem for p in FIXTURES.glob("*.yaml")))
def test_compiled_rego_matches_golden(gavel, name):
    result = gavel("policy", "compile", FIXTURES / f"{name}.yaml")
    assert result.exit_code == 0, result.output
    text = result.stdout.replace(str(ROOT) + "/", "")
    golden = FIXTURES / f"{name}.rego"
    if os.environ.get("GAVEL_UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text()
