"""The audit history's hash chain: what one stored run is, how it is hashed, how a chain is checked.

Both backends (``engine.history.sqlite``, ``engine.history.postgres``) store the same rows and
hand them to ``check_chain``; the chain does not depend on where it is kept.

A run's ``hash`` is the SHA-256 of every stored field but the report text itself (its SHA-256
stands in for it): sequence number, run id, the time it was recorded, the run's ``now``, the gate
verdict, the summary, the report digest and the previous run's hash. So an ``UPDATE runs SET
passed = 1`` (or an edited summary, ``now`` or run id) no longer matches the run's hash, and a
recomputed hash no longer matches the next run's link.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64
CHAIN_VERSION = "2"  # version 1 hashed only seq, recorded_at, report digest and the previous hash


def canonical(value: Any) -> str:
    """One spelling of a JSON value (sorted keys, no spaces), so a hash does not depend on the backend."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def chain_hash(seq: int, run_id: str, recorded_at: str, now: str, passed: bool, summary: dict[str, Any],
               report_sha256: str, prev_hash: str) -> str:
    """The hash of one run: every field a ``history list`` shows, the report digest, the link."""
    fields = [seq, run_id, recorded_at, now, bool(passed), summary, report_sha256, prev_hash]
    return hashlib.sha256(("gavel-history-v2\n" + canonical(fields)).encode()).hexdigest()


def chain_hash_v1(seq: int, recorded_at: str, report_sha256: str, prev_hash: str) -> str:
    """The version-1 hash, only to check a chain before ``gavel history upgrade`` re-hashes it."""
    return hashlib.sha256(f"gavel-history-v1\n{seq}\n{recorded_at}\n{report_sha256}\n{prev_hash}".encode()).hexdigest()


@dataclass(frozen=True)
class Row:
    """One stored run as both backends keep it (``summary`` as its canonical JSON text)."""

    seq: int
    run_id: str
    recorded_at: str
    now: str
    passed: bool
    summary: str
    report_sha256: str
    prev_hash: str
    hash: str

    def expected_hash(self, version: str = CHAIN_VERSION) -> str:
        if version == "1":
            return chain_hash_v1(self.seq, self.recorded_at, self.report_sha256, self.prev_hash)
        try:
            summary = json.loads(self.summary)
        except ValueError:
            return ""  # an unreadable summary matches no hash
        return chain_hash(self.seq, self.run_id, self.recorded_at, self.now, self.passed, summary,
                          self.report_sha256, self.prev_hash)


def summary_of(report) -> dict[str, Any]:
    """The summary a run stores next to its report (``history list`` shows it without the report)."""
    return {"by_status": report.summary.by_status, "failed_by_severity": report.summary.failed_by_severity,
            "findings": report.summary.findings, "fail_on": report.gate.fail_on}


def new_row(report, text: str, seq: int, recorded_at: str, prev_hash: str) -> Row:
    digest = hashlib.sha256(text.encode()).hexdigest()
    summary = summary_of(report)
    h = chain_hash(seq, report.run.id, recorded_at, report.run.now, report.gate.passed, summary, digest, prev_hash)
    return Row(seq, report.run.id, recorded_at, report.run.now, bool(report.gate.passed), canonical(summary),
               digest, prev_hash, h)


def check_chain(rows: list[Row], reports, *, version: str = CHAIN_VERSION) -> list[str]:
    """Every problem of ``rows`` (in ``seq`` order): gaps, edited reports, broken links, edited fields.

    ``reports`` yields ``(seq, report text)`` in the same order (streamed: reports can be large).
    Each report must hash to its digest and agree with the fields stored beside it.
    """
    problems: list[str] = []
    prev = GENESIS
    expected_seq = 1
    texts = iter(reports)
    for row in rows:
        seq = row.seq
        if seq != expected_seq:
            missing = f"{expected_seq}" if seq == expected_seq + 1 else f"{expected_seq}-{seq - 1}"
            problems.append(f"run {missing} missing: the sequence jumps from {expected_seq - 1} to {seq}")
        text = _report_of(texts, seq)
        actual = hashlib.sha256((text or "").encode()).hexdigest()
        if actual != row.report_sha256:
            problems.append(f"run {seq}: report edited (its SHA-256 is {actual[:12]}, recorded {row.report_sha256[:12]})")
        elif version != "1":
            problems += [f"run {seq}: {p}" for p in _fields_disagree(row, text)]
        if row.prev_hash != prev:
            problems.append(f"run {seq}: chain broken (previous hash {row.prev_hash[:12]} should be {prev[:12]})")
        if row.expected_hash(version) != row.hash:
            problems.append(f"run {seq}: hash does not match its content (edited record)")
        prev = row.hash
        expected_seq = seq + 1
    return problems


def _report_of(texts, seq: int) -> str | None:
    for found, text in texts:
        if found == seq:
            return text
    return None


def _fields_disagree(row: Row, text: str | None) -> list[str]:
    """Where the fields stored beside a report say something the report does not."""
    from engine.errors import GavelError
    from engine.findings import load_report

    try:
        report = load_report(text or "", file=f"history run {row.seq}")
    except GavelError:
        return ["the stored report is not a readable Gavel report"]
    out = []
    if report.run.id != row.run_id:
        out.append(f"run id {row.run_id!r} differs from the report's {report.run.id!r}")
    if report.run.now != row.now:
        out.append(f"now {row.now!r} differs from the report's {report.run.now!r}")
    if bool(report.gate.passed) != row.passed:
        out.append(f"gate {'pass' if row.passed else 'fail'} differs from the report's "
                   f"{'pass' if report.gate.passed else 'fail'}")
    if canonical(summary_of(report)) != row.summary:
        out.append("summary differs from the report's")
    return out
