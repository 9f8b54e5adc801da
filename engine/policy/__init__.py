"""Policies: load YAML and Rego policies from built-in packs and local paths.

YAML policies are compiled to Rego here, so every policy reaches the engine as Rego (one
evaluation path). Anything that keeps a policy from loading raises ``PolicyError`` with the
file and line: the run stops with exit 2 rather than judging with a policy missing.
"""

from __future__ import annotations

import fnmatch
import hashlib
from pathlib import Path
from typing import Any

from engine import schemas
from engine.errors import EvidenceError, PolicyError, UsageError
from engine.evidence.loader import Document, parse, read_text
from engine.findings import Source
from engine.policy.compile import compile_policy
from engine.policy.model import KINDS, Policy, PolicySet
from engine.policy.rego import builtin_calls, check_builtins, parse_module
from engine.policy.regoast import check_recursion, parse_modules
from engine.resources import policies_dir

__all__ = ["Policy", "PolicySet", "load_policies", "load_paths", "pack_names", "policy_files"]

TEST_SUFFIXES = ("_test.yaml", "_test.yml", "_test.rego")


def pack_names() -> list[str]:
    root = policies_dir()
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def pack_path(name: str) -> Path:
    path = policies_dir() / name
    if not path.is_dir():
        from difflib import get_close_matches

        close = get_close_matches(name, pack_names(), n=1)
        hint = f" Did you mean {close[0]}?" if close else f" Built-in packs: {', '.join(pack_names())}."
        raise UsageError(f"unknown policy pack '{name}'.{hint}")
    return path


def policy_files(path: Path) -> list[Path]:
    """Policy files under ``path`` (a file or a folder), without test files, sorted."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise UsageError(f"no such policy file or folder: {path}")
    files = [p for ext in ("*.yaml", "*.yml", "*.rego") for p in path.rglob(ext)]
    return sorted(p for p in files if not p.name.endswith(TEST_SUFFIXES) and p.name != "pack.yaml")


def load_policies(config) -> PolicySet:
    """The policy set a ``Config`` asks for: packs, then local paths; params and disables applied."""
    sources: list[tuple[Path, str | None]] = [(pack_path(name), name) for name in config.packs]
    sources += [(config.path(p), None) for p in config.policy_paths]
    policy_set = load_paths(sources, params=config.params, root=config.root, allow_builtins=config.allow_builtins)
    if config.disable:
        policy_set.policies = [
            p for p in policy_set.policies if not any(fnmatch.fnmatchcase(p.id, pat) for pat in config.disable)
        ]
    return policy_set


def load_paths(
    sources: list[tuple[Path, str | None]], *, params: dict[str, dict[str, Any]] | None = None, root: Path | None = None,
    allow_builtins: list[str] | None = None,
) -> PolicySet:
    """Load and check the policies under ``sources`` (path, pack name or None).

    ``allow_builtins``: refused builtins (I/O, clock; see ``capabilities``) the policies may call."""
    params = params or {}
    allow = list(allow_builtins or [])
    policies: list[Policy] = []
    libraries: dict[str, str] = {}
    rego_texts: list[tuple[Path, str, str, str | None]] = []
    for source, pack in sources:
        for file in policy_files(source):
            display = _display(file, root, pack)
            if file.suffix == ".rego":
                rego_texts.append((file, display, _read(file, display), pack))
            else:
                policies.extend(load_yaml_file(file, display, params=params, pack=pack))
    rego_texts = shared_libraries(rego_texts, params) + rego_texts
    library_params: dict[str, dict[str, Any]] = {}
    # One parse of every Rego module: calls, rules and recursion come from regorus's own tree.
    trees = {tree.file: tree for tree in parse_modules({display: text for _, display, text, _ in rego_texts})}
    check_recursion(list(trees.values()))
    defined = {name for tree in trees.values() for name in tree.rule_names()}
    calls: dict[str, dict[str, int]] = {}  # module → the builtins it calls, for the engine to check
    for _file, display, text, pack in rego_texts:
        module = parse_module(text, display, trees[display])
        calls[display] = builtin_calls(module, text, defined)
        policy = load_rego(text, display, params=params, pack=pack, defined=defined, module=module, allow=allow)
        if policy is None:
            libraries[display] = text
            library_params.update(shared_params(text, display))
        else:
            policies.append(policy)
    _check_unique(policies)
    merged = {p.id: {**p.params, **params.get(p.id, {})} for p in policies}
    merged.update({lid: {**values, **params.get(lid, {})} for lid, values in library_params.items()})
    unknown = sorted(set(params) - set(merged))
    if unknown:
        raise UsageError(f"policies.params names unknown policy '{unknown[0]}'")
    return PolicySet(sorted(policies, key=lambda p: p.id), libraries, merged, allow, calls)


#: Rego libraries every pack may import (``import data.gavel.lib.regions``): the one definition of
#: ideas several policies share, with parameters overridable once (``policies.params.<id>``).
SHARED = "_lib"


def shared_libraries(rego_texts: list[tuple[Path, str, str, str | None]],
                     params: dict[str, dict[str, Any]]) -> list[tuple[Path, str, str, str | None]]:
    """The shared libraries (policies/_lib) to load: when a policy imports ``data.gavel.lib``, or
    gavel.yaml sets one of their parameters. Loaded only then, as each module costs every query."""
    folder = policies_dir() / SHARED
    found = [(file, f"<{SHARED}>/{file.name}") for file in policy_files(folder)] if folder.is_dir() else []
    loaded = {file.resolve() for file, _, _, _ in rego_texts}
    if any(file.resolve() in loaded for file, _ in found):
        return []  # already loaded (a folder that holds them, e.g. `gavel test policies/_lib`)
    imported = any("data.gavel.lib" in text for _, _, text, _ in rego_texts)
    if not found or not (imported or params):
        return []
    texts = [(file, display, _read(file, display), None) for file, display in found]
    if imported or any(lid in params for _, display, text, _ in texts for lid in shared_params(text, display)):
        return texts
    return []


def shared_params(text: str, display: str) -> dict[str, dict[str, Any]]:
    """``{id: params}`` a library module declares in its METADATA (``custom: {id, params}``)."""
    custom = parse_module(text, display).metadata.get("custom") or {}
    if isinstance(custom, dict) and custom.get("id") and isinstance(custom.get("params"), dict):
        return {str(custom["id"]): dict(custom["params"])}
    return {}


def _display(file: Path, root: Path | None, pack: str | None) -> str:
    if pack:
        return f"<{pack}>/" + file.relative_to(policies_dir() / pack).as_posix()
    if root:
        try:
            return file.resolve().relative_to(root).as_posix()
        except ValueError:
            pass
    return file.as_posix()


def _read(file: Path, display: str) -> str:
    try:
        return read_text(file, display)
    except EvidenceError as exc:
        raise PolicyError(exc.message, file=exc.file, line=exc.line) from None


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def load_yaml_file(file: Path, display: str, *, params: dict, pack: str | None) -> list[Policy]:
    text = _read(file, display)
    try:
        doc = parse(text, display)
    except EvidenceError as exc:
        raise PolicyError(exc.message, file=exc.file, line=exc.line) from None
    return yaml_policies(doc, params=params, pack=pack)


def yaml_policies(doc: Document, *, params: dict, pack: str | None = None) -> list[Policy]:
    """Validate and compile the YAML policies of one parsed document."""
    is_list = isinstance(doc.data, list)
    items = doc.data if is_list else [doc.data]
    out = []
    for index, definition in enumerate(items):
        loc: list = [index] if is_list else []
        if not isinstance(definition, dict):
            raise PolicyError("a policy must be a mapping", file=doc.path, line=doc.line_of(loc))
        def locate(extra, loc=loc):
            return (doc.line_of(loc + list(extra)))
        # Compile first: its messages name the exact operator or field; then the schema.
        pid = definition.get("id", "?")
        merged = {**(definition.get("params") or {}), **params.get(pid, {})}
        if "assert" not in definition or "title" not in definition or "severity" not in definition:
            missing = [k for k in ("id", "title", "severity", "target", "assert") if k not in definition]
            raise PolicyError(f"policy '{pid}': missing required field(s) {', '.join(missing)}", file=doc.path,
                              line=doc.line_of(loc))
        try:
            package, rego = compile_policy(definition, params=merged, file=doc.path, locate=locate)
        except (KeyError, TypeError) as exc:
            raise PolicyError(f"policy '{pid}': malformed ({exc})", file=doc.path, line=doc.line_of(loc)) from None
        sub = Document(doc.path, doc.text, definition)
        sub.line_of = locate  # type: ignore[method-assign]
        schemas.check("policy", sub, error=PolicyError, definition="policy")
        target = definition["target"]
        out.append(
            Policy(
                id=pid,
                title=definition["title"],
                severity=definition["severity"],
                target=[target] if isinstance(target, str) else list(target),
                language="yaml",
                source=Source(file=doc.path, line=doc.line_of(loc + ["id"]) if is_list else doc.key_line("id")),
                package=package,
                modules={doc.path + f"#{pid}.rego": rego},
                rules=["warn" if definition.get("level") == "warn" else "deny"],
                sha256=_sha256(rego),
                frameworks=list(definition.get("frameworks", [])),
                description=definition.get("description", ""),
                remediation=definition.get("remediation", ""),
                params=dict(definition.get("params") or {}),
                pack=pack,
                has_applicable=True,
                definition=definition,
            )
        )
    return out


def load_rego(text: str, display: str, *, params: dict, pack: str | None, defined: set[str],
              module=None, allow: list[str] | None = None) -> Policy | None:
    """A Rego policy, or ``None`` for a library module (no deny/warn/violation rules)."""
    module = module or parse_module(text, display)
    # Refused builtins (I/O, clock) on every engine; builtins regorus lacks: prepare(), embedded only.
    check_builtins(module, text, display, defined, allow or ())
    meta = module.metadata
    custom = meta.get("custom") or {}
    if not isinstance(custom, dict):
        raise PolicyError("METADATA 'custom' must be a mapping", file=display, line=module.metadata_line)
    if not module.rules:
        # Declared a policy but defines no verdict: a typo must not drop it silently. Shared
        # libraries (package gavel.lib.*) declare an id only to take parameters.
        if custom.get("id") and not module.package.startswith("gavel.lib."):
            raise PolicyError(_no_verdict_message(str(custom["id"]), module.defines), file=display,
                              line=module.metadata_line)
        return None
    pid = str(custom.get("id") or module.package)
    severity = custom.get("severity", "medium")
    target = custom.get("target", ["model", "dataset"])
    target = [target] if isinstance(target, str) else list(target)
    bad = [t for t in target if t not in KINDS]
    if severity not in ("info", "low", "medium", "high", "critical"):
        raise PolicyError(f"policy '{pid}': unknown severity '{severity}'", file=display, line=module.metadata_line)
    if bad:
        raise PolicyError(f"policy '{pid}': unknown target kind '{bad[0]}' (use {', '.join(KINDS)})", file=display,
                          line=module.metadata_line)
    frameworks = custom.get("frameworks", [])
    return Policy(
        id=pid,
        title=str(meta.get("title") or pid),
        severity=severity,
        target=target,
        language="rego",
        source=Source(file=display, line=module.metadata_line or 1),
        package=module.package,
        modules={display: text},
        rules=module.rules,
        sha256=_sha256(text),
        frameworks=[str(f) for f in frameworks],
        description=str(meta.get("description") or ""),
        remediation=str(custom.get("remediation") or ""),
        params=dict(custom.get("params") or {}),
        pack=pack,
        has_applicable=module.has_applicable,
    )


def _no_verdict_message(pid: str, defines: set[str]) -> str:
    from difflib import get_close_matches

    close = get_close_matches("deny", sorted(defines), n=1) or get_close_matches("warn", sorted(defines), n=1) \
        or get_close_matches("violation", sorted(defines), n=1)
    hint = f"; '{close[0]}' is not one (a typo?)" if close else ""
    return (f"policy '{pid}' (METADATA custom.id) defines no verdict rule: name it deny, warn or violation "
            f"(or deny_*, warn_*, violation_*){hint}")


def _check_unique(policies: list[Policy]) -> None:
    seen: dict[str, Policy] = {}
    packages: dict[str, Policy] = {}
    for policy in policies:
        first = seen.get(policy.id)
        if first:
            raise PolicyError(
                f"duplicate policy id '{policy.id}' (first defined at {first.source.file}:{first.source.line})",
                file=policy.source.file,
                line=policy.source.line,
            )
        seen[policy.id] = policy
        other = packages.get(policy.package)
        if other and policy.language == "rego":
            raise PolicyError(
                f"package '{policy.package}' already holds policy '{other.id}' ({other.source.file}); "
                "one package per policy",
                file=policy.source.file,
                line=policy.source.line,
            )
        packages[policy.package] = policy
