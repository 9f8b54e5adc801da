"""The audit history: every recorded report in a SQLite store, each run chained to the one before.

A run's ``hash`` is the SHA-256 of its sequence number, the time it was recorded, the SHA-256 of
its report JSON and the previous run's hash. Changing a stored report, its digest, its time or its
place in the chain breaks the chain from that run on; deleting a run leaves a gap in the sequence
(SQLite's AUTOINCREMENT never reuses a number) or a head that no longer matches the one kept in
the ``meta`` table. ``verify`` checks all of it.

What a chain in one file cannot prove: someone able to rewrite the whole file can rebuild a
consistent chain. Keep the head hash that ``gavel history verify`` prints somewhere else (a CI
log, a signed tag) and pass it back with ``--expect-head`` to close that gap.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.errors import UsageError
from engine.findings import Report, load_report

GENESIS = "0" * 64
SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    now TEXT NOT NULL,
    passed INTEGER NOT NULL,
    summary TEXT NOT NULL,
    report TEXT NOT NULL,
    report_sha256 TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


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


def chain_hash(seq: int, recorded_at: str, report_sha256: str, prev_hash: str) -> str:
    return hashlib.sha256(f"gavel-history-v1\n{seq}\n{recorded_at}\n{report_sha256}\n{prev_hash}".encode()).hexdigest()


def _connect(path: Path, *, create: bool) -> sqlite3.Connection:
    path = Path(path)
    if not create and not path.is_file():
        raise UsageError(f"no audit history at {path} (record one with `gavel check --history`)")
    try:
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=30, isolation_level=None)
        conn.execute("PRAGMA journal_mode=DELETE")
        if create:
            conn.executescript(SCHEMA)
        else:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if "runs" not in tables:
                conn.close()
                raise UsageError(f"{path} is not a Gavel history database (no runs table)")
        return conn
    except sqlite3.DatabaseError as exc:
        raise UsageError(f"cannot open history database {path}: {exc}") from None


def record_run(report: Report, path: str | Path, *, recorded_at: str | None = None) -> RunRecord:
    """Append ``report`` to the history at ``path`` (created if missing); returns the stored run.

    One SQLite transaction (``BEGIN IMMEDIATE``): concurrent writers queue, and a crash leaves
    the history as it was before or with the whole run, never half of it.
    """
    text = report.to_json()
    digest = hashlib.sha256(text.encode()).hexdigest()
    recorded_at = recorded_at or datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    summary = {"by_status": report.summary.by_status, "failed_by_severity": report.summary.failed_by_severity,
               "findings": report.summary.findings, "fail_on": report.gate.fail_on}
    with closing(_connect(Path(path), create=True)) as conn:
        try:
            conn.execute("BEGIN IMMEDIATE")
            row = conn.execute("SELECT seq, hash FROM runs ORDER BY seq DESC LIMIT 1").fetchone()
            prev = row[1] if row else GENESIS
            seq_row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name='runs'").fetchone()
            seq = (seq_row[0] if seq_row else 0) + 1
            h = chain_hash(seq, recorded_at, digest, prev)
            conn.execute(
                "INSERT INTO runs (seq, run_id, recorded_at, now, passed, summary, report, report_sha256, prev_hash,"
                " hash) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (seq, report.run.id, recorded_at, report.run.now, int(report.gate.passed),
                 json.dumps(summary, sort_keys=True), text, digest, prev, h),
            )
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('head', ?)", (h,))
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('count', ?)", (str(seq),))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return RunRecord(seq, report.run.id, recorded_at, report.run.now, report.gate.passed, summary, digest, prev, h)


def _record(row, *, with_report: bool) -> RunRecord:
    seq, run_id, recorded_at, now, passed, summary, report_sha, prev, h, *rest = row
    try:
        summary = json.loads(summary)
    except ValueError:
        summary = {}
    return RunRecord(seq, run_id, recorded_at, now, bool(passed), summary, report_sha, prev, h,
                     rest[0] if with_report else None)


_COLUMNS = "seq, run_id, recorded_at, now, passed, summary, report_sha256, prev_hash, hash"


def list_runs(path: str | Path) -> list[RunRecord]:
    with closing(_connect(Path(path), create=False)) as conn:
        rows = conn.execute(f"SELECT {_COLUMNS} FROM runs ORDER BY seq").fetchall()
    return [_record(r, with_report=False) for r in rows]


def get_run(path: str | Path, ref: str) -> RunRecord:
    """A run by sequence number (``3``, ``#3``), ``latest`` / ``latest~N``, or run-id prefix (newest wins)."""
    ref = str(ref).strip()
    with closing(_connect(Path(path), create=False)) as conn:
        query = f"SELECT {_COLUMNS}, report FROM runs"
        row = None
        if ref.startswith("latest"):
            back = ref[len("latest"):]
            offset = int(back[1:]) if back.startswith("~") and back[1:].isdigit() else (0 if not back else None)
            if offset is None:
                raise UsageError(f"bad run reference {ref!r}: use latest or latest~N")
            row = conn.execute(f"{query} ORDER BY seq DESC LIMIT 1 OFFSET ?", (offset,)).fetchone()
        elif ref.lstrip("#").isdigit() and len(ref.lstrip("#")) < 10:
            row = conn.execute(f"{query} WHERE seq = ?", (int(ref.lstrip("#")),)).fetchone()
        elif len(ref) >= 4:
            pattern = ref.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            row = conn.execute(f"{query} WHERE run_id LIKE ? ESCAPE '\\' ORDER BY seq DESC LIMIT 1",
                               (pattern,)).fetchone()
    if row is None:
        raise UsageError(f"no run {ref!r} in the history at {path} (see `gavel history list`)")
    return _record(row, with_report=True)


@dataclass
class Verification:
    ok: bool
    runs: int
    head: str | None
    problems: list[str]


def verify(path: str | Path, *, expect_head: str | None = None) -> Verification:
    """Walk the chain: every report digest, every link, no gaps, the head recorded in ``meta``."""
    problems: list[str] = []
    with closing(_connect(Path(path), create=False)) as conn:
        rows = conn.execute("SELECT seq, recorded_at, report, report_sha256, prev_hash, hash FROM runs"
                            " ORDER BY seq").fetchall()
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        seq_row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name='runs'").fetchone()
    prev = GENESIS
    expected_seq = 1
    for seq, recorded_at, report, report_sha, prev_hash, h in rows:
        if seq != expected_seq:
            missing = f"{expected_seq}" if seq == expected_seq + 1 else f"{expected_seq}-{seq - 1}"
            problems.append(f"run {missing} missing: the sequence jumps from {expected_seq - 1} to {seq}")
        actual = hashlib.sha256((report or "").encode()).hexdigest()
        if actual != report_sha:
            problems.append(f"run {seq}: report edited (its SHA-256 is {actual[:12]}, recorded {report_sha[:12]})")
        if prev_hash != prev:
            problems.append(f"run {seq}: chain broken (previous hash {prev_hash[:12]} should be {prev[:12]})")
        if chain_hash(seq, recorded_at, report_sha, prev_hash) != h:
            problems.append(f"run {seq}: hash does not match its content (edited record)")
        prev = h
        expected_seq = seq + 1
    last = rows[-1][0] if rows else 0
    allocated = seq_row[0] if seq_row else 0
    if allocated > last:
        span = f"{last + 1}" if allocated == last + 1 else f"{last + 1}-{allocated}"
        problems.append(f"run {span} missing: deleted from the end of the history")
    head = rows[-1][5] if rows else None
    if meta.get("head") != head and (rows or meta.get("head")):
        problems.append(f"head mismatch: the store records head {str(meta.get('head'))[:12]}, "
                        f"the chain ends at {str(head)[:12]}")
    if meta.get("count") is not None and meta.get("count") != str(last):
        problems.append(f"run count mismatch: {meta.get('count')} recorded, the chain ends at run {last}")
    if expect_head and head != expect_head and not (head or "").startswith(expect_head):
        problems.append(f"head {str(head)[:12]} is not the expected {expect_head[:12]}")
    return Verification(ok=not problems, runs=len(rows), head=head, problems=problems)


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
