"""SQL files analysed in parallel workers give the graph a sequential build gives, even when a
file reads a table an earlier file (in another worker's run) created."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import engine.lineage
from engine.config import load_config
from engine.inventory import build_inventory

NOW = "2026-11-26T00:00:00Z"
ROOT = Path(__file__).resolve().parents[2]


def build(root: Path, workers: int):
    config = load_config(root, overrides=[f"engine.workers={workers}", "lineage.cache=false"])
    inv = build_inventory(config, now=NOW)
    return inv, inv.lineage


def graph_text(lg) -> str:
    """The whole graph (nodes, edges and their attributes) as canonical JSON."""
    g = lg.g
    nodes = sorted([n, json.dumps(d, sort_keys=True, default=str)] for n, d in g.nodes(data=True))
    edges = sorted([u, v, json.dumps(d, sort_keys=True, default=str)] for u, v, d in g.edges(data=True))
    return json.dumps({"nodes": nodes, "edges": edges, "unresolved": lg.unresolved,
                       "statements": lg.statements}, default=str)


def problems(inv) -> list:
    return sorted(json.dumps(f.to_dict(), sort_keys=True) for f in inv.problems)


@pytest.fixture(autouse=True)
def small_threshold(monkeypatch):
    monkeypatch.setattr(engine.lineage, "PARALLEL_FROM", 2)


def test_a_generated_warehouse_in_parallel_is_the_sequential_graph(tmp_path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from gen_warehouse import generate

    generate(tmp_path, tables=60, statements=300, per_file=10)
    seq_inv, seq = build(tmp_path, 1)
    par_inv, par = build(tmp_path, 2)
    assert seq.parallel_stats == {"taken": 0, "analysed_again": 0}
    assert par.parallel_stats["taken"] > 0, "the workers' results were used"
    assert graph_text(par) == graph_text(seq)
    assert problems(par_inv) == problems(seq_inv)
    assert seq.statements == 300


def test_files_that_read_tables_made_by_earlier_files_are_analysed_again_in_order(project):
    files = {"sql/00.sql": "CREATE TABLE s.t00 (a INT, b INT);\n"}
    for k in range(1, 12):  # each file's SELECT * expands to the columns the file before created
        extra = f", a + b AS c{k}" if k % 3 == 0 else ""
        files[f"sql/{k:02d}.sql"] = f"CREATE TABLE s.t{k:02d} AS SELECT *{extra} FROM s.t{k - 1:02d};\n"
    files["sql/99.sql"] = "-- unparsable on purpose\nSELECT FROM WHERE;\n"
    root = project(files, config="lineage:\n  dialect: snowflake\n  sources:\n    - {type: sql, path: sql/*.sql}\n")
    seq_inv, seq = build(root, 1)
    par_inv, par = build(root, 2)
    assert par.parallel_stats["analysed_again"] > 0, "a speculative result that read a stale schema is not used"
    assert graph_text(par) == graph_text(seq)
    assert problems(par_inv) == problems(seq_inv) != []
    # the star expanded through the whole chain: the last table has every column, with edges
    assert ("s.t10.c9", "s.t11.c9") in seq.g.edges
    assert ("s.t10.a", "s.t11.a") in par.g.edges


def test_check_reports_are_identical_with_and_without_workers(gavel, tmp_path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from gen_warehouse import generate

    generate(tmp_path, tables=40, statements=200, per_file=10)
    outs = []
    for workers in (1, 2):
        out = tmp_path / f"r{workers}.json"
        result = gavel("check", tmp_path, "--now", NOW, "--no-cache", "--no-history", "--pack", "lineage", "-j", workers,
                       "-o", f"json={out}")
        assert result.exit_code in (0, 1), result.stderr
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]


def test_a_warm_build_after_editing_one_file_is_the_cold_graph(tmp_path):
    """The schema a file reads through an alias (``FROM t AS s``) follows tables that earlier
    files changed, whether those files were analysed in this process, replayed from the cache or
    analysed by a worker (sqlglot's lookup cache once kept the old columns)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from gen_warehouse import generate

    generate(tmp_path, tables=60, statements=300, per_file=10)
    config = load_config(tmp_path, overrides=["engine.workers=1"])
    build_inventory(config, now=NOW)  # fills the lineage cache
    edited = tmp_path / "sql/batch_015.sql"
    edited.write_text(edited.read_text() + "\n-- edited\n")
    warm = build_inventory(load_config(tmp_path, overrides=["engine.workers=1"]), now=NOW).lineage
    assert warm.cache_stats["hits"] > 0
    _, cold = build(tmp_path, 1)
    assert graph_text(warm) == graph_text(cold)


def test_independent_files_are_all_taken_from_the_workers(project):
    files = {f"sql/{k:02d}.sql": f"CREATE TABLE out.t{k:02d} AS SELECT a, b + {k} AS b FROM s.base;\n"
             for k in range(24)}
    config = ("lineage:\n  dialect: snowflake\n  schema: {s.base: [a, b]}\n"
              "  sources:\n    - {type: sql, path: sql/*.sql}\n")
    root = project(files, config=config)
    _, seq = build(root, 1)
    _, par = build(root, 2)
    assert par.parallel_stats == {"taken": 24, "analysed_again": 0}
    assert graph_text(par) == graph_text(seq)
    assert ("s.base.b", "out.t23.b") in par.g.edges
