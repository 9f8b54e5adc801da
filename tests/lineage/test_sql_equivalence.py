"""The scope walk in engine.lineage.sql gives the same column edges as sqlglot.lineage.lineage(None, ...)."""

from __future__ import annotations

import pytest
from sqlglot import exp
from sqlglot.lineage import lineage

from engine.lineage.sql import query_edges

SCHEMA = {
    "raw": {
        "customers": {"id": "int", "email": "text", "ssn": "text", "country": "text", "created_at": "date"},
        "loans": {"loan_id": "int", "customer_id": "int", "amount": "double", "status": "text"},
        "payments": {"loan_id": "int", "paid": "double", "paid_at": "date"},
    },
    "staging": {"blocked": {"customer_id": "int", "reason": "text"}},
}

QUERIES = [
    # plain projections, expressions, casts
    "SELECT id, email, CAST(created_at AS TEXT) AS created FROM raw.customers",
    "SELECT id + 1 AS next_id, UPPER(email) AS e, 42 AS answer FROM raw.customers",
    # joins, aliases, unqualified columns resolved by the schema
    "SELECT c.id, amount, l.status FROM raw.customers AS c JOIN raw.loans AS l ON l.customer_id = c.id",
    # aggregates, GROUP BY, HAVING
    "SELECT customer_id, SUM(amount) AS total, COUNT(*) AS n FROM raw.loans GROUP BY customer_id HAVING SUM(amount) > 10",
    # CTEs, chained, and an unused one
    """WITH l AS (SELECT customer_id, amount FROM raw.loans),
            t AS (SELECT customer_id, SUM(amount) AS total FROM l GROUP BY customer_id),
            unused AS (SELECT ssn FROM raw.customers)
       SELECT c.email, t.total FROM raw.customers c JOIN t ON t.customer_id = c.id""",
    # derived tables (nested)
    "SELECT x.e FROM (SELECT y.email AS e FROM (SELECT email FROM raw.customers) AS y) AS x",
    # UNION / UNION ALL / INTERSECT
    "SELECT id, email FROM raw.customers UNION ALL SELECT loan_id, status FROM raw.loans",
    "SELECT id FROM raw.customers UNION SELECT customer_id FROM raw.loans INTERSECT SELECT customer_id FROM staging.blocked",
    # union inside a CTE
    """WITH u AS (SELECT id AS k, email AS v FROM raw.customers UNION ALL SELECT loan_id, status FROM raw.loans)
       SELECT v, k FROM u""",
    # stars, expanded by the schema
    "SELECT * FROM raw.customers",
    "SELECT c.*, l.amount FROM raw.customers c JOIN raw.loans l ON c.id = l.customer_id",
    "WITH x AS (SELECT * FROM raw.payments) SELECT * FROM x",
    # scalar and correlated subqueries
    "SELECT c.id, (SELECT MAX(l.amount) FROM raw.loans l WHERE l.customer_id = c.id) AS max_amount FROM raw.customers c",
    "SELECT id FROM raw.customers c WHERE EXISTS (SELECT 1 FROM raw.loans l WHERE l.customer_id = c.id)",
    "SELECT id, email FROM raw.customers WHERE id IN (SELECT customer_id FROM staging.blocked)",
    # CASE, window functions, masking functions
    "SELECT CASE WHEN country = 'DE' THEN email ELSE MD5(email) END AS e FROM raw.customers",
    "SELECT customer_id, ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY amount) AS rn FROM raw.loans",
    "SELECT SHA2(ssn, 256) AS ssn_hash, COALESCE(email, 'none') AS e FROM raw.customers",
    # a CTE shadowed by name and referenced twice
    """WITH a AS (SELECT id, email FROM raw.customers), b AS (SELECT id FROM a)
       SELECT a.email, b.id FROM a JOIN b ON a.id = b.id""",
    # deep CTE chain
    """WITH s1 AS (SELECT loan_id, paid FROM raw.payments), s2 AS (SELECT loan_id, paid * 2 AS p FROM s1),
       s3 AS (SELECT loan_id, SUM(p) AS p FROM s2 GROUP BY loan_id)
       SELECT l.customer_id, s3.p FROM raw.loans l LEFT JOIN s3 ON s3.loan_id = l.loan_id""",
    # UNNEST is no table: its column comes from the array column
    "SELECT c.id, e FROM raw.customers AS c CROSS JOIN UNNEST(c.email) AS t(e)",
]


def sqlglot_edges(sql: str) -> dict[str, set[tuple[str, str]]]:
    """Leaf (table, column) pairs of every output column, from sqlglot's own lineage()."""
    out: dict[str, set[tuple[str, str]]] = {}
    for name, node in lineage(None, sql, SCHEMA, trim_selects=False).items():
        leaves = set()
        for n in node.walk():
            if n.downstream or not isinstance(n.source, exp.Table):
                continue
            table = ".".join(p.name for p in n.source.parts).lower()
            leaves.add((table, n.name.split(".")[-1].lower()))
        out[name] = leaves
    return out


@pytest.mark.parametrize("sql", QUERIES, ids=[f"q{i}" for i in range(len(QUERIES))])
def test_same_edges_as_sqlglot_lineage(sql):
    ours = {name: set(found) for name, found in query_edges(sql, SCHEMA).items()}
    assert ours == sqlglot_edges(sql)
    assert any(ours.values()), "every query here has some lineage"


def test_a_parenthesised_query_has_the_edges_of_the_query_inside():
    # CREATE VIEW v AS (SELECT ...): sqlglot's scope keeps the inner query among the derived tables of
    # the Subquery scope, where sqlglot's own lineage() does not look (it returns no leaves); the
    # oracle is lineage() of the unwrapped query
    inner = "SELECT id, LOWER(email) AS e FROM raw.customers"
    ours = {name: set(found) for name, found in query_edges(f"({inner})", SCHEMA).items()}
    assert ours == sqlglot_edges(inner) == {"id": {("raw.customers", "id")}, "e": {("raw.customers", "email")}}
