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
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import math
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from engine.errors import GavelError

DEFAULT_PATH = "privacy/ledger.jsonl"
FIELDS = ("id", "time", "dataset", "epsilon", "delta", "mechanism", "purpose", "actor", "ref", "model")
REQUIRED = ("id", "time", "dataset", "epsilon", "mechanism")
_STRINGS = {"id": 128, "time": 20, "dataset": 10_000, "mechanism": 100, "purpose": 1000, "actor": 200,
            "ref": 1000, "model": 200}  # name → maxLength, as in the schema
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
_DATASET = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._:/-]*")


class LedgerError(GavelError):
    """The ledger cannot be used for a write (unreadable, invalid, locked too long)."""

    code = "ledger"


@dataclass(frozen=True)
class Entry:
    """One spend, as written on ``line`` (1-based)."""

    line: int
    data: dict[str, Any]

    @property
    def id(self) -> str:
        return self.data["id"]

    @property
    def time(self) -> str:
        return self.data["time"]

    @property
    def dataset(self) -> str:
        return self.data["dataset"]

    @property
    def epsilon(self) -> float:
        return self.data["epsilon"]

    @property
    def delta(self) -> float:
        return self.data.get("delta", 0)

    def view(self) -> dict[str, Any]:
        """The entry for the input document: every field (delta defaulted) plus its line."""
        out = {k: self.data[k] for k in FIELDS if k in self.data}
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


def read_ledger(path: Path, display: str) -> Ledger:
    """Read and parse the ledger at ``path``; a missing file is an empty ledger (``exists`` False)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Ledger(path, display)
    except OSError as exc:
        ledger = Ledger(path, display, exists=True)
        ledger.problems.append(LedgerProblem(None, f"cannot read the ledger: {exc.strerror or exc}"))
        return ledger
    return parse_ledger(raw, path, display)


def parse_ledger(raw: bytes, path: Path, display: str) -> Ledger:
    ledger = Ledger(path, display, exists=True, sha256=hashlib.sha256(raw).hexdigest())
    chunks = raw.split(b"\n")
    tail = chunks.pop()  # b"" when the file ends with a newline
    entries, problems = ledger.entries, ledger.problems
    for number, chunk in enumerate(chunks, start=1):
        if not chunk.strip():
            continue
        data, message = parse_line(chunk)
        if message is None:
            entries.append(Entry(number, data))
        else:
            problems.append(LedgerProblem(number, message, _dataset_of(data)))
    ledger.good_end = len(raw) - len(tail)
    if tail.strip():
        number = len(chunks) + 1
        data, message = parse_line(tail)
        if message is None:
            entries.append(Entry(number, data))
            ledger.unterminated = True
            ledger.good_end = len(raw)
        else:
            ledger.torn = LedgerProblem(
                number,
                "incomplete last line (a write cut short by a crash, never acknowledged): it is ignored, "
                "and the next spend or `gavel budget verify --repair` removes it",
                _dataset_of(data),
            )
    return ledger


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


_DECODER = json.JSONDecoder(parse_constant=_reject_constant, object_pairs_hook=_unique_keys)


def parse_line(chunk: bytes) -> tuple[Any, str | None]:
    """``(data, None)`` for a valid entry, else ``(data or None, message)``."""
    try:
        text = chunk.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 text (byte {exc.start + 1} of the line)"
    try:
        data = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        return None, f"invalid JSON: {exc.msg} (column {exc.colno})"
    except (ValueError, RecursionError) as exc:
        return None, f"invalid JSON: {exc}"
    if fast_valid(data):
        return data, None
    return data, schema_message(data)


def fast_valid(data: Any) -> bool:
    """The schema check of one entry, hand-compiled for speed (a ledger has 10⁵ lines).

    It accepts nothing ``schemas/ledger-entry.schema.json`` rejects (tests hold the two
    together); whatever it refuses is described by the schema itself, in ``schema_message``.
    """
    if type(data) is not dict:
        return False
    for key in REQUIRED:
        if key not in data:
            return False
    for key, value in data.items():
        limit = _STRINGS.get(key)
        if limit is not None:
            if type(value) is not str or not value or len(value) > limit:
                return False
        elif key == "epsilon":
            if type(value) not in (int, float) or not (0 < value < math.inf):
                return False
        elif key == "delta":
            if type(value) not in (int, float) or not (0 <= value < 1):
                return False
        elif not key.startswith("x-"):
            return False
    if not _ID.fullmatch(data["id"]) or not _DATASET.fullmatch(data["dataset"]):
        return False
    stamp = data["time"]
    if not _TIME.fullmatch(stamp):
        return False
    try:
        datetime.fromisoformat(stamp[:-1])
    except ValueError:
        return False
    return True


def schema_message(data: Any) -> str:
    """What is wrong with an entry, in the words of its JSON Schema."""
    from engine import schemas

    found = schemas.errors("ledger-entry", data)
    if not found:  # the schema's date-time format check is lenient where fast_valid is not
        return "field 'time': not a valid date and time"
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    return schemas.describe(found[0]) + more


def schema_problems(ledger: Ledger) -> list[LedgerProblem]:
    """Every entry checked against the JSON Schema itself (``gavel budget verify``)."""
    from engine import schemas

    out = []
    for entry in ledger.entries:
        found = schemas.errors("ledger-entry", entry.data)
        if found:
            out.append(LedgerProblem(entry.line, schemas.describe(found[0]), entry.dataset))
    return out


def integrity_problems(ledger: Ledger, known: set[str] | None) -> list[LedgerProblem]:
    """Order (times never go back), unique ids, and (with ``known``) every dataset declared."""
    out: list[LedgerProblem] = []
    first_line: dict[str, int] = {}
    previous: Entry | None = None
    for entry in ledger.entries:
        if entry.id in first_line:
            out.append(LedgerProblem(entry.line, f"duplicate spend id '{entry.id}' (first on line "
                                                 f"{first_line[entry.id]})", entry.dataset))
        else:
            first_line[entry.id] = entry.line
        if previous is not None and entry.time < previous.time:
            out.append(LedgerProblem(entry.line, f"out of order: time {entry.time} is before {previous.time} "
                                                 f"on line {previous.line}", entry.dataset))
        previous = entry
        if known is not None and entry.dataset not in known:
            out.append(LedgerProblem(entry.line, f"unknown dataset '{entry.dataset}': no dataset card and no "
                                                 "budget in gavel.yaml declares it", entry.dataset))
    return out


def dump_entry(entry: dict[str, Any]) -> bytes:
    """One ledger line: fields in schema order, UTF-8, newline-terminated."""
    ordered = {k: entry[k] for k in FIELDS if k in entry}
    ordered.update((k, v) for k, v in entry.items() if k not in ordered)
    return (json.dumps(ordered, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


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
            ledger = parse_ledger(_read_all(fd), path, display)
            entry = decide(ledger)
            line = dump_entry(entry)
            if ledger.torn is not None:
                os.ftruncate(fd, ledger.good_end)  # the torn tail was never acknowledged
                if on_repair:
                    on_repair(ledger.torn)
            elif ledger.unterminated:
                line = b"\n" + line
            _write_all(fd, line)
            os.fsync(fd)
            if created:
                _fsync_dir(path.parent)
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
        ledger = parse_ledger(_read_all(fd), path, display)
        if ledger.torn is None:
            return None
        os.ftruncate(fd, ledger.good_end)
        os.fsync(fd)
        return ledger.torn
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


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_dir(directory: Path) -> None:
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
