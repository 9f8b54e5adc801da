"""A tiny plugin registry: names for CLI choices, and "did you mean" for typos."""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable
from typing import Any

from engine.errors import UsageError


class Registry:
    """Plugins by name. Entries are ``"module:attr"`` strings, imported on first use (light start-up)."""

    def __init__(self, kind: str, entries: dict[str, str]):
        self.kind = kind
        self._entries = dict(entries)
        self._loaded: dict[str, Any] = {}

    def names(self) -> list[str]:
        return sorted(self._entries)

    def get_or_raise(self, name: str) -> Callable:
        if name not in self._entries:
            close = difflib.get_close_matches(name, self.names(), n=1)
            hint = f" Did you mean {close[0]}?" if close else f" Choose from: {', '.join(self.names())}."
            raise UsageError(f"unknown {self.kind} '{name}'.{hint}")
        if name not in self._loaded:
            module, _, attr = self._entries[name].partition(":")
            self._loaded[name] = getattr(importlib.import_module(module), attr)
        return self._loaded[name]
