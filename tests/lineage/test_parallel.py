"""SQL files analysed in parallel workers give the graph a sequential build gives, even when a
file reads a table an earlier file (in another worker's run) created."""

from __future__ import annotations

import json
import random
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


def dependent_files(seed: int, files: int, *, stars: bool) -> dict[str, str]:
    """SQL files whose statements read tables the files before them create and redefine: CREATE with
    a column list, CREATE AS with named projections, views, INSERT ... SELECT * (expanded through
    the schema the earlier files made), joins with unqualified columns (resolved through it),
    renames, a temporary table, ``USE`` and a syntax error. ``stars``: some tables are also created
    by ``SELECT *``, whose columns only the analysis knows."""
    rng = random.Random(seed)
    known = {"s.base": ["id", "a", "b"]}  # the configured schema
    pool = [f"c{k}" for k in range(12)]
    out: dict[str, str] = {}
    for f in range(files):
        lines = ["USE SCHEMA s;"] if f % 7 == 3 else []
        for _ in range(rng.randint(2, 5)):
            target = f"s.t{rng.randrange(10)}"
            source = rng.choice(sorted(known))
            columns = known[source]
            r = rng.random()
            if r < 0.2 or target == source:
                new = ["id", *rng.sample(pool, rng.randint(1, 4))]
                lines.append(f"CREATE OR REPLACE TABLE {target} ({', '.join(c + ' INT' for c in new)});")
                known[target] = new
            elif r < 0.4:
                picks = rng.sample(columns, min(len(columns), rng.randint(1, 4)))
                new = list(dict.fromkeys(["id", *(f"{c}_{f}" for c in picks)]))
                projections = ", ".join(["id" if "id" in columns else "1 AS id",
                                         *(f"{c} + 1 AS {c}_{f}" for c in picks)])
                lines.append(f"CREATE OR REPLACE TABLE {target} AS SELECT {projections} FROM {source};")
                known[target] = new
            elif r < 0.5:
                kind = "VIEW" if stars else "TABLE"
                select = "*" if stars else ", ".join(columns)
                lines.append(f"CREATE OR REPLACE {kind} {target} AS SELECT {select} FROM {source} WHERE 1 = 1;")
                known[target] = list(columns)
            elif r < 0.7 and target in known:
                lines.append(f"INSERT INTO {target} SELECT * FROM {source};")
            elif r < 0.85 and target in known and len(known) > 1:
                other = rng.choice(sorted(set(known) - {source}))
                mine = [c for c in columns if c not in known[other] and c != "id"]
                theirs = [c for c in known[other] if c not in columns and c != "id"]
                if mine and theirs and target in known:  # unqualified: only the schema says whose column
                    lines.append(f"INSERT INTO {target} (id) SELECT {mine[0]} + {theirs[0]} FROM {source} AS x "
                                 f"JOIN {other} AS y ON x.id = y.id;")
            elif r < 0.9 and target in known and target != "s.t0":
                renamed = f"{target}_r{f}"
                lines.append(f"ALTER TABLE {target} RENAME TO {renamed};")
                known[renamed] = known.pop(target)
            else:
                lines.append(f"CREATE TEMPORARY TABLE tmp{f} AS SELECT id FROM {source};\n"
                             f"INSERT INTO s.sink{f % 3} SELECT id FROM tmp{f};")
                known.setdefault(f"s.sink{f % 3}", ["id"])
        if f == files // 2:
            lines.append("SELECT FROM WHERE;")  # a syntax error: a problem, with its line, either way
        out[f"sql/{f:03d}.sql"] = "\n".join(lines) + "\n"
    return out


def accounting(lg) -> list[tuple]:
    return [(s["statements"], s["analysed"] + s["classified"] + s["reported"]) for s in lg.sources]


CONFIG = ("lineage:\n  dialect: snowflake\n  schema: {s.base: [id, a, b]}\n"
          "  sources:\n    - {type: sql, path: sql/*.sql}\n")


@pytest.mark.parametrize(("seed", "kept"), [(1, 12_000_000), (2, 12_000_000), (3, 0)])
def test_files_reading_what_earlier_files_create_give_the_sequential_graph(project, monkeypatch, seed, kept):
    monkeypatch.setattr(engine.lineage, "PARSED_KEPT", kept)  # 0: the workers parse each file again
    root = project(dependent_files(seed, 40, stars=True), config=CONFIG)
    seq_inv, seq = build(root, 1)
    par_inv, par = build(root, 2)
    assert graph_text(par) == graph_text(seq)  # nodes with their columns, edges with file and line
    assert problems(par_inv) == problems(seq_inv) != []
    assert accounting(par) == accounting(seq)
    assert all(total == counted for total, counted in accounting(par))
    assert seq.statements > 100
    assert par.parallel_stats["taken"] > 0


def test_later_blocks_start_from_the_tables_earlier_blocks_create(project):
    """Every table's columns are written out: the guesses the workers share are right, so no
    result of a later block reads a stale table (without them most would be analysed again)."""
    root = project(dependent_files(4, 40, stars=False), config=CONFIG)
    seq_inv, seq = build(root, 1)
    par_inv, par = build(root, 2)
    assert par.parallel_stats == {"taken": 40, "analysed_again": 0}
    assert graph_text(par) == graph_text(seq)
    assert problems(par_inv) == problems(seq_inv)
    assert accounting(par) == accounting(seq)


def test_a_file_that_reads_its_own_temporary_table_after_use_is_a_cache_hit(project):
    """``deps`` holds only what the file read from before it: its own temporary table is not a
    dependency, or neither the cache nor a worker's result would ever be taken for the file."""
    files = {"sql/a.sql": "USE SCHEMA s;\nCREATE TEMPORARY TABLE tmp AS SELECT id FROM s.base;\n"
                          "INSERT INTO s.out SELECT id FROM tmp;\n"}
    root = project(files, config=CONFIG)
    for _ in range(2):
        lg = build_inventory(load_config(root, overrides=["engine.workers=1"]), now=NOW).lineage
    assert lg.cache_stats == {"hits": 1, "misses": 0}
    assert ("s.base.id", "s.out.id") in lg.g.edges


def test_a_worker_that_fails_leaves_the_ordered_build_to_the_main_process(project, monkeypatch, capfd):
    def broken(*args):
        raise RuntimeError("a worker's bug")

    root = project(dependent_files(5, 20, stars=True), config=CONFIG)
    seq_inv, seq = build(root, 1)
    monkeypatch.setattr(engine.lineage, "_speculate_block_run", broken)
    par_inv, par = build(root, 2)
    assert par.parallel_stats == {"taken": 0, "analysed_again": 0}
    assert graph_text(par) == graph_text(seq)
    assert problems(par_inv) == problems(seq_inv)
    assert "Traceback" not in capfd.readouterr().err


def test_an_unqualified_name_an_earlier_file_made_ambiguous_is_analysed_again(project):
    """``customers`` is ``raw.customers`` until a file creates ``staging.customers`` (by a query no
    guess can read); a later block's worker, which does not know that table, resolves the name
    differently, and ``deps`` says so."""
    files = {f"sql/{k:02d}.sql": f"CREATE TABLE out.t{k:02d} AS SELECT id, email FROM raw.customers;\n"
             for k in range(24)}
    files["sql/03.sql"] = "CREATE TABLE staging.customers AS SELECT *, 1 AS x FROM raw.customers;\n"
    files["sql/20.sql"] = "CREATE TABLE out.t20 AS SELECT id FROM customers;\n"
    files["sql/21.sql"] = "INSERT INTO out.t21 (id) SELECT c.id FROM customers AS c;\n"
    config = ("lineage:\n  dialect: snowflake\n  schema: {raw.customers: [id, email]}\n"
              "  sources:\n    - {type: sql, path: sql/*.sql}\n")
    root = project(files, config=config)
    _, seq = build(root, 1)
    _, par = build(root, 2)
    assert par.parallel_stats["analysed_again"] > 0
    assert graph_text(par) == graph_text(seq)


def test_a_cached_file_whose_unqualified_name_became_ambiguous_is_analysed_again(project):
    config = ("lineage:\n  dialect: snowflake\n  schema: {raw.customers: [id, email]}\n"
              "  sources:\n    - {type: sql, path: sql/*.sql}\n")
    root = project({"sql/b.sql": "CREATE TABLE out.t AS SELECT id FROM customers;\n"}, config=config)
    build_inventory(load_config(root, overrides=["engine.workers=1"]), now=NOW)  # fills the cache
    (root / "sql/a.sql").write_text("CREATE TABLE staging.customers (id INT, x INT);\n")
    warm = build_inventory(load_config(root, overrides=["engine.workers=1"]), now=NOW).lineage
    _, cold = build(root, 1)
    assert warm.cache_stats == {"hits": 0, "misses": 2}
    assert graph_text(warm) == graph_text(cold)


def test_a_parallel_build_between_cached_files_is_the_cold_graph(project, monkeypatch):
    """Files the cache holds and files it lacks alternate: the workers start from the tables the
    cached ones made, and the graph is the cold sequential one."""
    root = project(dependent_files(6, 40, stars=True), config=CONFIG)
    build_inventory(load_config(root, overrides=["engine.workers=1"]), now=NOW)  # fills the cache
    for k in range(0, 40, 2):
        path = root / f"sql/{k:03d}.sql"
        path.write_text(path.read_text() + "-- edited\n")
    warm = build_inventory(load_config(root, overrides=["engine.workers=2"]), now=NOW).lineage
    _, cold = build(root, 1)
    assert warm.cache_stats["hits"] > 0 and warm.parallel_stats["taken"] > 0
    assert graph_text(warm) == graph_text(cold)
