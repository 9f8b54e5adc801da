"""A card's own metric threshold can tighten a policy's bound, never loosen it (issue 11 item 5)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import NOW, model_card

CONFIG = "evidence:\n  - {path: models/*.yaml, kind: model}\npolicies:\n  packs: [eu-ai-act]\n"


@pytest.mark.parametrize(("value", "threshold", "status"), [
    (0.45, 0.5, "fail"),   # the card's 0.5 would have let 0.45 through; the policy's 0.1 holds
    (0.06, 0.05, "fail"),  # a stricter card threshold applies
    (0.04, 0.05, "pass"),
])
def test_card_threshold_never_loosens_max_disparity(gavel, project, value, threshold, status):
    card = model_card(extra=f"""\
        metrics:
          fairness:
            - {{name: demographic_parity_difference, value: {value}, threshold: {threshold}}}
        """)
    root = project({"models/m.yaml": card}, config=CONFIG)
    result = gavel("check", root, "-o", "json", "--now", NOW)
    report = json.loads(result.stdout)
    assert [f["status"] for f in report["findings"] if f["policy"] == "aia-fairness-metrics"] == [status]
