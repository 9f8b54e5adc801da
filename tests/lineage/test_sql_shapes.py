"""The SQL shapes warehouses really run (issue 12), each against hand-written expected lineage."""

from __future__ import annotations

import pytest

from tests.lineage.corpus import FIXTURES, check, load, run

CASES = load(FIXTURES / "shapes.yaml")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["name"])
def test_shape(case):
    check(case, run(case))
