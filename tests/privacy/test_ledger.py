"""The ledger format: parsing, the schema, problems named by line, torn tails."""

from __future__ import annotations

import gc
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import schemas
from engine.privacy.ledger import (
    GENESIS,
    dump_entry,
    fast_valid,
    integrity_problems,
    parse_ledger,
)

GOOD = {"id": "sp-1", "time": "2026-01-02T03:04:05Z", "dataset": "db.table", "epsilon": 0.5, "delta": 1e-9,
        "mechanism": "laplace", "purpose": "release", "actor": "ana", "ref": "JIRA-1", "model": "m"}


def _parse(*lines: str | bytes, end: bytes = b"\n"):
    raw = b"\n".join(x if isinstance(x, bytes) else x.encode() for x in lines) + end
    return parse_ledger(raw, Path("ledger.jsonl"), "ledger.jsonl")


def _line(**changes) -> str:
    entry = {**GOOD, **changes}
    return json.dumps({k: v for k, v in entry.items() if v is not None})


def test_valid_entries_and_blank_lines():
    ledger = _parse(_line(id="a"), "", "   ", _line(id="b", time="2026-01-02T03:04:06Z"))
    assert [(e.line, e.id) for e in ledger.entries] == [(1, "a"), (4, "b")]
    assert not ledger.problems and ledger.torn is None
    assert ledger.by_dataset == {"db.table": ledger.entries}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "invalid JSON"),
        ('{"id": "a", "epsilon": NaN}', "invalid JSON: NaN is not a number JSON allows"),
        ('[1, 2]', "is not of type 'object'"),
        (_line(epsilon=0), "field 'epsilon'"),
        (_line(epsilon=-1), "field 'epsilon'"),
        (_line(epsilon="0.5"), "field 'epsilon'"),
        (_line(epsilon=True), "field 'epsilon'"),
        (_line(delta=1), "field 'delta'"),
        (_line(time="2026-01-02 03:04:05"), "field 'time'"),
        (_line(time="2026-02-30T00:00:00Z"), "field 'time'"),
        (_line(time="2026-01-02T03:04:05.5Z"), "field 'time'"),
        (_line(mechanism=""), "field 'mechanism'"),
        (_line(purpose=""), "field 'purpose'"),
        (_line(dataset=None), "'dataset' is a required property"),
        (_line(extra=1), "unknown field 'extra'"),
        ('{"id": "a", "id": "b"}', "duplicate key 'id'"),
        (_line(epsilon=1).replace('"epsilon": 1', '"epsilon": 1e999'), "field 'epsilon': inf is not a finite number"),
    ],
)
def test_malformed_lines_are_named(line, message):
    ledger = _parse(_line(id="ok"), line, _line(id="ok2"))
    assert [e.id for e in ledger.entries] == ["ok", "ok2"]  # the others still count
    assert len(ledger.problems) == 1
    problem = ledger.problems[0]
    assert problem.line == 2
    assert message in problem.message


def test_not_utf8_names_the_line():
    ledger = _parse(_line(id="a"), b'{"id": "\xff"}')
    assert ledger.problems[0].line == 2 and "not UTF-8" in ledger.problems[0].message
    assert [e.id for e in ledger.entries] == ["a"]


def test_extension_fields_are_allowed():
    ledger = _parse(_line(**{"x-cost-centre": "cc-12"}))
    assert not ledger.problems


def test_torn_tail_is_ignored_and_located():
    good = _line(id="a")
    ledger = _parse(good, '{"id": "b", "time": "2026-01-0', end=b"")
    assert [e.id for e in ledger.entries] == ["a"]
    assert ledger.torn is not None and ledger.torn.line == 2
    assert ledger.good_end == len(good) + 1
    assert not ledger.problems


def test_complete_tail_without_newline_counts():
    ledger = _parse(_line(id="a"), _line(id="b"), end=b"")
    assert [e.id for e in ledger.entries] == ["a", "b"] and ledger.unterminated and ledger.torn is None


def test_integrity_order_duplicates_unknown():
    ledger = _parse(_line(id="a", time="2026-01-02T00:00:00Z"), _line(id="b", time="2026-01-01T00:00:00Z"),
                    _line(id="a", time="2026-01-03T00:00:00Z", dataset="other"))
    problems = integrity_problems(ledger, known={"db.table"})
    text = [(p.line, p.message) for p in problems]
    assert (2, "out of order: time 2026-01-01T00:00:00Z is before 2026-01-02T00:00:00Z on line 1") in text
    assert (3, "duplicate spend id 'a' (first on line 1)") in text
    assert any(line == 3 and "unknown dataset 'other'" in m for line, m in text)
    unchained = [p for p in integrity_problems(ledger, known=None) if "not hash-chained" in p.message]
    assert len(integrity_problems(ledger, known=None)) == 3 and len(unchained) == 1


def test_dump_entry_round_trips_in_schema_order():
    raw = dump_entry({"model": "m", **GOOD})
    assert raw.endswith(b"\n") and raw.count(b"\n") == 1
    assert list(json.loads(raw)) == list(GOOD)
    ledger = parse_ledger(raw, Path("l"), "l")
    assert ledger.entries[0].data == GOOD and not schemas.errors("ledger-entry", ledger.entries[0].data)


# fast_valid is the schema, hand-compiled: it must never accept what the schema refuses.
_values = st.one_of(
    st.none(), st.booleans(), st.integers(-2, 2), st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["", " ", "laplace", "a" * 101, "2026-01-02T03:04:05Z", "2026-13-02T03:04:05Z", "db.t",
                     "-bad", "sp-1", "x y"]),
    st.lists(st.integers(), max_size=2),
)
_keys = st.sampled_from([*GOOD, "x-note", "extra"])


@settings(max_examples=600, deadline=None)
@given(changes=st.dictionaries(_keys, _values, max_size=4), drop=st.sets(st.sampled_from(list(GOOD)), max_size=2))
def test_fast_check_never_accepts_what_the_schema_refuses(changes, drop):
    entry = {k: v for k, v in {**GOOD, **changes}.items() if k not in drop}
    if fast_valid(entry):
        assert not schemas.errors("ledger-entry", entry), entry
    elif not schemas.errors("ledger-entry", entry):
        # the only things the schema lets through that fast_valid refuses: impossible dates
        assert entry["time"].startswith("2026-13"), entry


@pytest.fixture
def collector():
    """The collector's state (on or off, nothing frozen) restored after the test."""
    enabled = gc.isenabled()
    yield
    gc.unfreeze()
    (gc.enable if enabled else gc.disable)()


def _chained(count: int) -> bytes:
    head, lines = GENESIS, []
    for n in range(count):
        line = dump_entry({**GOOD, "id": f"sp-{n}"}, prev=head)
        head = json.loads(line)["hash"]
        lines.append(line)
    return b"".join(lines)


def test_parsed_entries_are_handed_to_the_oldest_generation(collector):
    """Left in the youngest generation, the next collections would walk every entry (three passes)."""
    gc.enable()
    ledger = parse_ledger(_chained(50), Path("ledger.jsonl"), "ledger.jsonl", lazy=True)
    assert gc.isenabled() and gc.get_freeze_count() == 0
    young = {id(o) for o in gc.get_objects(generation=0)} | {id(o) for o in gc.get_objects(generation=1)}
    assert len(ledger.entries) == 50 and all(gc.is_tracked(e) for e in ledger.entries)
    assert not young & {id(e) for e in ledger.entries}


def test_a_collector_that_was_off_stays_off_and_a_host_freeze_stays(collector):
    gc.disable()
    parse_ledger(_chained(3), Path("ledger.jsonl"), "ledger.jsonl")
    assert not gc.isenabled()
    gc.enable()
    held = [[] for _ in range(100)]  # frozen by the host: a thaw would take the count to 0
    gc.freeze()
    parse_ledger(_chained(3), Path("ledger.jsonl"), "ledger.jsonl")
    assert gc.isenabled() and gc.get_freeze_count() >= len(held)


@pytest.mark.parametrize("thread_from", [1, 1 << 40])
def test_the_ledger_digest_is_the_files_on_a_thread_or_not(monkeypatch, thread_from):
    import hashlib
    import threading

    import engine.privacy.ledger as ledger_module

    monkeypatch.setattr(ledger_module, "DIGEST_THREAD_FROM", thread_from)
    raw = _chained(20) + b'{"torn'
    started = threading.Thread.start
    threads = []
    monkeypatch.setattr(threading.Thread, "start", lambda self: threads.append(self) or started(self))
    ledger = parse_ledger(raw, Path("ledger.jsonl"), "ledger.jsonl", lazy=True)
    assert ledger.sha256 == hashlib.sha256(raw).hexdigest()
    assert len(ledger.entries) == 20 and ledger.torn is not None
    assert [t.name for t in threads] == (["ledger-sha256"] if thread_from == 1 else [])
    assert not any(t.is_alive() for t in threads)
