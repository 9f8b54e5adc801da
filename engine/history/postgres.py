"""The PostgreSQL history backend (``history.url: postgresql://...``), for teams and ephemeral CI runners.

The same rows and the same hash chain as the SQLite file, in two tables (``gavel_history_runs``,
``gavel_history_meta``). Concurrent writers (several CI jobs) are serialised by a transaction-level
advisory lock taken before the head is read, so two appends can never link to the same run and the
chain never forks; the lock is released with the transaction, also when the writer dies.
psycopg 3 is imported only here, i.e. only when a URL is configured.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from engine.errors import UsageError
from engine.history.chain import CHAIN_VERSION, GENESIS, Row

LOCK = 0x6761_7665_6C68  # "gavelh": the advisory lock key every Gavel writer of one database shares
COLUMNS = "seq, run_id, recorded_at, now, passed, summary, report_sha256, prev_hash, hash"
SCHEMA = (
    """CREATE TABLE IF NOT EXISTS gavel_history_runs (
        seq BIGINT PRIMARY KEY, run_id TEXT NOT NULL, recorded_at TEXT NOT NULL, now TEXT NOT NULL,
        passed BOOLEAN NOT NULL, summary TEXT NOT NULL, report TEXT NOT NULL, report_sha256 TEXT NOT NULL,
        prev_hash TEXT NOT NULL, hash TEXT NOT NULL)""",
    "CREATE TABLE IF NOT EXISTS gavel_history_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
)
CONNECT_TIMEOUT = 10


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", url)


class PostgresStore:
    def __init__(self, url: str, *, create: bool):
        self.display = redact(url)
        try:
            import psycopg
        except ImportError:
            raise UsageError("history.url names a PostgreSQL database, which needs psycopg 3: "
                             "pip install 'psycopg[binary]'") from None
        self._errors = psycopg.Error
        try:
            self.conn = psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT, autocommit=True)
        except (psycopg.Error, ValueError) as exc:
            raise UsageError(f"cannot reach the history database {self.display}: {_first_line(exc)}") from None
        try:
            with self.conn.cursor() as cur:
                cur.execute("SELECT to_regclass('gavel_history_runs') IS NOT NULL")
                exists = cur.fetchone()[0]
            if not exists:
                if not create:
                    raise UsageError(f"no audit history in {self.display} (record one with `gavel check --history`)")
                with self.conn.transaction(), self.conn.cursor() as cur:
                    cur.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK,))
                    for statement in SCHEMA:
                        cur.execute(statement)
                    cur.execute("INSERT INTO gavel_history_meta (key, value) VALUES ('chain', %s) "
                                "ON CONFLICT (key) DO NOTHING", (CHAIN_VERSION,))
        except psycopg.Error as exc:
            self.conn.close()
            raise UsageError(f"history database {self.display}: {_first_line(exc)}") from None

    def close(self) -> None:
        self.conn.close()

    def append(self, build: Callable[[int, str], Row], report: str) -> Row:
        try:
            with self.conn.transaction(), self.conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK,))
                cur.execute("SELECT value FROM gavel_history_meta WHERE key = 'count'")
                count = cur.fetchone()
                cur.execute("SELECT seq, hash FROM gavel_history_runs ORDER BY seq DESC LIMIT 1")
                head = cur.fetchone()
                # like SQLite's AUTOINCREMENT, a number is never reused, even after the last run was deleted
                seq = max(int(count[0]) if count else 0, head[0] if head else 0) + 1
                row = build(seq, head[1] if head else GENESIS)
                cur.execute(
                    f"INSERT INTO gavel_history_runs ({COLUMNS}, report) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                    (row.seq, row.run_id, row.recorded_at, row.now, row.passed, row.summary, row.report_sha256,
                     row.prev_hash, row.hash, report))
                for key, value in (("head", row.hash), ("count", str(row.seq))):
                    cur.execute("INSERT INTO gavel_history_meta (key, value) VALUES (%s, %s) "
                                "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", (key, value))
            return row
        except self._errors as exc:
            raise UsageError(f"cannot record the run in {self.display}: {_first_line(exc)}") from None

    def rows(self) -> list[Row]:
        with self.conn.cursor() as cur:
            cur.execute(f"SELECT {COLUMNS} FROM gavel_history_runs ORDER BY seq")
            return [Row(int(r[0]), r[1], r[2], r[3], bool(r[4]), r[5], r[6], r[7], r[8]) for r in cur]

    def reports(self) -> Iterator[tuple[int, str]]:
        with self.conn.cursor() as cur:
            cur.execute("SELECT seq, report FROM gavel_history_runs ORDER BY seq")
            yield from cur

    def report(self, seq: int) -> str | None:
        with self.conn.cursor() as cur:
            cur.execute("SELECT report FROM gavel_history_runs WHERE seq = %s", (seq,))
            found = cur.fetchone()
        return found[0] if found else None

    def meta(self) -> dict[str, str]:
        with self.conn.cursor() as cur:
            cur.execute("SELECT key, value FROM gavel_history_meta")
            return dict(cur.fetchall())

    def rehash(self, rows: list[Row], version: str) -> None:
        with self.conn.transaction(), self.conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK,))
            for row in rows:
                cur.execute("UPDATE gavel_history_runs SET prev_hash = %s, hash = %s, summary = %s WHERE seq = %s",
                            (row.prev_hash, row.hash, row.summary, row.seq))
            for key, value in ((("head", rows[-1].hash),) if rows else ()) + (("chain", version),):
                cur.execute("INSERT INTO gavel_history_meta (key, value) VALUES (%s, %s) "
                            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", (key, value))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
