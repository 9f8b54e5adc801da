"""The warm-path cache of the privacy stage: which ledger lines are valid, and diffprivlib's totals.

A re-run over an unchanged ledger with unchanged budgets neither re-validates the ledger's lines
nor imports diffprivlib (scikit-learn). It lives in ``<project>/.gavel/cache/privacy.json`` (plain
JSON, like ``engine.evidence.cache``) and holds:

* per ledger file: its size and SHA-256, how many newline-terminated lines it had and which of
  them were *not* valid entries. A line's validity depends only on its bytes, so when the file
  still starts with the same bytes (checked by the SHA-256 of that prefix, e.g. after
  ``gavel budget spend`` appended a line) those lines are decoded without the per-line checks and
  only the new lines are validated. Order and unique ids are re-checked on every run.
* the results of ``accounting.account()`` (diffprivlib's total, the verdict and the remaining
  budget), keyed by a digest of the budget's parameters and the (epsilon, delta) pairs composed:
  stored as diffprivlib computed them, never re-derived.

The whole cache is dropped when Gavel's version, the ledger schema, the privacy code or the
installed diffprivlib changes. A missing, corrupt or stale cache is an empty cache; a cache that
cannot be written is no cache. ``gavel budget spend`` and ``gavel budget verify`` never use it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FILE = "privacy.json"
MAX_RESULTS = 20_000  # accounting results kept beyond those used by the last run


@dataclass
class LedgerMark:
    """What the cache knows of a ledger: its first ``size`` bytes hash to ``sha256`` and hold
    ``lines`` newline-terminated lines, of which ``bad`` (1-based) are not valid entries."""

    size: int
    sha256: str
    lines: int
    bad: frozenset[int]


@dataclass
class PrivacyCache:
    file: Path
    stamp: str
    ledgers: dict[str, dict] = field(default_factory=dict)  # display -> {size, sha256, lines, bad}
    results: dict[str, list] = field(default_factory=dict)  # key -> [epsilon, delta, exceeded, rem_e, rem_d]
    used: set[str] = field(default_factory=set)
    dirty: bool = False

    @classmethod
    def open(cls, config) -> PrivacyCache | None:
        """The project's cache, or None when ``cache.enabled`` is false."""
        if not getattr(config, "cache", True):
            return None
        stamp = _stamp()
        cache = cls(config.path(config.cache_path) / FILE, stamp)
        from engine import cachefile

        saved = cachefile.load(cache.file, stamp)  # a missing, corrupt or planted cache is an empty cache
        if isinstance(saved, dict):
            ledgers, results = saved.get("ledgers", {}), saved.get("results", {})
            if isinstance(ledgers, dict) and isinstance(results, dict):
                cache.ledgers, cache.results = ledgers, results
        return cache

    # -- the ledger ------------------------------------------------------------------------------
    def ledger_mark(self, display: str) -> LedgerMark | None:
        saved = self.ledgers.get(display)
        try:
            mark = LedgerMark(int(saved["size"]), str(saved["sha256"]), int(saved["lines"]),
                              frozenset(int(n) for n in saved["bad"]))
        except (TypeError, KeyError, ValueError):
            return None
        return mark if mark.size >= 0 and mark.lines >= 0 else None

    def put_ledger(self, display: str, size: int, sha256: str, lines: int, bad: list[int]) -> None:
        value = {"size": size, "sha256": sha256, "lines": lines, "bad": bad}
        if self.ledgers.get(display) != value:
            self.ledgers[display] = value
            self.dirty = True

    # -- accounting ------------------------------------------------------------------------------
    def result(self, key: str) -> list | None:
        found = self.results.get(key)
        if (isinstance(found, list) and len(found) == 5 and all(type(v) in (int, float) for v in found[:2] + found[3:])
                and type(found[2]) is bool):
            self.used.add(key)
            return found
        return None

    def put_result(self, key: str, value: list) -> None:
        self.results[key] = value
        self.used.add(key)
        self.dirty = True

    def save(self) -> None:
        if not self.dirty:
            return
        from engine import cachefile

        kept = {k: self.results[k] for k in self.used if k in self.results}
        for key, value in self.results.items():  # older results, while there is room
            if len(kept) >= len(self.used) + MAX_RESULTS:
                break
            kept.setdefault(key, value)
        cachefile.save(self.file, self.stamp, {"ledgers": self.ledgers, "results": kept})
        self.dirty = False


def result_key(budget, pairs: list[tuple[float, float]]) -> str:
    """The digest of everything ``account()`` composes: budget, composition, slack and the spends."""
    digest = hashlib.sha256(repr((budget.epsilon, budget.delta, budget.composition, budget.slack)).encode())
    digest.update(",".join(f"{e!r}:{d!r}" for e, d in pairs).encode())
    return digest.hexdigest()


def _stamp() -> str:
    from importlib import metadata

    from engine import __version__
    from engine.resources import schema_path

    digest = hashlib.sha256(__version__.encode())
    digest.update(schema_path("ledger-entry").read_bytes())
    here = Path(__file__).parent
    for name in ("ledger.py", "accounting.py", "cache.py"):
        with contextlib.suppress(OSError):
            digest.update((here / name).read_bytes())
    try:
        digest.update(("diffprivlib " + metadata.version("diffprivlib")).encode())
    except metadata.PackageNotFoundError:
        digest.update(b"no diffprivlib")
    digest.update(os.environ.get("GAVEL_CACHE_SALT", "").encode())
    return digest.hexdigest()[:16]


def trusted_mark(mark: LedgerMark | None, raw: bytes) -> tuple[LedgerMark | None, Any]:
    """(the mark, when ``raw`` starts with the bytes it describes; the SHA-256 object of all of ``raw``)."""
    digest = hashlib.sha256()
    if mark is None or mark.size > len(raw) or (mark.size and raw[mark.size - 1:mark.size] != b"\n"):
        digest.update(raw)
        return None, digest
    digest.update(memoryview(raw)[:mark.size])
    ok = digest.hexdigest() == mark.sha256
    digest.update(memoryview(raw)[mark.size:])
    return (mark if ok else None), digest
