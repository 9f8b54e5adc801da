"""The decision cache: a policy's verdict on a subject, reused only when nothing it depends on changed.

A verdict is a pure function of the compiled policy (its Rego text, parameters, the engine and
its version), the subject's input document, the ``data`` the policy reads and ``now`` if it reads
the time. :func:`dependencies` decides from the compiled Rego what a policy reads; whatever it
cannot prove it does not read counts as read (a bare ``input``, an unknown ``data`` path, a word
it cannot parse), and a policy calling a non-deterministic builtin (``time.now_ns``, ``rand.*``,
``http.send``...) is never cached.

The cache is one file, ``<cache.path>/decisions.bin``, keyed by content hashes:
``subjects[sha256(input document without now)][context]`` → the policy's rule values, where
``context = sha256(engine, policy text, and the now / inventory / params it reads)``. The file is
authenticated (``engine.cachefile``: an HMAC under a key that never lives in the repository): a cache
file planted by a pull request, copied from another machine or edited by hand fails the check and
is ignored (a cold run), so an entry can only come from a run that held the secret. Its payload is
``marshal`` (``cachefile.load_plain``: decoded only once the MAC verified; never pickle), which keeps
equal values read from it one shared object, so their findings are derived once.
"""

from __future__ import annotations

import hashlib
import json
import marshal
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

FILE = "decisions.bin"
FORMAT = 3  # bump when the meaning of an entry changes

# Builtins whose result is not a function of the input: a policy calling one is evaluated every run.
_VOLATILE = re.compile(r"\b(?:time\.now_ns|rand\.\w+|uuid\.\w+|http\.send|net\.lookup_ip_addr|opa\.runtime)\s*\(")
# Comments and string literals (a string opening a ``[`` may be a reference: ``input["now"]``).
_TOKENS = re.compile(r'(\[\s*)?("(?:\\.|[^"\\])*"|`[^`]*`)|#[^\n]*')
_INPUT = re.compile(r'\binput\b(?:\s*\.\s*([A-Za-z_]\w*)|\s*\[\s*"([^"\\]*)"\s*\])?')
_OBJECT_GET_INPUT = re.compile(r'object\.get\(\s*input\s*,\s*\[\s*"([^"\\]*)"')
_DATA = re.compile(r'\bdata\b((?:\s*\.\s*[A-Za-z_]\w*|\s*\[\s*"[^"\\]*"\s*\])*)')
_SEGMENT = re.compile(r'[A-Za-z_]\w*|"([^"\\]*)"')


@dataclass(frozen=True)
class Dependencies:
    """What one policy's verdict may depend on besides its own text and the input document."""

    cacheable: bool = True  # False: calls a non-deterministic builtin
    now: bool = False  # reads input.now (or input in a way we cannot follow)
    inventory: tuple[str, ...] = ()  # the parts of data.gavel.inventory it reads ("models", "datasets"; "*": all)
    params: str = ""  # "own" (data.gavel.params[<its id>]), "all", or "" (none)
    foreign: bool = False  # reads other data (other policies, libraries, data itself): everything counts


def _strip_comments(text: str) -> str:
    """``text`` without comments, and with every string emptied except those opening a ``[``
    (words such as "personal data" in a message are not references)."""
    def keep(match: re.Match) -> str:
        if match.group(2) is None:
            return ""
        return match.group(0) if match.group(1) is not None else '""'

    return _TOKENS.sub(keep, text)


def dependencies(text: str, policy_id: str, package: str = "") -> Dependencies:
    """Read the compiled Rego ``text`` of a policy (package ``package``) and say what its verdict
    depends on (when in doubt: yes, it depends)."""
    code = _strip_comments(text)
    if _VOLATILE.search(code):
        return Dependencies(cacheable=False)
    now = False
    named = set()  # positions of ``input`` in object.get(input, ["field", ...]): that names its field
    for match in _OBJECT_GET_INPUT.finditer(code):
        named.add(match.start() + match.group(0).index("input"))
        now = now or match.group(1) == "now"
    for match in _INPUT.finditer(code):
        field = match.group(1) or match.group(2)
        if field == "now" or (field is None and match.start() not in named):
            now = True  # reads the time, or reads input in a way we cannot follow
    inventory: set[str] = set()
    foreign = False
    own = package.split(".") if package else []
    params = ""
    for match in _DATA.finditer(code):
        path = [m.group(1) if m.group(1) is not None else m.group(0)
                for m in _SEGMENT.finditer(match.group(1))]
        if package and path[:len(own)] == own:
            continue  # its own rules: their text is part of the policy's key already
        if path[:2] == ["gavel", "inventory"]:
            inventory.add(path[2] if path[2:3] in (["models"], ["datasets"]) else "*")
        elif path[:2] == ["gavel", "params"]:
            params = "own" if path[2:3] == [policy_id] and params != "all" else "all"
        elif path[:2] == ["gavel", "fmt"]:
            continue  # Gavel's own pure formatting functions: part of its version, in every key
        else:
            foreign = True
    return Dependencies(True, now, tuple(sorted(inventory)), params, foreign)


def digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, separators=(",", ":"), sort_keys=True, default=str).encode()).hexdigest()


def engine_identity(name: str) -> list[str] | None:
    """The engine and its version as part of every key; ``None`` for engines not cached (an OPA
    server's policies, data and version are outside this process's view)."""
    if name != "embedded":
        return None
    from engine import __version__

    regorus = installed("regorus", "gordon_to_regorus")
    if regorus is None:  # an install we cannot fingerprint: no cache rather than a stale one
        return None
    return [f"gavel {__version__}", f"format {FORMAT}", f"regorus {regorus}"]


def installed(module: str, distribution: str) -> str | None:
    """A fingerprint of the installed distribution providing ``module``: the SHA-256 of its
    ``RECORD`` (the hash of every file it installed), so any other build or version differs.
    Read without importing the module or ``importlib.metadata`` (~50-300 ms on a CI gate)."""
    import glob
    from importlib.util import find_spec

    try:
        spec = find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    folder = Path(spec.origin).parent
    for site in (folder.parent, folder):
        for record in sorted(glob.glob(str(site / f"{glob.escape(distribution)}-*.dist-info" / "RECORD"))):
            try:
                return hashlib.sha256(Path(record).read_bytes()).hexdigest()
            except OSError:
                return None
    return None


class DecisionCache:
    """Verdicts by (subject digest, context digest); counts the decisions it supplied.

    Values are kept decoded and shared (one parse of the file, not one per decision): callers
    must not mutate them. The findings cache (``ready``, a ``ReadyFindings``) holds the decisions
    of every subject whose findings it stored: a lookup reads them there, and ``save`` leaves them
    out of this file, which keeps only the others (a subject with an engine error, say)."""

    def __init__(self, path: Path):
        self.path = path
        self.ready: ReadyFindings | None = None  # set by ``ReadyFindings(path, decisions=...)``
        self._entries: dict[str, dict[str, Any]] | None = None  # read on first use (``entries``)
        self._used: dict[str, dict[str, Any]] = {}
        self._carried: dict[str, tuple[list[str], Callable[[], list]]] = {}  # ``carry``: read when ``used`` is
        self.fresh: list[tuple[str, str]] = []  # (subject, context) of the values computed by this run
        self.reused = 0
        self.dirty = False

    @property
    def entries(self) -> dict[str, dict[str, Any]]:
        """The file's decisions, read on first use: a run whose every subject's findings are
        ready-made (``ReadyFindings``, which holds their decisions) never reads the file."""
        if self._entries is None:
            self._entries = self._load()
        return self._entries

    @property
    def used(self) -> dict[str, dict[str, Any]]:
        """This run's decisions: subject digest -> {context: rule values}."""
        for subject in list(self._carried):
            self.of(subject)
        return self._used

    @property
    def loaded(self) -> bool:
        return self._entries is not None

    def _load(self) -> dict[str, dict[str, Any]]:
        from engine import cachefile

        data = cachefile.load_plain(self.path, str(FORMAT))
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            return {}  # missing, or not written by a run holding our secret: never trusted
        subjects = data.get("subjects")
        if not (isinstance(subjects, dict) and all(type(entry) is dict for entry in subjects.values())
                and all(type(value) is dict for entry in subjects.values() for value in entry.values())):
            return {}  # a policy's rule values are an object: anything else is not a cache we wrote
        return subjects

    def any(self) -> bool:
        """There are decisions to look up (in this file or the findings cache)."""
        return bool(self.entries) or bool(self.ready is not None and self.ready.entries)

    def lookup(self, subject: str, contexts: list[str | None]) -> list[Any]:
        """The cached rule values for each of ``contexts`` (``None`` where there is none, or where
        the context is ``None``: a policy never cached); one call per subject, not per decision."""
        entry = self.entries.get(subject)
        if entry is None and self.ready is not None:
            entry = self.ready.by_context(subject)
        if entry is None:
            return [None] * len(contexts)
        found = list(map(entry.get, contexts))
        if None not in found:  # the usual re-run: every decision cached (counted without a Python loop)
            self._used.setdefault(subject, {}).update(zip(contexts, found, strict=True))
            self.reused += len(found)
            return found
        hits = [(context, value) for context, value in zip(contexts, found, strict=True) if value is not None]
        if hits:
            self._used.setdefault(subject, {}).update(hits)
            self.reused += len(hits)
        return found

    def carry(self, subject: str, contexts: list[str], values: Callable[[], list]) -> None:
        """Reuse the decisions ``values()`` gives (read from the findings cache, under the same key)
        as this run's: called only when ``used`` is read (to write the caches)."""
        self._carried[subject] = (contexts, values)
        self.reused += len(contexts)

    def put(self, subject: str, context: str, value: Any) -> None:
        self._used.setdefault(subject, {})[context] = value
        self.fresh.append((subject, context))
        self.dirty = True

    def of(self, subject: str) -> dict[str, Any]:
        """This run's decisions of ``subject`` by context (``used[subject]``, without reading the
        other subjects' carried decisions)."""
        if subject in self._carried:
            contexts, values = self._carried.pop(subject)
            self._used[subject] = dict(zip(contexts, values(), strict=True))
        return self._used[subject]

    def share(self) -> None:
        """Make equal values computed by this run one object. Values read from a file are shared
        objects already, which marshal writes once each (so the next run derives their findings
        once: on 10,000 cards 500,000 decisions are ~97,000 distinct values)."""
        by_text: dict[str, Any] = {}
        for subject, context in self.fresh:
            value = self._used[subject][context]
            self._used[subject][context] = by_text.setdefault(
                json.dumps(value, separators=(",", ":"), ensure_ascii=False), value)
        self.fresh = []

    def save(self, stored: set[str] | frozenset[str] = frozenset()) -> None:
        """Write what this run used (so the file never grows past one run's decisions), but the
        decisions of the subjects in ``stored``: the findings cache holds those (``ReadyFindings.
        kept``; a re-run after a 1% edit then writes next to nothing here, not 500,000 decisions)."""
        from engine import cachefile

        subjects = {subject: self.of(subject) for subject in [*self._used, *self._carried] if subject not in stored}
        if self.loaded and subjects == self.entries:  # not read to find out: what is left to write is small
            return
        self.share()
        cachefile.save_plain(self.path, str(FORMAT), {"format": FORMAT, "subjects": dict(sorted(subjects.items()))})


def subject_digest(base: str) -> str:
    """The digest of a subject's input document (serialised without ``now``)."""
    return hashlib.sha256(base.encode()).hexdigest()


class DecisionKeys:
    """The context digest of each policy of a set: everything its verdict depends on besides the
    subject's document (``None`` for a policy that is never cached)."""

    def __init__(self, policy_set, texts: list[tuple[str, str]], *, identity: list[str], modules: dict[str, str],
                 data: dict[str, Any]):
        self.policy_set = policy_set
        self.identity = identity
        self.texts = texts
        self.modules = modules
        self.data = data
        self.deps = [dependencies(own, p.id, p.package) for p, (own, _) in zip(policy_set.policies, texts, strict=True)]
        self._by_now: dict[Any, list[str | None]] = {}
        self._inventory: dict[str, str] = {}
        self._everything: str | None = None

    def inventory(self, part: str = "*") -> str:
        """The digest of ``data.gavel.inventory`` (``*``) or of one of its parts."""
        found = self._inventory.get(part)
        if found is None:
            inventory = self.data.get("inventory", {})
            found = self._inventory[part] = digest(self.data if part == "*" else inventory.get(part))
        return found

    def everything(self) -> str:
        """Every module and all the data: what a policy reading outside its own lane depends on."""
        if self._everything is None:
            self._everything = digest(sorted(self.modules.items()), self.policy_set.params, self.inventory())
        return self._everything

    def contexts(self, now: Any) -> list[str | None]:
        found = self._by_now.get(now)
        if found is None:
            found = self._by_now[now] = [self._context(j, now) for j in range(len(self.deps))]
        return found

    def _context(self, j: int, now: Any) -> str | None:
        deps = self.deps[j]
        if not deps.cacheable:
            return None
        policy = self.policy_set.policies[j]
        params = self.policy_set.params
        own, wrapper = self.texts[j]
        return digest(
            self.identity, policy.id, policy.rules, policy.has_applicable, own, wrapper,
            params.get(policy.id), params if deps.params == "all" else None,
            now if deps.now else None,
            [self.inventory(part) for part in deps.inventory],
            self.everything() if deps.foreign else None,
        )


READY_FILE = "findings.bin"
READY_FORMAT = 4  # bump when the meaning of an entry changes


class ReadyFindings:
    """Each subject's findings ready-made: their counts by (status, severity), the pieces of their
    JSON report lines (``engine.findings.Encoder``) and the decisions they were made from.

    A subject's findings are a pure function of its decisions, the metadata of its policies (id,
    title, severity, frameworks, remediation, rules) and the subject itself. Entries are found by
    the digest of the subject's document (as in the decision cache) and used only if their
    context matches: the decision cache's context of each of the subject's policies, their
    metadata, and the code that turns decisions into findings and findings into JSON. An entry
    holds the decisions its findings were made from, so ``Finding`` objects built when something
    reads them are those its lines were written from, and a run whose subjects all have an entry
    never reads the decision cache. A subject's entry is stored only when every decision of it
    went into the decision cache (an engine error never does).

    One file, ``<cache.path>/findings.bin``, authenticated like the decision cache
    (``cachefile.write``/``read``); it keeps the subjects of the last run only. Pieces and
    decisions that repeat are one object, written once. The payload is two ``marshal`` parts:
    the entries (context, counts, pieces, how many decisions), then every subject's decisions,
    decoded only when something needs them (``stored``): a re-run that writes the JSON report
    of unchanged subjects does not (10,000 cards: ~0.1 s). Each subject's decisions are stored with
    their decision-cache contexts, so the decision cache looks them up here (``by_context``)."""

    def __init__(self, path: Path, decisions: DecisionCache | None = None):
        self.path = path
        self.entries: dict[str, list] = {}  # subject digest -> [context, counts, pieces, number of decisions]
        self.blocks: list = []  # the blocks of this run that may be stored (``keep``)
        self.decisions = decisions
        # subject digest -> [its decision contexts, its decisions] (encoded until read)
        self._stored: memoryview | dict[str, list] = {}
        self._load()
        if decisions is not None:
            decisions.ready = self

    def _load(self) -> None:
        from engine import cachefile

        payload = cachefile.read(self.path, cachefile.plain_stamp(f"findings-{READY_FORMAT}"))
        if payload is None or len(payload) < 8:
            return
        size = int.from_bytes(payload[:8], "big")
        try:
            data = marshal.loads(payload[8:8 + size])
        except (EOFError, ValueError, TypeError):
            return
        if not isinstance(data, dict) or data.get("format") != READY_FORMAT:
            return
        entries = data.get("subjects")
        # Each entry's shape; its decisions (500,000 on 10,000 cards) are checked when decoded.
        if not (type(entries) is dict and all(
                type(entry) is list and len(entry) == 4 and type(entry[0]) is str and type(entry[1]) is dict
                and type(entry[2]) is list and entry[2] and type(entry[3]) is int for entry in entries.values())):
            return  # not a file we wrote: never trusted
        self.entries, self._stored = entries, payload[8 + size:]

    def stored(self, subject: str) -> list:
        """The decisions the findings of ``subject`` (a stored entry) were made from."""
        return self._pairs()[subject][1]

    def by_context(self, subject: str) -> dict[str, Any] | None:
        """The stored decisions of ``subject`` by decision-cache context, or None (no entry)."""
        if subject not in self.entries:
            return None
        contexts, values = self._pairs()[subject]
        return dict(zip(contexts, values, strict=True))

    def kept(self) -> set[str]:
        """The subjects ``save`` stores (their decisions with them)."""
        return {block.key[0] for block in self.blocks}

    def _pairs(self) -> dict[str, list]:
        if isinstance(self._stored, memoryview):
            self._stored = _decisions(self._stored, self.entries, self.path)
        return self._stored

    def context(self, kind: str, contexts: list[str], policies: list) -> str:
        """What every subject of ``kind`` shares in its key (its policies' decision contexts, in order)."""
        return digest(READY_FORMAT, _code(), kind, contexts,
                      [[p.id, p.title, p.severity, p.frameworks, p.remediation, p.rules, p.has_applicable]
                       for p in policies])

    def known(self, subject: str) -> bool:
        """The last run judged this very document (else the decision cache has nothing for it either)."""
        return subject in self.entries

    def get(self, subject: str, context: str, count: int) -> tuple[dict, list[str]] | None:
        """``(counts, pieces)`` of the subject whose document has digest ``subject``, if stored under
        ``context`` with ``count`` decisions (read them with ``stored``)."""
        entry = self.entries.get(subject)
        if entry is None or entry[0] != context or entry[3] != count:
            return None
        return entry[1], entry[2]

    def keep(self, findings) -> None:
        """Remember the blocks of ``findings`` (a ``Findings``) that carry a key, for ``save``; their
        decisions are read from the decision cache then (after it made equal values one object)."""
        self.blocks = [block for block in findings.blocks if block.key is not None]

    def changed(self) -> bool:
        """The kept blocks are not exactly the file's: ``save`` has to write."""
        return len(self.blocks) != len(self.entries) or not all(block.ready for block in self.blocks)

    def save(self) -> None:
        """Write the kept blocks: ready-made ones as they are, the others encoded now (sorted, as
        the report writes them)."""
        if not self.changed():
            return
        from engine import cachefile
        from engine.findings import Encoder, Finding

        self.decisions.share()
        encoder = Encoder()
        subjects: dict[str, list] = {}
        decisions: dict[str, list] = {}
        for block in self.blocks:
            subject, context, contexts = block.key
            if block.ready:
                subjects[subject], decisions[subject] = self.entries[subject], self._pairs()[subject]
                continue
            items = sorted(block.items, key=Finding.sort_key)
            used = self.decisions.of(subject)
            decisions[subject] = [contexts, [used[c] for c in contexts]]
            subjects[subject] = [context, dict(block.tally()), encoder.pieces(items), len(contexts)]
        try:
            head = marshal.dumps({"format": READY_FORMAT, "subjects": subjects})
            tail = marshal.dumps(decisions)
        except ValueError:  # nested deeper than marshal goes: no cache, never an error
            return
        cachefile.write(self.path, cachefile.plain_stamp(f"findings-{READY_FORMAT}"),
                        [len(head).to_bytes(8, "big"), head, tail])


def _decisions(payload: memoryview, entries: dict[str, list], path: Path) -> dict[str, list]:
    """The stored decisions of every entry with their contexts, decoded and checked: one object of
    rule values per decision. The file's MAC says a run holding the key wrote both parts together,
    so a mismatch is a fault, not a planted file; as the entries may already be in this run's
    report, it stops the run (exit 2) rather than let findings be made without their decisions."""
    from engine.errors import UsageError

    try:
        stored = marshal.loads(payload)
    except (EOFError, ValueError, TypeError):
        stored = None
    if type(stored) is not dict or not all(
            type(pair := stored.get(subject)) is list and len(pair) == 2
            and type(pair[0]) is list and len(pair[0]) == entry[3] and all(type(c) is str for c in pair[0])
            and type(pair[1]) is list and len(pair[1]) == entry[3] and all(type(v) is dict for v in pair[1])
            for subject, entry in entries.items()):
        raise UsageError("the findings cache does not hold the decisions of its entries: delete it, or run with "
                         "--no-cache", file=str(path))
    return stored


@lru_cache(maxsize=1)
def _code() -> str:
    """The source of the code that makes findings from decisions and writes them as JSON: a change
    to it (even without a new version number, e.g. in a checkout) makes every entry stale."""
    from engine import evaluate, findings

    digest = hashlib.sha256()
    for module in (evaluate, findings):
        try:
            digest.update(Path(module.__file__).read_bytes())
        except (OSError, TypeError):  # no file to read (a zip, a frozen build): its version stands for it
            digest.update(module.__name__.encode())
    return digest.hexdigest()
