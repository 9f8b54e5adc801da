"""The privacy ledger: an append-only JSON Lines file of differential-privacy spends.

One spend per line (``schemas/ledger-entry.schema.json``), in time order, kept in the governance
repo so every spend is reviewed in a pull request. Reading never raises on bad content: each
malformed line becomes a ``LedgerProblem`` naming its line, and the other lines still count.

Durability rule (docs/privacy.md):

* ``append`` takes an exclusive ``flock`` on the ledger, re-reads it, lets the caller decide on
  the new entry (the budget check), writes the whole line with one ``write`` and ``fsync``\\s it,
  and only then releases the lock. A spend is *acknowledged* when ``append`` returns, so two
  spends can never both pass the check against the same history.
* A last line without its newline that still parses is a complete entry (e.g. a hand edit); the
  next append adds the newline first.
* A last line without its newline that does not parse is a *torn tail*: a write cut short by a
  crash (power loss; a killed process cannot tear a single ``write``). It was never acknowledged,
  so readers ignore it and report it, and the next append (or ``gavel budget verify --repair``)
  truncates it away. Nothing acknowledged is ever removed.

Tamper evidence: every entry ends with ``"prev"`` (the previous entry's hash; 64 zeros on the
first) and ``"hash"``, the SHA-256 of the line's own UTF-8 bytes with its final
``, "hash": "..."`` member cut off. Editing any byte of a line (epsilon 1.5 → 0.15) breaks its hash;
deleting, inserting or reordering lines breaks the next ``prev``. A ledger written before the chain
existed is an error until ``gavel budget upgrade`` chains it: otherwise stripping the chain fields
would turn tamper evidence off.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import math
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from engine.errors import GavelError
from engine.fsutil import fsync_dir, write_all

DEFAULT_PATH = "privacy/ledger.jsonl"
FIELDS = ("id", "time", "dataset", "epsilon", "delta", "mechanism", "purpose", "actor", "ref", "model")
TOTALS = "totals"  # diffprivlib's result when the spend was recorded (engine.privacy.accounting.recorded)
EXPIRING = 16  # at most this many "expiring" figures in a line's totals (schemas/ledger-entry.schema.json)
CHAIN = ("prev", "hash")  # always the last two members of a line
GENESIS = "0" * 64
_HASH_MEMBER = ', "hash": "'
_HASH_TAIL = len(_HASH_MEMBER) + 64 + 2  # the final `, "hash": "<64 hex>"}`
_BOM = "\ufeff"
REQUIRED = ("id", "time", "dataset", "epsilon", "mechanism")
_STRINGS = {"id": 128, "time": 20, "dataset": 10_000, "mechanism": 100, "purpose": 1000, "actor": 200,
            "ref": 1000, "model": 200}  # name → maxLength, as in the schema
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
_DATASET = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._:/-]*")
_HEX = re.compile(r"[0-9a-f]{64}")


class LedgerError(GavelError):
    """The ledger cannot be used for a write (unreadable, invalid, locked too long)."""

    code = "ledger"


class Entry:
    """One spend, as written on ``line`` (1-based). (A slotted class: a ledger holds 10⁵ of them.)

    Made with its line's ``text``, an entry keeps the fields the accounting reads and decodes the
    rest (``data``) again when first asked for (``parse_ledger(lazy=True)``): holding 10⁵ decoded
    dicts (with their totals and chain members) cost more than decoding them did, and `budget status`,
    `verify` and `spend` read ``data`` for a few entries only (each dataset's last).
    """

    __slots__ = ("line", "_data", "_text", "id", "time", "dataset", "epsilon", "delta", "model")

    def __init__(self, line: int, data: dict[str, Any], text: str | None = None):
        self.line = line
        self._data = None if text is not None else data
        self._text = text  # the line, when ``data`` is to be decoded from it again on demand
        self.id: str = data["id"]
        self.time: str = data["time"]
        self.dataset: str = data["dataset"]
        self.epsilon: float = data["epsilon"]
        self.delta: float = data.get("delta", 0)
        self.model: str | None = data.get("model")

    @property
    def data(self) -> dict[str, Any]:
        """Every member of the entry, as written (the same decoder and the same bytes as when it was
        validated, so the same dict)."""
        data = self._data
        if data is None:
            data = self._data = _decode(self._text)
        return data

    @classmethod
    def of_line(cls, line: int, text: str, ident: str, stamp: str, dataset: str, epsilon: float, delta: float,
                model: str | None) -> Entry:
        """An entry whose fields were read from its line by ``_SHAPE`` (``data`` decoded when asked)."""
        entry = cls.__new__(cls)
        entry.line, entry._data, entry._text = line, None, text
        entry.id, entry.time, entry.dataset, entry.epsilon, entry.delta, entry.model = (
            ident, stamp, dataset, epsilon, delta, model)
        return entry

    def __repr__(self) -> str:
        return f"Entry(line={self.line}, data={self.data!r})"

    def view(self) -> dict[str, Any]:
        """The entry for the input document: every field (delta defaulted) plus its line."""
        data = self.data  # once: a property, and this runs for every spend in every subject's facts
        out = {k: data[k] for k in FIELDS if k in data}
        out.setdefault("delta", 0)
        out["line"] = self.line
        return out


@dataclass(frozen=True)
class LedgerProblem:
    line: int | None
    message: str
    dataset: str | None = None  # when the line names one


@dataclass
class Ledger:
    """A parsed ledger. ``problems`` are malformed lines; ``torn`` the torn tail, if any."""

    path: Path
    display: str
    exists: bool = False
    sha256: str | None = None
    entries: list[Entry] = field(default_factory=list)
    problems: list[LedgerProblem] = field(default_factory=list)
    torn: LedgerProblem | None = None
    unterminated: bool = False  # the last line is a complete entry without its newline
    good_end: int = 0  # byte offset after the last complete line (where a torn tail starts)
    by_dataset: dict[str, list[Entry]] = field(default_factory=dict)  # entries per dataset, in ledger order
    sequence: list[LedgerProblem] = field(default_factory=list)  # out-of-order times, duplicate ids
    chain: list[LedgerProblem] = field(default_factory=list)  # edited lines, broken links
    chained: int = 0  # entries that carry a hash
    unchained: list[int] = field(default_factory=list)  # lines of entries without one
    head: str = GENESIS  # the hash of the last entry (what the next spend links to)
    suspect: set[int] = field(default_factory=set)  # lines of entries without a hash, or whose hash or link is wrong

    def sealed(self, entry: Entry) -> bool:
        """``entry`` carries a hash that matches its line and links to the entry before: only such an
        entry's recorded totals are read (an edited or unchained line's are not evidence of anything)."""
        return entry.line not in self.suspect


def read_ledger(path: Path, display: str, cache=None, *, lazy: bool = False) -> Ledger:
    """Read and parse the ledger at ``path``; a missing file is an empty ledger (``exists`` False).

    With ``cache`` (``engine.privacy.cache.PrivacyCache``), lines the cache knows to be valid
    (the file still starts with the bytes it saw) are decoded without the per-line checks.
    """
    from engine.fsutil import read_regular

    try:  # a regular file only: a FIFO is refused, never waited on; a dangling symlink is a problem
        raw = read_regular(path)
    except FileNotFoundError:
        return Ledger(path, display)
    except OSError as exc:
        ledger = Ledger(path, display, exists=True)
        ledger.problems.append(LedgerProblem(None, f"cannot read the ledger: {exc.strerror or exc}"))
        return ledger
    if cache is None:
        return parse_ledger(raw, path, display, lazy=lazy)
    from engine.privacy.cache import trusted_mark

    mark, digest = trusted_mark(cache.ledger_mark(display), raw)
    ledger = parse_ledger(raw, path, display, sha256=digest.hexdigest(), known=mark, lazy=lazy)
    _remember(cache, display, raw, ledger, raw.rfind(b"\n") + 1, mark)
    return ledger


def _remember(cache, display: str, raw: bytes, ledger: Ledger, terminated: int, mark) -> None:
    """Tell the cache which of the newline-terminated lines (the first ``terminated`` bytes) are bad."""
    if mark is not None and mark.size == terminated:
        return  # nothing new
    lines = raw.count(b"\n", 0, terminated)
    good = bytearray(lines + 1)
    for entry in ledger.entries:
        if entry.line <= lines:
            good[entry.line] = 1
    bad = [n for n in range(1, lines + 1) if not good[n]]
    if terminated == len(raw):
        sha = ledger.sha256
    else:
        sha = hashlib.sha256(memoryview(raw)[:terminated]).hexdigest()
    cache.put_ledger(display, terminated, sha, lines, bad)


def parse_ledger(raw: bytes, path: Path, display: str, *, sha256: str | None = None, known=None,
                 lazy: bool = False) -> Ledger:
    """Parse every line; entries are indexed by dataset and checked for order and unique ids.

    One pass over the lines with the common case inline (a ledger has 10⁵ lines); any line
    that is not a valid entry goes through ``parse_line`` for the message. ``known`` (a
    ``LedgerMark`` the caller has checked against ``raw``) names lines already known to be valid:
    they are decoded in one batch, without the per-line checks.

    ``lazy``: entries keep only the fields the accounting reads and decode the rest when asked
    (``Entry``): for commands that read a few entries' ``data`` (`budget status`, `verify`, `spend`).
    Lazy, ``known`` is not used: a line as `budget spend` writes it is read by ``_SHAPE`` faster than
    the batch decode (which builds every dict) and is checked on the way.
    `gavel check` reads every entry's (the spends in each dataset's facts) and keeps them decoded.
    """
    digest = (lambda: sha256) if sha256 else _digest_meanwhile(raw)
    ledger = Ledger(path, display, exists=True)
    try:
        text = raw.decode("utf-8")
        lines: list = (text[1:] if text.startswith(_BOM) else text).split("\n")  # a BOM, as on cards
    except UnicodeDecodeError:
        lines = (raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw).split(b"\n")  # parse_line names the line
    tail = lines.pop()  # empty when the file ends with a newline
    ledger.good_end = len(raw) - len(tail if isinstance(tail, bytes) else tail.encode("utf-8"))
    number = len(lines) + 1
    if tail.strip():
        data, message = parse_line(tail)
        if message is None:
            lines.append(tail)
            ledger.unterminated = True
            ledger.good_end = len(raw)
        else:
            ledger.torn = LedgerProblem(
                number,
                "incomplete last line (a write cut short by a crash, never acknowledged): it is ignored, "
                "and the next spend or `gavel budget verify --repair` removes it",
                _dataset_of(data),
            )
    from engine.collector import collector_paused

    # 10⁵ new entries, no cycles: the collector would only rescan the heap, and after the block it gets
    # them in its oldest generation (left in the youngest, its next passes walked them all: ~0.2 s)
    with collector_paused():
        # lazy, the pattern reads a line faster than the batch decode of the lines the cache vouches for
        _parse_lines(ledger, lines, _decode_known(lines, known) if known is not None and not lazy else None, lazy)
    ledger.sha256 = digest()
    return ledger


#: from this size the file's SHA-256 is computed on a thread while its lines are parsed
DIGEST_THREAD_FROM = 1 << 20


def _digest_meanwhile(raw: bytes) -> Callable[[], str]:
    """The SHA-256 of ``raw`` (hex), on a thread for a large ledger: hashlib releases the GIL while
    it hashes, so the 80 MB of a 10⁵-entry ledger (~0.07 s) are hashed on the other core as the
    lines are parsed. Returns the function that waits for it."""
    if len(raw) < DIGEST_THREAD_FROM:
        found = hashlib.sha256(raw).hexdigest()
        return lambda: found
    digest = hashlib.sha256()
    worker = threading.Thread(target=digest.update, args=(raw,), name="ledger-sha256", daemon=True)
    worker.start()

    def wait() -> str:
        worker.join()
        return digest.hexdigest()

    return wait


def _decode_known(lines: list, known) -> list | None:
    """The entries of the lines ``known`` vouches for (None for the others), or None if that fails."""
    count = min(known.lines, len(lines))
    if not count or type(lines[0]) is not str:
        return None
    bad = known.bad
    good = [i for i in range(count) if i + 1 not in bad] if bad else range(count)
    try:
        values = json.loads("[" + ",".join([lines[i] for i in good]) + "]")
    except (ValueError, RecursionError):
        return None
    if len(values) != len(good):
        return None
    out: list = [None] * count
    for i, value in zip(good, values, strict=True):
        if type(value) is not dict or not value.keys() >= _REQUIRED:  # not what the cache saw: check all
            return None
        out[i] = value
    return out


def _parse_lines(ledger: Ledger, lines: list, known: list | None = None, lazy: bool = False) -> None:
    entries, problems, sequence, by_dataset = ledger.entries, ledger.problems, ledger.sequence, ledger.by_dataset
    first_line: dict[str, int] = {}
    last = ""
    last_line = 0
    decode, valid, shape, number_of, plain = _decode, fast_valid, _SHAPE.fullmatch, _number, _plain
    trusted = len(known) if known else 0
    prev: str | None = GENESIS  # None after an invalid line (itself an error): its hash is unknown
    chain, unchained, suspect = ledger.chain, ledger.unchained, ledger.suspect
    for number, line in enumerate(lines, start=1):
        entry = sealed = None
        # the common case first: a line as `dump_entry` writes it (``_SHAPE``), read without a JSON decode
        match = shape(line) if number > trusted and type(line) is str else None
        if match is not None:
            ident, stamp, dataset, epsilon, delta, model, link, seal = match.groups()
            epsilon = number_of(epsilon)
            if 0 < epsilon <= 1e100 and _real_date(stamp) and (
                    # prev and hash: hex when the line matches its hash and links to the one before (the
                    # pattern takes any 64 characters there, which it reads faster), else checked here
                    (sealed := _sealed(line, seal)) and link == prev or _HEX.fullmatch(link) and _HEX.fullmatch(seal)):
                if lazy:
                    entry = Entry.of_line(number, line, ident, stamp, dataset, epsilon,
                                          0 if delta is None else number_of(delta), model)
                else:
                    entry = Entry(number, plain(line))  # the shape has no duplicate keys and no NaN
        if entry is None:
            sealed = None
            data = known[number - 1] if number <= trusted else None  # a line the cache saw valid, byte for byte
            if data is None:
                try:
                    data = decode(line) if type(line) is str else None
                except (ValueError, RecursionError):
                    data = None
                if data is not None and not valid(data):
                    data = None
            if data is None:
                data, message = parse_line(line)
                if message is not None:
                    if data is not _BLANK:
                        problems.append(LedgerProblem(number, message, _dataset_of(data)))
                        prev = None
                    continue
                if type(line) is not str:
                    line = line.decode("utf-8")
            seal, link = data.get("hash"), data.get("prev")
            entry = Entry(number, data, line if lazy else None)
        if seal is None:
            unchained.append(number)
            suspect.add(number)
            prev = None
        else:
            ledger.chained += 1
            if not (_sealed(line, seal) if sealed is None else sealed):
                chain.append(LedgerProblem(number, "entry edited: the line no longer matches its hash", entry.dataset))
                suspect.add(number)
            if prev is None:  # after an invalid or unchained line: the link cannot be checked
                suspect.add(number)
            elif link != prev:
                what = "first entry" if prev == GENESIS else "previous entry"
                suspect.add(number)
                chain.append(LedgerProblem(
                    number, f"hash chain broken: the {what} is not the one this entry was appended after "
                            f"(a line deleted, inserted or edited above; prev {str(link)[:12]}, "
                            f"expected {prev[:12]})", entry.dataset))
            prev = ledger.head = seal
        entries.append(entry)
        ident, stamp = entry.id, entry.time
        if ident in first_line:
            sequence.append(LedgerProblem(number, f"duplicate spend id '{ident}' (first on line {first_line[ident]})",
                                          entry.dataset))
        else:
            first_line[ident] = number
        if stamp < last:
            sequence.append(LedgerProblem(number, f"out of order: time {stamp} is before {last} on line {last_line}",
                                          entry.dataset))
        else:
            last, last_line = stamp, number
        group = by_dataset.get(entry.dataset)
        if group is None:
            by_dataset[entry.dataset] = [entry]
        else:
            group.append(entry)


def _sealed(line: str, seal: str) -> bool:
    """``line`` ends with its ``hash`` member, ``seal``, the SHA-256 of the line without that member."""
    if line.endswith("\r"):  # a CRLF checkout: line ends are not content
        line = line[:-1]
    return line[-_HASH_TAIL:-66] == _HASH_MEMBER and line[-66:-2] == seal and line.endswith('"}') and \
        hashlib.sha256((line[:-_HASH_TAIL] + "}").encode()).hexdigest() == seal


def _dataset_of(data: Any) -> str | None:
    if isinstance(data, dict) and isinstance(data.get("dataset"), str) and _DATASET.fullmatch(data["dataset"]):
        return data["dataset"]
    return None


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        duplicate = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise ValueError(f"duplicate key '{duplicate}'")
    return out


_decode = json.JSONDecoder(parse_constant=_reject_constant, object_pairs_hook=_unique_keys).decode


_BLANK = object()


def parse_line(line: str | bytes) -> tuple[Any, str | None]:
    """``(data, None)`` for a valid entry, else ``(data or None, message)``; blank: ``(_BLANK, "")``."""
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            return None, f"not UTF-8 text (byte {exc.start + 1} of the line)"
    try:
        data = _decode(line)
    except json.JSONDecodeError as exc:
        if not line.strip():
            return _BLANK, ""
        return None, f"invalid JSON: {exc.msg} (column {exc.colno})"
    except (ValueError, RecursionError) as exc:
        return None, f"invalid JSON: {exc}"
    if fast_valid(data):
        return data, None
    return data, schema_message(data)


_ALLOWED = frozenset((*FIELDS, TOTALS, *CHAIN))
_TOTALS_KEYS = frozenset(("key", "epsilon", "delta", "exceeded", "remaining_epsilon", "remaining_delta"))
_TOTALS_ALLOWED = _TOTALS_KEYS | {"expiring", "empty"}
_KEY = re.compile(r"[0-9a-f]{32}")
_REQUIRED = frozenset(REQUIRED)
_OPTIONAL_STRINGS = tuple((k, _STRINGS[k]) for k in ("purpose", "actor", "ref", "model"))
_fromisoformat = datetime.fromisoformat


def _real_date(stamp: str) -> bool:
    try:
        _fromisoformat(stamp[:-1])
    except ValueError:
        return False
    return True


# -- the shape of a line as `dump_entry` writes it -------------------------------------------------
# A ledger has 10⁵ lines, nearly all written by `gavel budget spend`: members in schema order, ", " and
# ": " between them, strings without escapes. ``_SHAPE`` matches exactly such lines whose every member
# the schema allows (what it cannot say in a pattern, the parser checks: epsilon's range, a real date),
# so a matching line is read without a JSON decode or a schema check; any other line goes through the
# JSON decoder and ``fast_valid`` (and the JSON Schema for its message). Tests hold the two paths to
# the same entries. Its groups: id, time, dataset, epsilon, delta, model, prev, hash (these two any 64
# characters but a quote: ``_parse_lines`` knows them hex from the chain, or checks them). (Repeats are
# possessive, ``{m,n}+``: what follows each never starts with what it repeats, so nothing is given back.)
_CHARS = r'[^"\\\x00-\x1f]'  # a string's characters that need no escape
_POSITIVE = r"(?:0|[1-9][0-9]{0,20}+)(?:\.[0-9]{1,30}+)?(?:[eE][-+]?[0-9]{1,3}+)?"  # >= 0; range checked after
_FINITE = r"(?:0|[1-9][0-9]{0,20}+)(?:\.[0-9]{1,30}+)?(?:[eE](?:-[0-9]{1,3}+|\+?[0-9]{1,2}+))?"  # >= 0, finite
_BELOW_1 = r"(?:0(?:\.[0-9]{1,30}+)?|[1-9](?:\.[0-9]{1,30}+)?[eE]-0?[1-9][0-9]{0,2}+)"  # in [0, 1)
_UP_TO_1 = r"(?:" + _BELOW_1 + r"|1(?:\.0{1,30}+)?)"  # in [0, 1]
_FIGURES = r"\[" + _FINITE + ", " + _UP_TO_1 + ", (?:true|false), " + _FINITE + ", " + _UP_TO_1 + r"\]"
_SHAPE = re.compile(
    r'\{"id": "([A-Za-z0-9][A-Za-z0-9._:-]{0,127}+)", '
    r'"time": "([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z)", '
    r'"dataset": "([A-Za-z0-9_][A-Za-z0-9._:/-]{0,9999}+)", "epsilon": (' + _POSITIVE + ")"
    r'(?:, "delta": (' + _BELOW_1 + "))?"
    r', "mechanism": "' + _CHARS + '{1,100}+"(?:, "purpose": "' + _CHARS + '{1,1000}+")?'
    r'(?:, "actor": "' + _CHARS + '{1,200}+")?(?:, "ref": "' + _CHARS + '{1,1000}+")?'
    r'(?:, "model": "(' + _CHARS + '{1,200}+)")?'
    r'(?:, "totals": \{"key": "[0-9a-f]{32}", "epsilon": ' + _FINITE + ', "delta": ' + _UP_TO_1
    + r', "exceeded": (?:true|false), "remaining_epsilon": ' + _FINITE + ', "remaining_delta": ' + _UP_TO_1
    + r'(?:, "expiring": \[' + _FIGURES + "(?:, " + _FIGURES + r"){0," + str(EXPIRING - 1) + r"}+\])?"
    + r'(?:, "empty": ' + _FIGURES + r")?\})?"
    r', "prev": "([^"]{64})", "hash": "([^"]{64})"\}\r?')
_plain = json.JSONDecoder().decode


def _number(text: str) -> int | float:
    """A JSON number as the JSON decoder reads it."""
    return float(text) if "." in text or "e" in text or "E" in text else int(text)


def fast_valid(data: Any) -> bool:
    """The schema check of one entry, hand-compiled for speed (a ledger has 10⁵ lines).

    It accepts nothing ``schemas/ledger-entry.schema.json`` rejects (tests hold the two
    together); whatever it refuses is described by the schema itself, in ``schema_message``.
    """
    if type(data) is not dict:
        return False
    keys = data.keys()
    if not keys >= _REQUIRED:
        return False
    if not keys <= _ALLOWED and any(k not in _ALLOWED and not k.startswith("x-") for k in keys):
        return False
    ident, stamp, dataset, epsilon, mechanism = (data["id"], data["time"], data["dataset"], data["epsilon"],
                                                 data["mechanism"])
    if type(ident) is not str or type(stamp) is not str or type(dataset) is not str or type(mechanism) is not str:
        return False
    if (type(epsilon) is not float and type(epsilon) is not int) or not 0 < epsilon <= 1e100:
        return False
    if "delta" in data:
        delta = data["delta"]
        if (type(delta) is not float and type(delta) is not int) or not 0 <= delta < 1:
            return False
    if not 0 < len(mechanism) <= 100 or len(dataset) > 10_000:
        return False
    for key, limit in _OPTIONAL_STRINGS:
        if key in data:
            value = data[key]
            if type(value) is not str or not 0 < len(value) <= limit:
                return False
    if _ID.fullmatch(ident) is None or _DATASET.fullmatch(dataset) is None or _TIME.fullmatch(stamp) is None:
        return False
    for key in CHAIN:
        if key in data and (type(data[key]) is not str or _HEX.fullmatch(data[key]) is None):
            return False
    if TOTALS in data and not _totals_valid(data[TOTALS]):
        return False
    try:
        _fromisoformat(stamp[:-1])
    except ValueError:
        return False
    return True


def _totals_valid(totals: Any) -> bool:
    if type(totals) is not dict or type(totals.get("exceeded")) is not bool:
        return False
    keys = totals.keys()
    if not keys >= _TOTALS_KEYS or not keys <= _TOTALS_ALLOWED:
        return False
    if type(totals["key"]) is not str or _KEY.fullmatch(totals["key"]) is None:
        return False
    if not _figures_valid((totals["epsilon"], totals["delta"], totals["exceeded"], totals["remaining_epsilon"],
                           totals["remaining_delta"])):
        return False
    if "expiring" in totals:
        expiring = totals["expiring"]
        if type(expiring) is not list or not 0 < len(expiring) <= EXPIRING:
            return False
        if not all(type(f) is list and _figures_valid(f) for f in expiring):
            return False
    return "empty" not in totals or type(totals["empty"]) is list and _figures_valid(totals["empty"])


def _figures_valid(figures) -> bool:
    """[epsilon, delta, exceeded, remaining epsilon, remaining delta], as diffprivlib computed them."""
    if len(figures) != 5 or type(figures[2]) is not bool:
        return False
    for value, ceiling in zip((figures[0], figures[1], figures[3], figures[4]), (math.inf, 1, math.inf, 1),
                              strict=True):
        if (type(value) is not float and type(value) is not int) or not 0 <= value <= ceiling or value == math.inf:
            return False
    return True


def schema_message(data: Any) -> str:
    """What is wrong with an entry, in the words of its JSON Schema."""
    from engine import schemas

    for key in ("epsilon", "delta"):  # what JSON Schema cannot say: numbers too large for a float
        if isinstance(data, dict) and isinstance(data.get(key), float) and not math.isfinite(data[key]):
            return f"field '{key}': {data[key]!r} is not a finite number"
    found = schemas.errors("ledger-entry", data)
    if not found:  # impossible dates
        return f"field 'time': {data.get('time')!r} is not a valid date and time"
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    return _describe(found[0], data) + more


def _describe(error, data: Any) -> str:
    from engine import schemas

    if error.validator == "additionalProperties" and not error.absolute_path and isinstance(data, dict):
        unknown = sorted(k for k in data if k not in _ALLOWED and not str(k).startswith("x-"))
        if unknown:
            return f"unknown field '{unknown[0]}' (fields: {', '.join(FIELDS)}; extensions start with x-)"
    return schemas.describe(error)


def integrity_problems(ledger: Ledger, known: set[str] | None) -> list[LedgerProblem]:
    """Order (times never go back), unique ids, and (with ``known``) every dataset declared."""
    out = list(ledger.sequence) + chain_problems(ledger)
    if known is not None:
        for dataset in sorted(set(ledger.by_dataset) - known):
            for entry in ledger.by_dataset[dataset]:
                out.append(LedgerProblem(entry.line, f"unknown dataset '{dataset}': no dataset card and no "
                                                     "budget in gavel.yaml declares it", dataset))
    return sorted(out, key=lambda p: (p.line or 0, p.message))


def chain_problems(ledger: Ledger) -> list[LedgerProblem]:
    """Edited lines and broken links; an un-chained ledger (or un-chained lines in a chained one)."""
    out = list(ledger.chain)
    if ledger.unchained and not ledger.chained:
        out.append(LedgerProblem(None, f"the ledger is not hash-chained ({len(ledger.unchained)} entries), so edits and "
                                       "deletions cannot be detected: run `gavel budget upgrade` once to chain it"))
    elif ledger.unchained:
        first = ledger.unchained[0]
        more = f" (and {len(ledger.unchained) - 1} more)" if len(ledger.unchained) > 1 else ""
        out.append(LedgerProblem(first, f"entry without a hash in a hash-chained ledger{more}: added by hand or by an "
                                        "older Gavel; record spends with `gavel budget spend`"))
    return out


def dump_entry(entry: dict[str, Any], prev: str | None = None) -> bytes:
    """One ledger line: fields in schema order, UTF-8, newline-terminated; with ``prev``, chained.

    The line's hash is the SHA-256 of the line without its final ``hash`` member (module docstring).
    """
    ordered = {k: entry[k] for k in FIELDS if k in entry}
    ordered.update((k, v) for k, v in entry.items() if k not in ordered and k not in CHAIN)
    if prev is None:
        return (json.dumps(ordered, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")
    ordered["prev"] = prev
    body = json.dumps(ordered, ensure_ascii=False, allow_nan=False)
    seal = hashlib.sha256(body.encode("utf-8")).hexdigest()
    return (body[:-1] + _HASH_MEMBER + seal + '"}\n').encode("utf-8")


def append(path: Path, display: str, decide: Callable[[Ledger], dict[str, Any]], *,
           timeout: float = 30.0, on_repair: Callable[[LedgerProblem], None] | None = None) -> tuple[dict, Ledger]:
    """Atomically check and append one entry under an exclusive lock on the ledger.

    ``decide(ledger)`` sees the ledger as it is under the lock and returns the entry to write, or
    raises to refuse (nothing is written). Returns the entry and the ledger it was checked against.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        created = not path.exists()
        try:
            fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise LedgerError(f"cannot open the ledger: {exc.strerror or exc}", file=display) from None
        try:
            _lock(fd, display, timeout)
            if not _same_file(fd, path):  # replaced (git checkout, rename) while we waited: start over
                continue
            ledger = parse_ledger(_read_all(fd), path, display, lazy=True)
            entry = decide(ledger)
            line = dump_entry(entry, prev=ledger.head)
            if ledger.torn is not None:
                os.ftruncate(fd, ledger.good_end)  # the torn tail was never acknowledged
                if on_repair:
                    on_repair(ledger.torn)
            elif ledger.unterminated:
                line = b"\n" + line
            write_all(fd, line)
            os.fsync(fd)
            if created:
                fsync_dir(path.parent)
            return entry, ledger
        finally:
            os.close(fd)  # releases the lock


def repair(path: Path, display: str, *, timeout: float = 30.0) -> LedgerProblem | None:
    """Remove a torn tail under the lock; returns it (or None when there was none)."""
    if not path.exists():
        return None
    fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    try:
        _lock(fd, display, timeout)
        ledger = parse_ledger(_read_all(fd), path, display, lazy=True)
        if ledger.torn is None:
            return None
        os.ftruncate(fd, ledger.good_end)
        os.fsync(fd)
        return ledger.torn
    finally:
        os.close(fd)


def upgrade(path: Path, display: str, *, timeout: float = 30.0,
            totals: Callable[[list[Entry], Entry], dict | None] | None = None) -> tuple[int, str | None]:
    """Chain an un-chained ledger under the lock: every entry rewritten with ``prev`` and ``hash``.

    Refused (``LedgerError``) when the ledger has any other problem, or is partly chained (an
    upgrade never blesses an edit). Returns (entries, new head), or (entries, None) when already
    chained. The new file replaces the old one by an atomic rename; spends waiting on the old
    file's lock notice the replacement and start over.
    """
    if not path.exists():
        raise LedgerError("no ledger to upgrade", file=display)
    fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    try:
        _lock(fd, display, timeout)
        ledger = parse_ledger(_read_all(fd), path, display)
        if ledger.chained and not ledger.unchained and not ledger.chain:
            return len(ledger.entries), None
        problems = ledger.problems + ledger.sequence + ([ledger.torn] if ledger.torn else []) + ledger.chain
        if ledger.chained:
            problems.append(LedgerProblem(ledger.unchained[0], "partly chained: an entry without a hash was added "
                                                               "to a chained ledger"))
        if problems:
            first = min(problems, key=lambda p: p.line or 0)
            raise LedgerError(f"the ledger has problems, fix them before chaining it: {first.message}"
                              + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
                              file=display, line=first.line)
        head = GENESIS
        lines = []
        before: dict[str, list[Entry]] = {}
        for entry in ledger.entries:
            data = dict(entry.data)
            found = totals(before.setdefault(entry.dataset, []), entry) if totals else None
            if found is not None:
                data[TOTALS] = found
            before[entry.dataset].append(entry)
            line = dump_entry(data, prev=head)
            head = json.loads(line)["hash"]
            lines.append(line)
        from engine.fsutil import atomic_write

        atomic_write(path, b"".join(lines))
        return len(lines), head
    finally:
        os.close(fd)


def _lock(fd: int, display: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pause = 0.002
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise LedgerError(f"cannot lock the ledger: {exc.strerror or exc}", file=display) from None
        if time.monotonic() >= deadline:
            raise LedgerError(f"the ledger stayed locked by another spend for {timeout:g} s; try again",
                              file=display)
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


def _same_file(fd: int, path: Path) -> bool:
    try:
        here, there = os.fstat(fd), os.stat(path)
    except FileNotFoundError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def _read_all(fd: int) -> bytes:
    size = os.fstat(fd).st_size
    parts = []
    offset = 0
    while True:
        chunk = os.pread(fd, max(size - offset, 1 << 16), offset)
        if not chunk:
            return b"".join(parts)
        parts.append(chunk)
        offset += len(chunk)
