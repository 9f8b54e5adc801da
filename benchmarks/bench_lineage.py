"""Lineage benchmark: SQL statements per second to a column graph (cold and warm), peak memory,
and tag propagation over a 1,000,000-edge graph. Prints figures; not a test.

    python benchmarks/bench_lineage.py [--statements 10000] [--tables 2000] [--edges 1000000] [--dir DIR]
                                       [--compare 200]

Each build runs in a fresh process (so peak RSS is that build's own): ``cold`` with an empty cache,
``warm`` with the cache of the cold run, ``one-changed`` after editing one SQL file; ``--sequential``
adds a cold build in one process. Each prints wall time, CPU time (user + sys of the build and its
workers) and the load average: on a shared machine the CPU time is the comparable figure. ``--compare N``
also times ``sqlglot.lineage.lineage(None, ...)`` per statement on the first N queries, against the
scope walk Gavel uses (same edges: tests/lineage/test_sql_equivalence.py).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_s() -> float:
    """User + system CPU time of this process and its finished children (the build's workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def phase_build(project: str, workers: int = 0) -> dict:
    """One lineage build of ``project`` (run in its own process; ``workers`` 0: one per core)."""
    from engine.config import load_config
    from engine.inventory import Inventory
    from engine.lineage import build_graph

    t0 = time.perf_counter()
    config = load_config(project, overrides=[f"engine.workers={workers}"])
    inv = Inventory(root=config.root)
    t1, cpu1 = time.perf_counter(), _cpu_s()
    lg = build_graph(config, inv)
    t2, cpu2 = time.perf_counter(), _cpu_s()
    lg.propagation  # noqa: B018 - tags of every node
    t3 = time.perf_counter()
    stats = lg.stats()
    column_edges = sum(v for k, v in stats["edges"].items() if k in ("direct", "expression", "aggregate", "masked"))
    return {"config_s": round(t1 - t0, 2), "build_s": round(t2 - t1, 2), "build_cpu_s": round(cpu2 - cpu1, 2),
            "tags_s": round(t3 - t2, 2), "load": _load(), "workers_peak_rss_mb": round(
                resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
            "statements": lg.statements, "column_edges": column_edges, "nodes": stats["nodes"],
            "problems": len(inv.problems), "unresolved": len(lg.unresolved), "cache": lg.cache_stats,
            "parallel": getattr(lg, "parallel_stats", None),
            "peak_rss_mb": round(_peak_mb())}


def phase_propagation(edges: int, seed: int = 11) -> dict:
    """Tag propagation over a synthetic graph of ``edges`` column edges: one pass over all nodes
    (Gavel's work list) against per-sink ``nx.ancestors`` for 1,000 sinks."""
    import networkx as nx

    from engine.lineage.graph import LineageGraph
    from engine.lineage.tags import Propagation, Rules

    rng = random.Random(seed)
    lg = LineageGraph()
    tables = max(10, edges // 120)
    cols_per_table = 25
    layers = 8
    per_layer = tables // layers
    columns = [[f"l{t // per_layer}.t{t}.c{c}" for c in range(cols_per_table)] for t in range(tables)]
    t0 = time.perf_counter()
    for t in range(tables):
        for c in range(cols_per_table):
            lg.add_column(f"l{t // per_layer}.t{t}", f"c{c}")
    kinds = ("direct", "direct", "expression", "expression", "aggregate", "masked")
    added = 0
    while added < edges:
        dst_t = rng.randrange(per_layer, tables)
        layer = dst_t // per_layer
        src_t = rng.randrange(0, layer * per_layer) if rng.random() > 0.01 else rng.randrange(0, tables)  # 1% back edges
        src = columns[src_t][rng.randrange(cols_per_table)]
        dst = columns[dst_t][rng.randrange(cols_per_table)]
        if src != dst and not lg.g.has_edge(src, dst):
            lg.g.add_edge(src, dst, kind=rng.choice(kinds), count=1)
            added += 1
    for t in rng.sample(range(per_layer), max(1, per_layer // 10)):
        lg.tag(columns[t][rng.randrange(cols_per_table)], ["pii"])
        lg.tag(f"l0.t{t}", ["region:eu"])
        lg.dataset_tags[f"l0.t{t}"] = {"region:eu"}
    t1 = time.perf_counter()
    rules = Rules({"pii": ["masked"]})
    p = Propagation(lg, rules)
    t2 = time.perf_counter()
    tagged = sum(1 for tags in p.tags.values() if tags)
    sinks = [n for n in lg.g.nodes if lg.g.out_degree(n) == 0 and lg.g.nodes[n]["type"] == "column"]
    sample = sinks[:1000]
    declared = p.declared
    t3 = time.perf_counter()
    for sink in sample:
        found = set()
        for a in nx.ancestors(lg.g, sink):
            found |= declared.get(a, frozenset())
    t4 = time.perf_counter()
    return {"edges": lg.g.number_of_edges(), "nodes": lg.g.number_of_nodes(), "build_graph_s": round(t1 - t0, 2),
            "one_pass_all_nodes_s": round(t2 - t1, 2), "tagged_nodes": tagged,
            "per_sink_ancestors_s": round(t4 - t3, 2), "per_sink_sinks": len(sample), "all_sinks": len(sinks),
            "peak_rss_mb": round(_peak_mb())}


def phase_compare(project: str, count: int) -> dict:
    """sqlglot's lineage(None, ...) per statement against Gavel's scope walk, on ``count`` queries."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.lineage import lineage
    from sqlglot.optimizer.qualify import qualify
    from sqlglot.optimizer.scope import build_scope

    from engine.config import load_config
    from engine.lineage.sql import Walker, _Schema, analysis_dialect

    config = load_config(project)
    schema = {}
    for table, cols in config.lineage["schema"].items():
        db, name = table.split(".")
        schema.setdefault(db, {})[name] = dict.fromkeys(cols, "unknown")
    queries = []
    for path in sorted((Path(project) / "sql").glob("*.sql")):
        for e in sqlglot.parse(path.read_text(), read="snowflake"):
            q = e.expression if isinstance(e, exp.Insert | exp.Create) else None
            if isinstance(q, exp.Query):
                queries.append(q.sql("snowflake"))
            if len(queries) >= count:
                break
        if len(queries) >= count:
            break
    from sqlglot.schema import MappingSchema

    prebuilt = MappingSchema(schema, dialect="snowflake")  # built once, as Gavel's is
    t0 = time.perf_counter()
    for q in queries:
        lineage(None, q, prebuilt, dialect="snowflake", trim_selects=False)
    t1 = time.perf_counter()
    dialect = analysis_dialect("snowflake")
    mapping = _Schema(schema, dialect=dialect)
    for q in queries:
        expression = sqlglot.parse_one(q, read="snowflake")
        qualified = qualify(expression, dialect=dialect, schema=mapping, validate_qualify_columns=False,
                            identify=False, quote_identifiers=False)
        root = build_scope(qualified)
        walker = Walker()
        for i in range(len(qualified.selects)):
            walker.trace(root, i)
    t2 = time.perf_counter()
    return {"queries": len(queries), "sqlglot_lineage_s": round(t1 - t0, 2), "gavel_walk_s": round(t2 - t1, 2)}


def _child(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description="Gavel lineage benchmark")
    parser.add_argument("--statements", type=int, default=10000)
    parser.add_argument("--tables", type=int, default=2000)
    parser.add_argument("--edges", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, help="Where to generate the warehouse (default: a temp dir).")
    parser.add_argument("--compare", type=int, default=0, help="Also time sqlglot's lineage() on N queries.")
    parser.add_argument("--workers", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--sequential", action="store_true", help="Also time a cold build with one process.")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--project", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "build":
        print(json.dumps(phase_build(args.project, args.workers)))
        return
    if args.phase == "propagation":
        print(json.dumps(phase_propagation(args.edges)))
        return
    if args.phase == "compare":
        print(json.dumps(phase_compare(args.project, args.compare)))
        return

    from gen_warehouse import generate

    work = args.dir or Path(tempfile.mkdtemp(prefix="gavel-bench-"))
    t0 = time.perf_counter()
    info = generate(work, tables=args.tables, statements=args.statements)
    print(f"warehouse: {info['tables']} tables, {info['statements']} statements in {info['files']} files "
          f"({time.perf_counter() - t0:.1f} s to generate) at {work}")
    shutil.rmtree(work / ".gavel", ignore_errors=True)
    cold = _child("--phase", "build", "--project", str(work))
    rate = cold["statements"] / cold["build_s"]
    print(f"cold:  {cold['statements']} statements -> {cold['column_edges']} column edges in {cold['build_s']} s wall, "
          f"{cold['build_cpu_s']} s CPU (user + sys, workers included) ({rate:.0f} statements/s); config "
          f"{cold['config_s']} s; tags {cold['tags_s']} s; peak RSS {cold['peak_rss_mb']} MB main process, "
          f"{cold['workers_peak_rss_mb']} MB largest worker; problems {cold['problems']}, unresolved "
          f"{cold['unresolved']}; parallel workers' results {cold['parallel']}; {os.cpu_count()} cores, load "
          f"average {cold['load']}")
    if args.sequential:
        shutil.rmtree(work / ".gavel", ignore_errors=True)
        one = _child("--phase", "build", "--project", str(work), "--workers", "1")
        print(f"cold, 1 process: {one['build_s']} s wall, {one['build_cpu_s']} s CPU (load average {one['load']}); "
              f"{one['column_edges']} column edges")
    warm = _child("--phase", "build", "--project", str(work))
    print(f"warm:  {warm['build_s']} s wall, {warm['build_cpu_s']} s CPU (cache {warm['cache']}); peak RSS "
          f"{warm['peak_rss_mb']} MB (load average {warm['load']})")
    first = sorted((work / "sql").glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited\n")
    changed = _child("--phase", "build", "--project", str(work))
    print(f"one file changed: {changed['build_s']} s wall, {changed['build_cpu_s']} s CPU (cache {changed['cache']}; "
          f"load average {changed['load']})")
    prop = _child("--phase", "propagation", "--edges", str(args.edges))
    print(f"tags:  one pass over all {prop['nodes']} nodes of a {prop['edges']}-edge graph: "
          f"{prop['one_pass_all_nodes_s']} s ({prop['tagged_nodes']} nodes tagged; graph built in "
          f"{prop['build_graph_s']} s; peak RSS {prop['peak_rss_mb']} MB); per-sink nx.ancestors for "
          f"{prop['per_sink_sinks']} of {prop['all_sinks']} sinks: {prop['per_sink_ancestors_s']} s")
    if args.compare:
        cmp = _child("--phase", "compare", "--project", str(work), "--compare", str(args.compare))
        print(f"compare on {cmp['queries']} queries (parse + qualify + lineage): sqlglot lineage(None, ...) "
              f"{cmp['sqlglot_lineage_s']} s, Gavel's scope walk {cmp['gavel_walk_s']} s")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
