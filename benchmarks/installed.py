"""Run Gavel in the benchmarks as an installed Gavel runs: from bytecode.

``pip install`` compiles every module, so a user's run never compiles source. A shell with
``PYTHONDONTWRITEBYTECODE`` set (as some CI images and sandboxes have) would make each ``gavel``
process compile the whole of ``engine/`` again (~0.2 s of CPU, a third of a 0.6 s gate) and time
something no user runs. Call :func:`as_installed` before starting ``gavel`` processes; their first
run writes the bytecode.
"""

import os


def as_installed() -> None:
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
