"""Real OPA as the oracle: every shipped policy gives the same verdicts and messages on the
embedded engine (Gavel's normal path, regorus) and on OPA v1.20.2 in-process, on generated subjects
of every kind: cards generated from the JSON Schemas, and the example repository's subjects with
edge values planted (missing, null, empty, wrong type, boundary numbers and dates, unicode).
"""

from __future__ import annotations

import contextlib
import copy
import json
from functools import cache

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.conftest import EXAMPLES, ROOT

from .cards import strategy
from .opa_inprocess import MISSING, opa_bindings, prepare_on_opa

pytestmark = pytest.mark.skipif(opa_bindings is None, reason=MISSING)

NOW = "2026-11-26T00:00:00Z"

# Values where regorus and OPA are known to differ unless a policy avoids it (docs/opa.md), and the
# usual boundaries: every generated field may take one of them.
EDGE_VALUES = [
    None, "", [], {}, 0, -1, 1, 0.1, 0.30000000000000004, 1e-8, 1e-20, 1e308, 2**53 + 1, -0.0, True, False,
    "\u00a0", " \u00a0", "TODOé", "é", "👍🏽", "ß", "İ", "x\u2028y", "TODO", "tbd", "n/a", "  ", "\t",
    "2026-11-26", "2026-11-25", "2025-11-26", "2026-11-26T00:00:00Z", "2026-11-26 00:00:00Z",
    "2026-02-30", "2026-11-26T23:59:59+14:00", "not a date", "none", "approved", "high", "eu",
    "region:eu", "europe-west4", "us-east-1", "pii", "confidential", "laplace",
]


@cache
def example_inventory():
    from engine.config import load_config
    from engine.context import build_subjects, inventory_data
    from engine.inventory import build_inventory

    config = load_config(EXAMPLES)
    inv = build_inventory(config, now=NOW)
    return inventory_data(inv), build_subjects(inv, now=NOW)


@cache
def policy_sets():
    """Every built-in pack, and the example repository's own policies (two sets: ids may repeat)."""
    from engine.policy import load_paths, pack_names, pack_path

    packs = load_paths([(pack_path(name), name) for name in pack_names()])
    local = load_paths([(EXAMPLES / "policies", None)], root=EXAMPLES)
    return {"packs": packs, "examples": local}


@cache
def prepared(which: str):
    from engine.evaluate import prepare

    data, _ = example_inventory()
    policy_set = policy_sets()[which]
    return (prepare(policy_set, data={"inventory": data}, engine="embedded", workers=1),
            prepare_on_opa(policy_set, {"inventory": data}))


def judged(prepared_set, subjects):
    """Every finding, whole; an engine error's text is the engine's own, so only its status counts.
    Evidence is compared as JSON values: OPA keeps an input's ``5.0`` as written, regorus gives ``5``."""
    return [(f.policy, f.subject.id, f.status, "<engine error>" if f.status == "error" else f.message,
             json.dumps(_numbers(f.evidence), sort_keys=True)) for f in prepared_set.evaluate(subjects)]


def _numbers(value):
    if isinstance(value, int | float) and not isinstance(value, bool) and abs(value) > 2**53:
        return float(value)  # past 2**53 an integer is a double on one engine: compare as doubles (docs/opa.md)
    if isinstance(value, float) and value.is_integer():  # one JSON number, however each engine types it
        return int(value)
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    return value


def assert_same(subjects):
    from engine.context import Subject

    subjects = [Subject(s["kind"], s["id"], None, s) if isinstance(s, dict) else s for s in subjects]
    for which in ("packs", "examples"):
        embedded, opa = prepared(which)
        assert judged(embedded, subjects) == judged(opa, subjects), which


# -- strategies -------------------------------------------------------------------------------
def schema(name: str) -> dict:
    return json.loads((ROOT / "schemas" / name).read_text())


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value[:3]):
            yield from _paths(item, (*prefix, index))


@cache
def card_strategy(kind: str):
    return strategy(schema(f"{kind}-card.schema.json"))


@cache
def validator(kind: str):
    import jsonschema

    return jsonschema.Draft202012Validator(schema(f"{kind}-card.schema.json"))


def producible(doc: dict) -> bool:
    """Whether Gavel can hand this document to a policy: a card that fails its schema becomes an
    ``error`` finding before any policy sees it (tests/core covers that)."""
    if doc["kind"] in ("model", "dataset"):
        return isinstance(doc.get("subject"), dict) and validator(doc["kind"]).is_valid(doc["subject"])
    return True


def _same_type(old, new) -> bool:
    """Budget and lineage subjects are built by Gavel itself: their fields keep their JSON types."""
    number = (int, float)
    if isinstance(old, bool) or isinstance(new, bool):
        return type(old) is type(new)
    if isinstance(old, number):
        return isinstance(new, number)
    return type(old) is type(new)


@st.composite
def planted(draw, base: dict):
    """``base`` with up to four fields set to edge values or removed, as far as Gavel can produce it."""
    doc = copy.deepcopy(base)
    paths = [p for p in _paths(doc["subject"], ("subject",)) if len(p) > 1]
    paths += [p for p in _paths(doc.get("lineage", {}), ("lineage",)) if len(p) > 1][:40]
    paths += [p for p in _paths(doc.get("privacy", {}), ("privacy",)) if len(p) > 1][:40]
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(paths))
        parent = doc
        for key in path[:-1]:
            try:
                parent = parent[key]
            except (KeyError, IndexError, TypeError):
                break
        else:
            last = path[-1]
            built = doc["kind"] in ("budget", "lineage") or path[0] != "subject"  # facts Gavel derives
            if isinstance(parent, dict) and not built and draw(st.booleans()) and draw(st.booleans()):
                parent.pop(last, None)
            elif isinstance(parent, dict | list):
                with contextlib.suppress(IndexError, KeyError):
                    value = draw(st.sampled_from(EDGE_VALUES) | st.text(max_size=6)
                                 | st.floats(allow_nan=False, allow_infinity=False))
                    if not built or _same_type(parent[last], value):
                        parent[last] = value
    assume(producible(doc))
    return doc


@st.composite
def example_subjects(draw):
    _, subjects = example_inventory()
    base = draw(st.sampled_from(subjects)).doc
    return draw(planted(base))


@st.composite
def schema_cards(draw):
    """A card generated from its JSON Schema, as a subject with an example's lineage and privacy facts."""
    kind = draw(st.sampled_from(["model", "dataset"]))
    card = draw(card_strategy(kind))
    assume(validator(kind).is_valid(card))
    _, subjects = example_inventory()
    base = copy.deepcopy(draw(st.sampled_from([s for s in subjects if s.kind == kind])).doc)
    base["subject"], base["id"] = card, str(card.get("id", "generated"))
    return draw(planted(base)) if draw(st.booleans()) else base


def test_the_examples_are_producible():
    _, subjects = example_inventory()
    assert all(producible(s.doc) for s in subjects)


# -- the tests --------------------------------------------------------------------------------
def test_the_example_repository_judges_the_same():
    _, subjects = example_inventory()
    assert_same(subjects)


SLOW = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@SLOW
@given(st.lists(example_subjects(), min_size=1, max_size=4))
def test_example_subjects_with_edge_values_judge_the_same(docs):
    assert_same(docs)


@SLOW
@given(st.lists(schema_cards(), min_size=1, max_size=3))
def test_cards_generated_from_the_schemas_judge_the_same(docs):
    assert_same(docs)


@pytest.mark.parametrize("value", ["x\u00a0", "TODOé", "👍🏽", "İ", 1e-8, 2**53 + 1, None])
def test_each_edge_value_in_each_string_field_judges_the_same(value):
    """Every field of every example subject set, one at a time, to a known divergent value."""
    _, subjects = example_inventory()
    docs = []
    for subject in subjects:
        for path in _paths(subject.doc["subject"], ("subject",)):
            if len(path) < 2:
                continue
            doc = copy.deepcopy(subject.doc)
            parent = doc
            for key in path[:-1]:
                parent = parent[key]
            if doc["kind"] in ("budget", "lineage") and not _same_type(parent[path[-1]], value):
                continue
            parent[path[-1]] = value
            if producible(doc):
                docs.append(doc)
    assert_same(docs)
