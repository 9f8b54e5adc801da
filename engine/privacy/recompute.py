"""diffprivlib's figures, computed in a child process that imports diffprivlib while the caller reads.

`gavel budget verify` recomputes every recorded figure with diffprivlib, which imports scikit-learn
(about a second of CPU). Started before the dataset cards and the ledger are read, the child imports
it on the other core meanwhile; the caller then sends the spends to compose and compares what comes
back. The child runs diffprivlib (``accounting.computed``), nothing else: it is still diffprivlib's
figure that every recorded one is compared with; with many figures it forks a sibling for half of
them (the caller is idle meanwhile: two cores). If the child cannot start or dies, the figures are
computed in the caller (slower, the same); nothing is skipped.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import pickle
from typing import Any

#: seconds to wait for the child (ready, then its figures) before computing them here instead (a child that hangs)
TIMEOUT = 300.0
#: fewer figures than this per half are computed in one process (a fork costs more than they do)
SPLIT_FROM = 200
#: (budget, list of spends) per figure wanted; a spend is an (epsilon, delta) pair
Jobs = list[tuple[Any, list[tuple[float, float]]]]


def compute(jobs: Jobs) -> list[list]:
    """diffprivlib's [epsilon, delta, exceeded, remaining epsilon, remaining delta] for each job, here."""
    from engine.privacy.accounting import Usage, Window, _total, figures

    out = []
    for budget, pairs in jobs:
        usage = Usage(budget, Window("", None, None))
        _total(usage, budget, pairs)
        out.append(figures(usage))
    return out


def _halves(jobs: Jobs) -> list[list]:
    """``compute(jobs)``, the second half in a forked sibling: it inherits diffprivlib imported, and
    the caller waits idle meanwhile, so the halves run on two cores. Whatever the sibling does not
    answer (it died, or wrote something short) is computed here."""
    half = len(jobs) // 2
    if half < SPLIT_FROM or len(os.sched_getaffinity(0)) < 2 or not hasattr(os, "fork"):
        return compute(jobs)
    readable, writable = os.pipe()
    pid = os.fork()
    if pid == 0:  # the sibling: its half, pickled to the pipe, then exit at once
        code = 1
        try:
            os.close(readable)
            with os.fdopen(writable, "wb") as pipe:
                pipe.write(pickle.dumps(compute(jobs[half:])))
            code = 0
        finally:
            os._exit(code)
    os.close(writable)
    first = compute(jobs[:half])
    with os.fdopen(readable, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    second = None
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
        with contextlib.suppress(Exception):
            second = pickle.loads(data)  # noqa: S301 - written by our own fork, a moment ago
    if not (isinstance(second, list) and len(second) == len(jobs) - half):
        second = compute(jobs[half:])
    return first + second


def _serve(conn) -> None:
    # A short-lived process whose objects (scikit-learn's modules, then the figures) live until it exits:
    # the collector's full passes over them found nothing and cost ~0.25 s of its CPU (the caller's core).
    gc.disable()
    try:
        from engine.privacy.accounting import preload

        preload()
        conn.send(("ready", None))  # so the caller never blocks sending to a child that hangs before reading
        jobs = conn.recv()
        if jobs is not None:
            conn.send(("ok", _halves(jobs)))
    except BaseException as exc:  # noqa: BLE001 - reported to the caller, which computes in-process
        with contextlib.suppress(Exception):
            conn.send(("error", repr(exc)))
    finally:
        conn.close()


class Recomputer:
    """A child process importing diffprivlib from the moment this is made; ``compute(jobs)`` once."""

    def __init__(self) -> None:
        self._conn = self._proc = None
        try:
            context = multiprocessing.get_context("fork")
            self._conn, child = context.Pipe()
            self._proc = context.Process(target=_serve, args=(child,), daemon=True)
            self._proc.start()
            child.close()
        except (OSError, ValueError):  # no fork here, or no process to spare: compute in-process
            self._conn = self._proc = None

    def compute(self, jobs: Jobs) -> list[list]:
        """diffprivlib's figures for ``jobs`` (in the child when it is alive, else here)."""
        if self._proc is None:
            return compute(jobs)
        try:
            status, result = self._answer()
            if status == "ready":
                self._conn.send(jobs)
                status, result = self._answer()
        except (EOFError, OSError):
            status, result = "error", None
        finally:
            self.close()
        return result if status == "ok" and len(result) == len(jobs) else compute(jobs)

    def _answer(self) -> tuple[str, Any]:
        return self._conn.recv() if self._conn.poll(TIMEOUT) else ("error", None)

    def close(self) -> None:
        """Stop the child: done, or nothing to compute (then it may still be importing)."""
        if self._proc is None:
            return
        self._conn.close()
        if self._proc.is_alive():
            self._proc.terminate()
        self._proc.join()
        self._proc = None
