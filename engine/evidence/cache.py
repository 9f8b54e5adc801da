"""A content-addressed cache of validated cards, so re-runs skip parsing and validation.

Keyed by the SHA-256 of the bytes read *now*, the card's kind and format: a hit is the card those
very bytes validated to. The whole cache is dropped when Gavel's version or a card schema changes.
It lives in ``<cache.path>/evidence.bin`` (default ``.gavel/cache``) and is authenticated by
``engine.cachefile``: a planted or edited cache file is an empty cache, so it can never change a
verdict. Errors are not cached. It is read on every run (10,000 cards: 9 MB), so it is written with
``cachefile.save_plain`` (``marshal``, decoded ~2x faster than JSON; never executable, unlike a
pickle); the older ``evidence.json`` (format 1) is ignored.
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

FILE = "evidence.bin"
FORMAT = 2  # 1: evidence.json, JSON


@dataclass
class EvidenceCache:
    file: Path
    stamp: str
    entries: dict[str, list] = field(default_factory=dict)  # key -> [id, line, data]
    dirty: bool = False
    fresh: set[str] = field(default_factory=set)  # keys put since the cache was read

    @classmethod
    def open(cls, config) -> EvidenceCache:
        from engine import cachefile

        stamp = _stamp()
        cache = cls(config.path(config.cache_path) / FILE, stamp)
        saved = cachefile.load_plain(cache.file, stamp)
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
            self.fresh.add(key)
            self.dirty = True

    def save(self) -> None:
        if self.dirty:
            from engine import cachefile

            memo: dict[str, str] = {}
            entries = {key: _shared(value, memo) if key in self.fresh else value for key, value in self.entries.items()}
            cachefile.save_plain(self.file, self.stamp, {"entries": entries})


def _shared(value, memo: dict[str, str]):
    """A copy of ``value`` in which equal strings are one object: ``marshal`` writes a string it has
    written before as a back-reference, so the 10,000-card cache is 6.5 MB instead of 11 and is read
    in half the time. (A parsed card has its own copy of every key; a cache read back shares them.)"""
    if isinstance(value, str):
        return memo.setdefault(value, value)
    if isinstance(value, dict):
        return {_shared(key, memo): _shared(item, memo) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_shared(item, memo) for item in value)
    return value


def _stamp() -> str:
    digest = hashlib.sha256(f"{__version__} evidence {FORMAT}".encode())
    for name in ("model-card", "dataset-card"):
        digest.update(schema_path(name).read_bytes())
    digest.update(os.environ.get("GAVEL_CACHE_SALT", "").encode())
    return digest.hexdigest()[:16]
