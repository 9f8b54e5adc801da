"""Gavel's derived lineage facts agree exactly with the slow reference (tests/lineage/reference.py).

On hypothesis-generated graphs (DAGs and cyclic graphs; table, column, model and job nodes; every
edge kind; several tags on tables and columns; stop rules and indirect keys) and on graphs built
from generated SQL (CTEs, views, joins), for every node: its tags, its upstream and downstream,
its root sources, and every tagged source with a real, shortest path.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.lineage.facts import MAX_SOURCES_PER_TAG, facts
from engine.lineage.graph import INDIRECT_KINDS, VALUE_KINDS, LineageGraph
from engine.lineage.tags import Rules
from tests.lineage import reference as ref

TAGS = ["pii", "special_category", "region:eu", "confidential"]
STOP_KINDS = [*VALUE_KINDS, "join", "filter", "opaque", "training", "feature"]
SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


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
        assert set(lg.walk(node, reverse=True)) == up, f"upstream of {node}"
        assert set(lg.walk(node)) == ref.downstream(lg, node, states), f"downstream of {node}"
        kind = lg.g.nodes[node]["type"]
        if kind not in ("table", "model"):
            continue
        fact = facts(lg, "model" if kind == "model" else "dataset", node[6:] if kind == "model" else node)
        assert {s["id"] for s in fact["sources"]} == ref.root_sources(lg, node, up), f"sources of {node}"
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
