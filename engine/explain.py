"""``gavel explain POLICY SUBJECT``: why one subject passes or fails one policy.

For a YAML policy, every condition of ``when`` and ``assert`` with its expected and actual
value and whether it holds; the truth values come from the engine itself, by querying the very
functions the policy compiled to (one extra module, ``gavel_explain``), so the explanation
cannot drift from the verdict. For a Rego policy: the deny/warn messages, the rule's metadata
and the input values it reads. For lineage facts: the path from each tagged source.
"""

from __future__ import annotations

import json
import re
from typing import Any

from engine.errors import UsageError
from engine.policy.compile import _Compiler, _indent, describe, parse_path, rego_ref
from engine.policy.operators import QUANTIFIERS, helpers_for, lookup

EXPLAIN = "gavel_explain"
_INPUT_REF = re.compile(r"\binput((?:\.[A-Za-z_]\w*)+)")


def _explain_module(policy, params: dict) -> tuple[str, dict[tuple, dict]]:
    """The ``gavel_explain`` module for a YAML policy, and per condition location what it queries.

    Each top-level condition node gets a rule whose body is the one the compiler inlines into the
    policy (same compiler, same bodies), so the explanation cannot drift from the verdict.
    """
    definition = policy.definition
    compiler = _Compiler(policy.id, params, lambda loc: None, policy.source.file, prefix="e_")
    rules: list[str] = []
    queries: dict[tuple, dict] = {}

    def visit(node, loc: tuple) -> None:
        if not isinstance(node, dict):
            return
        name = f"r{len(queries)}"
        body = compiler.body(node, list(loc), item=False)
        rules.extend([f"default {name} := false", f"{name} if {{\n{_indent(body)}\n}}"])
        entry = {"rule": name}
        op_name = next((k for k in node if k not in ("field", "description")), None) if "field" in node else None
        op = lookup(op_name) if op_name else None
        if op is not None and op.name in QUANTIFIERS:
            judge = compiler.helper([compiler.body(node[op_name], list(loc) + [op_name], item=True)], item=True)
            ref = rego_ref("input", parse_path(node["field"], ValueError))
            rules.append(f"{name}_item(s) := true if {{ {judge} }} else := false")
            rules.append(f"{name}_items := [{name}_item(item) | some item in {ref}] if is_array({ref}) else := null")
            entry["items"] = f"{name}_items"
        queries[loc] = entry
        for key in ("all", "any"):
            for i, child in enumerate(node.get(key) or []):
                visit(child, loc + (key, i))
        if "not" in node:
            visit(node["not"], loc + ("not",))

    for section in ("when", "assert"):
        if section in definition:
            visit(definition[section], (section,))
    names = [q[k] for q in queries.values() for k in ("rule", "items") if k in q]
    lines = [f"package {EXPLAIN}", "", "import rego.v1", "", *rules, "", *compiler.definitions]
    helpers = helpers_for("\n".join(lines))
    lines += ["result := {", *(f'\t"{n}": {n},' for n in names), "}", "", helpers]
    return "\n".join(lines) + "\n", queries


def explain(config, policy_id: str, subject_id: str, *, kind: str | None = None, now: str | None = None) -> dict:
    """The explanation of one policy on one subject, as a JSON-ready dict."""
    from engine.check import resolve_now
    from engine.context import build_subjects, inventory_data
    from engine.evaluate import prepare
    from engine.inventory import build_inventory
    from engine.policy import load_policies

    now = resolve_now(now or config.now)
    policy_set = load_policies(config)
    policy = policy_set.get(policy_id)
    if policy is None:
        from difflib import get_close_matches

        close = get_close_matches(policy_id, [p.id for p in policy_set.policies], n=1)
        raise UsageError(f"no policy '{policy_id}'" + (f". Did you mean {close[0]}?" if close else ""))
    inv = build_inventory(config, now=now)
    subjects = [s for s in build_subjects(inv, now=now) if s.id == subject_id and (kind is None or s.kind == kind)]
    out: dict[str, Any] = {
        "policy": {**policy.info().model_dump(mode="json"), "description": policy.description,
                   "remediation": policy.remediation, "params": policy_set.params.get(policy.id, {})},
        "now": now,
    }
    problems = [f for f in inv.problems if f.subject.id == subject_id]
    if not subjects:
        if problems:  # the card itself did not load: that is the explanation
            out.update(subject={"kind": problems[0].subject.kind, "id": subject_id}, status="error",
                       findings=[f.model_dump(mode="json") for f in problems], conditions=[], reads=[], lineage=[])
            return out
        known = sorted({s.id for s in build_subjects(inv, now=now) if kind is None or s.kind == kind})
        from difflib import get_close_matches

        close = get_close_matches(subject_id, known, n=1)
        raise UsageError(f"no subject '{subject_id}'" + (f". Did you mean {close[0]}?" if close else ""))
    targeted = [s for s in subjects if policy.applies_to(s.kind)]
    if not targeted:
        raise UsageError(f"policy '{policy.id}' targets {', '.join(policy.target)}, and '{subject_id}' is a "
                         f"{subjects[0].kind}")
    if len(targeted) > 1:
        raise UsageError(f"'{subject_id}' names a {' and a '.join(s.kind for s in targeted)}; choose with --kind")
    subject = targeted[0]
    queries: dict[tuple, dict] = {}
    if policy.language == "yaml":
        module, queries = _explain_module(policy, policy_set.params.get(policy.id, {}))
        policy_set.libraries[f"{EXPLAIN}.rego"] = module
    options = config.engine_options()
    prepared = prepare(policy_set, data={"inventory": inventory_data(inv)}, engine=config.engine, workers=1,
                       options=options)
    findings = [f for f in prepared.evaluate([subject]) if f.policy == policy.id]
    from engine.testing import outcome

    out["subject"] = {"kind": subject.kind, "id": subject.id,
                      "source": subject.source.model_dump(mode="json") if subject.source else None}
    out["status"] = outcome(f.status for f in findings)
    out["findings"] = [{"status": f.status, "message": f.message, "evidence": f.evidence} for f in findings]
    out["conditions"] = []
    if queries:
        document = json.dumps(subject.doc, sort_keys=True)
        (values,) = prepared.engine.evaluate(f"data.{EXPLAIN}.result", [document])
        if isinstance(values, Exception):
            out["conditions_error"] = str(values)
        else:
            definition = policy.definition
            for section in ("when", "assert"):
                if section in definition:
                    out["conditions"].append(
                        _node(definition[section], (section,), values, queries, subject.doc,
                              policy_set.params.get(policy.id, {}), section=section))
    paths = _read_paths(policy)
    out["reads"] = []
    for path in paths:
        present, value = _lookup(subject.doc, path)
        out["reads"].append({"path": ".".join(map(str, path)), "present": present, "value": value})
    reads_lineage = any(p and p[0] == "lineage" for p in paths)
    sources = subject.doc.get("lineage", {}).get("tagged_sources", []) if reads_lineage else []
    out["lineage"] = [{"tag": s.get("tag"), "source": s.get("source"), "path": s.get("path", [])} for s in sources]
    return out


def _node(node, loc, values, queries, doc, params, *, section=None) -> dict:
    entry: dict[str, Any] = {"condition": describe(node, params)}
    if section:
        entry["section"] = section
    query = queries.get(loc)
    if query:
        entry["holds"] = values.get(query["rule"])
    for key in ("all", "any"):
        if key in node:
            entry["combinator"] = key
            entry["children"] = [_node(c, loc + (key, i), values, queries, doc, params) for i, c in enumerate(node[key])]
    if "not" in node:
        entry["combinator"] = "not"
        entry["children"] = [_node(node["not"], loc + ("not",), values, queries, doc, params)]
    if "field" in node:
        name = next(k for k in node if k not in ("field", "description"))
        op = lookup(name)
        path = parse_path(node["field"], ValueError)
        present, actual = _lookup(doc, path)
        entry.update(field=node["field"], operator=op.name if op else name, present=present, actual=actual)
        expected = node[name]
        if isinstance(expected, dict) and set(expected) == {"param"}:
            expected = params.get(expected["param"], expected)
        entry["expected"] = describe(expected, params) if op and op.name in QUANTIFIERS else expected
        if query and "items" in query:
            items = values.get(query["items"])
            entry["items"] = None if items is None else [{"index": i, "holds": v} for i, v in enumerate(items)]
        if node.get("description"):
            entry["description"] = node["description"]
    return entry


def _lookup(doc: Any, path: list) -> tuple[bool, Any]:
    """``(present, value)`` of the field at ``path``."""
    node = doc
    for part in path:
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if not (in_dict or in_list):
            return False, None
        node = node[part]
    return True, node


def _read_paths(policy) -> list[list]:
    """The input paths a policy reads: YAML field paths (top level), or ``input.x.y`` refs in Rego."""
    found: list[list] = []
    if policy.language == "yaml":
        def walk(node):
            if isinstance(node, dict):
                if isinstance(node.get("field"), str) and node["field"]:
                    found.append(parse_path(node["field"], ValueError))
                for key in ("all", "any"):
                    for child in node.get(key) or []:
                        walk(child)
                if "not" in node:
                    walk(node["not"])

        for section in ("when", "assert"):
            walk(policy.definition.get(section))
    else:
        from engine.policy.rego import _strip

        for text in policy.modules.values():
            for match in _INPUT_REF.finditer(_strip(text)):
                found.append(match.group(1).lstrip(".").split("."))
    unique: list[list] = []
    for path in found:
        if path not in unique and not any(path[: len(p)] == p and p != path for p in found if len(p) < len(path)):
            unique.append(path)
    return unique


# -- text ----------------------------------------------------------------------------------
def _value(value: Any, present: bool = True) -> str:
    if not present:
        return "(absent)"
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."


def _mark(holds: Any) -> str:
    return {True: "[ok]    ", False: "[FAILED]"}.get(holds, "[?]     ")


def render_text(result: dict) -> str:
    p, s = result["policy"], result["subject"]
    source = s.get("source") or {}
    where = f"  ({source.get('file')}:{source.get('line')})" if source.get("file") else ""
    lines = [f"Policy   {p['id']} ({p['language']}, {p['severity']}): {p['title']}",
             f"         source {p['source']['file']}:{p['source']['line']}",
             f"Subject  {s['kind']} {s['id']}{where}",
             f"Verdict  {result['status'].upper()}", ""]
    for finding in result["findings"]:
        if finding["status"] != "pass":
            lines.append(f"  {finding['status'].upper():<5} {finding['message']}")
    if result["conditions"]:
        lines.append("")
        for cond in result["conditions"]:
            title = "Applies when" if cond.get("section") == "when" else "Must hold"
            lines.append(f"{title}:")
            _render_condition(cond, lines, 1)
    if result.get("conditions_error"):
        lines.append(f"Conditions could not be evaluated: {result['conditions_error']}")
    if result["reads"] and not result["conditions"]:
        lines += ["", "Input values the policy reads:"]
        for read in result["reads"]:
            lines.append(f"  input.{read['path']} = {_value(read['value'], read['present'])}")
    if result["lineage"]:
        lines += ["", "Lineage (tagged sources that reach this subject):"]
        for src in result["lineage"]:
            lines.append(f"  {src['tag']}: {' -> '.join(src['path']) or src['source']}")
    if p.get("frameworks"):
        lines += ["", f"Frameworks:  {'; '.join(p['frameworks'])}"]
    if p.get("remediation") and result["status"] in ("fail", "warn", "error"):
        lines.append(f"Remediation: {p['remediation'].strip()}")
    return "\n".join(lines).rstrip() + "\n"


def _render_condition(cond: dict, lines: list[str], depth: int) -> None:
    pad = "  " * depth
    if "combinator" in cond:
        label = {"all": "all of:", "any": "any of:", "not": "not:"}[cond["combinator"]]
        lines.append(f"{pad}{_mark(cond.get('holds'))} {label}")
        for child in cond["children"]:
            _render_condition(child, lines, depth + 1)
        return
    text = f"{pad}{_mark(cond.get('holds'))} {cond['field']} {cond['operator']} "
    expected = cond["expected"]
    text += expected if isinstance(expected, str) and cond["operator"] in QUANTIFIERS else json.dumps(expected)
    lines.append(text)
    lines.append(f"{pad}           actual: {_value(cond['actual'], cond['present'])}")
    if cond.get("items"):
        failing = [i["index"] for i in cond["items"] if not i["holds"]]
        matching = [i["index"] for i in cond["items"] if i["holds"]]
        lines.append(f"{pad}           items that satisfy it: {matching or 'none'}; that do not: {failing or 'none'}")
