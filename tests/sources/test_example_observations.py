"""The example's observation files are what the tools write today: regenerate them with the real
tools (examples/observations/generate.py) and check Gavel judges both sets the same."""

from __future__ import annotations

import importlib.util
import json
import shutil

import pytest

from tests.conftest import EXAMPLES, NOW


def test_regenerated_observations_give_the_same_verdicts(gavel, example_copy):
    for module in ("great_expectations", "evidently", "fairlearn"):
        pytest.importorskip(module, reason=f"{module} is in the test extras")
    spec = importlib.util.spec_from_file_location("generate", EXAMPLES / "observations" / "generate.py")
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    shutil.rmtree(example_copy / "observations")
    generate.main(example_copy / "observations")

    def verdicts(root):
        report = json.loads(gavel("check", root, "--now", NOW, "-o", "json").stdout)
        return sorted((f["policy"], f["subject"]["id"], f["status"], f["message"]) for f in report["findings"]
                      if f["policy"].startswith(("dq-", "mon-", "fair-", "gavel-observations")))

    committed = verdicts(EXAMPLES)
    assert committed and any(v[2] == "fail" for v in committed)
    assert verdicts(example_copy) == committed
