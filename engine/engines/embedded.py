"""The embedded Rego engine: Microsoft's regorus, in process (PyPI wheel ``gordon-to-regorus``).

Facts designed around (measured): results are read as JSON text (a set of objects makes
``eval_rule`` raise); a builtin error aborts the whole query; Rust panics arrive as
``pyo3_runtime.PanicException``, which is not an ``Exception``; an ``Engine`` is single-threaded.

regorus has no way to interrupt an evaluation and no memory bound, so a runaway policy (a 10⁸
element comprehension, a 100 MB message) would hold the run for minutes or take gigabytes.
Evaluation therefore runs in a forked child (it inherits the loaded engine: nothing is compiled
again) under a memory limit, and the parent waits at most ``deadline`` seconds for each
result, and refuses results over ``max_output`` bytes. A result that misses the deadline, is too
big, or dies with the child (out of memory, a crash) comes back as an ``EngineError`` for that
input; the caller then evaluates each policy alone, so the ``error`` finding names the policy
and the subject. The other inputs are evaluated in a fresh child.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import signal
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from engine.errors import EngineError, PolicyError
from engine.fsutil import write_all

_LOCATION = re.compile(r"-->\s*(.+?):(\d+):(\d+)")
_ERROR = re.compile(r"^error:\s*(.+)$", re.MULTILINE)
DEADLINE = 10.0  # seconds per result (one subject against its policies, or one policy alone)
MAX_OUTPUT = 1_000_000  # bytes of JSON per result: messages and evidence together
MAX_MEMORY_MB = 2048  # on top of what the process already maps
_EXTENSION = re.compile(r"extension '[^']+' raises Python error: \w+: ")


def regorus_module():
    """Import regorus with Rust error backtraces off: capturing one costs ~150 ms per process."""
    os.environ["RUST_LIB_BACKTRACE"] = "0"
    import regorus

    return regorus


class EmbeddedEngine:
    name = "embedded"

    def __init__(self, *, checked: bool = False, deadline: float | None = DEADLINE, max_output: int | None = MAX_OUTPUT,
                 max_memory_mb: int | None = MAX_MEMORY_MB, isolate: bool = True, **_options):
        """``checked``: the modules were already checked for recursion when loaded (``load_paths``).
        ``deadline`` (seconds per result), ``max_output`` (bytes of JSON per result) and
        ``max_memory_mb`` (of the evaluating child) bound a runaway policy; ``isolate=False``
        evaluates in this process, without the deadline and memory bound."""
        self._engine = regorus_module().Engine()
        self._checked = checked
        self._data: dict | None = None  # given to regorus on first use (``load_data``)
        self._first: Callable[[], bytes] | None = None  # the job of the child being forked (``start``)
        self.deadline = float(deadline) if deadline else None
        self.max_output = int(max_output) if max_output else None
        self.max_memory = int(max_memory_mb) * 1024 * 1024 if max_memory_mb else None
        self.isolate = isolate and hasattr(os, "fork")
        self._child: _Child | None = None
        prepare_engine(self._engine)

    def check_safety(self) -> None:
        """Evaluate nothing once, in this process, so regorus reports an unsafe variable (or another
        compile error) at load, naming the file: exit 2, not an error on every policy and subject."""
        from engine.evaluate import check_safety

        check_safety(self._engine)

    @property
    def native(self):
        """The underlying ``regorus.Engine`` (coverage, prints), for tools built on this engine.

        Those read state the evaluation leaves in the engine, so from then on this engine
        evaluates in process (no child: no deadline or memory bound; the output cap stays)."""
        self.isolate = False
        self.load_data()
        return self._engine

    def load(self, modules: dict[str, str], data: dict[str, Any]) -> None:
        """Compile ``modules`` now; ``data`` is given to regorus when something is first evaluated
        (``load_data``): a run whose every decision is cached never pays for it (10,000 cards:
        ~0.3 s), and the evaluation child loads it while this process goes on (``start``)."""
        for name, text in modules.items():
            add_module(self._engine, name, text)
        if not self._checked:  # recursion overflows regorus's stack: a segfault, not an error
            from engine.policy.regoast import check_recursion, trees_of

            check_recursion(trees_of(self._engine))
        self._data = data

    def load_data(self) -> None:
        """Give the engine its data, if not done yet: before forking processes that evaluate, so
        they share it instead of each loading its own."""
        if self._data is not None:  # kept until regorus took it: never evaluate without the data
            self._engine.add_data_json(json.dumps(self._data))
            self._data = None

    def start(self, first: Callable[[], bytes] | None = None) -> None:
        """Fork the evaluation child now: it loads the data while this process reads its caches
        and works out which subjects need evaluating. ``first``: a job the child does before that,
        its result read with ``first_result`` (or dropped by the first evaluation)."""
        if not self.isolate:
            return
        self._first = first
        try:
            child = self._child_process()
        finally:
            self._first = None
        child.first = first is not None

    def first_result(self) -> bytes | None:
        """What ``start``'s ``first`` returned in the child; None if there is no such result (no
        child, or it failed, raised or died: the caller does the job itself)."""
        child = self._child
        if child is None or child.owner != os.getpid() or not child.first:
            return None
        return self._take_first(child)

    def _take_first(self, child: _Child) -> bytes | None:
        child.first = False
        frame = child.results.next(None)  # no deadline: the job is the caller's, a dead child is end-of-file
        if frame is None:
            self._failure(child, timed_out=False)
            return None
        kind, payload = frame
        return payload if kind == b"F" else None

    def evaluate(self, rule: str | list, inputs: list[str]) -> list[Any]:
        return list(self.stream(rule, inputs))

    def stream(self, rule: str | list, inputs: list[str], *, raw: bool = False) -> Iterator[Any]:
        """``evaluate``, one result at a time as the child sends it, so what the caller does with a
        result overlaps the child's evaluation of the next. Exhaust it before evaluating anything
        else on this engine; a stream left unfinished stops its child (its answers are not read).

        ``rule`` is a rule's path, or a plan (``engine.evaluate.plan``): ``(key, path)`` and
        ``(key, [(rule, path), ...])`` entries, each input's result then being the object of their
        values by key (the second kind: an object of partial sets by rule name). ``raw``: each
        value as its JSON text (bytes), not decoded; an error is still an ``EngineError``."""
        if not self.isolate:
            query = _compiled(rule)
            for document in inputs:
                yield self._decode(*self._one(query, document), raw=raw)
            return
        done = 0
        while done < len(inputs):
            for value in self._in_child(rule, inputs[done:], raw=raw):
                done += 1
                yield value

    def _one(self, rule: str | tuple, document: str) -> tuple[bytes, bytes]:
        """Evaluate one input here: (b"V", JSON) or (b"E", message)."""
        try:
            self.load_data()  # a failure is this input's error, as any other
            self._engine.set_input_json(document)
            text = self._engine.eval_rule_as_json(rule) if isinstance(rule, str) else self._planned(rule)
        except BaseException as exc:  # noqa: BLE001 - a panic must become an error finding
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            return b"E", message_of(exc).encode()
        if self.max_output and len(text) > self.max_output:
            return b"E", (f"the policy output is {len(text):,} bytes, over the limit of {self.max_output:,} "
                          "(limits.eval_output_bytes in gavel.yaml)").encode()
        return b"V", text.encode()

    def _planned(self, plan: tuple) -> str:
        """The JSON object of a plan's values for the input set (``_compiled``: each key already
        JSON, with its colon), from one ``eval_rule`` per path.

        regorus answers an undefined rule with the string ``"<undefined>"``: an object path must
        give an object, a partial set an array (an empty set is ``[]``); anything else raises, so
        the caller judges that subject policy by policy and reports the undefined one as an error
        (never a pass)."""
        evaluate = self._engine.eval_rule_as_json
        parts = []
        for key, target in plan:
            if isinstance(target, str):
                text = evaluate(target)
                if not text.startswith("{"):
                    raise RuntimeError(f"{target} is not an object for this input ({text[:40]})")
                parts.append(key + text)
                continue
            fields = []
            for name, path in target:
                text = evaluate(path)
                if not text.startswith("["):
                    raise RuntimeError(f"{path} is not a set for this input ({text[:40]})")
                fields.append(name + text)
            parts.append(key + "{" + ",".join(fields) + "}")
        return "{" + ",".join(parts) + "}"

    @staticmethod
    def _decode(kind: bytes, payload: bytes, raw: bool = False) -> Any:
        if kind != b"V":
            return EngineError(payload.decode())
        return payload if raw else json.loads(payload)

    def _in_child(self, rule: str | list, inputs: list[str], raw: bool = False) -> Iterator[Any]:
        """Evaluate ``inputs`` in the evaluation child; stop at the first input that breaks a
        bound (its result is then an ``EngineError`` and the child is replaced), so at least one
        result always comes back."""
        if self._child is not None and self._child.first and self._child.owner == os.getpid():
            self._take_first(self._child)  # an unread first result must not be taken for an answer
        child = self._child_process()
        parts = [json.dumps(rule).encode(), *(document.encode() for document in inputs)]
        request = struct.pack(">Q", len(parts)) + b"".join(struct.pack(">Q", len(p)) + p for p in parts)
        try:
            write_all(child.requests, request)
        except OSError:  # the child is gone
            yield EngineError(self._failure(child, timed_out=False))
            return
        pending = len(inputs)
        try:
            while pending:
                frame = child.results.next(self.deadline)
                if frame is None:
                    pending = 0
                    yield EngineError(self._failure(child, child.results.timed_out))
                    return
                pending -= 1
                yield self._decode(*frame, raw=raw)
        finally:
            if pending and self._child is child:  # abandoned mid-stream: its unread answers would
                self._child = None  # be taken for the next request's, so this child is done
                _stop(child)

    def _child_process(self) -> _Child:
        """The child evaluating for this process, forked on first use: it inherits the loaded
        engine, so each evaluation costs a pipe round trip, not a fork (measured: ~47 ms a fork)."""
        child = self._child
        if child is not None and child.owner == os.getpid():
            return child
        to_child, requests = os.pipe()
        results, from_child = os.pipe()
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # the child: serve requests until the parent closes the pipe or dies; no cleanup
            code = 0
            try:
                # Other engines' pipe ends would keep their children from seeing end-of-file.
                for fd in (requests, results, *_PARENT_FDS):
                    with contextlib.suppress(OSError):
                        os.close(fd)
                _quiet_stderr()  # regorus prints its own report when an allocation fails
                self._serve(to_child, from_child, parent)
            except BaseException:  # noqa: BLE001 - the parent reports what is missing
                code = 1
            finally:
                os._exit(code)
        os.close(to_child)
        os.close(from_child)
        _PARENT_FDS.update((requests, results))
        self._child = _Child(pid, os.getpid(), requests, _Frames(results))
        return self._child

    def _serve(self, requests: int, results: int, parent: int) -> None:
        if self.max_memory:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (self.max_memory + _vm_size(), resource.RLIM_INFINITY))
        reader = _Frames(requests)
        with os.fdopen(results, "wb", buffering=0) as pipe:
            if self._first is not None:
                try:
                    kind, payload = b"F", self._first()
                except Exception as exc:  # noqa: BLE001 - the parent does the job itself
                    kind, payload = b"E", message_of(exc).encode()
                pipe.write(_frame(kind, payload))
            with contextlib.suppress(Exception):  # before the first request; a failure is reported by _one
                self.load_data()
            while True:
                while not select.select([requests], [], [], 1.0)[0]:
                    if os.getppid() != parent:
                        return  # the parent died without closing the pipe
                header = reader.read(8, None)
                if header is None:
                    return  # the parent is done
                parts = []
                for _ in range(struct.unpack(">Q", header)[0]):
                    size = reader.read(8, None)
                    part = reader.read(struct.unpack(">Q", size)[0], None) if size is not None else None
                    if part is None:
                        return
                    parts.append(part.decode())
                rule, inputs = _compiled(json.loads(parts[0])), parts[1:]
                for document in inputs:
                    pipe.write(_frame(*self._one(rule, document)))

    def _failure(self, child: _Child, timed_out: bool) -> str:
        """Why the child gave no result; the child is stopped, the next evaluation gets a new one."""
        self._child = None
        status = _stop(child)
        if timed_out:
            return (f"evaluation did not finish within {self.deadline:g} s (limits.eval_seconds in gavel.yaml); "
                    "a runaway rule, e.g. a huge comprehension")
        if os.WIFSIGNALED(status) and os.WTERMSIG(status) != signal.SIGKILL:
            name = signal.Signals(os.WTERMSIG(status)).name
            hint = " (out of memory: limits.eval_memory_mb in gavel.yaml)" if name == "SIGABRT" else ""
            return f"the evaluation crashed with {name}{hint}"
        return "the evaluation stopped without a result (out of memory? limits.eval_memory_mb in gavel.yaml)"

    def __del__(self):
        child = getattr(self, "_child", None)
        try:
            if child is not None and child.owner == os.getpid():
                _stop(child)
        except (AttributeError, TypeError, OSError):  # interpreter shutdown: modules already torn down
            pass


def _frame(kind: bytes, payload: bytes) -> bytes:
    """One result as the child sends it (``_Frames.next`` reads it): kind, length, payload."""
    return kind + struct.pack(">Q", len(payload)) + payload


def _compiled(rule: str | list) -> str | tuple:
    """A rule path as it is; a plan with its keys and rule names as JSON text, colon included."""
    if isinstance(rule, str):
        return rule
    return tuple((json.dumps(key) + ":", target if isinstance(target, str)
                  else tuple((json.dumps(name) + ":", path) for name, path in target)) for key, target in rule)


_PARENT_FDS: set[int] = set()  # this process's ends of its evaluation children's pipes


def _stop(child: _Child) -> int:
    """Kill and reap an evaluation child, close its pipes; its wait status."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(child.pid, signal.SIGKILL)
    for fd in (child.requests, child.results.fd):
        _PARENT_FDS.discard(fd)
        with contextlib.suppress(OSError):
            os.close(fd)
    try:
        return os.waitpid(child.pid, 0)[1]
    except ChildProcessError:
        return 0


@dataclass
class _Child:
    pid: int
    owner: int  # the process that forked it: a forked worker must not share its parent's child
    requests: int  # fd: a count, then length-prefixed parts: the rule or plan as JSON, then each JSON document
    results: _Frames  # one frame per document: kind (V or E) + length + payload
    first: bool = False  # a frame of ``start``'s job (kind F, or E) comes before them, not read yet




class _Frames:
    """Length-prefixed frames from the child, each waited for at most ``deadline`` seconds."""

    def __init__(self, fd: int):
        self.fd = fd
        self.buffer = b""
        self.timed_out = False

    def next(self, deadline: float | None) -> tuple[bytes, bytes] | None:
        stop = time.monotonic() + deadline if deadline else None
        header = self.read(9, stop)
        if header is None:
            return None
        body = self.read(struct.unpack(">Q", header[1:])[0], stop)
        return None if body is None else (header[:1], body)

    def read(self, size: int, stop: float | None) -> bytes | None:
        """``size`` bytes, or None at end of file or (setting ``timed_out``) past ``stop``."""
        while len(self.buffer) < size:
            wait = None if stop is None else stop - time.monotonic()
            if wait is not None and wait <= 0:
                self.timed_out = True
                return None
            ready, _, _ = select.select([self.fd], [], [], wait)
            if not ready:
                continue
            chunk = os.read(self.fd, max(65536, size - len(self.buffer)))
            if not chunk:
                return None
            self.buffer += chunk
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data


def _quiet_stderr() -> None:
    """The child's crash reports (regorus's, faulthandler's) would only clutter the parent's stderr."""
    import faulthandler

    faulthandler.disable()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)


def _vm_size() -> int:
    """Bytes of address space this process maps now (Linux); 0 elsewhere."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def prepare_engine(engine) -> None:
    """What every regorus engine Gavel makes gets: room for long lines, the extension builtins
    (``extensions``) and the I/O builtins replaced by ones that raise."""
    from engine.engines.extensions import install

    # regorus's default refuses lines over 1024 columns; generated and real policies have longer.
    engine.set_policy_length_config(max_col=1_000_000, max_file_bytes=64 * 1024 * 1024, max_lines=1_000_000)
    install(engine)
    _install_sandbox(engine)


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


def add_module(native, name: str, text: str) -> None:
    """``native.add_policy(name, text)`` on a ``regorus.Engine``; a compile error (a RuntimeError, or
    a Rust panic, which is not an ``Exception``) is a ``PolicyError`` naming the file and line."""
    try:
        native.add_policy(name, text)
    except BaseException as exc:  # noqa: BLE001 - RuntimeError or a Rust panic
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        raise _policy_error(exc, name) from None


def _policy_error(exc: BaseException, name: str) -> PolicyError:
    text = str(exc).split("Stack backtrace")[0]
    where = _LOCATION.search(text)
    match = _ERROR.search(text)
    message = match.group(1) if match else (text.strip().splitlines() or ["cannot compile"])[0]
    if where:
        return PolicyError(f"Rego: {message}", file=where.group(1), line=int(where.group(2)))
    return PolicyError(f"Rego: {message}", file=name)
