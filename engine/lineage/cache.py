"""A content-hash cache of analysed SQL, in ``<cache.path>/lineage.json`` (default ``.gavel/cache``).

An entry is keyed by the SHA-256 of the SQL text and of the options that change its analysis
(dialect, default schema, masking functions, sqlglot and Gavel versions). It is used only if the
schema it was computed against is unchanged: each entry records a fingerprint of every table it
read, and those are compared with the schema known at that point of this run. So a re-run after
changing one SQL file parses that file, plus the files whose ``SELECT *`` or unqualified columns
depend on a table the changed file creates.

The cache is JSON (never pickle: a cloned repository must not be able to run code through it),
written atomically and authenticated by ``engine.cachefile``: a planted or edited cache file (say,
one that drops the edge carrying PII to a model) is an empty cache. A missing, corrupt or
unwritable cache just means a cold run; ``cache.enabled: false`` (or ``--no-cache``) or
``lineage.cache: false`` neither reads nor writes it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from engine.lineage.sql import ANALYSIS_VERSION, Catalog, FileResult

CACHE_FILE = "lineage.json"


def cache_key(text: str, options_digest: str) -> str:
    h = hashlib.sha256()
    h.update(options_digest.encode())
    h.update(b"\0")
    h.update(text.encode())
    return h.hexdigest()


def options_digest(*parts: object) -> str:
    import sqlglot

    raw = json.dumps([ANALYSIS_VERSION, sqlglot.__version__, *parts], sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


class Cache:
    def __init__(self, folder: Path, *, enabled: bool = True):
        self.enabled = enabled
        self.path = folder / CACHE_FILE
        self.entries: dict[str, dict] = {}
        self.used: dict[str, dict] = {}
        self.hits = 0
        self.misses = 0
        self.dirty = False
        if enabled:
            self._load()

    def _load(self) -> None:
        from engine import cachefile

        data = cachefile.load(self.path, ANALYSIS_VERSION)
        if isinstance(data, dict) and isinstance(data.get("entries"), dict):
            self.entries = data["entries"]

    def get(self, key: str, catalog: Catalog) -> FileResult | None:
        if not self.enabled:
            return None
        entry = self.entries.get(key)
        if entry is not None:
            try:
                deps = entry["deps"]
                if all(catalog.fingerprint(t) == fp for t, fp in deps.items()):
                    self.hits += 1
                    self.used[key] = entry
                    return FileResult.from_json(entry)
            except (KeyError, TypeError):
                pass
        self.misses += 1
        return None

    def put(self, key: str, result: FileResult) -> None:
        if not self.enabled:
            return
        self.used[key] = result.to_json()
        self.dirty = True

    def save(self) -> None:
        """Write the entries this run used (so stale ones are pruned); never fails the run."""
        if not self.enabled or (not self.dirty and len(self.used) == len(self.entries)):
            return
        from engine import cachefile

        cachefile.save(self.path, ANALYSIS_VERSION, {"entries": self.used})
