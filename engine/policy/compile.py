"""Compile a YAML policy to a Rego module.

Every condition node becomes a total function ``_cN(s) := true if {...} else := false`` over a
scope ``s`` (the input document at the top, a list item inside a quantifier), so "false" and
"undefined" never blur. The module defines ``applicable`` (from ``when``), ``ok`` (from
``assert``), the verdict rule (``deny`` or ``warn``) with a message and the failed conditions
(expected and actual values) as evidence. ``gavel policy compile FILE`` prints the result.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from engine.errors import PolicyError
from engine.policy.operators import QUANTIFIERS, helpers_for, lookup

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TEMPLATE = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")


@dataclass
class Leaf:
    """A top-level condition that can be reported on its own when it fails."""

    name: str  # the rule holding its truth value
    text: str
    path: list[str | int]
    op: str
    expected: Any
    want: bool  # the value this leaf must have for the policy to pass
    item: str | None = None  # for every/some/none: the function judging one item


@dataclass
class _Compiler:
    """Compiles conditions to Rego definitions.

    Conditions over the input become rules ``_cN := true if {...} else := false`` (evaluated at
    most once per query); conditions over a list item become functions ``_cN(s)``.
    """

    policy_id: str
    params: dict[str, Any]
    locate: Any  # (loc) -> line, for error messages
    file: str
    prefix: str = ""  # prepended to every rule name (several policies in one module)
    definitions: list[str] = field(default_factory=list)
    leaves: list[Leaf] = field(default_factory=list)

    def error(self, message: str, loc: list) -> PolicyError:
        return PolicyError(f"policy '{self.policy_id}': {message}", file=self.file, line=self.locate(loc))

    def condition(self, node: Any, loc: list, *, item: bool, report: bool = False, want: bool = True) -> str:
        """Compile ``node``; return the Rego expression of its truth (``_c3`` or ``_c3(s)``).

        ``item``: the condition judges a list item ``s`` rather than the input. ``report``: record
        its leaves, so a failure can say which condition failed, expected and actual.
        """
        if not isinstance(node, dict) or not node:
            raise self.error("a condition must be a mapping (field + operator, or all/any/not)", loc)
        keys = set(node)
        combinators = keys & {"all", "any"}
        if combinators:
            if len(keys) != 1:
                raise self.error(f"'all'/'any' must stand alone in a condition, got keys {sorted(keys)}", loc)
            (combinator,) = combinators
            items = node[combinator]
            if not isinstance(items, list) or not items:
                raise self.error(f"'{combinator}' takes a non-empty list of conditions", loc + [combinator])
            parts = [self.condition(c, loc + [combinator, i], item=item, report=report, want=want)
                     for i, c in enumerate(items)]
            if combinator == "all":
                return self.define("; ".join(parts), item=item)
            return self.define("some v in [" + ", ".join(parts) + "]; v", item=item)
        if "not" in keys:
            if len(keys) != 1:
                raise self.error("'not' must stand alone in a condition", loc)
            inner = self.condition(node["not"], loc + ["not"], item=item, report=report, want=not want)
            return self.define(inner, item=item, negated=True)
        return self.leaf(node, loc, item=item, report=report, want=want)

    def leaf(self, node: dict, loc: list, *, item: bool, report: bool, want: bool) -> str:
        if "field" not in node:
            raise self.error(f"a condition needs 'field' (or all/any/not), got keys {sorted(node)}", loc)
        ops = [k for k in node if k not in ("field", "description")]
        if len(ops) != 1:
            raise self.error(f"a condition needs exactly one operator, got {sorted(ops) or 'none'}", loc)
        name = ops[0]
        op = lookup(name)
        if op is None:
            from difflib import get_close_matches

            from engine.policy.operators import ALIASES, OPERATORS

            close = get_close_matches(name, [*OPERATORS, *ALIASES], n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise self.error(f"unknown operator '{name}'{hint}", loc + [name])
        path = parse_path(node["field"], lambda m: self.error(m, loc + ["field"]))
        ref = rego_ref("s" if item else "input", path)
        if op.name in QUANTIFIERS:
            judge = self.condition(node[name], loc + [name], item=True)
            judge_fn = judge.removesuffix("(s)")
            loop = f"is_array({ref}); some x in {ref}; {judge_fn}(x)"
            if op.name == "every":
                expr = self.define(f"is_array({ref}); every x in {ref} {{ {judge_fn}(x) }}", item=item)
            else:
                expr = self.define(loop, item=item, negated=op.name == "none")
            if report:
                text = f"{op.name} item: {describe(node[name], self.params)}"
                self.leaves.append(Leaf(expr, f"{node['field']} {text}", path, op.name, text, want, judge_fn))
            return expr
        value = self.value(node[name], op, loc + [name])
        body = op.body
        if op.value == "comparable":
            body = body.replace("{guard}", "is_number" if isinstance(value, int | float) else "is_string")
        if op.value == "bool":
            # exists: the body states presence; empty: the body states non-emptiness.
            negated = (not value) if op.name == "exists" else bool(value)
            expr = self.define(body.format(x=ref, v="null"), item=item, negated=negated)
        else:
            expr = self.define(body.format(x=ref, v=json.dumps(value)), item=item, negated=op.negated)
        if report:
            self.leaves.append(Leaf(expr, f"{node['field']} {op.name} {json.dumps(value)}", path, op.name, value, want))
        return expr

    def value(self, raw: Any, op, loc: list) -> Any:
        if isinstance(raw, dict) and set(raw) == {"param"}:
            name = raw["param"]
            if name not in self.params:
                raise self.error(f"unknown parameter '{name}' (declare it under 'params')", loc)
            raw = self.params[name]
        kind = op.value
        ok = {
            "any": True,
            "list": isinstance(raw, list),
            "number": isinstance(raw, int | float) and not isinstance(raw, bool),
            "int": isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0,
            "string": isinstance(raw, str),
            "bool": isinstance(raw, bool),
            "comparable": isinstance(raw, int | float | str) and not isinstance(raw, bool),
        }[kind]
        if not ok:
            wanted = {"comparable": "a number or a string", "int": "a non-negative integer", "list": "a list"}.get(
                kind, f"a {kind}"
            )
            raise self.error(f"operator '{op.name}' expects {wanted}, got {json.dumps(raw)}", loc)
        if op.name == "matches":
            try:
                re.compile(raw)
            except re.error as exc:
                raise self.error(f"invalid regular expression {raw!r}: {exc}", loc) from None
        return raw

    def define(self, body: str, *, item: bool, negated: bool = False) -> str:
        """Add a total definition whose value is ``body`` holding (or failing, when ``negated``)."""
        name = f"{self.prefix}_c{len(self.definitions)}"
        yes, no = ("false", "true") if negated else ("true", "false")
        head = f"{name}(s)" if item else name
        self.definitions.append(f"{head} := {yes} if {{\n\t{body}\n}} else := {no}\n")
        return f"{name}(s)" if item else name


def parse_path(raw: Any, error) -> list[str | int]:
    """``subject.metrics.fairness`` or ``subject["model-index"].0`` → list of keys; ``@`` → []."""
    if not isinstance(raw, str) or not raw:
        raise error("'field' must be a non-empty string path such as subject.dpia.status")
    if raw == "@":
        return []
    parts: list[str | int] = []
    for match in re.finditer(r'\["([^"]+)"\]|([^.\[\]]+)', raw):
        quoted, bare = match.groups()
        if quoted is not None:
            parts.append(quoted)
        elif bare.isdigit():
            parts.append(int(bare))
        else:
            parts.append(bare)
    rebuilt = "".join(f'["{p}"]' if isinstance(p, str) and not _IDENT.match(p) else f".{p}" for p in parts)
    if not parts or not rebuilt:
        raise error(f"invalid field path {raw!r}")
    return parts


def rego_ref(root: str, path: list[str | int]) -> str:
    out = root
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENT.match(part):
            out += f".{part}"
        else:
            out += f"[{json.dumps(part)}]"
    return out


def describe(node: Any, params: dict[str, Any] | None = None) -> str:
    """A short human text for a condition (for evidence and explain), parameters resolved."""
    params = params or {}
    if not isinstance(node, dict):
        return json.dumps(node)
    if "all" in node or "any" in node:
        key = "all" if "all" in node else "any"
        return f"{key}(" + "; ".join(describe(c, params) for c in node[key]) + ")"
    if "not" in node:
        return f"not({describe(node['not'], params)})"
    ops = [k for k in node if k not in ("field", "description")]
    if not ops:
        return json.dumps(node)
    value = node[ops[0]]
    if isinstance(value, dict) and set(value) == {"param"}:
        value = params.get(value["param"], value)
    shown = describe(value, params) if ops[0] in QUANTIFIERS else json.dumps(value)
    return f"{node.get('field')} {ops[0]} {shown}"


def template(message: str, params: dict[str, Any]) -> str:
    """Compile ``"Model {{ id }} ... {{ params.x }}"`` to a Rego ``sprintf`` expression."""
    fmt, args = "", []
    last = 0
    for match in _TEMPLATE.finditer(message):
        fmt += message[last : match.start()].replace("%", "%%")
        expr = match.group(1)
        if expr.startswith("params."):
            fmt += str(params.get(expr[7:], "")).replace("%", "%%")
        else:
            path = parse_path(expr, lambda m: PolicyError(m))
            fmt += "%v"
            args.append(f'object.get(input, {json.dumps(path)}, "<missing>")')
        last = match.end()
    fmt += message[last:].replace("%", "%%")
    if not args:
        return json.dumps(fmt.replace("%%", "%"))
    return f"sprintf({json.dumps(fmt)}, [{', '.join(args)}])"


def package_name(policy_id: str) -> str:
    return "gavel.yaml." + re.sub(r"[^A-Za-z0-9_]", "_", policy_id)


def compile_policy(definition: dict[str, Any], *, params: dict[str, Any], file: str, locate) -> tuple[str, str]:
    """Return ``(package, rego_text)`` for one validated YAML policy definition.

    The module defines ``applicable`` (from ``when``), ``ok`` (from ``assert``) and the verdict
    rule (``deny``, or ``warn`` for ``level: warn``), whose objects carry ``msg`` and ``failed``:
    each failing top-level condition with its expected and actual values (the finding's evidence).
    """
    pid = definition["id"]
    rules, helpers = compile_rules(definition, params=params, file=file, locate=locate)
    package = package_name(pid)
    out = [f"# Generated by gavel from {file} — do not edit; edit the YAML policy instead.",
           "# METADATA",
           f"# title: {json.dumps(definition['title'])}",
           "# custom:",
           f"#   id: {json.dumps(pid)}",
           f"#   severity: {definition['severity']}",
           f"#   target: {json.dumps(_listify(definition['target']))}",
           f"package {package}", "", "import rego.v1", "", rules]
    if helpers:
        out += ["# Helpers\n", helpers_for(helpers)]
    return package, "\n".join(out)


def compile_rules(definition: dict[str, Any], *, params: dict[str, Any], file: str, locate,
                  prefix: str = "") -> tuple[str, str]:
    """The rules of one policy, every name prefixed by ``prefix``; and the Rego text that calls
    helpers (pass it to ``helpers_for``). ``prefix`` lets many policies share one module."""
    c = _Compiler(definition["id"], params, locate, file, prefix)
    when = c.condition(definition["when"], ["when"], item=False) if "when" in definition else "true"
    ok = c.condition(definition["assert"], ["assert"], item=False, report=True)
    verdict = "warn" if definition.get("level") == "warn" else "deny"
    message = definition.get("message") or definition["title"]
    p = prefix
    out = [f"{p}applicable := {when}", "",
           f"{p}ok := {ok}", "",
           # ``failed`` is only evaluated for a subject that fails: the evidence costs nothing on a pass.
           f"{p}{verdict} contains {{\"msg\": {template(message, params)}, \"failed\": [f | some f in {p}failed]}} if {{"
           f"\n\t{p}applicable\n\tnot {p}ok\n}}",
           ""]
    for leaf in c.leaves:
        entry = {"condition": leaf.text, "field": ".".join(map(str, leaf.path)) or "@", "operator": leaf.op,
                 "expected": leaf.expected}
        value = f"object.get(input, {json.dumps(leaf.path)}, null)"
        if leaf.op in ("every", "none"):  # the offending items: failing every, matching none
            actual = f"[x | v := {value}; is_array(v); some x in v; {leaf.item}(x) == {str(leaf.op == 'none').lower()}]"
        else:
            actual = value
        fields = ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in entry.items())
        out.append(f"{p}failed contains {{{fields}, \"actual\": {actual}}} if "
                   f"{leaf.name} == {str(not leaf.want).lower()}\n")
    out.append("# Conditions\n")
    out.extend(c.definitions)
    return "\n".join(out), "".join(c.definitions)


def _listify(value) -> list:
    return [value] if isinstance(value, str) else list(value)
