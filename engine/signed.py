"""Cache files signed with a secret that never lives in the repository.

A cache that decides verdicts (``decisions.json``) or feeds them (``lineage-facts.json``) must not
be plantable by a pull request. Each file's first line is an HMAC-SHA256 of the rest under
``GAVEL_CACHE_SECRET`` (set it in CI), else a random per-user key made on first use in
``$XDG_CACHE_HOME/gavel/cache-secret`` (``~/.cache``). A file that does not verify is ignored:
a cold run, never a wrong one.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
from pathlib import Path

_KEY: dict[str, bytes] = {}


def secret() -> bytes:
    env = os.environ.get("GAVEL_CACHE_SECRET")
    if env:
        return env.encode()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gavel"
    path = base / "cache-secret"
    if str(path) in _KEY:
        return _KEY[str(path)]
    with contextlib.suppress(OSError, ValueError):
        key = _KEY[str(path)] = bytes.fromhex(path.read_text().strip())
        return key
    key = os.urandom(32)
    try:
        base.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key.hex())
    except FileExistsError:
        key = bytes.fromhex(path.read_text().strip())
    except OSError:
        pass  # unwritable home: this run's files will not verify next time (a cold run, never wrong)
    _KEY[str(path)] = key
    return key


def mac(body: bytes) -> str:
    return hmac.new(secret(), body, hashlib.sha256).hexdigest()


def read(path: Path) -> bytes | None:
    """The body of a signed file, or ``None`` if it is missing or does not verify."""
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    tag, _, body = raw.partition(b"\n")
    if not hmac.compare_digest(tag.decode("ascii", "replace"), mac(body)):
        return None
    return body


def write(path: Path, body: bytes) -> None:
    """Write ``body`` signed, atomically; an unwritable cache only means a cold run next time."""
    from engine.fsutil import atomic_write

    with contextlib.suppress(OSError):
        atomic_write(path, mac(body).encode() + b"\n" + body)
