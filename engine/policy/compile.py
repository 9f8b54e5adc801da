"""Compile a YAML policy to a Rego module.

Conditions compile to Rego *bodies* (expressions that all hold when the condition holds),
inlined into the rules that use them: ``applicable`` (from ``when``), ``ok`` (from ``assert``) and
the verdict rule (``deny``, or ``warn``). Only what a body cannot say inline gets a helper rule:
a disjunction (``any``), a negation (``not``, ``exists: false``, ``empty: true``, ``none``) and the
per-item test of a quantifier. Helpers are only ever negated as rule references, never as calls
with possibly-undefined arguments (regorus and OPA disagree there). Few rules matter: regorus
spends ~10 µs per rule evaluated, so inlining halves the cost of a policy.

A failing subject also gets ``failed``: each top-level condition that does not hold, with its
expected and actual values. It is evaluated only when the verdict rule fires.
``gavel policy compile FILE`` prints the result.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from engine.errors import PolicyError
from engine.policy.operators import QUANTIFIERS, helpers_for, lookup
from engine.policy.re2 import ascii as ascii_regex

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TEMPLATE = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")


@dataclass
class Leaf:
    """A top-level condition that can be reported on its own when it fails."""

    body: str  # holds when the condition holds
    text: str
    path: list[str | int]
    op: str
    expected: Any
    want: bool  # whether the condition must hold (False under an odd number of ``not``)
    item: str | None = None  # for every/some/none: the function judging one item
    fields: dict[str, list[str | int]] = field(default_factory=dict)  # any/not: field text → path


@dataclass
class _Compiler:
    """Compiles condition trees to Rego bodies, collecting the helper definitions they need."""

    policy_id: str
    params: dict[str, Any]
    locate: Any  # (loc) -> line, for error messages
    file: str
    prefix: str = ""  # prepended to every rule name (several policies in one module)
    definitions: list[str] = field(default_factory=list)
    leaves: list[Leaf] = field(default_factory=list)
    _vars: int = 0

    def error(self, message: str, loc: list) -> PolicyError:
        return PolicyError(f"policy '{self.policy_id}': {message}", file=self.file, line=self.locate(loc))

    def helper(self, bodies: list[str], *, item: bool) -> str:
        """Define a rule (``item``: a function of ``s``) that holds when any of ``bodies`` holds;
        return the expression that tests it."""
        name = f"{self.prefix}_c{len(self.definitions)}"
        head = f"{name}(s)" if item else name
        self.definitions.append("\n".join(f"{head} if {{\n{_indent(b)}\n}}\n" for b in bodies))
        return head

    def var(self) -> str:
        self._vars += 1
        return f"x{self._vars}"

    def body(self, node: Any, loc: list, *, item: bool, report: bool = False, want: bool = True) -> str:
        """The Rego body that holds when ``node`` holds. ``item``: over a list item ``s`` rather than
        the input. ``report``: record top-level leaves for the ``failed`` evidence."""
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
            if combinator == "all":  # a conjunction inlines; its parts can be reported one by one
                return "\n".join(self.body(c, loc + ["all", i], item=item, report=report, want=want)
                                 for i, c in enumerate(items))
            parts = [self.body(c, loc + ["any", i], item=item) for i, c in enumerate(items)]
            return self.reported(node, self.helper(parts, item=item), report=report, want=want)
        if "not" in keys:
            if len(keys) != 1:
                raise self.error("'not' must stand alone in a condition", loc)
            inner = self.body(node["not"], loc + ["not"], item=item)
            return self.reported(node, f"not {self.helper([inner], item=item)}", report=report, want=want)
        return self.leaf(node, loc, item=item, report=report, want=want)

    def reported(self, node: dict, body: str, *, report: bool, want: bool) -> str:
        """Record an ``any``/``not`` condition as one reportable part (its own parts may fail while
        it holds, so they are not reported alone)."""
        if report:
            combinator = next(iter(node))
            inner = node[combinator]
            # expected: what would have made it hold; actual: the values of the fields it reads.
            expected = ([describe(c, self.params) for c in inner] if combinator == "any"
                        else f"not {describe(inner, self.params)}")
            leaf = Leaf(body, describe(node, self.params), [], combinator, expected, want)
            leaf.fields = fields_of(node, lambda m: self.error(m, []))
            self.leaves.append(leaf)
        return body

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
            judge = self.helper([self.body(node[name], loc + [name], item=True)], item=True).removesuffix("(s)")
            x = self.var()
            if op.name == "every":
                body = f"is_array({ref})\nevery {x} in {ref} {{ {judge}({x}) }}"
            else:
                body = f"is_array({ref})\nsome {x} in {ref}\n{judge}({x})"
                if op.name == "none":
                    body = f"not {self.helper([body], item=item)}"
            if report:
                text = f"{op.name} item: {describe(node[name], self.params)}"
                self.leaves.append(Leaf(body, f"{node['field']} {text}", path, op.name, text, want, judge))
            return body
        value = self.value(node[name], op, loc + [name])
        positive = op.body
        if op.value == "comparable":
            positive = positive.replace("{guard}", "is_number" if isinstance(value, int | float) else "is_string")
        literal = ascii_regex(value) if op.name == "matches" else value  # one meaning on regorus and OPA
        positive = positive.format(x=ref, v="null" if op.value == "bool" else json.dumps(literal))
        # exists: the body states presence; empty: the body states non-emptiness.
        negated = ((not value) if op.name == "exists" else bool(value)) if op.value == "bool" else op.negated
        body = f"not {self.helper([positive], item=item)}" if negated else positive.replace("; ", "\n")
        if report:
            self.leaves.append(Leaf(body, f"{node['field']} {op.name} {json.dumps(value)}", path, op.name, value, want))
        return body

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


def _indent(body: str) -> str:
    return "\n".join("\t" + line for line in body.splitlines())


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


def fields_of(node: Any, error) -> dict[str, list[str | int]]:
    """The input fields a condition reads (not those inside a quantifier's item condition)."""
    out: dict[str, list[str | int]] = {}
    if isinstance(node, dict):
        for key in ("all", "any"):
            for child in node.get(key) or []:
                out.update(fields_of(child, error))
        if "not" in node:
            out.update(fields_of(node["not"], error))
        if isinstance(node.get("field"), str) and node["field"] != "@":
            out[node["field"]] = parse_path(node["field"], error)
    return out


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
            # numbers through gavel.fmt: regorus and OPA print them differently (docs/opa.md)
            args.append(f'data.gavel.fmt.value(object.get(input, {json.dumps(path)}, "<missing>"))')
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
    rules, calls = compile_rules(definition, params=params, file=file, locate=locate)
    package = package_name(pid)
    out = [f"# Generated by gavel from {file} — do not edit; edit the YAML policy instead.",
           "# METADATA",
           f"# title: {json.dumps(definition['title'])}",
           "# custom:",
           f"#   id: {json.dumps(pid)}",
           f"#   severity: {definition['severity']}",
           f"#   target: {json.dumps(_listify(definition['target']))}",
           f"package {package}", "", "import rego.v1", "", rules]
    helpers = helpers_for(calls)
    if helpers:
        out += ["# Helpers\n", helpers]
    return package, "\n".join(out)


def compile_rules(definition: dict[str, Any], *, params: dict[str, Any], file: str, locate,
                  prefix: str = "", compact: bool = False) -> tuple[str, str]:
    """The rules of one policy, every name prefixed by ``prefix``; and the Rego text that calls
    helpers (pass it to ``helpers_for``). ``prefix`` lets many policies share one module.

    ``compact`` (the embedded engine's wrapper): instead of ``applicable`` and the verdict rule,
    one complete rule ``verdict``, ``{"deny": [finding] or [], "applicable": bool}``, whose
    ``else`` chain always defines it; ``when`` is inlined. Same verdicts, two rules evaluated per
    subject instead of four (regorus spends a few µs per rule)."""
    c = _Compiler(definition["id"], params, locate, file, prefix)
    p = prefix
    out = []
    when = c.body(definition["when"], ["when"], item=False) if "when" in definition else None
    if not compact:
        if when is not None:
            out += [f"default {p}applicable := false", "", f"{p}applicable if {{\n{_indent(when)}\n}}", ""]
        else:
            out += [f"{p}applicable := true", ""]
    ok = c.body(definition["assert"], ["assert"], item=False, report=True)
    verdict = "warn" if definition.get("level") == "warn" else "deny"
    message = definition.get("message") or definition["title"]
    # ``failed`` is only evaluated for a subject that fails: the evidence costs nothing on a pass.
    finding = f"{{\"msg\": {template(message, params)}, \"failed\": [f | some f in {p}failed]}}"
    out += [f"{p}ok if {{\n{_indent(ok)}\n}}", ""]
    if not compact:
        out += [f"{p}{verdict} contains {finding} if {{\n\t{p}applicable\n\tnot {p}ok\n}}", ""]
    elif when is not None:
        out += [f"{p}verdict := {{\"{verdict}\": [{finding}], \"applicable\": true}} if {{\n{_indent(when)}\n\tnot {p}ok\n}}"
                f" else := {{\"{verdict}\": [], \"applicable\": true}} if {{\n{_indent(when)}\n}}"
                f" else := {{\"{verdict}\": [], \"applicable\": false}}", ""]
    else:
        out += [f"{p}verdict := {{\"{verdict}\": [{finding}], \"applicable\": true}} if {{\n\tnot {p}ok\n}}"
                f" else := {{\"{verdict}\": [], \"applicable\": true}}", ""]
    for index, leaf in enumerate(c.leaves):
        field_text = None if leaf.op in ("any", "not") else (".".join(map(str, leaf.path)) or "@")
        entry = {"condition": leaf.text, "field": field_text, "operator": leaf.op,
                 "expected": leaf.expected}
        value = f"object.get(input, {json.dumps(leaf.path)}, null)" if leaf.path else "null"
        if leaf.fields:  # any/not: each field the condition reads, with its value
            value = "{" + ", ".join(f"{json.dumps(text)}: object.get(input, {json.dumps(path)}, null)"
                                    for text, path in leaf.fields.items()) + "}"
        if leaf.op == "every":  # the offending items: those failing ``every``, those matching ``none``
            actual = f"[x | v := {value}; is_array(v); some x in v; not {leaf.item}(x)]"
        elif leaf.op == "none":
            actual = f"[x | v := {value}; is_array(v); some x in v; {leaf.item}(x)]"
        else:
            actual = value
        fields = ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in entry.items())
        if compact and leaf.want and leaf.body == ok:  # the whole assertion: ``ok``, already evaluated
            out += [f"{p}failed contains {{{fields}, \"actual\": {actual}}} if not {p}ok", ""]
            continue
        holds = f"{p}_held{index}"
        out += [f"{holds} if {{\n{_indent(leaf.body)}\n}}", "",
                f"{p}failed contains {{{fields}, \"actual\": {actual}}} if {'not ' if leaf.want else ''}{holds}", ""]
    out.append("# Conditions\n")
    out.extend(c.definitions)
    text = "\n".join(out)
    return text, text  # the text doubles as the list of helper calls (see ``helpers_for``)


def _listify(value) -> list:
    return [value] if isinstance(value, str) else list(value)
