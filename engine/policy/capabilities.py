"""Which Rego builtins a policy may call: the one list both engines and the bundle builder use.

A compliance verdict must depend only on the evidence and ``now``. Builtins that reach outside
(the network, DNS, the server's environment) could leak evidence or fetch a verdict from
elsewhere; builtins that read the clock or a random source make the same inputs give a different
report. Both kinds are refused when a policy loads, unless the project lists them under
``policies.allow_builtins`` in ``gavel.yaml``. On the embedded engine an allowed I/O builtin
still cannot run (regorus has no network; ``http.send`` there returns undefined, which would
read as a pass), so it is replaced by one that raises: the verdict is ``error``, never ``pass``.

The check runs when policies load, so it holds for ``--engine opa``, ``opa push`` and bundles
too: an OPA server is never sent a policy that calls a refused builtin.
"""

from __future__ import annotations

from collections.abc import Iterable

from engine.errors import PolicyError

# name → why it is refused (the user reads this in the load error)
IO_BUILTINS: dict[str, str] = {
    "http.send": "sends HTTP requests",
    "net.lookup_ip_addr": "makes DNS queries",
    "opa.runtime": "reads the OPA process's environment and configuration",
}
NONDETERMINISTIC_BUILTINS: dict[str, str] = {
    "time.now_ns": "reads the clock (use input.now, fixed per run, so reports are reproducible)",
    "rand.intn": "draws random numbers",
    "uuid.rfc4122": "draws random numbers",
}
REFUSED: dict[str, str] = {**IO_BUILTINS, **NONDETERMINISTIC_BUILTINS}
ARITY = {"http.send": 1, "net.lookup_ip_addr": 1, "opa.runtime": 0, "time.now_ns": 0, "rand.intn": 2,
         "uuid.rfc4122": 1}


def refused(name: str, allow: Iterable[str] = ()) -> str | None:
    """Why ``name`` may not be called (None when it may)."""
    if name in REFUSED and name not in set(allow):
        return REFUSED[name]
    return None


def check_calls(calls: dict[str, int], file: str, allow: Iterable[str] = ()) -> None:
    """Raise ``PolicyError`` at the first refused builtin in ``calls`` (name → line)."""
    allowed = set(allow)
    for name, line in sorted(calls.items(), key=lambda item: (item[1], item[0])):
        reason = refused(name, allowed)
        if reason:
            raise PolicyError(
                f"builtin '{name}' is not allowed in a policy: it {reason}; a verdict must depend only "
                f"on the evidence. List it under policies.allow_builtins in gavel.yaml to allow it",
                file=file,
                line=line,
            )


def unavailable_in_embedded(name: str) -> str:
    """The error an allowed I/O builtin raises on the embedded engine (it has no I/O)."""
    return (f"builtin '{name}' cannot run in the embedded Rego engine (no I/O there); "
            "run this policy set on a real OPA with `--engine opa`")
