"""Every case of every ``*_test.yaml`` in the built-in packs, through the real evaluation path."""

import pytest

from .runner import cases, check

CASES = cases()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case):
    check(case)
