"""Hypothesis strategies for hostile files: mutations of a valid seed, and JSON data built from scratch.

Each mutation is something a careless or hostile author can write: a duplicated line (a duplicate
key), a value YAML or JSON allows but JSON data cannot hold (``.nan``, ``1e999``, a lone surrogate,
``on:`` as a key), deep nesting, aliases, exotic tags, invalid UTF-8, a byte-order mark, a
truncated file, very long lines, control characters.
"""

from __future__ import annotations

import json
import re

from hypothesis import strategies as st

# -- fragments ------------------------------------------------------------------------------------
NUMBERS = ["1e999", "-1e999", "1" + "0" * 400, "1" + "0" * 5000, "1.0e+300", "-0", "0x1F", "0o17", "1_000",
           "5e-324", "NaN", "Infinity", "-Infinity", "1.7976931348623157e308", "9" * 30]
YAML_SCALARS = [".nan", ".NaN", ".inf", "-.inf", "~", "null", "yes", "no", "on", "off", "y", "n", "2026-02-30",
                "2026-11-26T25:00:00Z", "12:30:45", '"\\ud800"', '"\\udfff"', '"\\U0010FFFF"', '"\\x00"', "!!binary aGk=",
                "!!set {a, b}", "!!omap [a: 1, a: 2]", "!!python/object/apply:os.system ['true']", "!!timestamp 2020-01-01",
                "!!float .nan", "!!int 1e3", "!!str", "&anchor value", "*anchor", "'unterminated", '"\\q"', "|", ">-",
                "{a: 1, a: 2}", "[1, [2, [3]]]", "'%s'" % ("x" * 10_000), "\t", "@reserved", "`tick", "%directive",
                *NUMBERS]
YAML_KEYS = ["on", "off", "yes", "no", "true", "null", "~", "1", "1.5", "? [a, b]", "<<", '"\\ud800"', "''", "-",
             "a b", "x-extension", "id", "kind", "dpia", "status", "gate", "expires", "approver", "epsilon", "edges",
             "evidence", "policies", "lineage", "privacy", "waivers", "assert", "when", "target", "severity"]
JSON_VALUES = [*NUMBERS, '"\\ud800"', '"\\udc00\\ud800"', '"\\u0000"', "true", "null", "[]", "{}", '{"a": 1, "a": 2}',
               '"' + "x" * 20_000 + '"', "[" * 70 + "]" * 70, "{" * 3 + "}" * 3]


def deep(depth: int, flow: bool) -> str:
    if flow:
        return "[" * depth + "]" * depth
    return "".join("  " * i + "k:\n" for i in range(depth)) + "  " * depth + "v: 1\n"


@st.composite
def mutation(draw, seed: str, *, json_like: bool) -> bytes:
    """``seed`` with one to three hostile edits, as the bytes written to disk."""
    text = seed
    for _ in range(draw(st.integers(1, 3))):
        lines = text.splitlines(keepends=True) or [""]
        at = draw(st.integers(0, len(lines)))
        kind = draw(st.sampled_from(["duplicate-line", "insert-key", "replace-value", "truncate", "deep", "json-value",
                                     "control", "long-line", "swap-lines", "delete-line", "second-doc"]))
        if kind == "duplicate-line" and lines[min(at, len(lines) - 1)].strip():
            line = lines[min(at, len(lines) - 1)]
            lines.insert(at, line if line.endswith("\n") else line + "\n")
        elif kind == "insert-key":
            indent = re.match(r"\s*", lines[min(at, len(lines) - 1)]).group()
            key, value = draw(st.sampled_from(YAML_KEYS)), draw(st.sampled_from(YAML_SCALARS))
            lines.insert(at, f'{indent}"{key}": {value},\n' if json_like else f"{indent}{key}: {value}\n")
        elif kind == "replace-value":
            line = lines[min(at, len(lines) - 1)]
            new = draw(st.sampled_from(JSON_VALUES if json_like else YAML_SCALARS))
            lines[min(at, len(lines) - 1)] = re.sub(r"(:\s*).*?(,?\s*)$", lambda m, new=new: m.group(1) + new + m.group(2),
                                                    line, count=1)
        elif kind == "truncate":
            text = "".join(lines)
            text = text[: draw(st.integers(0, len(text)))]
            continue
        elif kind == "deep":
            depth = draw(st.sampled_from([63, 64, 65, 100, 999, 1001, 3000]))
            lines.insert(at, f'"deep": {deep(depth, True)},\n' if json_like else
                         draw(st.sampled_from([f"deep: {deep(depth, True)}\n", "deep:\n" + deep(min(depth, 200), False)])))
        elif kind == "json-value":
            lines.insert(at, f'"x-fuzz": {draw(st.sampled_from(JSON_VALUES))},\n' if json_like else
                         f"x-fuzz: {draw(st.sampled_from(JSON_VALUES))}\n")
        elif kind == "control":
            char = draw(st.sampled_from(["\x00", "\x1b[31m", "\r", "\u2028", "\ufeff", "\x85", "\u202e"]))
            line = lines[min(at, len(lines) - 1)]
            cut = draw(st.integers(0, len(line)))
            lines[min(at, len(lines) - 1)] = line[:cut] + char + line[cut:]
        elif kind == "long-line":
            lines.insert(at, ("x-long: " if not json_like else '"x-long": ') + '"' + "a" * 300_000 + '"\n')
        elif kind == "swap-lines" and len(lines) > 1:
            other = draw(st.integers(0, len(lines) - 1))
            here = min(at, len(lines) - 1)
            lines[here], lines[other] = lines[other], lines[here]
        elif kind == "delete-line" and lines:
            del lines[min(at, len(lines) - 1)]
        elif kind == "second-doc":
            lines.insert(at, "---\n")
        text = "".join(lines)
    raw = text.encode("utf-8", "surrogatepass")
    ending = draw(st.sampled_from(["none", "none", "none", "bom", "bad-utf8", "crlf", "utf16"]))
    if ending == "bom":
        raw = b"\xef\xbb\xbf" + raw
    elif ending == "bad-utf8" and raw:
        cut = draw(st.integers(0, len(raw)))
        raw = raw[:cut] + b"\xff\xfe" + raw[cut:]
    elif ending == "crlf":
        raw = raw.replace(b"\n", b"\r\n")
    elif ending == "utf16":
        raw = text.encode("utf-16", "surrogatepass")
    return raw


# -- JSON data built from scratch ------------------------------------------------------------------
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20), st.sampled_from(["\ud800", "2026-11-26T00:00:00Z", "", " ", "approved", "high", "laplace"]),
)


def json_data(keys: list[str]):
    """Nested JSON-ish values whose keys come mostly from ``keys`` (so readers get past the top)."""
    key = st.one_of(st.sampled_from(keys), st.text(max_size=8))
    return st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                         st.dictionaries(key, inner, max_size=6)), max_leaves=25)


def dump_json(value) -> bytes:
    """JSON text, NaN and Infinity included (Python's json writes them), surrogates kept."""
    return json.dumps(value, allow_nan=True, ensure_ascii=False).encode("utf-8", "surrogatepass")
