"""Gavel's derived lineage facts agree exactly with the slow reference (tests/lineage/reference.py).

On hypothesis-generated graphs (DAGs and cyclic graphs; table, column, model and job nodes; every
edge kind; several tags on tables and columns; stop rules and indirect keys) and on graphs built
from generated SQL (CTEs, views, joins), for every node: its tags, its upstream and downstream,
its root sources, and every tagged source with a real, shortest path.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.config import load_config
from engine.inventory import build_inventory
from engine.lineage.facts import MAX_SOURCES_PER_TAG, facts
from engine.lineage.graph import INDIRECT_KINDS, VALUE_KINDS, LineageGraph
from engine.lineage.tags import Rules
from tests.lineage import reference as ref

TAGS = ["pii", "special_category", "region:eu", "confidential"]
STOP_KINDS = [*VALUE_KINDS, "join", "filter", "opaque", "training", "feature"]
#: Graphs per test: 400 keeps this file near 15 s; GAVEL_REFERENCE_EXAMPLES=5000 for a long run.
EXAMPLES = int(os.environ.get("GAVEL_REFERENCE_EXAMPLES", "400"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def graphs(draw, acyclic: bool = False) -> LineageGraph:
    """A random lineage graph; with ``acyclic``, every data edge goes from a lower to a higher table."""
    lg = LineageGraph()
    n_tables = draw(st.integers(1, 6))
    tables = [f"s.t{i}" for i in range(n_tables)]
    for t in tables:
        lg.add_table(t)
        for c in range(draw(st.integers(0, 3))):
            lg.add_column(t, f"c{c}")
    models = [lg.add_model(f"m{i}") for i in range(draw(st.integers(0, 2)))]
    jobs = [lg.add_job(f"j{i}") for i in range(draw(st.integers(0, 1)))]
    columns = sorted(c for t in tables for c in lg.columns_of[t])
    # With ``acyclic``, edges only go up a rank: a column below its table, a model or job between tables.
    rank = {t: (i, 1, "") for i, t in enumerate(tables)}
    rank.update({c: (rank[lg.g.nodes[c]["table"]][0], 0, c) for c in columns})
    rank.update({n: (draw(st.integers(0, n_tables)), 2, n) for n in models + jobs})

    def forward(a: str, b: str) -> bool:
        return not acyclic or rank[a] < rank[b]

    pairs = []  # (src, dst, kinds)
    pairs += [(a, b, VALUE_KINDS) for a in columns for b in columns if a != b]
    pairs += [(c, t, tuple(sorted(INDIRECT_KINDS))) for c in columns for t in tables]
    pairs += [(a, b, ("columns", "opaque")) for a in tables for b in tables]
    pairs += [(t, m, ("training", "evaluation")) for t in tables for m in models]
    pairs += [(c, m, ("feature",)) for c in columns for m in models]
    pairs += [(m, t, ("opaque",)) for m in models for t in tables]
    pairs += [(t, j, ("input",)) for t in tables for j in jobs] + [(j, t, ("output",)) for j in jobs for t in tables]
    pairs = [p for p in pairs if forward(p[0], p[1])]
    if pairs:
        chosen = draw(st.lists(st.sampled_from(pairs), max_size=18))
        for src, dst, kinds in chosen:
            lg.add_edge(src, dst, draw(st.sampled_from(kinds)))
    nodes = sorted(lg.g)
    for node in draw(st.lists(st.sampled_from(nodes), max_size=4)):
        lg.tag(node, draw(st.sets(st.sampled_from(TAGS), min_size=1, max_size=2)))
    for table in draw(st.lists(st.sampled_from(tables), max_size=2)):  # a dataset card's tags
        tags = draw(st.sets(st.sampled_from(TAGS), min_size=1, max_size=2))
        lg.tag(table, tags)
        lg.dataset_tags.setdefault(table, set()).update(tags)
    stop = draw(st.dictionaries(st.sampled_from([*TAGS, "region:*", "*"]),
                                st.lists(st.sampled_from(STOP_KINDS), max_size=3), max_size=2))
    lg.rules = Rules(stop, indirect=draw(st.booleans()))
    return lg


def check_all(lg: LineageGraph) -> None:
    """Every derived fact of every node equals the reference's."""
    expected_tags = ref.tags(lg)
    for node in lg.g:
        assert set(lg.tags_of(node)) == expected_tags[node], f"tags of {node}"
    states = ref.state_graph(lg)
    flows = {tag: ref.flow_graph(lg, tag) for tag in ref.all_tags(lg)}
    for node in sorted(lg.g):
        up = ref.upstream(lg, node, states)
        walked_up, walked_down = lg.walk(node, reverse=True), lg.walk(node)
        assert set(walked_up) == up, f"upstream of {node}"
        assert set(walked_down) == ref.downstream(lg, node, states), f"downstream of {node}"
        assert walked_up == ref.distances(lg, node, states, reverse=True), f"upstream distances of {node}"
        assert walked_down == ref.distances(lg, node, states, reverse=False), f"downstream distances of {node}"
        for depth in (1, 2):  # --depth keeps what is at most that far
            assert lg.walk(node, reverse=True, depth=depth) == {n: d for n, d in walked_up.items() if d <= depth}
            assert lg.walk(node, depth=depth) == {n: d for n, d in walked_down.items() if d <= depth}
        kind = lg.g.nodes[node]["type"]
        if kind not in ("table", "model"):
            continue
        fact = facts(lg, "model" if kind == "model" else "dataset", node[6:] if kind == "model" else node)
        assert {s["id"] for s in fact["sources"]} == ref.root_sources(lg, node, up), f"sources of {node}"
        down = ref.downstream(lg, node, states)
        data_nodes = {n for n, t in lg.g.nodes(data="type") if t != "job"}
        assert [e["id"] for e in fact["upstream"]] == sorted(up & data_nodes)
        assert [e["id"] for e in fact["downstream"]] == sorted(down & data_nodes)
        assert all(e["tags"] == sorted(expected_tags[e["id"]]) for e in fact["upstream"] + fact["downstream"])
        assert fact["upstream_models"] == sorted(n[6:] for n in up if n.startswith("model:"))
        assert fact["downstream_models"] == sorted(n[6:] for n in down if n.startswith("model:"))
        assert fact["tags"] == sorted(expected_tags[node])
        for tag in fact["tags"]:
            want = ref.tagged_sources(lg, node, tag, flows[tag])
            got = [s for s in fact["tagged_sources"] if s["tag"] == tag]
            assert [s["source"] for s in got] == sorted(want)[:MAX_SOURCES_PER_TAG], f"{tag} sources of {node}"
            for item in got:
                ref.check_path(lg, item["path"], tag, item["source"], node, flows[tag])
                assert len(item["path"]) - 1 == want[item["source"]], f"not a shortest path: {item['path']}"


@SETTINGS
@given(graphs(acyclic=True))
def test_dags_agree_with_the_reference(lg):
    check_all(lg)


@SETTINGS
@given(graphs())
def test_cyclic_graphs_agree_with_the_reference(lg):
    check_all(lg)


# -- graphs built by Gavel itself from generated SQL ------------------------------------------------

COLUMNS = ("id", "v0", "v1")
VALUE = ["{c}", "{c}", "MD5({c})", "SUM({c})", "{c} || 'x'", "CASE WHEN {k} > 0 THEN {c} END"]


@st.composite
def warehouses(draw) -> dict[str, str]:
    """Files of a small project: dataset cards, SQL (CTEs, views, joins, inserts) and model cards."""
    files: dict[str, str] = {}
    tables = ["raw.a", "raw.b"]
    for table in tables:
        tags = draw(st.sets(st.sampled_from(TAGS), max_size=1))
        columns = []
        for name in COLUMNS:
            column_tags = draw(st.sets(st.sampled_from(TAGS), max_size=1))
            columns.append(f"  - {{name: {name}, type: int, tags: [{', '.join(sorted(column_tags))}]}}")
        files[f"datasets/{table}.yaml"] = (f"id: {table}\nowner: data\ntags: [{', '.join(sorted(tags))}]\n"
                                           "columns:\n" + "\n".join(columns) + "\n")
    statements = []
    for i in range(draw(st.integers(1, 5))):
        a, b = draw(st.sampled_from(tables)), draw(st.sampled_from(tables))

        def value(alias: str) -> str:
            template = draw(st.sampled_from(VALUE))
            return template.format(c=f"{alias}.{draw(st.sampled_from(COLUMNS))}", k=f"{alias}.id")

        select = f"SELECT x.id, {value('x')} AS v0, {value('y')} AS v1 FROM {a} AS x JOIN {b} AS y ON x.id = y.id"
        if "SUM(" in select:
            select += " GROUP BY x.id"
        shape = draw(st.sampled_from(["view", "cte", "insert", "back"]))
        target = f"s.t{i}"
        if shape == "view":
            statements.append(f"CREATE VIEW {target} AS {select};")
        elif shape == "cte":
            statements.append(f"CREATE TABLE {target} AS WITH q AS ({select}) SELECT id, v0, v1 FROM q;")
        elif shape == "insert":
            statements.append(f"CREATE TABLE {target} (id INT, v0 INT, v1 INT);")
            statements.append(f"INSERT INTO {target} (id, v0, v1) {select};")
        else:  # back into a source table: a cycle
            target = draw(st.sampled_from(tables))
            statements.append(f"INSERT INTO {target} (id, v0, v1) {select};")
        if target not in tables:
            tables.append(target)
    files["sql/all.sql"] = "\n".join(statements) + "\n"
    for m in range(draw(st.integers(1, 2))):
        trained = draw(st.lists(st.sampled_from(tables), max_size=2, unique=True))
        features = draw(st.lists(st.sampled_from([f"{t}.{c}" for t in tables for c in COLUMNS]), max_size=2,
                                 unique=True))
        files[f"models/m{m}.yaml"] = (f"id: m{m}\nname: m{m}\nversion: '1'\nowner: risk\nrisk_level: high\n"
                                      f"lifecycle_stage: production\ntraining_datasets: [{', '.join(trained)}]\n"
                                      f"features: [{', '.join(features)}]\n")
    stop = draw(st.sampled_from(["{}", "{pii: [masked]}", "{'*': [aggregate, masked]}"]))
    indirect = draw(st.booleans())
    files["gavel.yaml"] = ("evidence:\n  - {path: datasets/*.yaml, kind: dataset}\n  - {path: models/*.yaml, kind: model}\n"
                           "lineage:\n  dialect: duckdb\n  cache: false\n  sources: [{type: sql, path: sql/*.sql}]\n"
                           f"  propagation: {{stop: {stop}, indirect: {str(indirect).lower()}}}\n")
    return files


@settings(max_examples=max(50, EXAMPLES // 8), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(warehouses())
def test_graphs_from_generated_sql_agree_with_the_reference(files):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name, text in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text)
        inv = build_inventory(load_config(root), now="2026-11-26T00:00:00Z")
    assert [p.message for p in inv.problems] == []
    check_all(inv.lineage)
