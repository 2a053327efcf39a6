"""Time series on the `trips` table.

hourly: trips, mean fare and revenue for every hour from the first pickup's hour to
the last's, as pandas' `resample("1h")` gives them: an hour with no trips is a row
with 0 trips, 0 revenue and a null mean (a gap in a series is a fact, not a missing
row). The series is ordered by hour, and the order is part of the answer.
"""

from __future__ import annotations

import pandas as pd

from ..compare import Rules
from .base import Data, Suite

suite = Suite("timeseries", Data("trips", {"days": 365}), ("trips",), "time series on the trips table")

hourly = suite.add("hourly", "trips, mean fare and revenue per hour, empty hours included",
                   rules=Rules(ordered=True, note="a series: ordered by hour, gaps filled"))


@hourly.reference
def _(t):
    fare = t["trips"].set_index("pickup_at").sort_index()["fare"].resample("1h")
    out = pd.DataFrame({"trips": fare.count(), "fare_mean": fare.mean(), "revenue": fare.sum()})
    return out.rename_axis("hour").reset_index()


@hourly.on("dask")
def _(t):
    import dask.dataframe as dd

    # Resampling needs a sorted time index with known divisions: set_index sorts once,
    # then each partition resamples its own span.
    trips = t["trips"][["pickup_at", "fare"]]
    # (With one partition Dask would not compute divisions: ask for at least two.)
    fare = trips.set_index("pickup_at", npartitions=max(2, trips.npartitions))["fare"].resample("1h")
    out = dd.concat([fare.count().rename("trips"), fare.mean().rename("fare_mean"), fare.sum().rename("revenue")],
                    axis=1)
    return out.rename_axis("hour").reset_index()


HOURLY_SQL = """
WITH counts AS (
    SELECT date_trunc('hour', pickup_at) AS hour, count(*) AS trips, avg(fare) AS fare_mean, sum(fare) AS revenue
    FROM trips GROUP BY 1
), hours AS ({hours})
SELECT h.hour, coalesce(c.trips, 0) AS trips, c.fare_mean, coalesce(c.revenue, 0) AS revenue
FROM hours h LEFT JOIN counts c ON c.hour = h.hour
ORDER BY h.hour
"""


hourly.sql_on("duckdb", HOURLY_SQL.format(
    hours="SELECT unnest(generate_series(min(hour), max(hour), INTERVAL 1 HOUR)) AS hour FROM counts"))
hourly.sql_on("spark", HOURLY_SQL.format(
    hours="SELECT explode(sequence(min(hour), max(hour), INTERVAL 1 HOUR)) AS hour FROM counts"))


@hourly.on("polars")
def _(t):
    import polars as pl

    counts = (t["trips"].group_by(pl.col("pickup_at").dt.truncate("1h").alias("hour"))
              .agg(pl.len().alias("trips"), pl.col("fare").mean().alias("fare_mean"),
                   pl.col("fare").sum().alias("revenue")))
    hours = counts.select(pl.datetime_range(pl.col("hour").min(), pl.col("hour").max(), "1h").alias("hour"))
    return (hours.join(counts, on="hour", how="left")
            .with_columns(pl.col("trips").fill_null(0), pl.col("revenue").fill_null(0.0)).sort("hour"))


@hourly.on("ray")
def _(t):
    from ray.data.aggregate import Count, Mean, Sum

    counts = (t["trips"].select_columns(["pickup_at", "fare"])
              .map_batches(lambda b: pd.DataFrame({"hour": b["pickup_at"].dt.floor("h"), "fare": b["fare"]}),
                           batch_format="pandas")
              .groupby("hour").aggregate(Count(alias_name="trips"), Mean("fare", alias_name="fare_mean"),
                                         Sum("fare", alias_name="revenue"))
              .sort("hour"))
    # The aggregated series is one row per hour with trips: small enough to gap-fill on the driver.
    series = counts.to_pandas().set_index("hour")
    full = pd.date_range(series.index.min(), series.index.max(), freq="1h", name="hour")
    out = series.reindex(full)
    return out.assign(trips=out["trips"].fillna(0).astype("int64"), revenue=out["revenue"].fillna(0.0)).reset_index()
