"""Evaluate a policy set against subjects: prepare once, evaluate many.

``prepare`` loads the Rego policies, the inventory data and a generated wrapper package
(``gavel_eval``, holding the compiled YAML policies too) into one Rego engine. The wrapper
gathers, per subject kind, the verdict rules of every policy for that kind, so one query per
subject judges it against all its policies (on OPA); the embedded engine answers the same object
from a ``plan`` of one rule evaluation per policy, which regorus runs faster. Large inventories
are split across forked workers. When a subject's query fails (a builtin error aborts a whole
query), each policy is evaluated on its own, so the error becomes an ``error`` finding for that
policy and subject only.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial as partial_call
from typing import Any

from engine.context import Subject
from engine.errors import EngineError
from engine.findings import Block, Finding, Findings, SubjectRef
from engine.policy.model import KINDS, Policy, PolicySet

WRAPPER = "gavel_eval"


def wrapper_module(policy_set: PolicySet, *, inline_yaml: bool = False) -> str:
    """The ``gavel_eval`` package: ``pN`` per policy, and one object per subject kind.

    Policies are referenced by their package (a bundle or an OPA server holds every policy in its
    own package); partial-set rules (``deny contains``) are always defined, other rules get a
    default so one undefined rule never hides the others. With ``inline_yaml`` (the embedded
    engine), YAML policies are compiled into this package itself (rule names prefixed ``yN_``):
    in regorus every reference through ``data`` costs a scan of all modules, which made the
    wrapper several times slower than the policies it reads.
    """
    return wrapper_parts(policy_set, inline_yaml=inline_yaml)[0]


def wrapper_parts(policy_set: PolicySet, *, inline_yaml: bool = False) -> tuple[str, list[tuple[str, str]]]:
    """``wrapper_module``, and for each policy the Rego its verdict is computed from: its own text
    (its modules, or its inline rules and the helpers they call) and its lines in the wrapper."""
    from engine.policy.compile import compile_rules
    from engine.policy.operators import helpers_for

    lines = [f"package {WRAPPER}", "", "import rego.v1", ""]
    entries: list[str] = []
    texts: list[tuple[str, str]] = []
    calls = ""
    for index, policy in enumerate(policy_set.policies):
        fields = []
        start = len(lines)
        if policy.language == "yaml" and inline_yaml:
            prefix = f"y{index}_"
            rules, used = compile_rules(policy.definition, params=policy_set.params.get(policy.id, {}),
                                        file=policy.source.file, locate=lambda _loc: None, prefix=prefix,
                                        compact=True)
            lines += [f"# {policy.id} ({policy.source.file})", rules]
            calls += used
            own = f"{rules}\n{helpers_for(used)}"
            entries.append(f"p{index} := {prefix}verdict")  # always defined: its else chain ends unconditionally
        else:
            text = "\n".join(policy.modules.values())
            for rule in policy.rules:
                ref = f"data.{policy.package}.{rule}"
                if _partial_set(rule, text):
                    fields.append(f'"{rule}": {ref}')
                else:
                    lines.append(f"_p{index}_{rule} := v if {{ v := {ref} }} else := []")
                    fields.append(f'"{rule}": _p{index}_{rule}')
            if policy.has_applicable:
                lines.append(f"_p{index}_applicable := true if {{ data.{policy.package}.applicable }} else := false")
                fields.append(f'"applicable": _p{index}_applicable')
            own = text
            entries.append(f"p{index} := {{{', '.join(fields)}}}")
        texts.append((own, "\n".join([*lines[start:], entries[-1]])))
    helpers = helpers_for(calls)
    if helpers:
        lines += ["# Helpers of the YAML policies", helpers]
    lines += entries
    for kind in KINDS:  # one policy per line: regorus rejects lines over 1024 characters
        members = [f"\t{json.dumps(p.id)}: p{i}," for i, p in enumerate(policy_set.policies) if p.applies_to(kind)]
        lines += [f"{kind} := {{", *members, "}"] if members else [f"{kind} := {{}}"]
    return "\n".join(lines) + "\n", texts


def _partial_set(rule: str, text: str) -> bool:
    """Whether ``rule`` is a partial-set rule (``deny contains ...``) in ``text``: always defined
    (an empty set when no definition holds), never a complete value."""
    return re.search(rf"^{rule}\s+contains\b", text, re.MULTILINE) is not None


def plan(policy_set: PolicySet, kind: str, *, inline_yaml: bool = True) -> list[tuple[str, Any]]:
    """How the embedded engine judges a subject of ``kind``: one ``eval_rule`` per entry rather than
    one query of the wrapper's ``kind`` object (measured: 29% less regorus time on 50 policies,
    with the compact YAML verdicts; each reference across packages costs regorus a scan of every
    module, while a rule evaluated on its own is found by its path, docs/scale.md).

    Each entry is ``(policy id, path)``, the path of an object of rule values (a YAML policy's
    ``verdict``, else the policy's ``pN`` in the wrapper), or ``(policy id, [(rule, path), ...])``
    for a Rego policy whose verdict rules are all partial sets and which has no ``applicable``:
    each rule is read directly from its package. A partial set is never undefined (empty: ``[]``),
    so the engine refuses any other answer for it rather than reading it as a pass.
    """
    out: list[tuple[str, Any]] = []
    for index, policy in enumerate(policy_set.policies):
        if not policy.applies_to(kind):
            continue
        if policy.language == "yaml" and inline_yaml:
            out.append((policy.id, f"data.{WRAPPER}.y{index}_verdict"))
            continue
        text = "\n".join(policy.modules.values())
        if policy.language == "rego" and not policy.has_applicable and policy.rules \
                and all(_partial_set(rule, text) for rule in policy.rules):
            out.append((policy.id, [(rule, f"data.{policy.package}.{rule}") for rule in policy.rules]))
        else:
            out.append((policy.id, f"data.{WRAPPER}.p{index}"))
    return out


def library_modules() -> dict[str, str]:
    """Gavel's own Rego library, loaded on every engine: ``gavel.fmt`` (numbers in messages)."""
    from engine.resources import read_library

    return {"gavel/fmt.rego": read_library("fmt.rego")}


def engine_modules(policy_set: PolicySet, *, inline_yaml: bool = True, wrapper: str | None = None) -> dict[str, str]:
    """What the embedded engine loads: libraries, policies, the wrapper (with the YAML policies
    inside, unless a tool needs their own modules, e.g. for coverage) and the data markers."""
    yaml_modules = {name for p in policy_set.policies if p.language == "yaml" for name in p.modules}
    modules = {**library_modules(), **{name: text for name, text in policy_set.modules().items()
                                       if not (inline_yaml and name in yaml_modules)}}
    modules[f"{WRAPPER}.rego"] = wrapper if wrapper is not None else wrapper_module(policy_set, inline_yaml=inline_yaml)
    modules.update(DATA_MARKERS)
    return modules


def opa_modules(policy_set: PolicySet, *, wrapper: str | None = None) -> dict[str, str]:
    """What a real OPA gets (a server, a bundle, the in-process oracle): every policy in its own
    package, Gavel's library and the wrapper."""
    return {**library_modules(), **policy_set.modules(),
            f"{WRAPPER}.rego": wrapper if wrapper is not None else wrapper_module(policy_set)}


@dataclass
class Prepared:
    """A policy set compiled into an engine, ready to judge any number of subjects.

    With a ``cache`` (a :class:`engine.decisions.DecisionCache`), a decision whose every
    ingredient is unchanged is read from it; a subject with no reusable decision is judged by one
    query for all its policies, a subject with some by one query per missing policy.
    """

    policy_set: PolicySet
    engine: Any
    workers: int = 1
    cache: Any = None
    keys: Any = None  # DecisionKeys: the context digest of each policy (with a cache)
    computed: list[tuple[str, str, str]] = field(default_factory=list)  # (policy, kind, subject) evaluated
    ready: int = 0  # subjects whose findings were ready-made (``judge``)
    plans: dict[str, list] | None = None  # kind -> ``plan`` (embedded engine); else the wrapper's kind object
    _early: list[Subject] | None = None  # the subjects whose digests ``start`` asked the engine's child for

    def evaluate(self, subjects: list[Subject]) -> list[Finding]:
        return list(self.judge(subjects))

    def start(self, subjects: list[Subject]) -> None:
        """Let the engine get ready to evaluate while the caller goes on (embedded: its evaluation
        child loads the data). With the decision cache, that child first works out the digests of
        ``subjects``' documents for ``judge`` (10,000 cards: ~0.25 s off this process's path)."""
        start = getattr(self.engine, "start", None)
        if start is None:
            return
        if self.cache is None:
            start()
            return
        self._early = subjects
        start(lambda: "\n".join(document_digests(subjects[:_early_split(subjects)])).encode())

    def _documents(self, subjects: list[Subject]) -> tuple[list[str] | None, list[str]]:
        """``_documents(subjects, digests=...)``; but the digests alone (documents ``None``: made
        later, for the subjects evaluated) when the child ``start`` asked works out its share of
        them: this process works out the rest meanwhile."""
        early, self._early = self._early, None
        if early is subjects:
            split = _early_split(subjects)
            rest = document_digests(subjects[split:])
            got = self.engine.first_result()
            lines = got.decode().split("\n") if got else []
            if len(lines) == split and all(len(line) == 64 for line in lines):
                return None, lines + rest
            return None, document_digests(subjects[:split]) + rest
        return _documents(subjects, digests=self.cache is not None)

    def judge(self, subjects: list[Subject], *, ready: Any = None) -> Findings:
        """The findings of ``subjects``, one block per subject (``Findings``).

        With ``ready`` (an ``engine.decisions.ReadyFindings``) and the decision cache, a subject
        whose every decision is reused and whose findings an earlier run stored gets them
        ready-made: counts and JSON lines; its ``Finding`` objects are built only if something
        reads them. Each block that may be stored carries its key (``Block.key``)."""
        policies = self.policy_set.policies
        if self.cache is None:
            ready = None
        documents, digests = self._documents(subjects)
        by_kind = {kind: [j for j, p in enumerate(policies) if p.applies_to(kind)] for kind in {s.kind for s in subjects}}
        values: list[dict[str, Any]] = [{} for _ in subjects]
        whole: list[int] = []  # subjects judged by one query for all their policies
        partial: list[tuple[int, list[int]]] = []  # (subject, policies missing from the cache)
        reusable = None  # the decision cache has entries: read only when a subject needs it
        # (kind, now) -> its policies' contexts, and the findings cache's context of the kind (None: never stored)
        wanted: dict[tuple[str, Any], tuple[list[str | None], str | None]] = {}
        keys: list[tuple | None] = [None] * len(subjects)  # each subject's key in the findings cache
        made: dict[int, tuple[dict, list[str]]] = {}  # subject -> its ready-made counts and JSON pieces
        for i, subject in enumerate(subjects):
            indexes = by_kind[subject.kind]
            if not indexes:
                continue
            if self.cache is None:
                whole.append(i)
                continue
            now = subject.doc.get("now")
            known = wanted.get((subject.kind, now))
            if known is None:
                every = self.keys.contexts(now)
                contexts = [every[j] for j in indexes]
                block = None if ready is None or None in contexts else \
                    ready.context(subject.kind, contexts, [policies[j] for j in indexes])
                known = wanted[(subject.kind, now)] = (contexts, block)
            contexts, block = known
            if block is not None:
                keys[i] = (digests[i], block, contexts)
                hit = ready.get(digests[i], block, len(indexes))
                if hit is not None:  # its findings; the decisions they were made from are read if needed
                    made[i] = hit
                    self.cache.carry(digests[i], contexts, partial_call(ready.stored, digests[i]))
                    continue
            if ready is not None and ready.entries and not ready.known(digests[i]):
                whole.append(i)  # a document the last run did not judge: no decision of it is cached
                continue
            if reusable is None:
                reusable = self.cache.any()  # an empty cache has nothing to look up
            if not reusable:
                whole.append(i)
                continue
            found = self.cache.lookup(digests[i], contexts)
            missing = [j for j, value in zip(indexes, found, strict=True) if value is None]
            if not missing:
                values[i] = {policies[j].id: value for j, value in zip(indexes, found, strict=True)}
            elif len(missing) == len(indexes):
                whole.append(i)
            else:
                values[i] = {policies[j].id: value for j, value in zip(indexes, found, strict=True) if value is not None}
                partial.append((i, missing))

        def record(i: int, indexes: list[int], value: dict[str, Any]) -> None:
            values[i].update(value)
            if self.cache is not None:
                self._remember(subjects[i], digests[i], indexes, value)

        # Equal decisions are one shared object when read from the cache (its values are stored
        # once): map each to its outcomes once, and to those of some statuses once (a filtered
        # ``make``). The value is kept in the entry so its id stays its own.
        seen: dict[tuple[int, int, frozenset[str] | None], tuple[Any, list[tuple[str, str, Any]]]] = {}

        def outcomes_of(j: int, value: Any, statuses: frozenset[str] | None) -> tuple[Any, list[tuple[str, str, Any]]]:
            """The entry of ``seen`` for policy ``j``'s ``value`` (made now: always a pair, never empty)."""
            whole = seen.get((j, id(value), None))
            if whole is None:
                whole = seen[(j, id(value), None)] = (value, outcomes(policies[j], value))
            if statuses is None:
                return whole
            picked = (value, [o for o in whole[1] if o[0] in statuses])
            return seen.setdefault((j, id(value), statuses), picked)

        def findings_of(i: int, statuses: frozenset[str] | None = None) -> list[Finding]:
            """Subject ``i``'s findings; only those of ``statuses`` if given (``Block.of_status``)."""
            subject = subjects[i]
            ref = SubjectRef(kind=subject.kind, id=subject.id, source=subject.source)
            if i in made and not values[i]:  # ready-made: built from the decisions stored with them
                values[i] = dict(zip([policies[j].id for j in by_kind[subject.kind]], ready.stored(digests[i]),
                                     strict=True))
            got = values[i].get
            out: list[Finding] = []
            for j in by_kind[subject.kind]:
                policy = policies[j]
                value = got(policy.id)
                found = (seen.get((j, id(value), statuses)) or outcomes_of(j, value, statuses))[1]
                if found:
                    out += findings_for(policy, ref, found)
            return out

        # A subject judged whole has all its values once its result arrives: its findings are built
        # then, while the engine (or the workers) evaluate the next subjects.
        judged: dict[int, list[Finding]] = {}
        if documents is None:  # only those evaluated
            documents = [None] * len(subjects)
            for i in [*whole, *(i for i, _ in partial)]:
                documents[i] = _encode(subjects[i].doc)
        for i, value in self._judge_whole(documents, subjects, whole):
            record(i, by_kind[subjects[i].kind], value)
            judged[i] = findings_of(i)
        for i, missing in partial:
            record(i, missing, self._one_by_one([policies[j] for j in missing], documents[i]))
        for i, indexes in [*((i, by_kind[subjects[i].kind]) for i in whole), *partial]:
            self.computed += [(policies[j].id, subjects[i].kind, subjects[i].id) for j in indexes]
        blocks: list[Block] = []
        for i, subject in enumerate(subjects):
            indexes = by_kind[subject.kind]
            if not indexes:
                continue
            if i in made:
                counts, pieces = made[i]
                block = Block(subject.kind, subject.id, make=partial_call(findings_of, i), counts=counts, pieces=pieces)
            else:
                block = Block(subject.kind, subject.id, judged[i] if i in judged else findings_of(i))
            # Stored only if every decision it was made from is in the decision cache (errors never are).
            if keys[i] is not None and (i in made or all(type(values[i].get(policies[j].id)) is dict for j in indexes)):
                block.key = keys[i]
            blocks.append(block)
        self.ready += len(made)
        return Findings(blocks)

    def _judge_whole(self, documents: list[str], subjects: list[Subject], whole: list[int]) -> Iterator[tuple[int, dict]]:
        """``(subject index, {policy id: rule values or EngineError})`` for the subjects at ``whole``,
        in the order they are judged: by forked workers when there are many (embedded engine)."""
        workers = self.workers if len(whole) >= PARALLEL_FROM else 1
        if workers > 1 and self.engine.name == "embedded":
            return _results_parallel(self, documents, subjects, whole, workers)
        return self.results(documents, subjects, whole)

    def _remember(self, subject: Subject, digest: str, indexes: list[int], value: dict[str, Any]) -> None:
        """Store the computed decisions (never an error: it may be a limit or a crash, not a verdict)."""
        contexts = self.keys.contexts(subject.doc.get("now"))
        policies = self.policy_set.policies
        for j in indexes:
            result = value.get(policies[j].id)
            if contexts[j] and isinstance(result, dict):
                self.cache.put(digest, contexts[j], result)

    def results(self, documents: list[str], subjects: list[Subject], indexes: list[int], *,
                raw: bool = False) -> Iterator[tuple[int, dict | bytes]]:
        """``(subject index, {policy id: rule values or EngineError})`` for the subjects at ``indexes``,
        each as soon as the engine answers (a subject whose query failed comes last, judged policy by
        policy). ``raw`` (embedded engine): a whole answer as its JSON text, to be decoded by the caller."""
        by_kind: dict[str, list[int]] = {}
        for i in indexes:
            by_kind.setdefault(subjects[i].kind, []).append(i)
        stream = getattr(self.engine, "stream", self.engine.evaluate)
        for kind, members in sorted(by_kind.items()):
            policies = [p for p in self.policy_set.policies if p.applies_to(kind)]
            if not policies:
                continue
            failed = []
            query = self.plans[kind] if self.plans else f"data.{WRAPPER}.{kind}"
            answers = stream(query, [documents[i] for i in members], raw=True) if raw else \
                stream(query, [documents[i] for i in members])
            for i, value in zip(members, answers, strict=True):
                if not (isinstance(value, dict) or isinstance(value, bytes) and value.startswith(b"{")):
                    failed.append(i)  # after the stream: the engine answers one request at a time
                else:
                    yield i, value
            for i in failed:
                yield i, self._one_by_one(policies, documents[i])

    def _one_by_one(self, policies: list[Policy], document: str) -> dict[str, Any]:
        """Evaluate each policy's wrapper rule on its own (to isolate which one failed, or to
        compute only the decisions the cache lacks)."""
        out: dict[str, Any] = {}
        for policy in policies:
            index = self.policy_set.policies.index(policy)
            (value,) = self.engine.evaluate(f"data.{WRAPPER}.p{index}", [document])
            if not isinstance(value, dict | EngineError):  # undefined: never read as a pass
                value = EngineError("the policy's verdict rules are undefined for this subject")
            out[policy.id] = value
        return out


_encode = json.JSONEncoder(separators=(",", ":"), sort_keys=True).encode  # a subject's document as JSON


def _documents(subjects: list[Subject], *, digests: bool) -> tuple[list[str], list[str]]:
    """Each subject's input document as JSON, and (for the decision cache) the digest of that
    document without ``now``: whether a decision depends on the time is the policy's business."""
    from engine.decisions import subject_digest

    documents: list[str] = []
    keys: list[str] = []
    for subject in subjects:
        doc = subject.doc
        if not digests:
            documents.append(_encode(doc))
            continue
        base = _encode({k: v for k, v in doc.items() if k != "now"})
        keys.append(subject_digest(base))
        documents.append(f'{base[:-1]},"now":{_encode(doc["now"])}}}' if "now" in doc and base != "{}" else _encode(doc))
    return documents, keys


def document_digests(subjects: list[Subject]) -> list[str]:
    return _documents(subjects, digests=True)[1]


# regorus scans every module on each lookup under ``data`` until the path is marked evaluated;
# an empty package at each data root marks it on first use, so lookups such as
# ``data.gavel.inventory.datasets[id]`` cost O(1) instead of O(policies) (measured: 4x faster).
DATA_MARKERS = {
    f"gavel/markers/{path}.rego": f"package {path}\n"
    for path in ("gavel.inventory", "gavel.inventory.models", "gavel.inventory.datasets", "gavel.params")
}

PARALLEL_FROM = 2000  # below this, forking costs more than it saves
# Quarters of the digests a re-run's early child works out (``Prepared.start``): the parent reads
# the findings cache meanwhile (10,000 cards: ~0.14 s against ~0.26 s for every digest).
EARLY_SHARE = 3


def _early_split(subjects: list[Subject]) -> int:
    """How many of ``subjects``, from the first, the early child works out the digests of."""
    return len(subjects) * EARLY_SHARE // 4


def prepare(policy_set: PolicySet, *, data: dict[str, Any], engine: str = "embedded", workers: int = 0,
            options: dict[str, Any] | None = None, inline_yaml: bool = True, cache: Any = None) -> Prepared:
    """Compile ``policy_set`` with ``data`` (seen by Rego as ``data.gavel``) into an engine.

    ``inline_yaml=False`` keeps each YAML policy in its own package (slower; for coverage).
    ``cache`` (a ``DecisionCache``) is used on engines whose identity Gavel can key on (embedded)."""
    from engine.engines import engines

    if engine == "embedded":  # builtins regorus lacks are refused here only: a real OPA has them
        check_embedded_builtins(policy_set)
    # Policy sets come from ``load_paths``, which refused recursion already (embedded: skip a re-check).
    backend = engines.get_or_raise(engine)(**{"checked": True, **(options or {})})
    if backend.name == "embedded":
        wrapper, texts = wrapper_parts(policy_set, inline_yaml=inline_yaml)
        modules = engine_modules(policy_set, inline_yaml=inline_yaml, wrapper=wrapper)
    else:  # a real OPA gets every policy in its own package too, like a bundle
        wrapper, texts = wrapper_parts(policy_set)
        modules = opa_modules(policy_set, wrapper=wrapper)
    backend.load(modules, {"gavel": {**data, "params": policy_set.params}})
    if backend.name == "embedded":
        backend.check_safety()
    if workers <= 0:
        workers = min(os.cpu_count() or 1, 8)
    keys = None
    if cache is not None:
        from engine.decisions import DecisionKeys, engine_identity

        identity = engine_identity(backend.name)
        if identity is None:
            cache = None
        else:
            keys = DecisionKeys(policy_set, texts, identity=identity, modules=modules, data=data)
    plans = {kind: plan(policy_set, kind, inline_yaml=inline_yaml) for kind in KINDS} if backend.name == "embedded" else None
    return Prepared(policy_set, backend, workers, cache, keys, plans=plans)


def check_safety(native=None, modules: dict[str, str] | None = None) -> None:
    """Raise ``PolicyError`` (exit 2, naming file and line) for a module with an unsafe variable.

    regorus checks every module when it first evaluates anything, and otherwise reports the
    error on each evaluation: every policy on every subject an ``error`` instead of one refusal
    at load. ``native`` is a loaded ``regorus.Engine``; else ``modules`` are loaded into a new one.
    """
    from engine.engines.embedded import _policy_error, add_module, regorus_module

    if native is None:
        native = regorus_module().Engine()
        for name, text in (modules or {}).items():
            add_module(native, name, text)
    try:
        native.eval_query_as_json("true")
    except BaseException as exc:  # noqa: BLE001 - RuntimeError or a Rust panic
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        raise _policy_error(exc, "<policies>") from None


def check_embedded_builtins(policy_set: PolicySet) -> None:
    """Raise ``PolicyError`` (exit 2) naming file and line when a Rego module calls a builtin the
    embedded engine lacks; the message points to ``--engine opa``."""
    from engine.policy.rego import builtin_calls, check_embedded_available, parse_module, user_functions

    rego = {name: text for name, text in policy_set.modules().items()
            if name in policy_set.libraries or any(p.language == "rego" and name in p.modules for p in policy_set.policies)}
    known = policy_set.builtin_calls or {}  # read when the policies loaded; else read them now
    defined = None
    for name, text in rego.items():
        calls = known.get(name)
        if calls is None:
            defined = defined if defined is not None else user_functions(list(rego.values()))
            calls = builtin_calls(parse_module(text, name), text, defined)
        check_embedded_available(calls, name)


def verdicts(policy: Policy, ref: SubjectRef, result: Any) -> list[Finding]:
    """Map one policy's rule values for one subject to findings (pass, fail, warn, skip, error)."""
    return findings_for(policy, ref, outcomes(policy, result))


def findings_for(policy: Policy, ref: SubjectRef, found: list[tuple[str, str, Any]]) -> list[Finding]:
    """The findings of ``policy`` on ``ref`` for its ``outcomes``."""
    return [Finding(policy.id, policy.title, policy.severity, status, ref, message, evidence, policy.frameworks,
                    policy.remediation) for status, message, evidence in found]


def outcomes(policy: Policy, result: Any) -> list[tuple[str, str, Any]]:
    """``verdicts`` without the parts of a finding that are the policy's and the subject's: each
    finding's ``(status, message, evidence)``."""
    if isinstance(result, EngineError):
        return [("error", f"policy could not be evaluated: {result}", None)]
    if not isinstance(result, dict):  # missing from the engine's answer, or not a verdict: never a pass
        what = "missing from the engine's result" if result is None else f"not a verdict object ({type(result).__name__})"
        return [("error", f"policy could not be evaluated: its verdict is {what}", None)]
    absent = [key for key in [*policy.rules, *(["applicable"] if policy.has_applicable else [])] if key not in result]
    if absent:  # the wrapper always defines these: an absent one means a foreign or broken answer
        return [("error", f"policy could not be evaluated: the engine's result lacks {', '.join(absent)}", None)]
    if policy.has_applicable and result.get("applicable") is False:
        return [("skip", "not applicable", None)]
    out = []
    for rule in policy.rules:
        status = "warn" if rule.startswith("warn") else "fail"
        for item in _items(result.get(rule), policy):
            message, evidence = _message(item, policy)
            out.append((status, message, evidence))
    return out or [("pass", "", None)]


def _items(value: Any, policy: Policy) -> list[Any]:
    if value is None or value is False or value == [] or value == {}:
        return []
    if value is True:
        return [policy.title]
    if isinstance(value, list):
        return value
    return [value]


def _message(item: Any, policy: Policy) -> tuple[str, Any]:
    if isinstance(item, str):
        return item, None
    if isinstance(item, dict):
        message = item.get("msg", item.get("message", policy.title))
        evidence = {k: v for k, v in item.items() if k not in ("msg", "message")} or None
        return str(message), evidence
    return json.dumps(item, sort_keys=True), None


# -- parallel evaluation (fork: workers inherit the prepared engine, nothing is re-compiled) --
_SHARED: tuple | None = None
CHUNK = 250  # subjects per task at most: small tasks let the parent build findings as results arrive


def _results_parallel(prepared: Prepared, documents, subjects, indexes: list[int], workers: int) -> Iterator[tuple[int, dict]]:
    """``Prepared.results`` for ``indexes``, split into tasks over ``workers`` forked processes,
    yielded task by task as they finish. A worker that dies (killed, out of memory) fails its
    tasks: each policy on each of their subjects is then an ``error``, never a pass."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    global _SHARED
    _SHARED = (prepared, documents, subjects, indexes)
    with contextlib.suppress(Exception):  # once, before the fork; a failure is each input's error (``_one``)
        getattr(prepared.engine, "load_data", lambda: None)()
    size = len(indexes)
    step = max(1, min(CHUNK, -(-size // (workers * 4))))
    # The collector's full passes would walk every subject, document and card each time the results
    # add objects (measured: 270 → 150 µs of CPU per subject in a worker): what exists now is kept out
    # of them here and in the workers until the evaluation ends, unless the collector is off already
    # (``gavel check``: engine.collector.collector_paused) or a host process froze objects on purpose.
    frozen = gc.isenabled() and not gc.get_freeze_count()
    if frozen:
        gc.freeze()
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            tasks = {pool.submit(_worker, (start, min(start + step, size))): start for start in range(0, size, step)}
            try:
                for task in as_completed(tasks):
                    try:
                        part = [(i, json.loads(value) if isinstance(value, bytes) else value)
                                for i, value in task.result()]
                    except Exception as exc:  # noqa: BLE001 - BrokenProcessPool, or an error raised in the worker
                        start = tasks[task]
                        part = [(i, _lost(prepared, subjects[i].kind, exc)) for i in indexes[start:start + step]]
                    yield from part
            except BaseException:  # the caller stopped (an error, Ctrl-C): drop the tasks not started
                pool.shutdown(wait=True, cancel_futures=True)
                raise
    finally:
        _SHARED = None
        if frozen:
            gc.unfreeze()


def _lost(prepared: Prepared, kind: str, exc: BaseException) -> dict[str, EngineError]:
    reason = f"the evaluation worker failed ({type(exc).__name__}: {exc})" if str(exc) else \
        f"the evaluation worker failed ({type(exc).__name__})"
    return {p.id: EngineError(reason) for p in prepared.policy_set.policies if p.applies_to(kind)}


def _worker(chunk: tuple[int, int]) -> list[tuple[int, dict | bytes]]:
    prepared, documents, subjects, indexes = _SHARED  # type: ignore[misc]
    # the answers travel as JSON text: decoding here and pickling the values costs more than decoding there
    return list(prepared.results(documents, subjects, indexes[chunk[0]:chunk[1]], raw=True))
