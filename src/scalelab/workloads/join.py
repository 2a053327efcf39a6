"""db-benchmark's join questions q1-q5 on the J1 tables.

Right-hand columns that x also has keep x's name with `_r` appended (pandas'
`suffixes=("", "_r")`); the join key appears once. Null keys follow SQL: a null key
matches nothing. pandas would match NaN to NaN, so the reference drops x's null
keys before an inner join (the right-hand tables have none, so a left join keeps
x's null-key rows unmatched either way).
"""

from __future__ import annotations

from scalelab.workloads.base import Data, Suite

suite = Suite("join", Data("join", {"nas": 0, "sort": 0}), ("x",), "db-benchmark's join questions on the J1 tables")

RIGHT_COLUMNS = {"small": ("id1", "id4", "v2"), "medium": ("id1", "id2", "id4", "id5", "v2"),
                 "big": ("id1", "id2", "id3", "id4", "id5", "id6", "v2")}
X_COLUMNS = ("id1", "id2", "id3", "id4", "id5", "id6", "v1")

QUESTIONS = {  # short: (question, right table, key, how)
    "q1": ("small inner on int", "small", "id1", "inner"),
    "q2": ("medium inner on int", "medium", "id2", "inner"),
    "q3": ("medium outer on int", "medium", "id2", "left"),
    "q4": ("medium inner on factor", "medium", "id5", "inner"),
    "q5": ("big inner on int", "big", "id3", "inner"),
}


def _sql(right: str, key: str, how: str) -> str:
    rcols = ", ".join(f"r.{c} AS {c}_r" if c in X_COLUMNS else f"r.{c}" for c in RIGHT_COLUMNS[right] if c != key)
    join = "LEFT JOIN" if how == "left" else "JOIN"
    return f"SELECT x.*, {rcols} FROM x {join} {right} AS r ON x.{key} = r.{key}"


def _register(short: str, question: str, right: str, key: str, how: str) -> None:
    q = suite.add(short, question, sql=_sql(right, key, how), tables=("x", right))

    @q.reference(also=("dask",))
    def _(t):
        x = t["x"]
        if how == "inner":
            x = x.dropna(subset=[key])        # SQL: a null key matches nothing
        return x.merge(t[right], how=how, on=key, suffixes=("", "_r"))

    @q.on("polars")
    def _(t):
        return t["x"].join(t[right], on=key, how=how, suffix="_r")

    @q.on("ray")
    def _(t):
        import ray

        return t["x"].join(t[right], join_type="inner" if how == "inner" else "left_outer",
                           num_partitions=int(ray.cluster_resources().get("CPU", 1)), on=(key,), right_suffix="_r")


for _short, (_question, _right, _key, _how) in QUESTIONS.items():
    _register(_short, _question, _right, _key, _how)
