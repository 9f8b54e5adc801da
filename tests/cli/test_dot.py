"""The DOT export's labels: a real line break between the node and its tags, names escaped."""

from __future__ import annotations

import re

from engine.lineage.export import render
from engine.lineage.graph import LineageGraph


def _dot_strings(text: str) -> list[str]:
    """The label values of a DOT file, unescaped as Graphviz reads them (an independent reading)."""
    out = []
    for raw in re.findall(r'label="((?:[^"\\]|\\.)*)"', text):
        out.append(re.sub(r"\\(.)", lambda m: {"n": "\n", '"': '"', "\\": "\\"}.get(m.group(1), m.group(1)), raw))
    return out


def test_dot_labels_break_lines_and_escape_names():
    lg = LineageGraph()
    lg.add_table('raw."odd\\name"')
    lg.add_table("raw.customers")
    lg.tag("raw.customers", ["pii"])
    lg.add_edge("raw.customers", 'raw."odd\\name"', "opaque")
    labels = _dot_strings(render(lg, "dot", level="table"))
    assert "raw.customers\n[pii]" in labels
    assert 'raw."odd\\name"\n[pii]' in labels  # quotes and backslashes kept, tags received downstream
    assert not any("\\n[" in label for label in labels)  # no literal backslash-n before the tags
