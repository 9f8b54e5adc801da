"""The embedded engine gets its ``data`` when something is first evaluated (``EmbeddedEngine.load``):
in this process, in the evaluation child started early (``start``), or once before forking
workers. Whichever way, no input is ever evaluated without the data: a load that fails is an
error for that input, and the data is kept to be tried again."""

from __future__ import annotations

import json

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
