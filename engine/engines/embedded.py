"""The embedded Rego engine: Microsoft's regorus, in process (PyPI wheel ``gordon-to-regorus``).

Facts designed around (measured): results are read as JSON text (a set of objects makes
``eval_rule`` raise); a builtin error aborts the whole query; Rust panics arrive as
``pyo3_runtime.PanicException``, which is not an ``Exception``; an ``Engine`` is single-threaded.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from engine.errors import EngineError, PolicyError

_LOCATION = re.compile(r"-->\s*(.+?):(\d+):(\d+)")
_ERROR = re.compile(r"^error:\s*(.+)$", re.MULTILINE)


def regorus_module():
    """Import regorus with Rust error backtraces off: capturing one costs ~150 ms per process."""
    os.environ["RUST_LIB_BACKTRACE"] = "0"
    import regorus

    return regorus


class EmbeddedEngine:
    name = "embedded"

    def __init__(self, **_options):
        self._engine = regorus_module().Engine()

    @property
    def native(self):
        """The underlying ``regorus.Engine`` (coverage, prints), for tools built on this engine."""
        return self._engine

    def load(self, modules: dict[str, str], data: dict[str, Any]) -> None:
        for name, text in modules.items():
            try:
                self._engine.add_policy(name, text)
            except BaseException as exc:  # noqa: BLE001 - RuntimeError or a Rust panic
                if isinstance(exc, KeyboardInterrupt | SystemExit):
                    raise
                raise _policy_error(exc, name) from None
        self._engine.add_data_json(json.dumps(data))

    def evaluate(self, rule: str, inputs: list[str]) -> list[Any]:
        engine = self._engine
        out: list[Any] = []
        for document in inputs:
            try:
                engine.set_input_json(document)
                out.append(json.loads(engine.eval_rule_as_json(rule)))
            except BaseException as exc:  # noqa: BLE001 - a panic must become an error finding
                if isinstance(exc, KeyboardInterrupt | SystemExit):
                    raise
                out.append(EngineError(message_of(exc)))
        return out


def message_of(exc: BaseException) -> str:
    """The first useful line of a regorus error (without the Rust backtrace)."""
    text = str(exc).split("Stack backtrace")[0].strip()
    match = _ERROR.search(text)
    where = _LOCATION.search(text)
    message = match.group(1) if match else (text.splitlines()[0] if text else type(exc).__name__)
    if where:
        message = f"{where.group(1)}:{where.group(2)}: {message}"
    return message


def _policy_error(exc: BaseException, name: str) -> PolicyError:
    text = str(exc).split("Stack backtrace")[0]
    where = _LOCATION.search(text)
    match = _ERROR.search(text)
    message = match.group(1) if match else (text.strip().splitlines() or ["cannot compile"])[0]
    if where:
        return PolicyError(f"Rego: {message}", file=where.group(1), line=int(where.group(2)))
    return PolicyError(f"Rego: {message}", file=name)
