"""Put a whole policy set under one data path, so many policy sets share one OPA server.

A policy set is more than its own packages: it reads ``data.gavel`` (inventory, parameters) and
its packages (``gavel_eval``, ``gavel.yaml.*``, the built-in packs') have the same names in every
project. On a shared OPA those are global, and two projects would read each other's rules and
data. Rewriting every module so that its package and each ``data`` reference live under
``data.gavel_sets.<namespace>`` gives each set a tree of its own: the same idea as ``opa refactor
move``, applied to every root at once. Line and column numbers do not change for anything after
the rewritten word on a line, and never across lines, so OPA's error locations still point at the
line of the source file.

Only code is rewritten: string literals (``"…"`` and raw ``` `…` ```) and comments are skipped.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

ROOT = "gavel_sets"

# A string literal, a comment, or the word ``data`` as a reference root (not a field ``x.data``
# nor part of a longer name), or a package clause at the start of a line.
_TOKENS = re.compile(
    r'(?P<skip>"(?:\\.|[^"\\\n])*"|`[^`]*`|#[^\n]*)'
    r"|(?P<package>^package[ \t]+)"
    r"|(?<![\w.$])(?P<data>data)(?![\w])",
    re.MULTILINE,
)


def namespace_of(modules: dict[str, str], data: dict[str, Any]) -> str:
    """A digest of everything a policy set evaluates with: the same set and data, the same name."""
    digest = hashlib.sha256()
    for name in sorted(modules):
        digest.update(name.encode() + b"\0" + modules[name].encode() + b"\0")
    digest.update(json.dumps(data, sort_keys=True, separators=(",", ":")).encode())
    return "s" + digest.hexdigest()[:20]


def prefix(namespace: str) -> str:
    """The data path of a namespace, e.g. ``gavel_sets.s0123…``."""
    return f"{ROOT}.{namespace}"


def rewrite(text: str, namespace: str) -> str:
    """``text`` with its package and every ``data`` reference moved under the namespace."""
    root = prefix(namespace)

    def replace(match: re.Match) -> str:
        if match.group("skip"):
            return match.group(0)
        if match.group("package"):
            return match.group(0) + root + "."
        return f"data.{root}"

    return _TOKENS.sub(replace, text)


def rule_path(rule: str, namespace: str) -> str:
    """``data.gavel_eval.model`` → ``data.gavel_sets.<namespace>.gavel_eval.model``."""
    return f"data.{prefix(namespace)}." + rule.removeprefix("data.")
