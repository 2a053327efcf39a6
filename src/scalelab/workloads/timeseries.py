"""Time series on the `trips` table.

rolling: pickups per zone and day (days with pickups only) and, for each, the mean
over the days with pickups among the last seven calendar days: a time-based window
(pandas `rolling("7D")`, SQL `RANGE BETWEEN INTERVAL 6 DAYS PRECEDING`), not the last
seven rows.

hourly: trips, mean fare and revenue for every hour from the first pickup's hour to
the last's, as pandas' `resample("1h")` gives them: an hour with no trips is a row
with 0 trips, 0 revenue and a null mean (a gap in a series is a fact, not a missing
row). The series is ordered by hour, and the order is part of the answer.
"""

from __future__ import annotations

import pandas as pd

from scalelab.workloads.base import Data, Suite, ray_partitions
from scalelab.workloads.compare import Rules

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


# -- per-zone daily series: rolling and lag share the daily counts and the way each
# -- engine runs a per-zone pandas step ---------------------------------------------------------
DAILY_CTE = """
WITH daily AS (
    SELECT pickup_zone, date_trunc('day', pickup_at) AS day, count(*) AS trips FROM trips GROUP BY 1, 2
)
"""


def _daily(trips):
    """Pickups per zone and day (pandas and Dask alike)."""
    trips = trips[["pickup_zone", "pickup_at"]]
    return (trips.assign(day=trips["pickup_at"].dt.floor("D")).groupby(["pickup_zone", "day"])
            .size().rename("trips").reset_index())


def _daily_polars(trips):
    import polars as pl

    # (pl.len() is an unsigned UInt32: without the cast a fall in pickups wraps around to 4e9.)
    return (trips.group_by("pickup_zone", pl.col("pickup_at").dt.truncate("1d").alias("day"))
            .agg(pl.len().cast(pl.Int64).alias("trips")).sort("pickup_zone", "day"))


def _register_per_zone(q, per_zone, new_columns: tuple[str, ...]) -> None:
    """pandas, Dask and Ray run the same pandas step on whole zones of the daily series."""

    @q.reference
    def _(t):
        return per_zone(_daily(t["trips"]))

    @q.on("dask")
    def _(t):
        # Count per zone and day in parallel, then shuffle so each zone sits in one
        # partition and run the pandas step on each.
        daily = _daily(t["trips"])
        meta = daily._meta.assign(**{c: pd.Series(dtype="float64") for c in new_columns})
        return daily.shuffle(on="pickup_zone").map_partitions(per_zone, meta=meta)

    @q.on("ray")
    def _(t):
        from ray.data.aggregate import Count

        daily = (t["trips"].select_columns(["pickup_zone", "pickup_at"])
                 .map_batches(lambda b: pd.DataFrame({"pickup_zone": b["pickup_zone"],
                                                      "day": b["pickup_at"].dt.floor("D")}), batch_format="pandas")
                 .groupby(["pickup_zone", "day"]).aggregate(Count(alias_name="trips")))
        return daily.groupby("pickup_zone").map_groups(per_zone, batch_format="pandas")


# -- rolling: a per-zone, time-based window --------------------------------------------------
rolling = suite.add(
    "rolling", "daily pickups per zone with their 7-day rolling mean (over calendar days with pickups)",
    sql=DAILY_CTE + """
SELECT pickup_zone, day, trips,
       avg(trips) OVER (PARTITION BY pickup_zone ORDER BY day
                        RANGE BETWEEN INTERVAL 6 DAYS PRECEDING AND CURRENT ROW) AS trips_7d_mean
FROM daily
""",
    rules=Rules(note="a time-based window: the days with pickups in (day - 7 days, day]"))


def _rolling_mean(daily: pd.DataFrame) -> pd.DataFrame:
    """For a table of whole zones: each day's trips and their mean over the last 7 calendar days."""
    daily = daily.sort_values(["pickup_zone", "day"], ignore_index=True)
    mean = daily.groupby("pickup_zone").rolling("7D", on="day")["trips"].mean()
    return daily.assign(trips_7d_mean=mean.to_numpy())


_register_per_zone(rolling, _rolling_mean, ("trips_7d_mean",))


@rolling.on("polars")
def _(t):
    import polars as pl

    return _daily_polars(t["trips"]).with_columns(
        pl.col("trips").rolling_mean_by("day", window_size="7d").over("pickup_zone").alias("trips_7d_mean"))


# -- lag: the previous row of each zone's series ----------------------------------------------
lag = suite.add(
    "lag", "daily pickups per zone with the previous day-with-pickups' count and the change",
    sql=DAILY_CTE + """
SELECT pickup_zone, day, trips,
       lag(trips) OVER (PARTITION BY pickup_zone ORDER BY day) AS trips_prev,
       trips - lag(trips) OVER (PARTITION BY pickup_zone ORDER BY day) AS trips_change
FROM daily
""",
    rules=Rules(note="lag by row: the previous day with pickups, null for a zone's first day"))


def _lagged(daily: pd.DataFrame) -> pd.DataFrame:
    """For a table of whole zones: each day's trips next to the zone's previous row."""
    daily = daily.sort_values(["pickup_zone", "day"], ignore_index=True)
    prev = daily.groupby("pickup_zone")["trips"].shift(1)
    return daily.assign(trips_prev=prev, trips_change=daily["trips"] - prev)


_register_per_zone(lag, _lagged, ("trips_prev", "trips_change"))


@lag.on("polars")
def _(t):
    import polars as pl

    prev = pl.col("trips").shift(1).over("pickup_zone")
    return _daily_polars(t["trips"]).with_columns(prev.alias("trips_prev"),
                                                  (pl.col("trips") - prev).alias("trips_change"))


# -- sessions: gap-based sessionisation of the clickstream ---------------------------------
SESSION_GAP = pd.Timedelta(minutes=30)

sessions = suite.add(
    "sessions", "sessions per user (a new one after 30 minutes without events): span, events, purchases, revenue",
    # One event a second: at `tiny` three hours of a hundred users, so that gaps happen.
    data=Data("events", {"rate": 1}), tables=("events",),
    sql="""
WITH marked AS (
    SELECT user_id, event_id, event_time, event_type, price,
           CASE WHEN lag(event_time) OVER w IS NULL
                  OR event_time - lag(event_time) OVER w > INTERVAL 30 MINUTES THEN 1 ELSE 0 END AS starts
    FROM events
    WINDOW w AS (PARTITION BY user_id ORDER BY event_time, event_id)
), numbered AS (
    SELECT *, sum(starts) OVER (PARTITION BY user_id ORDER BY event_time, event_id
                                ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS session
    FROM marked
)
SELECT user_id, session, min(event_time) AS started_at, max(event_time) AS ended_at, count(*) AS events,
       sum(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) AS purchases,
       coalesce(sum(CASE WHEN event_type = 'purchase' THEN price END), 0) AS revenue
FROM numbered GROUP BY user_id, session
""",
    rules=Rules(note="by event time, not arrival: a late event joins the session it happened in; "
                     "sessions are numbered from 1 per user"))


def _sessions(events: pd.DataFrame) -> pd.DataFrame:
    """For a table of whole users: one row per session (the reference, and the per-user step on Dask and Ray)."""
    ev = events[["user_id", "event_id", "event_time", "event_type", "price"]].sort_values(
        ["user_id", "event_time", "event_id"], ignore_index=True)
    gap = ev.groupby("user_id")["event_time"].diff()
    starts = (gap.isna() | (gap > SESSION_GAP)).astype("int64")
    purchase = ev["event_type"].eq("purchase").fillna(False).astype(bool)
    ev = ev.assign(session=starts.groupby(ev["user_id"]).cumsum(), purchase=purchase.astype("int64"),
                   spent=ev["price"].where(purchase, 0.0))
    return (ev.groupby(["user_id", "session"], as_index=False)
            .agg(started_at=("event_time", "min"), ended_at=("event_time", "max"), events=("event_id", "size"),
                 purchases=("purchase", "sum"), revenue=("spent", "sum")))


@sessions.reference
def _(t):
    return _sessions(t["events"])


@sessions.on("dask")
def _(t):
    # A session never spans users: shuffle so each user sits in one partition, then sessionise each.
    return t["events"].shuffle(on="user_id").map_partitions(_sessions)


@sessions.on("ray")
def _(t):
    # As on Dask: hash-shuffle so each user sits in one block, then sessionise whole blocks.
    return (t["events"].repartition(ray_partitions(), keys=["user_id"])
            .map_batches(_sessions, batch_size=None, batch_format="pandas"))


@sessions.on("polars")
def _(t):
    import polars as pl

    gap = pl.col("event_time").diff().over("user_id")
    starts = (gap.is_null() | (gap > pl.duration(minutes=30))).cast(pl.Int64)
    purchase = pl.col("event_type") == "purchase"
    return (t["events"].sort("user_id", "event_time", "event_id")
            .with_columns(starts.cum_sum().over("user_id").alias("session"))
            .group_by("user_id", "session")
            .agg(pl.col("event_time").min().alias("started_at"), pl.col("event_time").max().alias("ended_at"),
                 pl.len().cast(pl.Int64).alias("events"), purchase.sum().cast(pl.Int64).alias("purchases"),
                 pl.col("price").filter(purchase).sum().alias("revenue")))
