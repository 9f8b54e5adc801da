"""The audit history: every recorded report, each run chained by hash to the one before.

Two backends behind one small interface (append a run, read runs, verify the chain): a SQLite file
(the default, ``history.path``) and PostgreSQL (``history.url: postgresql://...``), see
``engine.history.sqlite`` and ``engine.history.postgres``. The chain is the same on both
(``engine.history.chain``): every stored field is hashed, so editing a run's verdict, summary,
``now``, run id, time or report breaks it, and deleting a run leaves a gap in the sequence or a
head that no longer matches the one kept beside the runs. ``verify`` checks all of it.

What a chain inside the store cannot prove: someone able to rewrite the whole store can rebuild a
consistent chain. Keep the head hash that ``gavel history verify`` prints somewhere else (a CI
log, a signed tag) and pass it back with ``--expect-head`` to close that gap.

The history is not a cache: its default place is ``.gavel-history/history.db``, outside
``.gavel/`` (which only holds caches that may be deleted). See docs/history.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.errors import UsageError
from engine.findings import Report, load_report
from engine.history.chain import CHAIN_VERSION, GENESIS, Row, chain_hash, check_chain, new_row

__all__ = ["GENESIS", "RunRecord", "Verification", "chain_hash", "diff_reports", "get_run", "list_runs", "location",
           "record_run", "upgrade", "verify"]

DEFAULT_PATH = ".gavel-history/history.db"
LEGACY_PATH = ".gavel/history.db"  # where Gavel 0.1 kept it, inside the cache folder


def location(config, *, path: str | None = None) -> str | Path:
    """Where ``config``'s history lives: ``history.url`` (PostgreSQL), else ``history.path``, else the default.

    An explicit ``path`` (``--history-path``) wins over both. Without either, a history left at
    the 0.1 place (``.gavel/history.db``) is still used where no new one exists, so no run is lost.
    """
    if path:
        return config.path(path)
    url = getattr(config, "history_url", None)
    if url:
        return url
    if config.history_path:
        return config.path(config.history_path)
    default, legacy = config.path(DEFAULT_PATH), config.path(LEGACY_PATH)
    return legacy if legacy.is_file() and not default.exists() else default


def is_url(where: str | Path) -> bool:
    return isinstance(where, str) and where.split("://", 1)[0] in ("postgresql", "postgres")


def open_store(where: str | Path, *, create: bool = False):
    """The store at ``where``: a PostgreSQL URL or a SQLite file."""
    if is_url(where):
        from engine.history.postgres import PostgresStore

        return PostgresStore(str(where), create=create)
    if isinstance(where, str) and "://" in where:
        raise UsageError(f"history.url {where.split('://', 1)[0]}://...: only postgresql:// URLs are supported")
    from engine.history.sqlite import SQLiteStore

    return SQLiteStore(Path(where), create=create)


@dataclass(frozen=True)
class RunRecord:
    """One stored run (without its report text unless asked for)."""

    seq: int
    run_id: str
    recorded_at: str
    now: str
    passed: bool
    summary: dict[str, Any]
    report_sha256: str
    prev_hash: str
    hash: str
    report: str | None = None

    def load(self) -> Report:
        if self.report is None:
            raise UsageError(f"run {self.seq} was listed without its report")
        return load_report(self.report, file=f"history run {self.seq}")


def _record(row: Row, report: str | None = None) -> RunRecord:
    try:
        summary = json.loads(row.summary)
    except ValueError:
        summary = {}
    return RunRecord(row.seq, row.run_id, row.recorded_at, row.now, row.passed,
                     summary if isinstance(summary, dict) else {}, row.report_sha256, row.prev_hash, row.hash, report)


def record_run(report: Report, where: str | Path, *, recorded_at: str | None = None) -> RunRecord:
    """Append ``report`` to the history at ``where`` (created if missing); returns the stored run.

    One transaction under the store's write lock: concurrent writers queue, and a crash leaves the
    history as it was before or with the whole run, never half of it.
    """
    text = report.to_json()
    recorded_at = recorded_at or datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    store = open_store(where, create=True)
    try:
        version = store.meta().get("chain", "1")
        if version != CHAIN_VERSION:
            raise UsageError(f"the history at {store.display} uses hash chain version {version}, which leaves the "
                             "verdict and summary of each run unprotected: run `gavel history upgrade` first")
        row = store.append(lambda seq, prev: new_row(report, text, seq, recorded_at, prev), text)
    finally:
        store.close()
    return _record(row)


def list_runs(where: str | Path) -> list[RunRecord]:
    store = open_store(where)
    try:
        return [_record(row) for row in store.rows()]
    finally:
        store.close()


def get_run(where: str | Path, ref: str) -> RunRecord:
    """A run by sequence number (``3``, ``#3``), ``latest`` / ``latest~N``, or run-id prefix (newest wins)."""
    ref = str(ref).strip()
    store = open_store(where)
    try:
        rows = store.rows()
        row = None
        if ref.startswith("latest"):
            back = ref[len("latest"):]
            offset = int(back[1:]) if back.startswith("~") and back[1:].isdigit() else (0 if not back else None)
            if offset is None:
                raise UsageError(f"bad run reference {ref!r}: use latest or latest~N")
            row = rows[-1 - offset] if offset < len(rows) else None
        elif ref.lstrip("#").isdigit() and len(ref.lstrip("#")) < 10:
            row = next((r for r in rows if r.seq == int(ref.lstrip("#"))), None)
        elif len(ref) >= 4:
            row = next((r for r in reversed(rows) if r.run_id.startswith(ref)), None)
        if row is None:
            raise UsageError(f"no run {ref!r} in the history at {store.display} (see `gavel history list`)")
        return _record(row, store.report(row.seq))
    finally:
        store.close()


@dataclass
class Verification:
    ok: bool
    runs: int
    head: str | None
    problems: list[str]
    version: str = CHAIN_VERSION


def verify(where: str | Path, *, expect_head: str | None = None) -> Verification:
    """Walk the chain: every field of every run, every link, no gaps, the head kept beside the runs."""
    store = open_store(where)
    try:
        rows = store.rows()
        meta = store.meta()
        version = meta.get("chain", "1")
        problems = check_chain(rows, store.reports(), version=version)
    finally:
        store.close()
    if version != CHAIN_VERSION:
        problems.insert(0, f"hash chain version {version} does not cover each run's verdict, summary, now and run "
                           "id: run `gavel history upgrade` (after this verification passes otherwise)")
    last = rows[-1].seq if rows else 0
    allocated = max(int(meta.get("allocated", 0)), int(meta.get("count", 0) or 0))
    if allocated > last:
        span = f"{last + 1}" if allocated == last + 1 else f"{last + 1}-{allocated}"
        problems.append(f"run {span} missing: deleted from the end of the history")
    head = rows[-1].hash if rows else None
    if meta.get("head") != head and (rows or meta.get("head")):
        problems.append(f"head mismatch: the store records head {str(meta.get('head'))[:12]}, "
                        f"the chain ends at {str(head)[:12]}")
    if expect_head and head != expect_head and not (head or "").startswith(expect_head):
        problems.append(f"head {str(head)[:12]} is not the expected {expect_head[:12]}")
    return Verification(ok=not problems, runs=len(rows), head=head, problems=problems, version=version)


def upgrade(where: str | Path) -> tuple[int, str | None]:
    """Re-hash a version-1 history with the current chain; refused unless its version-1 chain verifies.

    Returns the number of runs and the new head (``(n, None)`` when already current).
    """
    store = open_store(where)
    try:
        version = store.meta().get("chain", "1")
        if version == CHAIN_VERSION:
            return len(store.rows()), None
    finally:
        store.close()
    checked = verify(where)
    broken = [p for p in checked.problems if not p.startswith("hash chain version")]
    if broken:
        raise UsageError(f"the history at {where} does not verify, so it cannot be upgraded: {broken[0]}")
    store = open_store(where)
    try:
        out: list[Row] = []
        prev = GENESIS
        for row, (_seq, text) in zip(store.rows(), store.reports(), strict=True):
            report = load_report(text, file=f"history run {row.seq}")
            new = new_row(report, text, row.seq, row.recorded_at, prev)
            out.append(new)
            prev = new.hash
        store.rehash(out, CHAIN_VERSION)
        return len(out), prev if out else None
    finally:
        store.close()


# --- comparing two reports -----------------------------------------------------------------------

FAILING = ("fail", "warn", "error")


def finding_key(f) -> tuple[str, str, str]:
    """What identifies a finding across runs: policy and subject (messages may change wording)."""
    return (f.policy, f.subject.kind, f.subject.id)


def diff_reports(old: Report, new: Report) -> dict[str, Any]:
    """New failures, fixed findings, other status changes and the verdicts of two reports."""

    def index(report: Report) -> dict[tuple, Any]:
        out: dict[tuple, Any] = {}
        for f in report.findings:  # the worst status per (policy, subject)
            key = finding_key(f)
            if key not in out or _worse(f.status, out[key].status):
                out[key] = f
        return out

    a, b = index(old), index(new)
    new_failures, fixed, changed = [], [], []
    for key in sorted(set(a) | set(b)):
        fa, fb = a.get(key), b.get(key)
        sa, sb = (fa.status if fa else None), (fb.status if fb else None)
        if sb in FAILING and sa not in FAILING:
            new_failures.append(_entry(fb, was=sa, status=sb))
        elif sa in FAILING and sb not in FAILING:
            fixed.append(_entry(fa, was=sa, status=sb))
        elif sa != sb:
            changed.append(_entry(fb or fa, was=sa, status=sb))
    return {
        "from": {"run": old.run.id, "now": old.run.now, "passed": old.gate.passed},
        "to": {"run": new.run.id, "now": new.run.now, "passed": new.gate.passed},
        "verdict_changed": old.gate.passed != new.gate.passed,
        "new": new_failures,
        "fixed": fixed,
        "changed": changed,
    }


def _worse(a: str, b: str) -> bool:
    from engine.findings import STATUS_ORDER

    return STATUS_ORDER.index(a) < STATUS_ORDER.index(b)


def _entry(f, *, was: str | None, status: str | None) -> dict[str, Any]:
    """One changed finding; ``was``/``status`` are None where the finding is absent from that run."""
    return {"policy": f.policy, "kind": f.subject.kind, "id": f.subject.id, "severity": f.severity,
            "was": was, "status": status, "message": f.message}
