"""Rego policies as written: package, ``# METADATA`` annotations, verdict rules, builtin check.

regorus lacks ``rego.metadata.rule()``, so annotations are read here (they are YAML in
comments). A policy that calls a builtin the embedded engine lacks fails at load time, naming
the builtin and the file, instead of failing later or quietly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from engine.errors import EvidenceError, PolicyError
from engine.evidence.loader import parse

_PACKAGE = re.compile(r"^package\s+([A-Za-z_][\w.]*(?:\[\"[^\"]+\"\])*)", re.MULTILINE)
_RULE_HEAD = re.compile(r"^((?:deny|violation|warn)(?:_\w+)?)\b(?=\s*(?:contains|\[|:=|=|if|\{|$))", re.MULTILINE)
_APPLICABLE = re.compile(r"^(?:default\s+)?applicable\b", re.MULTILINE)
_FUNC_DEF = re.compile(r"^(?:default\s+)?([A-Za-z_][\w]*)\s*\(", re.MULTILINE)
_IMPORT = re.compile(r"^import\s+([\w.\"\[\]]+)(?:\s+as\s+(\w+))?", re.MULTILINE)
_CALL = re.compile(r"(?<![\w.])([A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*)\s*\(")
_STRINGS = re.compile(r'`[^`]*`|"(?:\\.|[^"\\])*"')
_KEYWORDS = {"if", "contains", "else", "not", "some", "every", "in", "with", "as", "default", "package", "import"}


@dataclass
class RegoModule:
    package: str
    metadata: dict[str, Any]
    metadata_line: int | None
    rules: list[str]
    has_applicable: bool
    calls: set[str] = field(default_factory=set)


def parse_module(text: str, file: str) -> RegoModule:
    """Read the package, the package-level METADATA block and the verdict rules of a module."""
    match = _PACKAGE.search(text)
    if not match:
        raise PolicyError("no 'package' declaration", file=file, line=1)
    package = match.group(1)
    package_line = text.count("\n", 0, match.start()) + 1
    metadata, meta_line = _metadata(text, file, package_line)
    code = _strip(text)
    rules = sorted(set(_RULE_HEAD.findall(code)))
    return RegoModule(package, metadata, meta_line, rules, bool(_APPLICABLE.search(code)), _calls(code))


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


def _calls(code: str) -> set[str]:
    return {name for name in _CALL.findall(code) if name not in _KEYWORDS}


def user_functions(texts: list[str]) -> set[str]:
    """Functions and rules defined by the loaded modules (never builtins)."""
    names: set[str] = set()
    for text in texts:
        names.update(_FUNC_DEF.findall(_strip(text)))
    return names


def check_builtins(module: RegoModule, text: str, file: str, defined: set[str]) -> None:
    """Fail at load time when the module calls a builtin the embedded engine does not have."""
    aliases = {alias or target.rsplit(".", 1)[-1] for target, alias in _IMPORT.findall(text)}
    for name in sorted(module.calls):
        head = name.split(".", 1)[0]
        if head in ("data", "input") or head in aliases or name in defined or (head in defined and "." not in name):
            continue
        if not builtin_available(name):
            line = _line_of_call(text, name)
            raise PolicyError(
                f"builtin '{name}' is not available in the embedded Rego engine (regorus); "
                "run this policy on a real OPA with `--engine opa`",
                file=file,
                line=line,
            )


@cache
def builtin_available(name: str) -> bool:
    """Probe regorus once per name: "could not find function" means it lacks the builtin."""
    from engine.engines.embedded import regorus_module

    engine = regorus_module().Engine()
    engine.add_policy("probe.rego", f"package probe\nimport rego.v1\nx if {name}(1)\n")
    try:
        engine.eval_rule("data.probe.x")
    except BaseException as exc:  # noqa: BLE001 - regorus raises RuntimeError or a Rust panic
        if isinstance(exc, KeyboardInterrupt):
            raise
        return "could not find function" not in str(exc)
    return True


def _line_of_call(text: str, name: str) -> int | None:
    match = re.search(re.escape(name) + r"\s*\(", text)
    return text.count("\n", 0, match.start()) + 1 if match else None
