"""``verdicts()``: how one policy's rule values for one subject become findings."""

import pytest

from engine.errors import EngineError
from engine.evaluate import verdicts
from engine.findings import Source, SubjectRef
from engine.policy.model import Policy

POLICY = Policy(id="p", title="P", severity="high", target=["model"], language="rego", source=Source("p.rego", 1),
                package="p", modules={}, rules=["deny", "warn"], sha256="0", has_applicable=True)
REF = SubjectRef(kind="model", id="m", source=None)


def statuses(result):
    return [(f.status, f.message) for f in verdicts(POLICY, REF, result)]


@pytest.mark.parametrize("result", [None, {}, "pass", [], 0, {"deny": []}, {"deny": [], "warn": []},
                                    {"applicable": True, "deny": []}])
def test_a_missing_or_partial_answer_is_an_error_never_a_pass(result):
    ((status, message),) = statuses(result)
    assert status == "error" and message.startswith("policy could not be evaluated"), message


def test_complete_answers_map_to_their_verdicts():
    assert statuses({"applicable": True, "deny": [], "warn": []}) == [("pass", "")]
    assert statuses({"applicable": False, "deny": ["x"], "warn": []}) == [("skip", "not applicable")]
    assert statuses({"applicable": True, "deny": [{"msg": "bad"}], "warn": ["meh"]}) == [("fail", "bad"), ("warn", "meh")]
    assert statuses(EngineError("boom")) == [("error", "policy could not be evaluated: boom")]
