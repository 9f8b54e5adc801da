"""``gavel policy lint``: find what is wrong with policies before they run, all at once.

Checks, each with a stable code:

- ``syntax``: the file does not parse (YAML), or the Rego does not compile on its own.
- ``schema``: a YAML policy or test file breaks its schema (every error, with file and line);
  ``unknown-field`` names a field the schema does not know, with "did you mean".
- ``compile``: the YAML policy does not compile to Rego (unknown operator, bad value...).
- ``builtin``: the Rego calls a builtin the embedded engine lacks.
- ``duplicate-id``: two policies share an id.
- ``metadata``: a policy lacks a title, severity, id, description, remediation or frameworks.
- ``unknown-path``: a condition (or ``input.subject.x`` in Rego) reads a field that the
  target's card schema does not have: it is always absent.
- ``unreachable``: a condition can never hold (a value outside the field's enum, a kind the
  policy does not target), ``assert`` repeats ``when`` (the policy can never fail), or a Rego
  rule no other rule uses.
- ``unused-param``: a declared parameter no condition or message uses.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from difflib import get_close_matches
from functools import cache
from pathlib import Path
from typing import Any

from engine.errors import GavelError, PolicyError
from engine.policy import portability
from engine.policy.model import KINDS

INPUT_ROOTS = ("kind", "id", "source", "subject", "lineage", "privacy", "now")
CARD_SCHEMAS = {"model": "model-card", "dataset": "dataset-card"}


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    level: str  # error or warning
    code: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.level} [{self.code}] {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "level": self.level, "code": self.code, "message": self.message}


def lint_paths(paths: list[Path], *, root: Path | None = None) -> list[Problem]:
    """Every problem of the policy (and policy test) files under ``paths``, sorted by location."""
    from engine.policy import policy_files

    root = (root or Path.cwd()).resolve()
    files: list[Path] = []
    tests: list[Path] = []
    for path in paths:
        if path.is_dir():
            tests += sorted(p for p in path.rglob("*_test.y*ml") if p.is_file() and not _private(p, path))
        elif path.name.endswith(("_test.yaml", "_test.yml")):
            tests.append(path)
            continue
        files += [f for f in policy_files(path) if f not in files and not _private(f, path)]
    linter = _Linter(root)
    for file in files:
        linter.file(file)
    linter.finish()
    for file in tests:
        linter.test_file(file)
    return sorted(linter.problems, key=lambda p: (p.file, p.line or 0, p.code, p.message))


class _Linter:
    def __init__(self, root: Path):
        self.root = root
        self.problems: list[Problem] = []
        self.ids: dict[str, tuple[str, int | None]] = {}
        self.rego: list[tuple[str, str]] = []  # (display, text)

    def add(self, file: str, line: int | None, level: str, code: str, message: str) -> None:
        self.problems.append(Problem(file, line, level, code, message))

    def display(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()

    def seen_id(self, pid: str, file: str, line: int | None) -> None:
        first = self.ids.get(pid)
        if first:
            self.add(file, line, "error", "duplicate-id",
                     f"duplicate policy id '{pid}' (first defined at {first[0]}:{first[1]})")
        else:
            self.ids[pid] = (file, line)

    def file(self, path: Path) -> None:
        from engine.evidence.loader import read_text

        shown = self.display(path)
        try:
            text = read_text(path, shown)
        except GavelError as exc:
            self.add(shown, None, "error", "syntax", exc.message)
            return
        self.problems += portability.problems(shown, text, rego=path.suffix == ".rego")  # regorus vs OPA
        if path.suffix == ".rego":
            self.rego.append((shown, text))
        else:
            self.yaml(shown, text)

    # -- YAML policies ------------------------------------------------------------------------
    def yaml(self, shown: str, text: str) -> None:
        from engine.evidence.loader import Document, parse

        try:
            doc = parse(text, shown)
        except GavelError as exc:
            self.add(shown, exc.line, "error", "syntax", exc.message)
            return
        items = doc.data if isinstance(doc.data, list) else [doc.data]
        for index, definition in enumerate(items):
            loc: list = [index] if isinstance(doc.data, list) else []
            if not isinstance(definition, dict):
                self.add(shown, doc.line_of(loc), "error", "schema", "a policy must be a mapping")
                continue
            pid = str(definition.get("id", "?"))
            if "id" in definition:
                self.seen_id(pid, shown, doc.line_of(loc + ["id"]))
            if not self.yaml_schema(shown, doc, definition, loc, pid):
                if isinstance(definition.get("target"), str | list):
                    self.yaml_checks(shown, doc, definition, loc, pid)
                continue
            sub = Document(doc.path, doc.text, definition)
            sub.line_of = (lambda extra, loc=loc: doc.line_of(loc + list(extra)))  # type: ignore[method-assign]
            from engine.policy import yaml_policies

            try:
                yaml_policies(sub, params={})
            except GavelError as exc:
                line = exc.line
                if loc and line is None:
                    line = doc.line_of(loc)
                self.add(shown, line, "error", "compile", exc.message)
                continue
            self.yaml_checks(shown, doc, definition, loc, pid)

    def yaml_schema(self, shown, doc, definition, loc, pid) -> bool:
        from engine.schemas import describe

        found = list(_policy_validator().iter_errors(definition))
        for error in found:
            path = list(error.absolute_path)
            line = doc.line_of(loc + path)
            message = describe(error)
            extra = re.search(r"\('([^']+)' (?:was|were) unexpected\)", error.message)
            if error.validator == "additionalProperties" and extra:
                known = list(error.schema.get("properties", {}))
                name = extra.group(1)
                close = get_close_matches(name, known, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                line = doc.line_of(loc + path + [name])
                self.add(shown, line, "error", "unknown-field", f"policy '{pid}': unknown field '{name}'{hint}")
                continue
            self.add(shown, line, "error", "schema", f"policy '{pid}': {message}")
        return not found

    def yaml_checks(self, shown, doc, definition, loc, pid) -> None:
        line = doc.line_of(loc + ["id"])
        for key in ("description", "remediation", "frameworks"):
            if not definition.get(key):
                self.add(shown, line, "warning", "metadata", f"policy '{pid}' has no {key}")
        targets = [definition["target"]] if isinstance(definition["target"], str) else list(definition["target"])
        for section in ("when", "assert"):
            if section in definition:
                self.conditions(shown, doc, definition[section], loc + [section], pid, targets, scope=None)
        if "when" in definition and definition["when"] == definition.get("assert"):
            self.add(shown, doc.line_of(loc + ["assert"]), "warning", "unreachable",
                     f"policy '{pid}': 'assert' repeats 'when', so the policy can never fail")
        used = json.dumps([definition.get("when"), definition.get("assert")]) + str(definition.get("message", ""))
        for name in definition.get("params") or {}:
            if f'"param": "{name}"' not in used and f"params.{name}" not in used:
                self.add(shown, doc.line_of(loc + ["params", name]), "warning", "unused-param",
                         f"policy '{pid}': parameter '{name}' is never used")

    def conditions(self, shown, doc, node, loc, pid, targets, scope) -> None:
        """Walk a condition tree; ``scope`` is the schema of a quantifier's list item (None: the input)."""
        if not isinstance(node, dict):
            return
        for key in ("all", "any"):
            for i, child in enumerate(node.get(key) or []):
                self.conditions(shown, doc, child, loc + [key, i], pid, targets, scope)
        if "not" in node:
            self.conditions(shown, doc, node["not"], loc + ["not"], pid, targets, scope)
        if "field" not in node:
            return
        from engine.policy.compile import parse_path
        from engine.policy.operators import QUANTIFIERS, lookup

        try:
            path = parse_path(node["field"], ValueError)
        except ValueError:
            return
        ops = [k for k in node if k not in ("field", "description")]
        op = lookup(ops[0]) if ops else None
        line = doc.line_of(loc + ["field"])
        schemas = self.field_schemas(shown, line, pid, targets, scope, path, node["field"])
        if op is None:
            return
        value = node[ops[0]]
        if op.name in QUANTIFIERS:
            items = [s.get("items") for s in schemas if isinstance(s, dict) and isinstance(s.get("items"), dict)]
            self.conditions(shown, doc, value, loc + [ops[0]], pid, targets, items or [{}])
            return
        if scope is None and path == ["kind"] and op.name in ("equals", "in") and not isinstance(value, dict):
            wanted = value if isinstance(value, list) else [value]
            if not set(wanted) & set(targets):
                self.add(shown, line, "warning", "unreachable",
                         f"policy '{pid}': '{node['field']}' is never {value!r}: the policy targets {', '.join(targets)}")
        enums = [s["enum"] for s in schemas if isinstance(s, dict) and "enum" in s]
        if enums and op.name in ("equals", "in") and not isinstance(value, dict):
            wanted = value if isinstance(value, list) else [value]
            allowed = [v for enum in enums for v in enum]
            if not any(v in allowed for v in wanted):
                self.add(shown, line, "warning", "unreachable",
                         f"policy '{pid}': '{node['field']}' can never be {json.dumps(value)}; "
                         f"the card schema allows {json.dumps(allowed)}")

    def field_schemas(self, shown, line, pid, targets, scope, path, raw) -> list[dict]:
        """The card-schema nodes ``path`` can reach; warns when it reaches none."""
        if scope is None:
            if not path:
                return []
            head = path[0]
            if head not in INPUT_ROOTS:
                close = get_close_matches(str(head), INPUT_ROOTS, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else f" (the input has {', '.join(INPUT_ROOTS)})"
                self.add(shown, line, "error", "unknown-path",
                         f"policy '{pid}': field '{raw}' is not in the input document{hint}")
                return []
            if head != "subject":
                return []
            roots = [_card_schema(k) for k in targets if k in CARD_SCHEMAS]
            rest = path[1:]
        else:
            roots, rest = scope, path
        if not roots:
            return []
        reached = []
        missing: list[tuple[str, list[str]]] = []
        for schema in roots:
            node, ok = _walk(schema, rest)
            if ok:
                reached.append(node)
            elif node is not None:
                missing.append(node)
        if not reached and missing:
            name, known = missing[0]
            close = get_close_matches(name, known, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            self.add(shown, line, "warning", "unknown-path",
                     f"policy '{pid}': field '{raw}' is not in the card schema ('{name}' is unknown), so it is "
                     f"always absent.{hint}")
        return reached

    # -- Rego ---------------------------------------------------------------------------------
    def finish(self) -> None:
        from engine.policy.rego import _strip, user_functions

        defined = user_functions([text for _, text in self.rego])
        stripped = {shown: _strip(text) for shown, text in self.rego}
        for shown, text in self.rego:
            self.rego_module(shown, text, defined, stripped)
        self.recursion()

    def recursion(self) -> None:
        from engine.policy.regoast import check_recursion, parse_modules

        try:
            check_recursion(parse_modules(dict(self.rego)))
        except GavelError as exc:  # a syntax error is reported per module above
            if "recursion" in exc.message or "generates" in exc.message:
                self.add(exc.file or "?", exc.line, "error", "recursion", exc.message)

    def rego_module(self, shown: str, text: str, defined: set[str], stripped: dict[str, str]) -> None:
        from engine.engines.embedded import add_module
        from engine.policy.rego import check_builtins, parse_module

        try:
            module = parse_module(text, shown)
        except GavelError as exc:
            self.add(shown, exc.line, "error", "syntax", exc.message)
            return
        import regorus

        engine = regorus.Engine()
        engine.set_policy_length_config(max_col=1_000_000, max_file_bytes=64 * 1024 * 1024, max_lines=1_000_000)
        try:
            add_module(engine, shown, text)
        except PolicyError as error:
            self.add(shown, error.line, "error", "syntax", error.message)
            return
        try:
            check_builtins(module, text, shown, defined)
        except GavelError as exc:
            self.add(shown, exc.line, "error", "builtin", exc.message)
        if shown.endswith("_test.rego"):
            return
        code = stripped[shown]
        self.unused_rules(shown, code, stripped)
        if not module.rules:
            return  # a library module
        meta, custom = module.metadata, module.metadata.get("custom") or {}
        line = module.metadata_line or 1
        pid = str(custom.get("id") or module.package) if isinstance(custom, dict) else module.package
        if not module.metadata:
            self.add(shown, 1, "warning", "metadata",
                     f"policy '{pid}' has no '# METADATA' block: its id is the package and its severity 'medium'")
        else:
            for key in ("title", "description"):
                if not meta.get(key):
                    self.add(shown, line, "warning", "metadata", f"policy '{pid}' has no {key}")
            for key in ("id", "severity", "target", "remediation", "frameworks"):
                if not isinstance(custom, dict) or not custom.get(key):
                    self.add(shown, line, "warning", "metadata", f"policy '{pid}' has no custom.{key}")
        self.seen_id(pid, shown, line)
        target = custom.get("target", ["model", "dataset"]) if isinstance(custom, dict) else ["model", "dataset"]
        targets = [target] if isinstance(target, str) else [t for t in target if t in KINDS]
        for match in re.finditer(r"\binput\.kind\s*==\s*\"(\w+)\"", text):
            if match.group(1) not in targets:
                self.add(shown, text.count("\n", 0, match.start()) + 1, "warning", "unreachable",
                         f"policy '{pid}': input.kind is never \"{match.group(1)}\": it targets {', '.join(targets)}")
        seen: set[str] = set()
        for match in re.finditer(r"\binput\.subject((?:\.[A-Za-z_]\w*)+)", code):
            raw = "subject" + match.group(1)
            if raw in seen:
                continue
            seen.add(raw)
            line_no = code.count("\n", 0, match.start()) + 1
            self.field_schemas(shown, line_no, pid, targets, None, raw.split("."), "input." + raw)

    def unused_rules(self, shown: str, code: str, stripped: dict[str, str]) -> None:
        heads = re.finditer(r"^(?:default\s+)?([a-z_A-Z]\w*)\s*(?=(?::=|=|\bif\b|\bcontains\b|\[|\{|\())", code,
                            re.MULTILINE)
        names: dict[str, int] = {}
        for match in heads:
            names.setdefault(match.group(1), code.count("\n", 0, match.start()) + 1)
        everything = "\n".join(stripped.values())
        for name, line in names.items():
            if name in ("package", "import", "applicable") or re.match(r"^(deny|violation|warn)(_\w+)?$", name):
                continue
            if name.startswith(("test_", "todo_test_")):
                continue
            definitions = len(re.findall(rf"^(?:default\s+)?{name}\b", everything, re.MULTILINE))
            uses = len(re.findall(rf"(?<![\w]){re.escape(name)}\b", everything)) - definitions
            if uses <= 0:
                self.add(shown, line, "warning", "unreachable",
                         f"rule '{name}' is never used: it is not a verdict rule (deny, violation, warn) and no rule "
                         "refers to it")

    # -- test files ---------------------------------------------------------------------------
    def test_file(self, path: Path) -> None:
        from engine import schemas
        from engine.evidence.loader import parse, read_text

        shown = self.display(path)
        try:
            doc = parse(read_text(path, shown), shown)
        except GavelError as exc:
            self.add(shown, exc.line, "error", "syntax", exc.message)
            return
        for error in schemas.errors("policy-test", doc.data):
            self.add(shown, doc.line_of(list(error.absolute_path)), "error", "schema", schemas.describe(error))


def _private(file: Path, base: Path) -> bool:
    """Inside a folder named ``_x`` or ``.x`` below ``base`` (framework maps, caches): not policies."""
    if not base.is_dir():
        return False
    parts = file.relative_to(base).parts[:-1]
    return any(part.startswith(("_", ".")) for part in parts)


@cache
def _policy_validator():
    import jsonschema

    from engine.resources import schema_path

    schema = json.loads(schema_path("policy").read_text())
    single = {"$defs": schema["$defs"], **schema["anyOf"][0]}
    return jsonschema.Draft202012Validator(single)


@cache
def _card_schema(kind: str) -> dict:
    from engine.resources import schema_path

    return json.loads(schema_path(CARD_SCHEMAS[kind]).read_text())


def _walk(schema: dict, path: list) -> tuple[Any, bool]:
    """Follow ``path`` through object properties and array items: (node, True), or ((name, known), False)."""
    node = schema
    for part in path:
        if not isinstance(node, dict):
            return None, False
        if isinstance(part, int) or node.get("type") == "array":
            if isinstance(node.get("items"), dict) and isinstance(part, int):
                node = node["items"]
                continue
            return None, False
        props = node.get("properties")
        if props is None:
            return None, False  # free-form below here: cannot say
        if part in props:
            node = props[part]
            continue
        if any(re.search(p, str(part)) for p in node.get("patternProperties", {})):
            return None, False
        if node.get("additionalProperties") is False:
            return (str(part), list(props)), False
        return None, False
    return node, True
