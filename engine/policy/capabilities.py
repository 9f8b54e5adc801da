"""Builtins that reach outside Gavel: refused at load on every engine unless gavel.yaml allows them.

A policy is a pure function of its input document and data. A builtin that reads the network,
the host or the server's environment makes a verdict depend on something no report records, and
lets a policy (or whoever can write one) send inventory data elsewhere: on the embedded engine
they are undefined at run time (a silent pass), on OPA they run. The list is OPA's
builtins that do I/O; ``time.now_ns`` is not one of them (Gavel passes ``now`` in the input, but
reading the clock leaks nothing). ``policies.allow_builtins`` in gavel.yaml opts a policy set in.
"""

from __future__ import annotations

import re

from engine.errors import PolicyError

IO_BUILTINS: tuple[str, ...] = ("http.send", "opa.runtime", "net.lookup_ip_addr")

_STRINGS = re.compile(r'`[^`]*`|"(?:\\.|[^"\\\n])*"')


def io_calls(text: str) -> list[tuple[str, int]]:
    """``(builtin, line)`` for each I/O builtin ``text`` calls (comments and strings ignored)."""
    found = []
    for number, line in enumerate(_STRINGS.sub('""', text).splitlines(), start=1):
        code = line.split("#", 1)[0]
        for name in IO_BUILTINS:
            if re.search(rf"(?<![\w.]){re.escape(name)}\s*\(", code):
                found.append((name, number))
    return found


def check_capabilities(modules: dict[str, str], *, allowed: list[str] = ()) -> None:
    """Raise ``PolicyError`` (exit 2) naming the file and line of the first I/O builtin call that
    ``allowed`` (gavel.yaml ``policies.allow_builtins``) does not permit."""
    for name, text in modules.items():
        for builtin, line in io_calls(text):
            if builtin not in allowed:
                raise PolicyError(
                    f"builtin '{builtin}' reaches outside Gavel (network, host or server state) and is refused; "
                    f"allow it with policies.allow_builtins: [{builtin}] in gavel.yaml if this policy set must use it",
                    file=name, line=line)
