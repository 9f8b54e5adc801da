"""A content-addressed cache of validated cards, so re-runs skip parsing and validation.

Keyed by the file's SHA-256, its kind and format; the whole cache is dropped when Gavel's
version or a card schema changes. It lives in ``<project>/.gavel/cache/evidence.json``
(plain JSON: a cache file is never executable, unlike a pickle). Errors are not cached.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from engine import __version__
from engine.findings import Source
from engine.inventory import Record
from engine.resources import schema_path


@dataclass
class EvidenceCache:
    file: Path
    root: Path  # the project root that evidence paths are relative to
    stamp: str
    entries: dict[str, list] = field(default_factory=dict)  # key -> [id, line, data]
    stats: dict[str, tuple[int, int, str]] = field(default_factory=dict)  # display -> (mtime_ns, size, sha)
    dirty: bool = False

    @classmethod
    def open(cls, config) -> EvidenceCache:
        stamp = _stamp()
        file = config.path(config.cache_path) / "evidence.json"
        cache = cls(file, config.root, stamp)
        try:
            saved = json.loads(file.read_text())
            if saved.get("stamp") == stamp:
                cache.entries = saved.get("entries", {})
                cache.stats = {k: tuple(v) for k, v in saved.get("stats", {}).items()}
        except (OSError, ValueError, AttributeError):
            pass  # a missing or corrupt cache is an empty cache
        return cache

    def lookup_path(self, path: Path, display: str, kind: str, fmt: str, limits):
        """A hit without reading the file: same size and mtime as when it was cached."""
        known = self.stats.get(display)
        if known is None:
            return None
        try:
            st = path.stat()
        except OSError:
            return None
        if (st.st_mtime_ns, st.st_size) != tuple(known[:2]) or st.st_size > limits.max_bytes:
            return None
        record = self.get(known[2], kind, fmt, display)
        return (known[2], record) if record is not None else None

    def get(self, sha: str, kind: str, fmt: str, display: str) -> Record | None:
        entry = self.entries.get(f"{kind}:{fmt}:{sha}")
        if entry is None:
            return None
        rid, line, data = entry
        return Record(kind, rid, data, Source(file=display, line=line))

    def put(self, sha: str, kind: str, fmt: str, record: Record) -> None:
        key = f"{kind}:{fmt}:{sha}"
        if key not in self.entries:
            self.entries[key] = [record.id, record.source.line, record.data]
            self.dirty = True
        try:
            st = (self.root / record.source.file).stat()
        except OSError:
            return
        stat = (st.st_mtime_ns, st.st_size, sha)
        if self.stats.get(record.source.file) != stat:
            self.stats[record.source.file] = stat
            self.dirty = True

    def save(self) -> None:
        if not self.dirty:
            return
        from engine.fsutil import atomic_write

        with contextlib.suppress(OSError):  # a read-only checkout still runs, just without a cache
            atomic_write(self.file, json.dumps({"stamp": self.stamp, "entries": self.entries, "stats": self.stats},
                                               separators=(",", ":")))


def _stamp() -> str:
    digest = hashlib.sha256(__version__.encode())
    for name in ("model-card", "dataset-card"):
        digest.update(schema_path(name).read_bytes())
    digest.update(os.environ.get("GAVEL_CACHE_SALT", "").encode())
    return digest.hexdigest()[:16]
