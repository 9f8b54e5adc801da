"""Loader and scoring of the hand-written lineage corpora (tests/fixtures/lineage/shapes.yaml and
dialects/*.yaml): also used by benchmarks/lineage_accuracy.py."""

from __future__ import annotations

from pathlib import Path

import yaml

from engine.lineage.sql import Catalog, Options, analyze

FIXTURES = Path(__file__).parent.parent / "fixtures" / "lineage"


def load(path: Path, only: str | None = None) -> list[dict]:
    """The cases of one corpus file, each with its ``dialect`` and ``schema`` filled in."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    cases = []
    for case in doc["cases"]:
        if only is None or only in case["name"]:
            cases.append({"dialect": doc.get("dialect"), **case,
                          "schema": {**(doc.get("schema") or {}), **(case.get("schema") or {})}})
    return cases


def run(case: dict):
    catalog = Catalog(case["dialect"])
    for table, columns in case["schema"].items():
        catalog.add(table, columns)
    return analyze(case["sql"], catalog, Options(dialect=case["dialect"]))


def edges(result, level: str) -> set[str]:
    out = set()
    for lvl, st, sc, dt, dc, kind, _ in result.edges:
        if lvl != level:
            continue
        if level == "c":
            out.add(f"{st}.{sc} -> {dt}.{dc} {kind}")
        elif level in ("t", "r"):
            out.add(f"{st} -> {dt} {kind}")
        else:
            out.add(f"{st}.{sc} -> {dt} {kind}")
    return out


def pairs(items) -> set[tuple[str, str]]:
    """Edges without their kind: what accuracy counts (a found flow is a found flow)."""
    return {tuple(item.rsplit(" ", 1)[0].split(" -> ")) for item in items}


def check(case: dict, result) -> None:
    """``result`` (an analysed case) against the case's hand-written expectations; every key but
    ``columns`` and ``tables`` is optional."""
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
    assert sum(result.counts.values()) == result.statements  # analysed + classified + reported = all
