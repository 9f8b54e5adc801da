"""The embedded engine gets its ``data`` when something is first evaluated (``EmbeddedEngine.load``):
in this process, in the evaluation child started early (``start``), or once before forking
workers. Whichever way, no input is ever evaluated without the data: a load that fails is an
error for that input, and the data is kept to be tried again.

The early child's first job (``start(first)``: the documents' digests, for ``Prepared.judge``)
is read once and never taken for an evaluation's answer; a job that fails or a child that dies
leaves the job to the caller, with the same result."""

from __future__ import annotations

import json
import os
import signal

import pytest

from engine.engines.embedded import EmbeddedEngine
from engine.errors import EngineError

MODULES = {"p.rego": "package p\n\nimport rego.v1\n\nlimit := data.gavel.limit\n\nover if input.n > data.gavel.limit\n"}


def engine(**options) -> EmbeddedEngine:
    e = EmbeddedEngine(**options)
    e.load(MODULES, {"gavel": {"limit": 10}})
    return e


@pytest.mark.parametrize("isolate", [True, False])
def test_the_data_is_there_at_the_first_evaluation(isolate):
    e = engine(isolate=isolate)
    assert e.evaluate("data.p.limit", [json.dumps({"n": 1})]) == [10]
    assert e.evaluate("data.p.over", [json.dumps({"n": 11}), json.dumps({"n": 3})]) == [True, "<undefined>"]


def test_a_started_child_loads_the_data_itself():
    e = engine()
    e.start()
    assert e.evaluate("data.p.limit", ["{}"]) == [10]
    assert e._data is not None  # this process never needed it: the child had it


def test_loading_before_forking_workers_happens_once_here():
    e = engine(isolate=False)
    e.load_data()
    assert e._data is None
    assert e.evaluate("data.p.limit", ["{}"]) == [10]


class _Refusing:
    """A regorus engine that refuses its data the first ``times`` times."""

    def __init__(self, native, times: int):
        self.native, self.times = native, times

    def add_data_json(self, text: str) -> None:
        if self.times:
            self.times -= 1
            raise RuntimeError("data refused")
        self.native.add_data_json(text)

    def __getattr__(self, name):
        return getattr(self.native, name)


def test_a_data_load_that_fails_is_an_error_and_the_data_is_kept():
    e = engine(isolate=False)
    e._engine = _Refusing(e._engine, times=1)
    (first,) = e.evaluate("data.p.limit", ["{}"])
    assert isinstance(first, EngineError) and "data refused" in str(first)
    assert e.evaluate("data.p.limit", ["{}"]) == [10]  # tried again, not evaluated without it


def test_a_child_whose_data_load_fails_answers_errors():
    e = engine()
    e._engine = _Refusing(e._engine, times=100)
    answers = e.evaluate("data.p.limit", ["{}", "{}"])
    assert all(isinstance(a, EngineError) for a in answers), answers


def test_the_first_job_is_read_once_and_never_taken_for_an_answer():
    e = engine()
    e.start(lambda: b"digests")
    assert e.first_result() == b"digests"
    assert e.first_result() is None
    e.start(lambda: b"unread")  # the same child: no new job
    e2 = engine()
    e2.start(lambda: b"unread")
    assert e2.evaluate("data.p.over", [json.dumps({"n": 11})]) == [True]  # the job's frame was dropped


def test_a_first_job_that_raises_or_a_child_that_dies_leaves_the_job_to_the_caller():
    e = engine()
    e.start(lambda: 1 / 0)
    assert e.first_result() is None
    assert e.evaluate("data.p.limit", ["{}"]) == [10]
    e = engine()
    e.start(lambda: os.kill(os.getpid(), signal.SIGKILL))
    assert e.first_result() is None
    assert e.evaluate("data.p.limit", ["{}"]) == [10]  # a new child


def test_judge_gives_the_same_findings_with_digests_from_the_child_or_not(tmp_path, monkeypatch):
    from engine import evaluate
    from engine.context import subject_of
    from engine.decisions import DecisionCache
    from engine.evaluate import document_digests, prepare
    from engine.findings import Source
    from engine.inventory import Record
    from engine.policy import load_paths

    (tmp_path / "p.rego").write_text(
        "# METADATA\n# title: p\n# custom:\n#   id: p\n#   severity: high\n#   target: [model]\n"
        "package t.p\n\nimport rego.v1\n\ndeny contains \"over\" if input.subject.n > data.gavel.inventory.limit\n")
    policies = load_paths([(tmp_path, None)], root=tmp_path)
    subjects = [subject_of(Record("model", f"m{n}", {"id": f"m{n}", "n": n}, Source(file="m.yaml", line=1)),
                           now="2026-11-26T00:00:00Z") for n in range(8)]

    def judged(start: bool):
        prepared = prepare(policies, data={"inventory": {"limit": 3}}, cache=DecisionCache(tmp_path / "none.bin"))
        if start:
            prepared.start(subjects)
        found = [(f.subject.id, f.status, f.message) for f in prepared.judge(subjects)]
        return found, prepared

    expected, _ = judged(start=False)
    assert sorted({status for _, status, _ in expected}) == ["fail", "pass"]
    got, prepared = judged(start=True)
    assert got == expected
    assert prepared.cache.used.keys() == set(document_digests(subjects))
    # The child's share is its answer (digests only key the cache: the findings stay the same) ...
    parent = os.getpid()

    def in_child(change):  # ``document_digests`` changed in the early child only
        return lambda s: document_digests(s) if os.getpid() == parent else change(s)

    marked = in_child(lambda s: [f"{n:064x}" for n in range(len(s))])
    monkeypatch.setattr(evaluate, "document_digests", marked)
    got, prepared = judged(start=True)
    monkeypatch.undo()
    split = len(subjects) * evaluate.EARLY_SHARE // 4
    assert 0 < split < len(subjects)
    assert got == expected
    assert prepared.cache.used.keys() == {f"{n:064x}" for n in range(split)} | set(document_digests(subjects[split:]))
    # ... unless the child's job goes wrong (short, malformed, raising): judge works the digests out itself.
    for wrong in (lambda s: ["x" * 64] * (len(s) - 1), lambda s: ["y" * 10] * len(s), lambda s: 1 / 0):
        monkeypatch.setattr(evaluate, "document_digests", in_child(wrong))
        got, prepared = judged(start=True)
        monkeypatch.undo()
        assert got == expected
        assert prepared.cache.used.keys() == set(document_digests(subjects))
