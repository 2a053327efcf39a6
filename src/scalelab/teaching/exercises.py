"""Every lab exercise, with the pandas code that computes its right answer.

An exercise's `expected` gets the same context the notebook passes to `check` (the data
set, a frame the lab built) and answers with pandas on the same data, so the grader
never holds a stored answer that could drift from the data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scalelab.config import Config
from scalelab.teaching.grading import Exercise, register, workload_exercise
from scalelab.workloads.compare import Rules

LOOSE = Rules(rtol=1e-6)          # sums of floats in another order


def _read(ds, table: str | None = None) -> pd.DataFrame:
    return pd.read_parquet(ds.table_path(table))


# -- 01: the tour ------------------------------------------------------------------
def _cluster_size() -> dict:
    from scalelab.cluster import health

    cfg = Config.load()
    workers = health._dask_workers(cfg)
    return {"dask_workers": len(workers),
            "dask_threads": sum(w["nthreads"] for w in workers.values()),
            "spark_cores": int(health.spark_master_state(cfg)["cores"])}


register(Exercise(
    "01.cluster_size", "How big is the cluster", _cluster_size, kind="mapping",
    hint="client.scheduler_info()['workers'] lists the Dask workers with their nthreads; the Spark master's "
         "JSON (lab.spark_master()) says how many cores its workers offer."))


# -- 02: pandas to Dask ------------------------------------------------------------
def _v3_by_id4(data) -> pd.DataFrame:
    x = _read(data)
    return x.groupby("id4").agg(v3_mean=("v3", "mean"), rows=("v3", "size")).reset_index()


register(Exercise(
    "02.v3_by_id4", "Mean of v3 and row count per id4, on the Dask cluster", _v3_by_id4,
    engines=("dask",), keys=("id4",), rules=LOOSE,
    hint="ddf.groupby('id4').agg(v3_mean=('v3', 'mean'), rows=('v3', 'size')) and leave it lazy: "
         "the checker computes it."))


def _top_id6(data) -> pd.DataFrame:
    x = _read(data)
    return x.groupby("id6")["v3"].sum().nlargest(5).rename("v3_sum").reset_index()


register(Exercise(
    "02.top_id6", "The five id6 with the largest sum of v3", _top_id6, engines=("dask",), keys=("id6",),
    rules=LOOSE, hint="a groupby-sum, then .nlargest(5) on the Dask series; .to_frame('v3_sum').reset_index()."))


# -- 03: pandas to PySpark ---------------------------------------------------------
def _borough_revenue(data) -> pd.DataFrame:
    trips, zones = _read(data, "trips"), _read(data, "zones")
    long = trips[trips["distance_km"] > 2].merge(zones, left_on="pickup_zone", right_on="zone_id")
    long = long.assign(revenue=long["fare"] + long["tip"])
    return long.groupby("borough").agg(trips=("trip_id", "size"), revenue=("revenue", "sum")).reset_index()


register(Exercise(
    "03.borough_revenue", "Trips over 2 km and their revenue (fare + tip) per pickup borough, in Spark",
    _borough_revenue, engines=("spark",), keys=("borough",), rules=LOOSE,
    hint="filter, join zones on pickup_zone = zone_id, groupBy('borough').agg(F.count('*'), F.sum(fare + tip))."))


def skewed_keys(rows: int, seed: int = 7) -> pd.DataFrame:
    """A table whose key 0 holds 80% of the rows: the shape that makes one task do all the work."""
    rng = np.random.default_rng(seed)
    hot = rng.random(rows) < 0.8
    key = np.where(hot, 0, rng.integers(1, 200, rows))
    return pd.DataFrame({"key": key.astype("int64"), "value": rng.integers(0, 100, rows).astype("int64")})


def _salted(frame) -> pd.DataFrame:
    return frame.groupby("key").agg(rows=("value", "size"), total=("value", "sum")).reset_index()


register(Exercise(
    "03.salted_totals", "Rows and total value per key, computed with a salted two-stage aggregation",
    _salted, engines=("spark",), keys=("key",),
    hint="add salt = (rand() * N).cast('int'), aggregate by (key, salt), then aggregate the partials by key."))


# -- 04: Ray -----------------------------------------------------------------------
def _fare_by_payment(data) -> pd.DataFrame:
    trips = _read(data, "trips")
    return trips.groupby("payment_type").agg(trips=("trip_id", "size"), fare=("fare", "sum")).reset_index()


register(Exercise(
    "04.fare_by_payment", "Trips and total fare per payment type, with Ray Data", _fare_by_payment,
    engines=("ray",), keys=("payment_type",), rules=LOOSE,
    hint="ray.data.read_parquet(...).groupby('payment_type').aggregate(Count(), Sum('fare')), then rename "
         "the columns with .rename_columns({...})."))


def _type_counts(data) -> dict:
    events = _read(data)
    return {str(k): int(v) for k, v in events["event_type"].value_counts().items()}


register(Exercise(
    "04.type_counts", "Events per type, counted by one Ray actor fed by parallel tasks", _type_counts,
    kind="mapping", hint="each task counts its batch (value_counts) and sends the counts to the actor's add(); "
                         "ray.get(counter.totals.remote()) at the end."))


# -- 05: SQL engines on files ------------------------------------------------------
def _top_zone(data) -> pd.DataFrame:
    trips, zones = _read(data, "trips"), _read(data, "zones")
    per_zone = (trips.merge(zones, left_on="pickup_zone", right_on="zone_id")
                .groupby(["borough", "pickup_zone"]).size().rename("trips").reset_index())
    per_zone = per_zone.sort_values(["borough", "trips", "pickup_zone"], ascending=[True, False, True])
    return per_zone.groupby("borough").head(1).reset_index(drop=True)


register(Exercise(
    "05.top_zone", "The busiest pickup zone of each borough (ties: the smaller zone id), with a window function",
    _top_zone, engines=("duckdb", "spark", "pandas"), keys=("borough",),
    hint="count per (borough, pickup_zone), then ROW_NUMBER() OVER (PARTITION BY borough ORDER BY trips DESC, "
         "pickup_zone) and keep row 1."))


# -- 06: the same workload on every engine ------------------------------------------
register(workload_exercise(
    "06.q2_polars", "groupby.q2", engines=("polars",), keys=("id1", "id2"),
    hint="pl.scan_parquet(path).group_by('id1', 'id2').agg(pl.col('v1').sum())"))


def _fastest(rows) -> str:
    ok = rows[rows["status"] == "ok"]
    return str(ok.groupby("engine")["warm_median_s"].sum().idxmin())


register(Exercise(
    "06.fastest", "The engine with the least total time over the questions in the table", _fastest, kind="value",
    hint="keep the rows whose status is ok, group by engine, sum warm_median_s, take idxmin()."))


# -- 07: scikit-learn at scale -----------------------------------------------------
def _best_params(data) -> dict:
    from scalelab.workloads import get, runner

    table = runner.load_reference(get("ml.gridsearch"), data)
    best = table.sort_values(["rank_test_score", "max_depth", "min_samples_leaf"]).iloc[0]
    return {"max_depth": int(best["max_depth"]), "min_samples_leaf": int(best["min_samples_leaf"])}


register(Exercise(
    "07.best_params", "The best forest parameters, from a grid search run on the Dask cluster", _best_params,
    kind="mapping", hint="with joblib.parallel_backend('dask'): search.fit(X, y); then search.best_params_ "
                         "without the 'model__' prefix."))


# -- 08: streams -------------------------------------------------------------------
def _purchases_per_minute(events) -> pd.DataFrame:
    buys = events[events["event_type"] == "purchase"]
    out = buys.assign(window_start=buys["event_time"].dt.floor("1min"))
    return out.groupby("window_start").agg(purchases=("event_id", "size"),
                                            buyers=("user_id", "nunique")).reset_index()


register(Exercise(
    "08.purchases_per_minute", "Purchases and distinct buyers per minute of event time, from the stream",
    _purchases_per_minute, keys=("window_start",),
    hint="filter event_type = 'purchase', groupBy(F.window('event_time', '1 minute')), count, and "
         "F.size(F.collect_set('user_id')) for the exact distinct count (countDistinct is refused on streams)."))


# -- 09: fault drills --------------------------------------------------------------
def _survivor_sum(n) -> int:
    return int(sum(i * i for i in range(n)))


register(Exercise(
    "09.survivor_sum", "The sum of squares computed while a worker was killed", _survivor_sum, kind="value",
    hint="the answer does not change when a worker dies: that is the point of the drill."))


# -- 10: interview scenarios -------------------------------------------------------
register(workload_exercise(
    "10.out_of_core", "groupby.q3", engines=("dask", "duckdb", "polars", "spark"), keys=("id3",),
    hint="any engine that streams the Parquet files: dd.read_parquet, duckdb.sql, pl.scan_parquet or Spark; "
         "the answer is groupby.q3's (sum v1, mean v3 by id3), without loading the table into pandas."))


def _hot_key(frame) -> int:
    return int(frame["key"].value_counts().idxmax())


register(Exercise(
    "10.hot_key", "The key that makes one Spark task slow", _hot_key, kind="value",
    hint="count rows per key (or per partition after a repartition by key) and look at the largest."))


def _unique_users(events) -> pd.DataFrame:
    out = events.assign(window_start=events["event_time"].dt.floor("1min"))
    return out.groupby("window_start").agg(users=("user_id", "nunique")).reset_index()


register(Exercise(
    "10.unique_users", "Distinct users per minute of event time, from the Kafka stream", _unique_users,
    keys=("window_start",), hint="groupBy(window('event_time', '1 minute')).agg(F.size(F.collect_set('user_id')))"))


# -- 11: SQL and NoSQL stores --------------------------------------------------------
def _zone_revenue(data) -> pd.DataFrame:
    trips = _read(data, "trips")
    out = trips.assign(revenue=trips["fare"] + trips["tip"]).groupby("pickup_zone").agg(
        trips=("trip_id", "size"), revenue=("revenue", "sum")).reset_index()
    return out.sort_values(["revenue", "pickup_zone"], ascending=[False, True]).head(5)


register(Exercise(
    "11.zone_revenue", "The five pickup zones with the most revenue, computed inside PostgreSQL", _zone_revenue,
    keys=("pickup_zone",), rules=LOOSE,
    hint="stores.read_pandas(\"SELECT pickup_zone, count(*) AS trips, sum(fare + tip) AS revenue FROM trips "
         "GROUP BY pickup_zone ORDER BY revenue DESC, pickup_zone LIMIT 5\")"))


def _buyer_features(events, users) -> pd.DataFrame:
    mine = events[events["user_id"].isin(list(users))]
    counts = pd.crosstab(mine["user_id"], mine["event_type"]).reindex(
        index=pd.Index(list(users), name="user_id"), columns=["view", "purchase"], fill_value=0)
    return counts.rename(columns={"view": "views", "purchase": "purchases"}).astype("int64").reset_index()


register(Exercise(
    "11.buyer_features", "Views and purchases of the given users, read online from Redis", _buyer_features,
    keys=("user_id",),
    hint="one pipeline: pipe.hmget(f'features:user:{u}', 'view', 'purchase') for each user, then pipe.execute(); "
         "a missing field is None, that is 0."))


# -- 12: pipelines with Airflow ------------------------------------------------------
def _daily_totals(days) -> pd.DataFrame:
    from scalelab.apps import pipeline

    rows = []
    for day in days:
        zones = pipeline.reference(pipeline.day_trips(day, pipeline.DEFAULT_ROWS))
        rows.append({"day": pd.Timestamp(day), "trips": int(zones["trips"].sum()), "revenue": zones["revenue"].sum()})
    return pd.DataFrame(rows)


register(Exercise(
    "12.daily_totals", "Trips and revenue per loaded day, read from PostgreSQL's zone_daily", _daily_totals,
    keys=("day",), rules=LOOSE,
    hint="stores.read_pandas(\"SELECT day, sum(trips) AS trips, sum(revenue) AS revenue FROM zone_daily "
         "WHERE day BETWEEN '...' AND '...' GROUP BY day\")"))


def _task_states() -> dict:
    # What Airflow does when validate fails: the tasks after it never run; they are upstream_failed.
    after = ("transform_spark", "transform_duckdb", "agree", "load")
    return {"generate": "success", "validate": "failed", **{task: "upstream_failed" for task in after}}


register(Exercise(
    "12.task_states", "The state of each task of the bad day's run, read through the REST API", _task_states,
    kind="mapping",
    hint="{t['task']: t['state'] for t in af.task_instances('trips_daily', bad_run)}"))


# -- 13: lakehouse tables ------------------------------------------------------------
def _revenue_as_of(batches) -> pd.DataFrame:
    trips = pd.concat(batches)
    return (trips.assign(revenue=trips["fare"] + trips["tip"]).groupby("payment_type")
            .agg(trips=("trip_id", "size"), revenue=("revenue", "sum")).reset_index())


register(Exercise(
    "13.revenue_as_of", "Trips and revenue per payment type in version 1 of the Delta table", _revenue_as_of,
    keys=("payment_type",), rules=LOOSE,
    hint="DeltaTable(TRIPS, version=1).to_pandas(), then the groupby; or duckdb.sql on "
         "DeltaTable(TRIPS, version=1).to_pyarrow_dataset()"))


def _snapshot_rows(table, batches) -> dict:
    # The lab's table: three appends of the three days, in order (a schema change is no snapshot).
    ids = [s.snapshot_id for s in table.snapshots()]
    if len(ids) != len(batches):
        raise ValueError(f"the table has {len(ids)} snapshots, the lab made {len(batches)}: run the lab's cells again")
    return {snapshot: len(batch) for snapshot, batch in zip(ids, batches, strict=True)}


register(Exercise(
    "13.snapshot_rows", "Rows each Iceberg snapshot added", _snapshot_rows, kind="mapping",
    hint="{s.snapshot_id: int(s.summary['added-records']) for s in iceberg.snapshots()}"))
