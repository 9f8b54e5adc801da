"""Test helper: ledger lines hash-chained as `gavel budget spend` writes them."""

from __future__ import annotations

import json
from pathlib import Path

from engine.privacy.ledger import GENESIS, dump_entry


def chain(*lines: str | dict, prev: str = GENESIS) -> str:
    """The entries (JSON text or dicts), each linked to the one before, newline-terminated."""
    out = []
    for line in lines:
        data = json.loads(line) if isinstance(line, str) else line
        text = dump_entry(data, prev=prev).decode("utf-8")
        prev = json.loads(text)["hash"]
        out.append(text)
    return "".join(out)


def head(path: Path) -> str:
    """The hash of the ledger's last entry."""
    for line in reversed(path.read_text(encoding="utf-8").splitlines()):
        if '"hash"' in line:
            return json.loads(line)["hash"]
    return GENESIS


def append(path: Path, *lines: str | dict) -> None:
    """Append entries chained to the ledger's last one."""
    with path.open("a", encoding="utf-8") as out:
        out.write(chain(*lines, prev=head(path)))
