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
_EXTENSION = re.compile(r"extension '[^']+' raises Python error: \w+: ")


def regorus_module():
    """Import regorus with Rust error backtraces off: capturing one costs ~150 ms per process."""
    os.environ["RUST_LIB_BACKTRACE"] = "0"
    import regorus

    return regorus


class EmbeddedEngine:
    name = "embedded"

    def __init__(self, *, checked: bool = False, **_options):
        """``checked``: the modules were already checked for recursion when loaded (``load_paths``)."""
        self._engine = regorus_module().Engine()
        self._checked = checked
        _install_sandbox(self._engine)

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
        if not self._checked:  # recursion overflows regorus's stack: a segfault, not an error
            from engine.policy.regoast import check_recursion, trees_of

            check_recursion(trees_of(self._engine))
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


def _install_sandbox(engine) -> None:
    """Replace regorus's I/O builtins by ones that raise: an I/O builtin a project allowed (see
    ``engine.policy.capabilities``) must give an ``error`` here, never undefined (a pass)."""
    from engine.policy.capabilities import ARITY, IO_BUILTINS, unavailable_in_embedded

    for name in IO_BUILTINS:

        def refuse(*_args, _name=name):
            raise RuntimeError(unavailable_in_embedded(_name))

        engine.add_extension(name, ARITY[name], refuse)


def message_of(exc: BaseException) -> str:
    """The first useful line of a regorus error (without the Rust backtrace)."""
    text = str(exc).split("Stack backtrace")[0].strip()
    match = _ERROR.search(text)
    where = _LOCATION.search(text)
    message = match.group(1) if match else (text.splitlines()[0] if text else type(exc).__name__)
    message = _EXTENSION.sub("", message)
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
