"""Real OPA (v1.20.2, embedded in-process by PyPI's ``opa-golib-python-bindings``) behind Gavel's
Rego engine interface, so it can judge the very modules and input documents Gavel gives regorus.

Test-only: the oracle evaluates, Gavel only maps its answers to findings (``verdicts``).
"""

from __future__ import annotations

import json
from typing import Any

from engine.errors import EngineError, PolicyError

try:
    import opa_bindings
except ImportError:  # pragma: no cover - the tests skip, saying why
    opa_bindings = None

MISSING = ("the real-OPA oracle needs the opa-golib-python-bindings wheel: pip install --no-deps "
           "--ignore-requires-python opa-golib-python-bindings==0.4.4 (.ci/run installs it, hash-pinned)")


class InProcessOpa:
    name = "opa-inprocess"

    def __init__(self):
        self._engine = opa_bindings.OpaEngine()

    def load(self, modules: dict[str, str], data: dict[str, Any]) -> None:
        for name, text in modules.items():
            try:
                self._engine.add_policy(name, text)
            except opa_bindings.OpaError as exc:
                raise PolicyError(f"OPA rejected the module: {exc.message}", file=name) from None
        self._engine.add_data(data)

    def evaluate(self, rule: str, inputs: list[str]) -> list[Any]:
        out: list[Any] = []
        for document in inputs:
            try:
                out.append(self._engine.eval_document(rule.removeprefix("data."),
                                                      json.loads(document)))
            except opa_bindings.OpaUndefinedError:
                out.append(EngineError(f"{rule} is undefined"))
            except opa_bindings.OpaError as exc:  # strict builtin errors: the query fails, as on regorus
                out.append(EngineError(exc.message))
        return out


def prepare_on_opa(policy_set, data: dict[str, Any]):
    """The policy set on in-process OPA, with the modules a real OPA server or bundle gets."""
    from engine.evaluate import Prepared, opa_modules

    engine = InProcessOpa()
    engine.load(opa_modules(policy_set), {"gavel": {**data, "params": policy_set.params}})
    return Prepared(policy_set, engine, workers=1)
