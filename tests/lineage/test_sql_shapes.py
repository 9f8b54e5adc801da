"""The SQL shapes warehouses really run (issue 12), each against hand-written expected lineage."""

from __future__ import annotations

import pytest

from tests.lineage.corpus import FIXTURES, edges, load, run

CASES = load(FIXTURES / "shapes.yaml")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["name"])
def test_shape(case):
    result = run(case)
    assert result.problems == []
    assert edges(result, "c") == set(case["columns"])
    assert edges(result, "t") == set(case["tables"])
    if "indirect" in case:
        assert edges(result, "i") == set(case["indirect"])
    if "renames" in case:
        assert edges(result, "r") == set(case["renames"])
    if "unresolved" in case:
        assert len(result.unresolved) == case["unresolved"], result.unresolved
    if "counts" in case:
        assert result.counts == case["counts"], (result.counts, result.unresolved)
    if "reported_tables" in case:
        assert sorted({t for u in result.unresolved for t in u.get("tables", ())}) == case["reported_tables"]
    if "lines" in case:
        assert sorted({e[6] for e in result.edges}) == case["lines"]
    assert sum(result.counts.values()) == result.statements
