"""Python's cyclic garbage collector, paused while a large block of long-lived objects is built."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for a block (its previous state restored after).

    A large run holds millions of long-lived objects (cards, cached decisions, findings) and
    allocates them in bulk: each full collection walks all of them again, and on 10,000 cards x 50
    policies that was ~40% of a warm run's CPU time (9.0 -> 5.1 s). Reference counting still frees
    almost everything; the few cycles a run makes are collected after the block (peak memory
    measured the same, 1.07 GB either way).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            # What the block allocated is all in the youngest generation: the next young collection
            # would walk it whole (~0.4 s). freeze + unfreeze moves it to the oldest generation in
            # O(1), where the next full collection finds its cycles, if any.
            if not gc.get_freeze_count():  # never thaw what a host process froze on purpose
                gc.freeze()
                gc.unfreeze()
            gc.enable()
