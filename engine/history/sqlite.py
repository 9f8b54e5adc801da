"""The SQLite history backend: one file, appends serialised by SQLite's write lock (``BEGIN IMMEDIATE``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

from engine.errors import UsageError
from engine.history.chain import CHAIN_VERSION, GENESIS, Row

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
COLUMNS = "seq, run_id, recorded_at, now, passed, summary, report_sha256, prev_hash, hash"


class SQLiteStore:
    """The runs of one SQLite file. Every write is one transaction: a crash keeps all of it or none."""

    def __init__(self, path: Path, *, create: bool):
        self.path = Path(path)
        self.display = str(path)
        if not create and not self.path.is_file():
            raise UsageError(f"no audit history at {self.path} (record one with `gavel check --history`)")
        try:
            if create:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(str(self.path), timeout=60, isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=DELETE")
            self.conn.execute("PRAGMA synchronous=FULL")
            tables = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if "runs" not in tables:
                if not create:
                    self.conn.close()
                    raise UsageError(f"{self.path} is not a Gavel history database (no runs table)")
                self._create()
        except sqlite3.DatabaseError as exc:
            raise UsageError(f"cannot open history database {self.path}: {exc}") from None
        except OSError as exc:
            raise UsageError(f"cannot create history database {self.path}: {exc.strerror or exc}") from None

    def _create(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    self.conn.execute(statement)
            # a new store starts on the current chain version; one without the key predates versions
            self.conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('chain', ?)", (CHAIN_VERSION,))
            self.conn.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self.conn.close()

    def append(self, build: Callable[[int, str], Row], report: str) -> Row:
        """``build(seq, prev_hash)`` under SQLite's write lock, then the row stored with ``report``."""
        conn = self.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            head = conn.execute("SELECT hash FROM runs ORDER BY seq DESC LIMIT 1").fetchone()
            allocated = conn.execute("SELECT seq FROM sqlite_sequence WHERE name='runs'").fetchone()
            row = build((allocated[0] if allocated else 0) + 1, head[0] if head else GENESIS)
            conn.execute(
                f"INSERT INTO runs ({COLUMNS}, report) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (row.seq, row.run_id, row.recorded_at, row.now, int(row.passed), row.summary, row.report_sha256,
                 row.prev_hash, row.hash, report),
            )
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('head', ?)", (row.hash,))
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('count', ?)", (str(row.seq),))
            conn.execute("COMMIT")
            return row
        except sqlite3.DatabaseError as exc:
            raise UsageError(f"cannot record the run in {self.path}: {exc}") from None
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")

    def rows(self) -> list[Row]:
        return [_row(r) for r in self.conn.execute(f"SELECT {COLUMNS} FROM runs ORDER BY seq")]

    def reports(self) -> Iterator[tuple[int, str]]:
        yield from self.conn.execute("SELECT seq, report FROM runs ORDER BY seq")

    def report(self, seq: int) -> str | None:
        found = self.conn.execute("SELECT report FROM runs WHERE seq = ?", (seq,)).fetchone()
        return found[0] if found else None

    def meta(self) -> dict[str, str]:
        meta = dict(self.conn.execute("SELECT key, value FROM meta").fetchall())
        allocated = self.conn.execute("SELECT seq FROM sqlite_sequence WHERE name='runs'").fetchone()
        if allocated:
            meta["allocated"] = str(allocated[0])
        return meta

    def rehash(self, rows: list[Row], version: str) -> None:
        """Store new hashes (``gavel history upgrade``) in one transaction."""
        conn = self.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            for row in rows:
                conn.execute("UPDATE runs SET prev_hash = ?, hash = ?, summary = ? WHERE seq = ?",
                             (row.prev_hash, row.hash, row.summary, row.seq))
            if rows:
                conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('head', ?)", (rows[-1].hash,))
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('chain', ?)", (version,))
            conn.execute("COMMIT")
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")


def _row(r) -> Row:
    seq, run_id, recorded_at, now, passed, summary, report_sha, prev, h = r
    return Row(int(seq), str(run_id), str(recorded_at), str(now), bool(passed), str(summary), str(report_sha),
               str(prev), str(h))
