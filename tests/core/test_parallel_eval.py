"""Evaluation split over forked workers gives the findings one process gives, in the same order;
a worker that dies turns its subjects' verdicts into ``error`` findings, never passes; a result
stream left unfinished does not leak its answers into the next request."""

from __future__ import annotations

import json
import os

import pytest

import engine.evaluate
from engine.context import subject_of
from engine.evaluate import prepare
from engine.findings import Source
from engine.inventory import Record
from engine.policy.model import PolicySet
from tests.core.helpers import NOW

YAML = """
- id: has-owner
  title: Has owner
  severity: high
  target: model
  assert: {field: subject.owner, exists: true}
- id: low-risk
  title: Low risk
  severity: low
  target: model
  assert: {field: subject.risk_level, equals: low}
"""

# A builtin error aborts the whole query of a subject: those subjects are judged policy by policy.
REGO = """# METADATA
# title: Version is a number
# custom:
#   id: numeric-version
#   severity: medium
#   target: [model]
package t.numeric

import rego.v1

deny contains sprintf("version %v is small", [input.subject.version]) if to_number(input.subject.version) < 2
"""


def subjects(count: int) -> list:
    cards = [{"id": f"m{i:03}", "owner": "team" if i % 3 else None, "risk_level": "low" if i % 2 else "high",
              "version": "x" if i % 7 == 0 else str(i % 4)} for i in range(count)]
    return [subject_of(Record("model", c["id"], {k: v for k, v in c.items() if v is not None}, Source("m.yaml", i + 1)),
                       now=NOW) for i, c in enumerate(cards)]


@pytest.fixture
def rego_and_yaml(tmp_path):
    from engine.policy import load_paths

    (tmp_path / "p.yaml").write_text(YAML)
    (tmp_path / "numeric.rego").write_text(REGO)
    return load_paths([(tmp_path, None)], root=tmp_path)


def rows(findings) -> list[tuple]:
    return [(f.policy, f.subject.id, f.subject.source.line, f.status, f.message, json.dumps(f.evidence)) for f in findings]


def judged(policies: PolicySet, items: list, workers: int) -> list:
    prepared = prepare(policies, data={"inventory": {"models": {}, "datasets": {}}}, workers=workers)
    return prepared.evaluate(items)


def test_workers_give_the_findings_of_one_process(rego_and_yaml, monkeypatch):
    monkeypatch.setattr(engine.evaluate, "PARALLEL_FROM", 2)
    monkeypatch.setattr(engine.evaluate, "CHUNK", 4)  # many small tasks, finishing out of order
    items = subjects(41)
    alone = rows(judged(rego_and_yaml, items, 1))
    assert {status for _, _, _, status, _, _ in alone} == {"pass", "fail", "error"}  # every path is exercised
    assert rows(judged(rego_and_yaml, items, 2)) == alone


def test_a_dying_worker_is_an_error_never_a_pass(rego_and_yaml, monkeypatch):
    monkeypatch.setattr(engine.evaluate, "PARALLEL_FROM", 2)
    monkeypatch.setattr(engine.evaluate, "CHUNK", 4)
    real = engine.evaluate._worker

    def worker(chunk):
        if chunk[0] == 8:  # the task holding subjects 8-11 loses its worker
            os._exit(3)
        return real(chunk)

    monkeypatch.setattr(engine.evaluate, "_worker", worker)  # workers are forked: they see the patch
    items = subjects(41)
    findings = judged(rego_and_yaml, items, 2)
    by_subject: dict[str, list] = {}
    for f in findings:
        by_subject.setdefault(f.subject.id, []).append(f)
    assert sorted(by_subject) == [s.id for s in items]  # every subject is reported
    for sid in ("m008", "m009", "m010", "m011"):
        assert [(f.status, f.message.startswith("policy could not be evaluated: the evaluation worker failed"))
                for f in by_subject[sid]] == [("error", True)] * 3
    assert all(len({f.policy for f in fs}) == 3 for fs in by_subject.values())


def test_an_abandoned_stream_does_not_answer_the_next_request(rego_and_yaml):
    data = {"inventory": {"models": {}, "datasets": {}}}
    documents = [json.dumps(s.doc) for s in subjects(7)[1:]]  # six different answers, none an error
    expected = prepare(rego_and_yaml, data=data, workers=1).engine.evaluate("data.gavel_eval.model", documents)
    assert all(isinstance(v, dict) for v in expected) and len({json.dumps(v) for v in expected}) > 1
    engine = prepare(rego_and_yaml, data=data, workers=1).engine
    stream = engine.stream("data.gavel_eval.model", documents)
    assert next(stream) == expected[0]
    stream.close()  # five answers left unread
    assert engine.evaluate("data.gavel_eval.model", documents[::-1]) == expected[::-1]


def test_a_deferred_save_is_written_by_the_wait_and_redone_when_its_child_fails(tmp_path):
    from engine.check import save_aside

    parent = os.getpid()
    target = tmp_path / "saved"

    def save():
        if os.getpid() != parent and target.exists():  # the second child fails (a write error, a crash)
            raise OSError("disk full")
        target.write_text(target.read_text() + f"{os.getpid() == parent}\n" if target.exists() else "child\n")

    deferred: list = []
    save_aside(save, deferred)
    (wait,) = deferred
    wait()
    assert target.read_text() == "child\n"  # written by the child, nothing redone
    save_aside(save, deferred)
    deferred[1]()
    assert target.read_text() == "child\nTrue\n"  # the child failed: the wait saved here
    save_aside(save, None)  # no deferral: saved at once, here
    assert target.read_text() == "child\nTrue\nTrue\n"
