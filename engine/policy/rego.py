"""Rego policies as written: package, ``# METADATA`` annotations, verdict rules, builtin check.

regorus lacks ``rego.metadata.rule()``, so annotations are read here (they are YAML in
comments). The calls a module makes come from regorus's parse tree (``regoast``). A policy
that calls a builtin the embedded engine lacks, or one that reaches outside or reads the clock
(``capabilities``), fails at load time naming the builtin, file and line, instead of failing
later or quietly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from engine.errors import EvidenceError, PolicyError
from engine.evidence.loader import parse
from engine.policy.capabilities import check_calls
from engine.policy.regoast import ModuleAst, parse_modules

_PACKAGE = re.compile(r"^package\s+([A-Za-z_][\w.]*(?:\[\"[^\"]+\"\])*)", re.MULTILINE)
_RULE_HEAD = re.compile(r"^((?:deny|violation|warn)(?:_\w+)?)\b(?=\s*(?:contains|\[|:=|=|if|\{|$))", re.MULTILINE)
_APPLICABLE = re.compile(r"^(?:default\s+)?applicable\b", re.MULTILINE)
_FUNC_DEF = re.compile(r"^(?:default\s+)?([A-Za-z_][\w]*)\s*\(", re.MULTILINE)
_IMPORT = re.compile(r"^import\s+([\w.\"\[\]]+)(?:\s+as\s+(\w+))?", re.MULTILINE)
_STRINGS = re.compile(r'`[^`]*`|"(?:\\.|[^"\\])*"')


@dataclass
class RegoModule:
    package: str
    metadata: dict[str, Any]
    metadata_line: int | None
    rules: list[str]
    has_applicable: bool
    calls: dict[str, int] = field(default_factory=dict)  # function name → first line called
    defines: set[str] = field(default_factory=set)  # every rule and function name


def parse_module(text: str, file: str, tree: ModuleAst | None = None) -> RegoModule:
    """Read the package, the package-level METADATA block and the verdict rules of a module.

    ``tree``: the module's parse tree when the caller parsed several modules at once."""
    match = _PACKAGE.search(text)
    if not match:
        raise PolicyError("no 'package' declaration", file=file, line=1)
    package = match.group(1)
    package_line = text.count("\n", 0, match.start()) + 1
    metadata, meta_line = _metadata(text, file, package_line)
    code = _strip(text)
    rules = sorted(set(_RULE_HEAD.findall(code)))
    if tree is None:
        (tree,) = parse_modules({file: text})
    return RegoModule(package, metadata, meta_line, rules, bool(_APPLICABLE.search(code)), tree.calls,
                      tree.rule_names())


def _strip(text: str) -> str:
    """The code without comments and string literals (for scanning)."""
    no_strings = _STRINGS.sub('""', text)
    return "\n".join(line.split("#", 1)[0] for line in no_strings.splitlines())


def _metadata(text: str, file: str, package_line: int) -> tuple[dict, int | None]:
    """The ``# METADATA`` block right above ``package`` (else the first one in the file)."""
    lines = text.splitlines()
    blocks: list[tuple[int, int]] = []  # (start, end) 0-based, end exclusive
    i = 0
    while i < len(lines):
        if lines[i].strip() == "# METADATA":
            j = i + 1
            while j < len(lines) and lines[j].lstrip().startswith("#"):
                j += 1
            blocks.append((i, j))
            i = j
        else:
            i += 1
    if not blocks:
        return {}, None
    chosen = next((b for b in blocks if b[1] == package_line - 1), blocks[0])
    body = "\n".join(_uncomment(line) for line in lines[chosen[0] + 1 : chosen[1]])
    try:  # the one loader of untrusted YAML; blank lines in front so its lines are the file's
        data = parse("\n" * (chosen[0] + 1) + body, file, fmt="yaml").data or {}
    except EvidenceError as exc:
        line = exc.line or chosen[0] + 2
        message = exc.message.removeprefix("invalid YAML: ")
        raise PolicyError(f"invalid METADATA block: {message}", file=file, line=line) from None
    if not isinstance(data, dict):
        raise PolicyError("the METADATA block must be a YAML mapping", file=file, line=chosen[0] + 1)
    return data, chosen[0] + 1


def _uncomment(line: str) -> str:
    stripped = line.lstrip()[1:]
    return stripped[1:] if stripped.startswith(" ") else stripped


def user_functions(texts: list[str]) -> set[str]:
    """Functions and rules defined by the loaded modules (never builtins)."""
    names: set[str] = set()
    for text in texts:
        names.update(_FUNC_DEF.findall(_strip(text)))
    return names


def builtin_calls(module: RegoModule, text: str, defined: set[str]) -> dict[str, int]:
    """The builtins ``module`` calls (name → first line), without its own or imported functions."""
    aliases = {alias or target.rsplit(".", 1)[-1] for target, alias in _IMPORT.findall(text)}
    own = defined | module.defines
    return {name: line for name, line in module.calls.items()
            if not (name.split(".", 1)[0] in ("data", "input") or name.split(".", 1)[0] in aliases
                    or name in own or (name.split(".", 1)[0] in own and "." not in name))}


def check_builtins(module: RegoModule, text: str, file: str, defined: set[str], allow: Iterable[str] = ()) -> None:
    """Fail at load time, on every engine, when the module calls a refused builtin (I/O, clock)."""
    check_calls(builtin_calls(module, text, defined), file, allow)


def check_embedded_available(calls: dict[str, int], file: str) -> None:
    """Fail when a module calls (``calls``: builtin → line) a builtin the embedded engine does not
    have (a real OPA may)."""
    for name, line in sorted(calls.items(), key=lambda item: (item[1], item[0])):
        if not builtin_available(name):
            raise PolicyError(
                f"builtin '{name}' is not available in the embedded Rego engine (regorus); "
                "run this policy on a real OPA with `--engine opa`",
                file=file,
                line=line,
            )


@cache
def builtin_available(name: str) -> bool:
    """Probe regorus once per name: "could not find function" means it lacks the builtin."""
    from engine.engines.embedded import prepare_engine, regorus_module

    engine = regorus_module().Engine()
    prepare_engine(engine)
    engine.add_policy("probe.rego", f"package probe\nimport rego.v1\nx if {name}(1)\n")
    try:
        engine.eval_rule("data.probe.x")
    except BaseException as exc:  # noqa: BLE001 - regorus raises RuntimeError or a Rust panic
        if isinstance(exc, KeyboardInterrupt):
            raise
        return "could not find function" not in str(exc)
    return True
