"""Builtins regorus lacks that governance policies use, supplied through ``Engine.add_extension``.

Each follows OPA's documented behaviour (https://www.openpolicyagent.org/docs/policy-reference),
checked against OPA's own conformance cases (tests/core/test_extensions.py) and, where it is
installed, a real OPA. An extension raises on input OPA rejects; regorus turns that into an
evaluation error, so the finding is ``error``, never a guess. Sets come back as Python sets
(regorus turns them into Rego sets), pairs as tuples (arrays).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
from collections.abc import Callable
from typing import Any


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name}: operand must be a string, got {type(value).__name__}")
    return value


# -- crypto: digests and HMACs, hex-encoded as OPA returns them ---------------------------------
def _digest(algorithm: str) -> Callable[[Any], str]:
    def digest(value):
        return hashlib.new(algorithm, _text(value, f"crypto.{algorithm}").encode()).hexdigest()

    return digest


def _hmac(algorithm: str) -> Callable[[Any, Any], str]:
    def mac(message, key):
        name = f"crypto.hmac.{algorithm}"
        return hmac.new(_text(key, name).encode(), _text(message, name).encode(), algorithm).hexdigest()

    return mac


def hmac_equal(mac1, mac2) -> bool:
    return hmac.compare_digest(_text(mac1, "crypto.hmac.equal").encode(), _text(mac2, "crypto.hmac.equal").encode())


# -- net: CIDRs with ipaddress --------------------------------------------------------------
def _network(value: Any, name: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    text = _text(value, name)
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise ValueError(f"{name}: invalid CIDR or IP {text!r}") from None


def cidr_intersects(a, b) -> bool:
    first, second = _network(a, "net.cidr_intersects"), _network(b, "net.cidr_intersects")
    return first.version == second.version and first.overlaps(second)


def _merge_item(value: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    text = _text(value, "net.cidr_merge")
    try:
        if "/" in text:
            return ipaddress.ip_network(text, strict=False)
        address = ipaddress.ip_address(text)
    except ValueError:
        raise ValueError(f"net.cidr_merge: invalid CIDR or IP {text!r}") from None
    if address.version == 6:  # as OPA: an IPv6 address needs its prefix length
        raise ValueError("net.cidr_merge: IPv6 invalid: needs prefix length")
    # an IPv4 address takes its classful default mask, as OPA (Go's IP.DefaultMask): A /8, B /16, C /24
    first = int(address) >> 24
    if first >= 224:
        raise ValueError(f"net.cidr_merge: {text} has no default mask (class D or E)")
    prefix = 8 if first < 128 else 16 if first < 192 else 24
    return ipaddress.ip_network(f"{text}/{prefix}", strict=False)


def cidr_merge(addresses) -> set[str]:
    if not isinstance(addresses, list | set | tuple):
        raise TypeError("net.cidr_merge: operand must be an array or a set of strings")
    networks = [_merge_item(a) for a in addresses]
    out: set[str] = set()
    for version in (4, 6):
        same = [n for n in networks if n.version == version]
        out.update(str(n) for n in ipaddress.collapse_addresses(same))
    return out


def _contains_terms(value: Any, name: str) -> list[tuple[Any, str]]:
    """(key, CIDR or IP) pairs of a string, an array, a set or an object (OPA's argument forms)."""
    if isinstance(value, str):
        return [(value, value)]
    if isinstance(value, list):
        return [(i, _first(v, name)) for i, v in enumerate(value)]
    if isinstance(value, set | frozenset):
        return [(tuple(v) if isinstance(v, list) else v, _first(v, name)) for v in value]
    if isinstance(value, dict):
        return [(k, _first(v, name)) for k, v in value.items()]
    raise TypeError(f"{name}: operand must be a string, array, set or object")


def _first(value: Any, name: str) -> str:
    if isinstance(value, list | tuple):
        if not value:
            raise ValueError(f"{name}: element must be string or non-empty array")
        value = value[0]
    return _text(value, name)


def cidr_contains_matches(cidrs, cidrs_or_ips) -> set[tuple]:
    name = "net.cidr_contains_matches"
    outer = [(k, _network(v, name)) for k, v in _contains_terms(cidrs, name)]
    inner = [(k, _network(v, name)) for k, v in _contains_terms(cidrs_or_ips, name)]
    return {(k1, k2) for k1, n1 in outer for k2, n2 in inner
            if n1.version == n2.version and n2.subnet_of(n1)}  # type: ignore[arg-type]


# -- regex.globs_match: do two glob-like patterns share a string? (greenery: regex → FSM) ----
def globs_match(glob1, glob2) -> bool:
    from greenery import parse

    first = parse(_text(glob1, "regex.globs_match")).to_fsm()  # greenery matches whole strings, as OPA
    second = parse(_text(glob2, "regex.globs_match")).to_fsm()
    return not (first & second).empty()


# -- strings.render_template: Go text/template's common subset -----------------------------
_ACTION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}", re.DOTALL)


def render_template(template, variables) -> str:
    text = _text(template, "strings.render_template")
    if not isinstance(variables, dict):
        raise TypeError("strings.render_template: vars must be an object")
    tokens: list[tuple[str, str]] = []
    last = 0
    for match in _ACTION.finditer(text):
        tokens.append(("text", text[last : match.start()]))
        tokens.append(("action", match.group(1)))
        last = match.end()
    tokens.append(("text", text[last:]))
    out, rest = _render(tokens, 0, variables, {"$": variables})
    if rest != len(tokens):
        raise ValueError("strings.render_template: unexpected {{end}}")
    return out


def _render(tokens, i, dot, scope) -> tuple[str, int]:
    out = []
    while i < len(tokens):
        kind, value = tokens[i]
        if kind == "text":
            out.append(value)
            i += 1
            continue
        words = value.split()
        if not words:
            raise ValueError("strings.render_template: empty action")
        if words[0] in ("end", "else"):
            return "".join(out), i
        if words[0] == "range":
            binding, expr = _range_head(value[5:].strip())
            body_start = i + 1
            collection = _lookup(expr, dot, scope)
            items = list(collection.items()) if isinstance(collection, dict) else list(enumerate(collection or []))
            end = _skip(tokens, body_start)
            for key, item in items:
                inner = dict(scope)
                if binding:
                    if len(binding) == 2:
                        inner[binding[0]], inner[binding[1]] = key, item
                    else:
                        inner[binding[0]] = item
                text, _ = _render(tokens, body_start, item, inner)
                out.append(text)
            i = end + 1
            continue
        if words[0] == "if":
            cond = _lookup(value[2:].strip(), dot, scope)
            then_text, stop = _render(tokens, i + 1, dot, scope)
            else_text = ""
            if tokens[stop][1].split()[0] == "else":
                else_text, stop = _render(tokens, stop + 1, dot, scope)
            truthy = cond is not UNDEFINED and cond not in (None, False, 0, "", [], {})
            out.append(then_text if truthy else else_text)
            i = stop + 1
            continue
        out.append(_show(_lookup(value, dot, scope)))
        i += 1
    return "".join(out), i


def _range_head(head: str) -> tuple[list[str], str]:
    if ":=" in head:
        names, expr = head.split(":=", 1)
        return [n.strip() for n in names.split(",")], expr.strip()
    return [], head


def _skip(tokens, i) -> int:
    """Index of the {{end}} closing the block that starts at ``i``."""
    depth = 0
    while i < len(tokens):
        kind, value = tokens[i]
        if kind == "action" and value.split():
            word = value.split()[0]
            if word in ("range", "if", "with"):
                depth += 1
            elif word == "end":
                if depth == 0:
                    return i
                depth -= 1
        i += 1
    raise ValueError("strings.render_template: missing {{end}}")


def _lookup(expr: str, dot, scope):
    if expr == ".":
        return dot
    if expr.startswith("$"):
        name, _, rest = expr.partition(".")
        if name not in scope:
            raise ValueError(f"strings.render_template: undefined variable {name}")
        value = scope[name]
        path = rest.split(".") if rest else []
    elif expr.startswith("."):
        value, path = dot, expr[1:].split(".")
    else:
        raise ValueError(f"strings.render_template: unsupported action {{{{{expr}}}}}")
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return UNDEFINED  # OPA renders a missing key as <undefined>
        value = value[key]
    return value


UNDEFINED = type("Undefined", (), {"__repr__": lambda self: "<undefined>", "__str__": lambda self: "<undefined>"})()


def _show(value) -> str:
    """Go's %v for JSON values."""
    if value is None:
        return "<nil>"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple):
        return "[" + " ".join(_show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_show(v)}" for k, v in sorted(value.items())) + "]"
    return str(value)


EXTENSIONS: dict[str, tuple[int, Callable[..., Any]]] = {
    "crypto.md5": (1, _digest("md5")),
    "crypto.sha1": (1, _digest("sha1")),
    "crypto.sha256": (1, _digest("sha256")),
    "crypto.hmac.md5": (2, _hmac("md5")),
    "crypto.hmac.sha1": (2, _hmac("sha1")),
    "crypto.hmac.sha256": (2, _hmac("sha256")),
    "crypto.hmac.sha512": (2, _hmac("sha512")),
    "crypto.hmac.equal": (2, hmac_equal),
    "net.cidr_intersects": (2, cidr_intersects),
    "net.cidr_merge": (1, cidr_merge),
    "net.cidr_contains_matches": (2, cidr_contains_matches),
    "regex.globs_match": (2, globs_match),
    "strings.render_template": (2, render_template),
}


def install(engine) -> None:
    """Add every extension to a ``regorus.Engine``."""
    for name, (arity, function) in EXTENSIONS.items():
        engine.add_extension(name, arity, function)
