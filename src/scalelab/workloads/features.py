"""Feature engineering on `tabular`: the model matrix a classifier is trained on.

For each customer (id, churn, then):
  * <numeric>_z  for age, income, balance, tenure_months, num_products: missing values
                 imputed with the column's mean, then standardised with the mean and
                 population standard deviation of the imputed column (scikit-learn's
                 SimpleImputer then StandardScaler);
  * plan_<level>, channel_<level>: one-hot, 1/0, over the levels in the data set's
                 dictionary (a vocabulary fixed up front, as a production pipeline
                 fixes it at training time); a missing channel is all zeros;
  * region_te    target encoding: the churn rate of the customer's region, smoothed
                 towards the overall rate with SMOOTHING pseudo-customers; a missing
                 region gets the overall rate.

Every engine does it as fit-then-transform: a pass of reductions for the statistics
(means, deviations, per-region counts), then a row-by-row transform with them. The
statistics are fitted on the whole table here; in a model they must be fitted on
the training rows only (the ML lab shows what the leak does to a score).
"""

from __future__ import annotations

import math

import pandas as pd

from scalelab.datasets import tabular
from scalelab.workloads.base import Data, Suite

NUMERIC = ("age", "income", "balance", "tenure_months", "num_products")
ONE_HOT = {"plan": tuple(tabular.PLANS), "channel": tuple(tabular.CHANNELS)}
TARGET = "region"
SMOOTHING = 20

suite = Suite("features", Data("tabular"), ("data",), "feature engineering on the tabular table")

matrix = suite.add("matrix", "the model matrix: imputed and standardised numbers, one-hot plan and channel, "
                             "target-encoded region")


def columns() -> list[str]:
    return (["id", "churn"] + [f"{c}_z" for c in NUMERIC]
            + [f"{c}_{v}" for c, levels in ONE_HOT.items() for v in levels] + [f"{TARGET}_te"])


# -- fit: the statistics, as plain numbers ---------------------------------------------------------
def _fit(mean: dict, sd: dict, prior: float, by_region: pd.DataFrame) -> dict:
    """The fitted statistics from their parts; by_region has the columns region, sum, count."""
    by_region = by_region[by_region[TARGET].notna()]
    encoding = (by_region["sum"] + SMOOTHING * prior) / (by_region["count"] + SMOOTHING)
    return {"mean": {c: float(mean[c]) for c in NUMERIC}, "sd": {c: float(sd[c]) for c in NUMERIC},
            "prior": float(prior), "encoding": dict(zip(by_region[TARGET], encoding.astype(float), strict=True))}


def _statistics(df):
    """The reductions, written once for pandas and Dask (whose results are lazy until computed)."""
    mean = {c: df[c].astype("float64").mean() for c in NUMERIC}
    # The deviation of the imputed column (SimpleImputer then StandardScaler), not of the non-missing values.
    sd = {c: df[c].astype("float64").fillna(mean[c]).std(ddof=0) for c in NUMERIC}
    by_region = df.groupby(TARGET)["churn"].agg(["sum", "count"]).reset_index()
    return mean, sd, df["churn"].mean(), by_region


# -- transform: row by row, with the fitted numbers ------------------------------------------------
def transform(df: pd.DataFrame, fitted: dict) -> pd.DataFrame:
    out = {"id": df["id"], "churn": df["churn"]}
    for c in NUMERIC:
        x = df[c].astype("float64").fillna(fitted["mean"][c])
        out[f"{c}_z"] = (x - fitted["mean"][c]) / fitted["sd"][c]
    for c, levels in ONE_HOT.items():
        for v in levels:
            out[f"{c}_{v}"] = df[c].eq(v).fillna(False).astype("int8")
    region = df[TARGET].astype(object)
    out[f"{TARGET}_te"] = region.map(fitted["encoding"]).astype("float64").fillna(fitted["prior"])
    return pd.DataFrame(out)


@matrix.reference
def _(t):
    return transform(t["data"], _fit(*_statistics(t["data"])))


@matrix.on("dask")
def _(t):
    import dask

    data = t["data"]
    # One pass of reductions computed together, then each partition transformed on its own.
    fitted = _fit(*dask.compute(*_statistics(data)))
    return data.map_partitions(transform, fitted, meta=transform(data._meta, fitted))


@matrix.on("ray")
def _(t):
    from ray.data.aggregate import Count, Mean, Std, Sum

    data = t["data"]
    aggs = [agg for c in NUMERIC for agg in (Mean(c, ignore_nulls=True, alias_name=f"mean_{c}"),
                                             Std(c, ddof=0, ignore_nulls=True, alias_name=f"sd_{c}"),
                                             Count(c, ignore_nulls=True, alias_name=f"n_{c}"))]
    s = data.aggregate(*aggs, Mean("churn", alias_name="prior"), Count(alias_name="rows"))
    # Imputing with the mean adds zero deviations: the imputed column's variance is the
    # observed values' variance scaled by the share observed.
    sd = {c: s[f"sd_{c}"] * math.sqrt(s[f"n_{c}"] / s["rows"]) for c in NUMERIC}
    by_region = (data.groupby(TARGET).aggregate(Sum("churn", alias_name="sum"), Count(alias_name="count"))
                 .to_pandas())
    fitted = _fit({c: s[f"mean_{c}"] for c in NUMERIC}, sd, s["prior"], by_region)
    return data.map_batches(transform, fn_args=(fitted,), batch_format="pandas")


@matrix.on("polars")
def _(t):
    import polars as pl

    def z(c):
        x = pl.col(c).cast(pl.Float64)
        x = x.fill_null(x.mean())
        return ((x - x.mean()) / x.std(ddof=0)).alias(f"{c}_z")

    # The overall rate is a column first: inside `.over(region)` a mean would be the region's.
    prior = pl.col("_prior")
    region_rate = ((pl.col("churn").sum() + SMOOTHING * prior.first()) / (pl.len() + SMOOTHING)).over(TARGET)
    return t["data"].with_columns(pl.col("churn").mean().alias("_prior")).select(
        "id", "churn", *(z(c) for c in NUMERIC),
        *((pl.col(c) == v).fill_null(False).cast(pl.Int8).alias(f"{c}_{v}") for c, levels in ONE_HOT.items()
          for v in levels),
        pl.when(pl.col(TARGET).is_null()).then(prior).otherwise(region_rate).alias(f"{TARGET}_te"))


def _sql() -> str:
    """The same steps in SQL (DuckDB and Spark alike), written from the constants."""
    means = ", ".join(f"avg({c}) AS {c}" for c in NUMERIC)
    imputed = ", ".join(f"coalesce(CAST(d.{c} AS DOUBLE), m.{c}) AS {c}" for c in NUMERIC)
    scale = ", ".join(f"avg({c}) AS {c}_mean, stddev_pop({c}) AS {c}_sd" for c in NUMERIC)
    zs = ",\n       ".join(f"(i.{c} - s.{c}_mean) / s.{c}_sd AS {c}_z" for c in NUMERIC)
    hots = ",\n       ".join(f"CASE WHEN i.{c} = '{v}' THEN 1 ELSE 0 END AS {c}_{v}"
                              for c, levels in ONE_HOT.items() for v in levels)
    return f"""
WITH means AS (SELECT {means}, avg(churn) AS prior FROM data),
imputed AS (
    SELECT d.id, d.churn, {", ".join(f"d.{c}" for c in ONE_HOT)}, d.{TARGET}, {imputed}
    FROM data d CROSS JOIN means m
),
scale AS (SELECT {scale} FROM imputed),
encoding AS (
    SELECT {TARGET}, (sum(churn) + {SMOOTHING} * max(m.prior)) / (count(*) + {SMOOTHING}) AS rate
    FROM data CROSS JOIN means m WHERE {TARGET} IS NOT NULL GROUP BY {TARGET}
)
SELECT i.id, i.churn,
       {zs},
       {hots},
       coalesce(e.rate, m.prior) AS {TARGET}_te
FROM imputed i CROSS JOIN scale s CROSS JOIN means m LEFT JOIN encoding e ON e.{TARGET} = i.{TARGET}
"""


matrix.sql = _sql()
