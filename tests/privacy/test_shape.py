"""The two ways a ledger line is read give the same entries (issue 15.5).

A line as `gavel budget spend` writes it is read by one pattern (``ledger._SHAPE``), without a JSON
decode or a schema check; every other line by the JSON decoder and the hand-compiled schema check. The
pattern must accept only lines the decoder and the schema accept, and read them the same: here,
against the decoder path itself (the pattern switched off), on lines written by ``dump_entry`` and on
those lines edited character by character.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import schemas
from engine.privacy import ledger as ledger_module
from engine.privacy.ledger import (
    _HEX,
    EXPIRING,
    GENESIS,
    _decode,
    _number,
    _real_date,
    dump_entry,
    fast_valid,
    parse_ledger,
)

_NEVER = re.compile(r"(?!)")

_numbers = st.one_of(st.floats(min_value=0, max_value=1e120, allow_nan=False), st.integers(0, 10**25),
                     st.sampled_from([0, 0.0, 1, 1.0, 1e-7, 0.35000000000000003, 5e-324, 1e100, 2.0, -0.0, -1.5]))
_fractions = st.one_of(st.floats(min_value=0, max_value=1.5, allow_nan=False), st.sampled_from([0, 1, 1.0, 1e-10]))
_figures = st.tuples(_numbers, _fractions, st.booleans(), _numbers, _fractions).map(list)
_text = st.text(st.characters(codec="utf-8"), min_size=0, max_size=12)


@st.composite
def entries(draw) -> dict:
    entry = {"id": draw(st.sampled_from(["sp-0123456789abcdef", "a", "x:y.z-1", "-bad", ""])),
             "time": draw(st.sampled_from(["2026-01-02T03:04:05Z", "2026-02-30T00:00:00Z", "2026-1-02T03:04:05Z"])),
             "dataset": draw(st.sampled_from(["db.table", "s3://b/k", "_x", "a b"])),
             "epsilon": draw(_numbers)}
    if draw(st.booleans()):
        entry["delta"] = draw(_fractions)
    entry["mechanism"] = draw(st.one_of(st.just("laplace"), _text))
    for key in ("purpose", "actor", "ref", "model"):
        if draw(st.booleans()):
            entry[key] = draw(_text)
    if draw(st.booleans()):
        totals = {"key": draw(st.sampled_from(["0" * 32, "f" * 31, "A" * 32])), "epsilon": draw(_numbers),
                  "delta": draw(_fractions), "exceeded": draw(st.booleans()), "remaining_epsilon": draw(_numbers),
                  "remaining_delta": draw(_fractions)}
        if draw(st.booleans()):
            totals["expiring"] = draw(st.lists(_figures, min_size=0, max_size=EXPIRING + 1))
        if draw(st.booleans()):
            totals["empty"] = draw(_figures)
        entry["totals"] = totals
    if draw(st.booleans()):
        entry["x-note"] = draw(_text)
    return entry


def _read(raw: bytes, *, lazy: bool, shape: bool, monkeypatch) -> list:
    with monkeypatch.context() as patch:
        if not shape:
            patch.setattr(ledger_module, "_SHAPE", _NEVER)
        ledger = parse_ledger(raw, Path("l"), "l", lazy=lazy)
    return [[(e.line, e.id, e.time, e.dataset, e.epsilon, type(e.epsilon), e.delta, type(e.delta), e.model, e.data)
             for e in ledger.entries], ledger.problems, ledger.chain, sorted(ledger.suspect), ledger.head,
            ledger.unchained]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(rows=st.lists(entries(), min_size=1, max_size=3), edits=st.lists(
    st.tuples(st.integers(0, 10**6), st.sampled_from(['"', "\\", ",", " ", "-", "e", "0", "9", ".", "}", "]", "\r",
                                                      "é", "\x01", ""])), max_size=2), crlf=st.booleans())
def test_the_pattern_reads_what_the_decoder_reads(rows, edits, crlf, monkeypatch):
    lines, prev = [], GENESIS
    for row in rows:
        try:
            text = dump_entry(row, prev=prev).decode("utf-8")
        except ValueError:  # a float JSON cannot write
            continue
        prev = json.loads(text)["hash"]
        lines.append(text[:-1])
    if not lines:
        return
    for at, char in edits:  # an edit of one character (a hand edit, a forgery, a cut)
        n = at % len(lines)
        i = at % (len(lines[n]) + 1)
        lines[n] = lines[n][:i] + char + lines[n][i + 1:]
    raw = ("\r\n" if crlf else "\n").join(lines).encode() + b"\n"
    for lazy in (True, False):
        assert _read(raw, lazy=lazy, shape=True, monkeypatch=monkeypatch) == \
            _read(raw, lazy=lazy, shape=False, monkeypatch=monkeypatch)
    for line in lines:
        match = ledger_module._SHAPE.fullmatch(line)
        if match and 0 < _number(match[4]) <= 1e100 and _real_date(match[2]) and _HEX.fullmatch(match[7]) and \
                _HEX.fullmatch(match[8]):
            # what the pattern (and the checks after it) accepts, the decoder and the schema accept
            data = _decode(line)
            assert fast_valid(data) and not schemas.errors("ledger-entry", data), line


def test_lines_as_budget_spend_writes_them_take_the_pattern():
    totals = {"key": "0" * 32, "epsilon": 0.35000000000000003, "delta": 1.0099999999e-08, "exceeded": False,
              "remaining_epsilon": 9.98999999999001, "remaining_delta": 8.990000090899e-08,
              "expiring": [[0.25, 1e-10, False, 9.75, 9.99e-08]] * EXPIRING, "empty": [0.0, 1e-08, False, 10.0, 9e-08]}
    row = {"id": "sp-0123456789abcdef", "time": "2026-01-02T03:04:05Z", "dataset": "warehouse.t", "epsilon": 0.1,
           "delta": 0, "mechanism": "laplace", "purpose": "Zürich – 東京", "actor": "a@b", "ref": "mlflow:run/1",
           "model": "m", "totals": totals}
    line = dump_entry(row, prev=GENESIS).decode("utf-8")[:-1]
    assert ledger_module._SHAPE.fullmatch(line)
    assert not ledger_module._SHAPE.fullmatch(line.replace('"laplace"', '"lap\\u006cace"'))  # an escape: decoder
    assert not ledger_module._SHAPE.fullmatch(line.replace('"delta": 0,', '"delta": 0, "delta": 0,'))  # duplicate


@pytest.mark.parametrize("totals, valid", [
    ({"expiring": [[0.1, 0, False, 0.9, 0]]}, True),
    ({"expiring": [[0.1, 0, False, 0.9, 0]] * EXPIRING, "empty": [0, 1e-8, False, 1, 0]}, True),
    ({"expiring": []}, False),
    ({"expiring": [[0.1, 0, False, 0.9, 0]] * (EXPIRING + 1)}, False),
    ({"expiring": [[0.1, 0, False, 0.9]]}, False),
    ({"expiring": [[0.1, 0, 0, 0.9, 0]]}, False),
    ({"expiring": [[0.1, 2, False, 0.9, 0]]}, False),
    ({"expiring": [[-0.1, 0, False, 0.9, 0]]}, False),
    ({"expiring": [0.1, 0, False, 0.9, 0]}, False),
    ({"empty": [0, 0, False, 1, 0, 0]}, False),
    ({"empty": {"epsilon": 0}}, False),
    ({"other": 1}, False),
])
def test_the_new_totals_members_match_the_schema(totals, valid):
    entry = {"id": "sp-1", "time": "2026-01-02T03:04:05Z", "dataset": "db.table", "epsilon": 0.5, "mechanism": "l",
             "totals": {"key": "0" * 32, "epsilon": 0.5, "delta": 0, "exceeded": False, "remaining_epsilon": 1.5,
                        "remaining_delta": 0, **totals}}
    assert fast_valid(entry) is valid
    assert (not schemas.errors("ledger-entry", entry)) is valid


@pytest.mark.parametrize("member, char", [("prev", "G"), ("hash", "g"), ("prev", "\\"), ("hash", "é"),
                                          ("prev", "0"), ("hash", "f")])
def test_prev_and_hash_are_hex_or_the_line_is_not_an_entry(member, char, monkeypatch):
    """The pattern takes any 64 characters there: a line that neither matches its hash nor links to the
    one before gets its hex checked, and one that is not hex is the schema's problem, as when decoded."""
    first = dump_entry({"id": "sp-1", "time": "2026-01-02T03:04:05Z", "dataset": "d", "epsilon": 0.5,
                        "mechanism": "laplace"}, prev=GENESIS)
    second = dump_entry({"id": "sp-2", "time": "2026-01-02T03:04:06Z", "dataset": "d", "epsilon": 0.5,
                         "mechanism": "laplace"}, prev=json.loads(first)["hash"]).decode()
    at = second.index(f'"{member}": "') + len(member) + 5 + 30
    edited = second[:at] + char + second[at + 1:]
    raw = first + edited.encode()
    for lazy in (True, False):
        assert _read(raw, lazy=lazy, shape=True, monkeypatch=monkeypatch) == \
            _read(raw, lazy=lazy, shape=False, monkeypatch=monkeypatch)
    ledger = parse_ledger(raw, Path("l"), "l", lazy=True)
    hexadecimal = char in "0f"
    assert [e.id for e in ledger.entries] == (["sp-1", "sp-2"] if hexadecimal else ["sp-1"])
    assert [p.line for p in ledger.problems] == ([] if hexadecimal else [2])
    assert ledger.chain and ledger.chain[0].line == 2 if hexadecimal else not ledger.chain
