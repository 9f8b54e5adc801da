"""The embedded engine's evaluation plan (``engine.evaluate.plan``): each policy read by its own
``eval_rule`` (a Rego policy's partial sets straight from its package, a YAML policy's compact
``verdict`` rule) judges exactly as one query of the wrapper's kind object does, in the child and
in process; an undefined answer is an ``error``, never a pass."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.context import subject_of
from engine.engines.embedded import EmbeddedEngine, _compiled
from engine.errors import EngineError
from engine.evaluate import WRAPPER, plan, prepare
from engine.evidence.loader import parse
from engine.findings import Source
from engine.inventory import Record
from engine.policy import load_paths, yaml_policies
from engine.policy.model import PolicySet
from tests.core.test_compiler_properties import (
    FIELDS,
    EngineErrorExpected,
    conditions,
    interpret,
    prefixed,
    subject_docs,
)

NOW = "2026-11-26T00:00:00Z"


def rego(pid: str, body: str, package: str | None = None) -> str:
    return (f"# METADATA\n# title: {pid}\n# custom:\n#   id: {pid}\n#   severity: high\n#   target: [model]\n"
            f"package t.{package or pid.replace('-', '_')}\n\nimport rego.v1\n\n{body}\n")


POLICIES = {
    "sets.rego": rego("sets", 'deny contains sprintf("%s is high", [input.id]) if input.subject.risk_level == "high"\n\n'
                              'warn contains {"msg": "no owner", "team": "?"} if not input.subject.owner\n\n'
                              'warn contains "two" if count(input.subject.tags) == 2'),
    "never.rego": rego("never", 'deny contains "never" if input.subject.risk_level == "nonexistent"'),
    # a builtin error aborts an evaluation: an ``error`` for this policy on this subject only
    "broken.rego": rego("broken", "deny contains x if {\n\tx := to_number(input.subject.name)\n\tx > 1\n}"),
    "complete.rego": rego("complete", 'deny := ["complete"] if input.subject.risk_level == "high"'),
    "scoped.rego": rego("scoped", 'applicable if input.subject.risk_level != "minimal"\n\n'
                                  'deny contains "scoped" if not input.subject.owner'),
    "many.rego": rego("many", 'deny contains "a" if true\n\nviolation contains {"msg": "v", "n": 1} if true\n\n'
                              'deny_extra contains "x" if input.subject.risk_level == "low"'),
    # a line in a raw string reads like a partial set; the rule is complete and undefined on "low"
    "tricky.rego": rego("tricky", 'note := `\ndeny contains "not a rule"\n`\n\n'
                                  'deny := "complete" if input.subject.risk_level == "high"'),
    "when.yaml": "id: when\ntitle: W\nseverity: high\ntarget: model\n"
                 "when: {field: subject.risk_level, in: [high, limited]}\n"
                 "assert: {all: [{field: subject.owner, exists: true}, {field: subject.tags, min_length: 1}]}\n"
                 "message: '{{ id }} lacks an owner or tags'\n",
    "always.yaml": "id: always\ntitle: A\nseverity: low\ntarget: model\nlevel: warn\n"
                   "assert: {any: [{field: subject.tags, contains: prod}, {not: {field: subject.name, matches: '^x'}}]}\n",
    "every.yaml": "id: every\ntitle: E\nseverity: medium\ntarget: model\n"
                  "when: {field: subject.tags, exists: true}\n"
                  "assert: {field: subject.metrics, every: {field: value, gte: 0.5}}\n",
}

CARDS = [
    {"id": "m-high", "risk_level": "high", "owner": "a", "tags": ["prod", "x"], "name": "x1",
     "metrics": [{"value": 0.9}]},
    {"id": "m-high-bare", "risk_level": "high", "name": "12"},
    {"id": "m-low", "risk_level": "low", "owner": "b", "tags": [], "name": "x5", "metrics": [{"value": 0.1}, {}]},
    {"id": "m-minimal", "risk_level": "minimal", "tags": ["a"], "name": "0", "metrics": "not a list"},
    {"id": "m-empty"},
]


@pytest.fixture(scope="module")
def policy_set(tmp_path_factory):
    root = tmp_path_factory.mktemp("plan")
    for name, text in POLICIES.items():
        (root / name).write_text(text)
    return load_paths([(Path(root), None)], root=Path(root))


def subjects(cards=CARDS):
    return [subject_of(Record("model", c["id"], c, Source(file="t.yaml", line=1)), now=NOW) for c in cards]


def findings(prepared, items=None):
    return [(f.policy, f.subject.id, f.status, f.message, f.evidence) for f in prepared.evaluate(items or subjects())]


def by_pair(found) -> dict[tuple[str, str], list[tuple[str, str]]]:
    out: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for policy, subject, status, message, _ in found:
        out.setdefault((policy, subject), []).append((status, message))
    return out


def test_the_plan_reads_partial_sets_directly_and_everything_else_through_an_object(policy_set):
    index = {p.id: i for i, p in enumerate(policy_set.policies)}
    entries = dict(plan(policy_set, "model"))
    assert entries["sets"] == [("deny", "data.t.sets.deny"), ("warn", "data.t.sets.warn")]
    assert entries["many"] == [(r, f"data.t.many.{r}") for r in policy_set.get("many").rules]
    # a line of a raw string that reads like a partial set: read as one, as the wrapper reads it (its
    # undefined answer is then refused: test_an_undefined_answer_is_an_error_never_a_pass)
    assert entries["tricky"] == [("deny", "data.t.tricky.deny")]
    # a complete rule may be undefined, and applicable is complete: through the wrapper's object
    assert entries["complete"] == f"data.{WRAPPER}.p{index['complete']}"
    assert entries["scoped"] == f"data.{WRAPPER}.p{index['scoped']}"
    assert entries["when"] == f"data.{WRAPPER}.y{index['when']}_verdict"
    assert plan(policy_set, "dataset") == []
    assert dict(plan(policy_set, "model", inline_yaml=False))["when"] == f"data.{WRAPPER}.p{index['when']}"


def test_the_plan_judges_as_the_wrapper_does(policy_set):
    prepared = prepare(policy_set, data={"inventory": {"models": {}, "datasets": {}}}, workers=1)
    planned = findings(prepared)
    prepared.plans = None  # one query of data.gavel_eval.model per subject
    assert findings(prepared) == planned
    standalone = prepare(policy_set, data={"inventory": {"models": {}, "datasets": {}}}, workers=1, inline_yaml=False)
    assert findings(standalone) == planned  # YAML policies in their own packages, applicable + deny rules
    in_process = prepare(policy_set, data={"inventory": {"models": {}, "datasets": {}}}, workers=1,
                         options={"isolate": False})
    assert findings(in_process) == planned
    got = by_pair(planned)
    assert got["sets", "m-high"] == [("fail", "m-high is high"), ("warn", "two")]
    assert got["sets", "m-empty"] == [("warn", "no owner")]
    assert got["never", "m-high"] == [("pass", "")]
    assert got["broken", "m-high"][0][0] == "error" and got["broken", "m-high-bare"] == [("fail", "12")]
    assert got["many", "m-low"] == [("fail", "a"), ("fail", "x"), ("fail", "v")]
    assert got["scoped", "m-minimal"] == [("skip", "not applicable")]
    assert got["complete", "m-low"] == [("pass", "")]  # a complete deny: undefined is no denial (the wrapper's default)
    assert got["when", "m-high-bare"][0][0] == "fail" and got["when", "m-low"] == [("skip", "not applicable")]
    assert got["every", "m-minimal"][0][0] == "fail" and got["every", "m-empty"] == [("skip", "not applicable")]
    assert got["always", "m-high"] == [("pass", "")] and got["always", "m-low"][0][0] == "warn"


def test_an_undefined_answer_is_an_error_never_a_pass(policy_set):
    prepared = prepare(policy_set, data={"inventory": {"models": {}, "datasets": {}}}, workers=1)
    got = by_pair(findings(prepared))
    assert got["tricky", "m-high"] == [("fail", "complete")]
    for card in ("m-low", "m-empty"):
        ((status, message),) = got["tricky", card]
        assert status == "error" and "undefined" in message, message
    assert got["never", "m-low"] == [("pass", "")]  # the other policies on those subjects are still judged
    assert got["sets", "m-low"] == [("pass", "")]


class _Answers:
    """A stand-in for ``regorus.Engine`` answering each path from a table."""

    def __init__(self, answers):
        self.answers = answers

    def set_input_json(self, _document):
        pass

    def eval_rule_as_json(self, path):
        return self.answers[path]


@pytest.mark.parametrize(("answers", "ok"), [
    ({"data.a.deny": "[]", "data.b.v": '{"deny": [], "applicable": true}'}, True),
    ({"data.a.deny": '"<undefined>"', "data.b.v": '{"deny": [], "applicable": true}'}, False),
    ({"data.a.deny": '"x"', "data.b.v": '{"deny": [], "applicable": true}'}, False),
    ({"data.a.deny": "[]", "data.b.v": '"<undefined>"'}, False),
    ({"data.a.deny": "[]", "data.b.v": "[]"}, False),
])
def test_a_planned_answer_of_the_wrong_shape_fails_the_subject(answers, ok):
    engine = EmbeddedEngine(isolate=False)
    engine._engine = _Answers(answers)
    (value,) = engine.evaluate([("a", [("deny", "data.a.deny")]), ("b", "data.b.v")], ["{}"])
    if ok:
        assert value == {"a": {"deny": []}, "b": {"deny": [], "applicable": True}}
    else:
        assert isinstance(value, EngineError)


def test_a_plan_keeps_odd_keys_and_rule_names_valid_json():
    assert _compiled([('a "q"', [("deny_x", "data.p.deny_x")]), ("é", "data.q")]) == (
        ('"a \\"q\\"":', (('"deny_x":', "data.p.deny_x"),)), ('"\\u00e9":', "data.q"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(when=conditions(FIELDS, depth=1), check=conditions(FIELDS, depth=1), warn=st.booleans(),
       docs=st.lists(subject_docs(), min_size=1, max_size=8))
def test_a_compact_yaml_verdict_judges_as_the_standalone_module(when, check, warn, docs):
    """Generated ``when`` and ``assert``: the compact ``verdict`` rule (inline, the plan) and the
    policy's own module (``applicable`` + ``deny``, through the wrapper) give the same findings,
    and a subject is skipped exactly when ``when`` does not hold."""
    definition = {"id": "prop", "title": "Property", "severity": "high", "target": "model",
                  "when": prefixed(when), "assert": prefixed(check), "message": "{{ id }}: {{ subject.a }}"}
    if warn:
        definition["level"] = "warn"
    policies = yaml_policies(parse(yaml.safe_dump(definition, allow_unicode=True, sort_keys=False), "prop.yaml"),
                             params={})
    policy_set = PolicySet(policies, {}, {"prop": {}})
    items = subjects([{"id": f"s{i}", **doc} for i, doc in enumerate(docs)])

    def judged(**options):
        prepared = prepare(policy_set, data={"inventory": {"models": {}, "datasets": {}}}, workers=1,
                           options={"isolate": False}, **options)
        return [(f.status, "<error>" if f.status == "error" else f.message, f.evidence)
                for f in prepared.evaluate(items)]

    compact = judged()
    assert compact == judged(inline_yaml=False)
    for (status, _, _), doc in zip(compact, docs, strict=True):
        try:
            applicable = interpret(when, doc)
        except EngineErrorExpected:
            continue
        assert (status == "skip") == (not applicable) or status == "error", (json.dumps(when), json.dumps(doc), status)
