"""A content-addressed cache of validated cards, so re-runs skip parsing and validation.

Keyed by the SHA-256 of the bytes read *now*, the card's kind and format: a hit is the card those
very bytes validated to. The whole cache is dropped when Gavel's version or a card schema changes.
It lives in ``<cache.path>/evidence.json`` (default ``.gavel/cache``), is plain JSON (a cache file
is never executable, unlike a pickle) and is authenticated by ``engine.cachefile``: a planted or
edited cache file is an empty cache, so it can never change a verdict. Errors are not cached.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from engine import __version__
from engine.findings import Source
from engine.inventory import Record
from engine.resources import schema_path

FILE = "evidence.json"


@dataclass
class EvidenceCache:
    file: Path
    stamp: str
    entries: dict[str, list] = field(default_factory=dict)  # key -> [id, line, data]
    dirty: bool = False

    @classmethod
    def open(cls, config) -> EvidenceCache:
        from engine import cachefile

        stamp = _stamp()
        cache = cls(config.path(config.cache_path) / FILE, stamp)
        saved = cachefile.load(cache.file, stamp)
        if isinstance(saved, dict) and isinstance(saved.get("entries"), dict):
            cache.entries = saved["entries"]
        return cache

    def get(self, sha: str, kind: str, fmt: str, display: str) -> Record | None:
        entry = self.entries.get(f"{kind}:{fmt}:{sha}")
        if not (isinstance(entry, list) and len(entry) == 3 and isinstance(entry[2], dict)):
            return None
        rid, line, data = entry
        return Record(kind, rid, data, Source(file=display, line=line))

    def put(self, sha: str, kind: str, fmt: str, record: Record) -> None:
        key = f"{kind}:{fmt}:{sha}"
        value = [record.id, record.source.line, record.data]
        if self.entries.get(key) != value:
            self.entries[key] = value
            self.dirty = True

    def save(self) -> None:
        if self.dirty:
            from engine import cachefile

            cachefile.save(self.file, self.stamp, {"entries": self.entries})


def _stamp() -> str:
    digest = hashlib.sha256(__version__.encode())
    for name in ("model-card", "dataset-card"):
        digest.update(schema_path(name).read_bytes())
    digest.update(os.environ.get("GAVEL_CACHE_SALT", "").encode())
    return digest.hexdigest()[:16]
