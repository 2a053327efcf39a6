"""TPC-H's 22 queries on the `tpch` data set: the benchmark engine-choosers read.

One workload per query: the SQL text (`sql.py`) DuckDB and Spark run as is, the
pandas reference (`frames.py`, which Dask runs unchanged: its API is pandas'),
Polars' lazy code (`polars_q.py`) and Ray Data's (`ray_q.py`). Every answer is checked against the pandas
reference, in order (an ORDER BY is part of TPC-H's answer), money to TPC-H's
rounding: TPC-H 2.1.3.5 asks for the cent, and the relative tolerance here is far
inside it. The reference itself is checked against DuckDB's SQL in the workload
matrix (and DuckDB's SQL is TPC-H's text).
"""

from __future__ import annotations

from scalelab.workloads.base import Data, Suite
from scalelab.workloads.compare import Rules
from scalelab.workloads.tpch import frames, polars_q, ray_q, sql

suite = Suite("tpch", Data("tpch", {}), ("lineitem",), "TPC-H's 22 queries (validation parameters)")

# What each query reads (the engines load only these).
TABLES = {
    1: ("lineitem",), 2: ("part", "supplier", "partsupp", "nation", "region"), 3: ("customer", "orders", "lineitem"),
    4: ("orders", "lineitem"), 5: ("customer", "orders", "lineitem", "supplier", "nation", "region"),
    6: ("lineitem",), 7: ("supplier", "lineitem", "orders", "customer", "nation"),
    8: ("part", "supplier", "lineitem", "orders", "customer", "nation", "region"),
    9: ("part", "supplier", "lineitem", "partsupp", "orders", "nation"), 10: ("customer", "orders", "lineitem", "nation"),
    11: ("partsupp", "supplier", "nation"), 12: ("orders", "lineitem"), 13: ("customer", "orders"),
    14: ("lineitem", "part"), 15: ("lineitem", "supplier"), 16: ("partsupp", "part", "supplier"),
    17: ("lineitem", "part"), 18: ("customer", "orders", "lineitem"), 19: ("lineitem", "part"),
    20: ("supplier", "nation", "partsupp", "part", "lineitem"), 21: ("supplier", "lineitem", "orders", "nation"),
    22: ("customer", "orders"),
}
TITLES = {
    1: "pricing summary report", 2: "minimum cost supplier", 3: "shipping priority", 4: "order priority checking",
    5: "local supplier volume", 6: "forecasting revenue change", 7: "volume shipping", 8: "national market share",
    9: "product type profit measure", 10: "returned item reporting", 11: "important stock identification",
    12: "shipping modes and order priority", 13: "customer distribution", 14: "promotion effect",
    15: "top supplier", 16: "parts/supplier relationship", 17: "small-quantity-order revenue",
    18: "large volume customer", 19: "discounted revenue", 20: "potential part promotion",
    21: "suppliers who kept orders waiting", 22: "global sales opportunity",
}
RULES = Rules(rtol=1e-8, atol=1e-6, ordered=True,
              note="TPC-H's ORDER BY is part of the answer; money within a millionth of a cent or 1e-8 relative")


def _register(n: int) -> None:
    q = suite.add(f"q{n}", TITLES[n], sql=sql.QUERIES[n], rules=RULES, tables=TABLES[n])
    q.reference(frames.QUERIES[n], also=("dask",))
    q.on("polars")(polars_q.QUERIES[n])
    q.on("ray")(ray_q.QUERIES[n])


for _n in range(1, 23):
    _register(_n)
