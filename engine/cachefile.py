"""Cache files that cannot change a verdict: JSON, authenticated with a key kept outside the project.

Gavel's caches (validated cards, analysed SQL, the lineage stage's result, policy decisions,
ledger validity and privacy totals) live in
``<project>/.gavel/cache``, which anyone who can write the project can write too: a pull request,
or a CI cache restored from one. A cache entry is trusted as it stands (re-checking it would cost
what the cache saves), so each file carries an HMAC-SHA256 of its bytes under a key that lives
outside the project:

* ``GAVEL_CACHE_KEY`` when set (e.g. a CI secret, so trusted jobs share a cache), else
* a random key in ``$XDG_CONFIG_HOME/gavel/cache-key`` (``~/.config/gavel/cache-key``), created on
  first use with mode 0600, and ignored unless it is a regular file owned by this user that no one
  else can write.

A file whose MAC does not verify (planted, edited, written with another key, or from another Gavel
version: the ``stamp``) is an empty cache, and the run recomputes everything. Without a usable key
there is no cache at all. The format: one header line ``gavel-cache 1 <stamp> <mac>``, then the
payload: JSON (``load``/``save``), or ``marshal`` for a large cache read on every run
(``load_plain``/``save_plain``: the decision cache, 500,000 entries on 10,000 cards).

``marshal`` only builds values (it runs nothing on load, unlike pickle), but it is not made to
read hostile bytes: it is only ever given a payload whose MAC verified, i.e. bytes a run holding
the key wrote, and its stamp names the Python version (marshal's format may change with it).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import marshal
import os
import secrets
import stat
import sys
from functools import cache
from pathlib import Path
from typing import Any

MAGIC = b"gavel-cache 1"
KEY_ENV = "GAVEL_CACHE_KEY"


def load(path: Path, stamp: str) -> Any | None:
    """The JSON payload saved at ``path`` under ``stamp`` with this machine's key, or None."""
    payload = read(path, stamp)
    if payload is None:
        return None
    try:
        return json.loads(bytes(payload))
    except (ValueError, RecursionError):
        return None


def save(path: Path, stamp: str, data: Any) -> None:
    """Write ``data`` as JSON at ``path`` with its MAC; a cache that cannot be written is no cache."""
    write(path, stamp, json.dumps(data, separators=(",", ":"), allow_nan=False).encode())


def load_plain(path: Path, stamp: str) -> Any | None:
    """The data saved at ``path`` by ``save_plain`` under ``stamp`` with this machine's key, or None.

    Decoded with ``marshal`` after the MAC verified (~2x faster than ``json`` for the decision
    cache, and its writing 4x): callers still check the shape they expect."""
    payload = read(path, _plain(stamp))
    if payload is None:
        return None
    try:
        return marshal.loads(payload)
    except (EOFError, ValueError, TypeError):
        return None


def save_plain(path: Path, stamp: str, data: Any) -> None:
    """Write plain ``data`` (dicts, lists, strings, numbers, booleans, None) for ``load_plain``;
    an object reached twice is written once and read back as one shared object."""
    try:
        payload = marshal.dumps(data)
    except ValueError:  # nested deeper than marshal goes, or not plain data: no cache, never an error
        return
    write(path, _plain(stamp), payload)


def plain_stamp(stamp: str) -> str:
    """The stamp a ``marshal`` payload is written under (``write``/``read`` of one's own parts)."""
    return _plain(stamp)


def _plain(stamp: str) -> str:
    return f"{stamp}-marshal{marshal.version}-py{sys.version_info[0]}.{sys.version_info[1]}"


def read(path: Path, stamp: str) -> memoryview | None:
    """The payload saved at ``path`` under ``stamp`` with this machine's key, or None.

    A view into the file's bytes as read: a 50 MB cache is read into memory once, never copied."""
    key = cache_key()
    if key is None:
        return None
    from engine.fsutil import read_regular

    try:
        raw = read_regular(path)
    except OSError:
        return None
    end = raw.find(b"\n")
    parts = raw[:end].split(b" ") if end >= 0 else []
    if len(parts) != 4 or b" ".join(parts[:2]) != MAGIC or parts[2] != stamp.encode():
        return None
    payload = memoryview(raw)[end + 1:]
    if not hmac.compare_digest(parts[3], _mac(key, stamp, payload).encode()):
        return None
    return payload


def write(path: Path, stamp: str, payload: bytes | list[bytes]) -> None:
    """Write ``payload`` (or its parts, in order) at ``path`` with its MAC, atomically; unwritable
    means no cache, never an error."""
    key = cache_key()
    if key is None:
        return
    from engine.fsutil import atomic_write

    parts = payload if isinstance(payload, list) else [payload]
    header = b" ".join([MAGIC, stamp.encode(), _mac(key, stamp, *parts).encode()])
    with contextlib.suppress(OSError, ValueError):  # a read-only checkout still runs, just without a cache
        atomic_write(path, [header + b"\n", *parts], durable=False)  # a torn file fails its MAC: no cache


def _mac(key: bytes, stamp: str, *parts: bytes | memoryview) -> str:
    mac = hmac.new(key, stamp.encode() + b"\n", hashlib.sha256)
    for part in parts:
        mac.update(part)
    return mac.hexdigest()


def cache_key() -> bytes | None:
    """The key that authenticates cache files, or None (then nothing is cached)."""
    value = os.environ.get(KEY_ENV)
    return value.encode() if value else _file_key()


@cache
def _file_key() -> bytes | None:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    path = Path(base) / "gavel" / "cache-key"
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if (not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077
                or info.st_size > 4096):
            return None  # someone else could have written it: then it authenticates nothing
        key = os.read(fd, 4096).strip()
    finally:
        os.close(fd)
    return key if len(key) >= 32 else None
