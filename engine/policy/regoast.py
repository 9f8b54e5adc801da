"""What a Rego module defines and uses, read from regorus's own parse tree (``get_ast_as_json``).

Reading the parser's tree rather than scanning the text means a call split over lines, hidden in
a string-looking construct or reached through an alias is seen exactly as the engine sees it.
Gavel asks three questions of it: which builtins a module calls (and where), which rules it
defines, and whether rules reach themselves (recursion: OPA rejects it at compile time, and
regorus overflows its stack and kills the process, so it must be refused before evaluation).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from engine.errors import PolicyError

Path = tuple[str, ...]
GENERATED = {("data", "gavel_eval"), ("data", "gavel_batch")}  # packages Gavel writes itself


@dataclass
class RuleAst:
    name: str  # first segment of the head: ``deny`` for ``deny contains ...`` and ``deny.x := ...``
    line: int
    refs: set[Path] = field(default_factory=set)  # references made by head and bodies, locals removed


@dataclass
class ModuleAst:
    file: str
    package: Path
    imports: dict[str, Path]  # alias → imported path (``data.x.y``)
    rules: list[RuleAst]
    calls: dict[str, int]  # dotted function name → first line it is called on

    def rule_names(self) -> set[str]:
        return {r.name for r in self.rules}


def parse_modules(modules: dict[str, str]) -> list[ModuleAst]:
    """Parse ``modules`` (name → Rego) with regorus; a syntax error is a ``PolicyError``."""
    from engine.engines.embedded import add_module, regorus_module

    engine = regorus_module().Engine()
    engine.set_policy_length_config(max_col=1_000_000, max_file_bytes=64 * 1024 * 1024, max_lines=1_000_000)
    for name, text in modules.items():
        add_module(engine, name, text)
    return trees_of(engine)


def trees_of(engine: Any) -> list[ModuleAst]:
    """The modules loaded in a ``regorus.Engine``."""
    return [_module(entry) for entry in json.loads(engine.get_ast_as_json())]


def _module(entry: dict) -> ModuleAst:
    ast = entry["ast"]
    package = _chain(ast["package"]["refr"]) or ()
    imports: dict[str, Path] = {}
    source = entry["source"]["contents"].encode()
    for imp in ast.get("imports") or []:
        path = _chain(imp["refr"]) or ()
        alias = imp.get("as")  # the span of the alias in the source
        name = source[alias["start"] : alias["end"]].decode() if isinstance(alias, dict) else None
        if path and path[0] == "data":
            imports[name or path[-1]] = path
    calls: dict[str, int] = {}
    rules = [_rule(rule, calls, source) for rule in ast.get("rules") or []]
    return ModuleAst(entry["source"]["file"], package[1:] if package[:1] == ("data",) else package, imports,
                     [r for r in rules if r is not None], calls)


def _rule(rule: dict, calls: dict[str, int], source: bytes) -> RuleAst | None:
    (kind, body), = rule.items()
    head = body if kind == "Default" else next(iter(body["head"].values()))
    name_path = _chain(head["refr"])
    if not name_path:
        return None
    refs: set[Path] = set()
    # Everything but the head's own name: its arguments, key and value, and the bodies.
    parts = [v for k, v in head.items() if k not in ("refr", "span")] + [body.get("bodies"), body.get("value")]
    _walk(parts, refs, calls)
    local: set[str] = set()
    _locals([head.get("args"), body.get("bodies")], local, source)
    _vars(head.get("args"), local)
    refs = {r for r in refs if r[0] == "data" or r[0] not in local}
    return RuleAst(name_path[0], body.get("span", {}).get("line", 1), refs)


def _chain(node: Any) -> Path | None:
    """``a.b["c"]`` → ("a", "b", "c"); a dynamic index ends the chain at what precedes it."""
    if not isinstance(node, dict) or len(node) != 1:
        return None
    (kind, body), = node.items()
    if kind == "Var":
        return (body["value"],)
    if kind == "RefDot":
        base = _chain(body["refr"])
        fld = body["field"]
        name = fld[1] if isinstance(fld, list) else fld
        return base + (name,) if base is not None else None
    if kind == "RefBrack":
        base = _chain(body["refr"])
        index = body["index"]
        if base is not None and isinstance(index, dict) and "String" in index:
            return base + (index["String"]["value"],)
        return base
    return None


def _walk(node: Any, refs: set[Path], calls: dict[str, int]) -> None:
    if isinstance(node, list):
        for item in node:
            _walk(item, refs, calls)
        return
    if not isinstance(node, dict):
        return
    if len(node) == 1:
        (kind, body), = node.items()
        if kind in ("Var", "RefDot", "RefBrack") and isinstance(body, dict):
            chain = _chain(node)
            if chain:
                refs.add(chain)
            _walk_indexes(node, refs, calls)
            return
        if kind == "Call" and isinstance(body, dict):
            chain = _chain(body["fcn"])
            if chain:
                refs.add(chain)
                name = ".".join(chain)
                line = body.get("span", {}).get("line", 1)
                calls[name] = min(calls.get(name, line), line)
            _walk(body.get("params"), refs, calls)
            return
    for key, value in node.items():
        if key not in ("span", "eidx", "sidx", "qidx"):
            _walk(value, refs, calls)


def _walk_indexes(node: Any, refs: set[Path], calls: dict[str, int]) -> None:
    """Expressions inside ``x[expr]`` along a reference chain."""
    while isinstance(node, dict) and len(node) == 1:
        (kind, body), = node.items()
        if kind == "RefBrack":
            _walk(body["index"], refs, calls)
        if kind not in ("RefDot", "RefBrack"):
            return
        node = body["refr"]


def _locals(node: Any, out: set[str], source: bytes) -> None:
    """Names a rule binds itself: function arguments, ``:=`` targets, ``some``/``every`` variables."""
    if isinstance(node, list):
        for item in node:
            _locals(item, out, source)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key == "Func" and isinstance(value, dict):
            _vars(value.get("args"), out)
        elif key == "AssignExpr" and isinstance(value, dict) and value.get("op") == "ColEq":
            _vars(value.get("lhs"), out)
        elif key in ("SomeIn", "Every") and isinstance(value, dict):
            _vars(value.get("key"), out)
            _vars(value.get("value"), out)
        elif key == "SomeVars" and isinstance(value, dict):  # the variables come as spans of the source
            for var in value.get("vars") or []:
                if isinstance(var, dict) and "start" in var:
                    out.add(source[var["start"] : var["end"]].decode(errors="replace"))
        if key not in ("span",):
            _locals(value, out, source)


def _vars(node: Any, out: set[str]) -> None:
    if isinstance(node, list):
        for item in node:
            _vars(item, out)
    elif isinstance(node, dict):
        if set(node) == {"Var"}:
            out.add(node["Var"]["value"])
            return
        for value in node.values():
            _vars(value, out)


def check_recursion(trees: list[ModuleAst]) -> None:
    """Refuse rules or functions that reach themselves, naming the cycle, file and line."""
    defined: dict[tuple[Path, str], tuple[str, int]] = {}
    for tree in trees:
        for rule in tree.rules:
            defined.setdefault((tree.package, rule.name), (tree.file, rule.line))
    graph: dict[tuple[Path, str], set[tuple[Path, str]]] = {}
    for tree in trees:
        own = tree.rule_names()
        for rule in tree.rules:
            edges = graph.setdefault((tree.package, rule.name), set())
            for ref in rule.refs:
                if tree.imports.get(ref[0], ref)[:2] in GENERATED:
                    raise PolicyError(f"rule '{rule.name}' refers to data.{'.'.join(ref[1:3])}, a package Gavel "
                                      "generates to evaluate policies; policies may not read it",
                                      file=tree.file, line=rule.line)
                target = _resolve(ref, tree, own, defined)
                if target is not None:
                    edges.add(target)
    cycle = find_cycle(graph)
    if not cycle:
        return
    names = [".".join((*pkg, name)) for pkg, name in cycle]
    file, line = defined[cycle[0]]
    raise PolicyError(f"recursion: {' -> '.join(names)}; Rego forbids recursive rules and functions "
                      "(OPA rejects them; the embedded engine would overflow its stack)", file=file, line=line)


def find_cycle(graph: dict) -> list | None:
    """One cycle of a directed graph (node → successors) as [a, b, ..., a], or None.

    An iterative depth-first search (networkx would do, but ``gavel check`` must not import it
    when no lineage is configured: start-up cost)."""
    state: dict = {}  # node → 1 on the current path, 2 done
    for start in sorted(graph):
        if start in state:
            continue
        path, stack = [start], [iter(sorted(graph.get(start, ())))]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(graph.get(nxt, ()))))
    return None


def _resolve(ref: Path, tree: ModuleAst, own: set[str], defined: dict) -> tuple[Path, str] | None:
    if ref[0] in tree.imports:
        ref = tree.imports[ref[0]] + ref[1:]
    if ref[0] != "data":
        return (tree.package, ref[0]) if ref[0] in own else None
    path = ref[1:]
    for split in range(len(path) - 1, -1, -1):
        key = (tuple(path[:split]), path[split])
        if key in defined:
            return key
    return None
