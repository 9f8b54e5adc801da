"""One bad value is an ``error`` finding with file and line, never "internal error" for the whole run.

Each of these used to abort ``gavel check`` with exit 2 and no file: ``.nan``/``.inf``, JSON
``NaN``/``1e999``, a non-string key (``on: monday`` is the boolean true in YAML 1.1), 65–999
nesting levels (RecursionError), a 5000-digit integer, a lone surrogate, a ledger epsilon of 1e308
(OverflowError in the accountant), a budget of 1 followed by 400 zeros.
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import EvidenceError
from engine.evidence.loader import parse
from tests.conftest import model_card

POLICY = """\
id: has-owner
title: Models name an owner
severity: high
target: model
assert: {field: subject.owner, exists: true}
"""
CONFIG = """\
evidence: [{path: "models/*", kind: model}]
policies: {paths: [policies]}
"""
PRIVACY = """\
evidence:
  - {path: "models/*", kind: model}
  - {path: "datasets/*", kind: dataset}
policies: {paths: [policies]}
privacy: {ledger: privacy/ledger.jsonl}
"""
DATASET = """\
id: db.a
owner: t
records: 100
privacy_budget:
  epsilon_budget: 1.0
  period: {kind: calendar, unit: month}
"""
SPEND = {"id": "sp-1", "time": "2026-11-01T00:00:00Z", "dataset": "db.a", "epsilon": 0.5, "mechanism": "laplace"}

YAML_CASES = {
    "nan": ("x-value: .nan", "'.nan' is not a finite number"),
    "inf": ("x-value: -.inf", "'-.inf' is not a finite number"),
    "bool-key": ("on: monday", "key on is read as the boolean true"),
    "int-key": ("x-map: {2026: q4}", "key 2026 is a number"),
    "deep-65": ("x-deep: " + "[" * 65 + "]" * 65, "nesting deeper than 64 levels"),
    "deep-999": ("x-deep: " + "[" * 999 + "]" * 999, "nesting deeper than 64 levels"),
    "deep-block": ("x-deep:\n" + "".join("  " * i + "- \n" for i in range(1, 120)), "nesting deeper than 64 levels",
                   7 + 64),  # the line where the 65th level opens
    "huge-int": ("x-value: 1" + "0" * 5000, "is too large"),
    "float-overflow": ("x-value: 1" + "0" * 400, "is too large"),
    "surrogate": ('x-value: "\\ud800"', "invalid Unicode character escape"),
    "binary": ("x-value: !!binary aGk=", "YAML type !!binary is not supported"),
    "set": ("x-value: !!set {a: null}", "YAML type !!set is not supported"),
}


def findings(result) -> list[dict]:
    assert result.exit_code == 1, result.stderr
    assert "internal error" not in result.stderr
    return json.loads(result.stdout)["findings"]


def errors(result) -> list[tuple[str, int | None, str]]:
    return [(f["subject"]["source"]["file"], f["subject"]["source"]["line"], f["message"]) for f in findings(result)
            if f["status"] == "error"]


@pytest.fixture
def repo(project):
    def make(files: dict[str, str]):
        config = PRIVACY if "datasets/a.yaml" in files else CONFIG
        return project({"models/a.yaml": model_card("a"), "policies/p.yaml": POLICY, **files}, config=config)

    return make


@pytest.mark.parametrize("case", sorted(YAML_CASES))
def test_bad_yaml_values_are_error_findings(gavel, repo, case):
    line, message, *where = YAML_CASES[case]
    root = repo({"models/b.yaml": model_card("b") + line + "\n"})
    [(file, at, text)] = errors(gavel("check", root, "-o", "json"))
    assert (file, at) == ("models/b.yaml", where[0] if where else 7) and message in text
    assert ("a", "pass") in [(f["subject"]["id"], f["status"]) for f in findings(gavel("check", root, "-o", "json"))]


JSON_CASES = {
    "nan": ('"x": NaN', 3, "NaN is not a finite number"),
    "infinity": ('"x": -Infinity', 3, "-Infinity is not a finite number"),
    "overflow": ('"x": 1e999', 3, "a number too large for a float"),
    # 1e310 with a small exponent: it used to read as infinity (a pattern over the text missed it)
    "long-mantissa": ('"x": [1' + "0" * 300 + 'e10]', 3, "a number too large for a float"),
    "negative-overflow": ('"x": {"y": -0.5e400}', 3, "a number too large for a float"),
    "huge-int": ('"x": 1' + "0" * 5000, 3, "is too large"),
    "surrogate": ('"x": "\\udc00 alone"', 3, "a lone UTF-16 surrogate"),
    "deep": ('"x": ' + "[" * 999 + "]" * 999, 3, "nesting deeper than 64 levels"),
}


@pytest.mark.parametrize("case", sorted(JSON_CASES))
def test_bad_json_values_are_error_findings(gavel, repo, case):
    value, line, message = JSON_CASES[case]
    card = '{"id": "b", "name": "B", "version": "1", "owner": "t",\n "risk_level": "high",\n ' + value + \
        ',\n "lifecycle_stage": "production"}\n'
    root = repo({"models/b.json": card})
    [(file, at, text)] = errors(gavel("check", root, "-o", "json"))
    assert (file, at) == ("models/b.json", line) and message in text


@pytest.mark.parametrize(("epsilon", "message"), [
    ("1e308", "field 'epsilon': 1e+308 is greater than the maximum of 1e+100"),
    ("1e200", "field 'epsilon': 1e+200 is greater than the maximum of 1e+100"),
    ("1e999", "field 'epsilon': inf is not a finite number"),
])
def test_huge_ledger_epsilon_is_an_error_on_its_line(gavel, repo, epsilon, message):
    ledger = json.dumps(SPEND) + "\n" + json.dumps({**SPEND, "id": "sp-2"}).replace('"epsilon": 0.5', f'"epsilon": {epsilon}')
    root = repo({"datasets/a.yaml": DATASET, "privacy/ledger.jsonl": ledger + "\n"})
    assert ("privacy/ledger.jsonl", 2, message) in errors(gavel("check", root, "-o", "json"))
    status = gavel("budget", "status", "-c", root)
    assert status.exit_code == 1 and "internal error" not in status.stderr
    assert "privacy/ledger.jsonl:2" in status.stderr


@pytest.mark.parametrize(("budget", "message"), [
    ("1" + "0" * 400, "is too large"),
    ("1.0e+300", "1e+300 is greater than the maximum of 1e+100"),
])
def test_huge_budget_is_an_error_on_its_line(gavel, repo, budget, message):
    root = repo({"datasets/a.yaml": DATASET.replace("epsilon_budget: 1.0", f"epsilon_budget: {budget}"),
                 "privacy/ledger.jsonl": json.dumps(SPEND) + "\n"})
    found = errors(gavel("check", root, "-o", "json"))
    assert [(file, at) for file, at, text in found if message in text] == [("datasets/a.yaml", 5)]


# A number token: a mantissa with ``zeros`` zeros, and an exponent near where zeros + exponent
# crosses a float's limit (10**308), anywhere in -400..400, or none (an integer, or a decimal).
NUMBERS = st.integers(0, 330).flatmap(lambda zeros: st.tuples(
    st.one_of(st.builds(lambda lead, frac: lead + "0" * zeros + frac, st.sampled_from(["1", "-9"]),
                        st.sampled_from(["", ".5", ".00001"])),
              st.builds(lambda sign: f"{sign}0.{'0' * zeros}7", st.sampled_from(["", "-"]))),
    st.one_of(st.integers(300 - zeros, 320 - zeros), st.integers(-400, 400), st.none())))


@settings(max_examples=300, deadline=None)
@given(number=NUMBERS, nested=st.booleans())
def test_a_json_number_is_finite_or_refused(number, nested):
    # Oracle: Python's float() of the token itself; the loader must never hand on an infinity.
    mantissa, exponent = number
    token = mantissa if exponent is None else f"{mantissa}e{exponent}"
    text = '{"s": "ok",\n "v": ' + (f"[{{\"w\": {token}}}]" if nested else token) + "}"
    if math.isinf(float(token)):
        with pytest.raises(EvidenceError) as err:
            parse(text, "n.json")
        assert err.value.line == 2 and "too large" in err.value.message
    else:
        data = parse(text, "n.json").data
        value = data["v"][0]["w"] if nested else data["v"]
        is_int = exponent is None and "." not in mantissa
        assert value == (int(token) if is_int else float(token)) and type(value) is (int if is_int else float)
        assert data["s"] == "ok"


def test_control_characters_name_their_line():
    with pytest.raises(EvidenceError) as err:
        parse("a: 1\nb: x\x00y\n", "c.yaml")
    assert err.value.line == 2 and "unacceptable character #x0000" in err.value.message
    assert "\n" not in err.value.message
