"""The daily batch pipeline of the Airflow lab, one function per step.

    generate  -> a day of trips, datasets/pipeline/raw/day=YYYY-MM-DD/trips.parquet
    validate  -> schema, unique ids, timestamps inside the day, no negative fares
    transform -> zone_daily for that day, on Spark (the cluster) or DuckDB (in process)
    agree     -> both outputs equal the pandas reference (compare.compare's rules)
    load      -> PostgreSQL's zone_daily: that day's rows replaced in one transaction

Airflow's tasks call these through `scalelab pipeline STEP --day {{ ds }}`, so the DAG file stays a
few lines of wiring and every step is tested here without Airflow. Each step is idempotent: a file is
written under a temporary name and renamed, and a load deletes the day's rows before copying them in
the same transaction, so running a day twice leaves the same files and the same table.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import numpy as np
import pandas as pd

from scalelab.config import Config
from scalelab.workloads import compare

TABLE = "zone_daily"
ENGINES = ("spark", "duckdb")
DEFAULT_ROWS = 2000
ZONES = 40
COLUMNS = {"trip_id": "int64", "pickup_at": "datetime64[us]", "pickup_zone": "int64",
           "passenger_count": "Int64", "distance_km": "float64", "fare": "float64", "tip": "float64"}
# The transformation, once in SQL: DuckDB runs it as it is and Spark SQL runs it too; the pandas
# reference below is written separately, so that a shared mistake cannot agree with itself.
ZONE_DAILY_SQL = """
SELECT pickup_zone AS zone,
       count(*) AS trips,
       CAST(sum(passenger_count) AS BIGINT) AS passengers,  -- DuckDB sums BIGINTs into a HUGEINT
       sum(fare + coalesce(tip, 0)) AS revenue,
       avg(distance_km) AS avg_km
FROM trips
GROUP BY pickup_zone
"""


class PipelineError(RuntimeError):
    """A step cannot run or its input is wrong; the message says which day and why."""


def parse_day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise PipelineError(f"day {text!r} is not a date: write it as YYYY-MM-DD (Airflow's {{{{ ds }}}})") from None


def root(cfg: Config | None = None) -> Path:
    return (cfg or Config.load()).data_dir / "pipeline"


def raw_path(day: dt.date, cfg: Config | None = None) -> Path:
    return root(cfg) / "raw" / f"day={day.isoformat()}" / "trips.parquet"


def output_path(engine: str, day: dt.date, cfg: Config | None = None) -> Path:
    if engine not in ENGINES:
        raise PipelineError(f"unknown engine {engine!r}; the pipeline runs on: {', '.join(ENGINES)}")
    return root(cfg) / TABLE / engine / f"day={day.isoformat()}.parquet"


def _write_atomically(frame: pd.DataFrame, path: Path) -> Path:
    """A reader (the next task, a rerun) sees the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, path)
    return path


def _require(path: Path, what: str, day: dt.date) -> Path:
    if not path.exists():
        raise PipelineError(f"{what} of {day} is missing ({path}); run the step before it first")
    return path


def _read(path: Path, what: str, day: dt.date) -> pd.DataFrame:
    return pd.read_parquet(_require(path, what, day))


# -- generate ----------------------------------------------------------------------------
def day_trips(day: dt.date, rows: int = DEFAULT_ROWS, dirty: bool = False) -> pd.DataFrame:
    """A day of trips, the same for the same day and size (the seed is the date).
    `dirty` repeats some trip ids and puts a pickup on the next day: what validation must stop."""
    if rows < 10:
        raise PipelineError(f"rows={rows}: a day needs at least 10 trips")
    rng = np.random.default_rng(int(day.strftime("%Y%m%d")))
    midnight = np.datetime64(day.isoformat(), "us")
    weights = 1.0 / np.arange(1, ZONES + 1) ** 0.8
    distance = np.round(rng.gamma(2.0, 1.8, rows), 2)
    fare = np.round(3.0 + 1.9 * distance + rng.normal(0, 1.0, rows).clip(-2, 4), 2)
    cash = rng.random(rows) < 0.3
    frame = pd.DataFrame({
        "trip_id": int(day.strftime("%Y%m%d")) * 1_000_000 + np.arange(rows, dtype=np.int64),
        "pickup_at": midnight + rng.integers(0, 86_400 * 10**6, rows).astype("timedelta64[us]"),
        "pickup_zone": rng.choice(np.arange(1, ZONES + 1), rows, p=weights / weights.sum()).astype(np.int64),
        "passenger_count": pd.array(rng.integers(1, 5, rows), dtype="Int64"),
        "distance_km": distance,
        "fare": fare,
        # Cash tips are not recorded: null, not zero.
        "tip": np.where(cash, np.nan, np.round(fare * rng.uniform(0.05, 0.25, rows), 2)),
    })
    frame.loc[rng.random(rows) < 0.01, "passenger_count"] = pd.NA
    if dirty:
        frame.loc[:4, "trip_id"] = frame.loc[5:9, "trip_id"].to_numpy()
        frame.loc[10, "pickup_at"] = midnight + np.timedelta64(1, "D")
    return frame.sort_values("pickup_at", ignore_index=True)


def generate(day: dt.date, rows: int = DEFAULT_ROWS, *, attempt: int = 1, fail_attempts: int = 0,
             dirty: bool = False, cfg: Config | None = None) -> Path:
    """Write the day's raw trips. `fail_attempts` > 0 makes the first attempts fail, as a flaky
    upstream would: the lab's retries demonstration (Airflow passes its try number as `attempt`)."""
    if attempt <= fail_attempts:
        raise PipelineError(f"simulated upstream outage for {day}: attempt {attempt} of the "
                            f"{fail_attempts} set to fail (fail_attempts)")
    return _write_atomically(day_trips(day, rows, dirty), raw_path(day, cfg))


# -- validate ----------------------------------------------------------------------------
def problems(frame: pd.DataFrame, day: dt.date) -> list[str]:
    """Every rule the day's raw data breaks (empty: the data may go on)."""
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        return [f"columns missing: {missing}"]
    found = []
    if frame.empty:
        found.append("no rows")
    if frame["trip_id"].isna().any():
        found.append(f"{int(frame['trip_id'].isna().sum())} trip_id(s) null")
    dupes = frame["trip_id"].duplicated(keep=False)
    if dupes.any():
        found.append(f"{int(frame.loc[dupes, 'trip_id'].nunique())} trip_id(s) repeated, "
                     f"e.g. {frame.loc[dupes, 'trip_id'].iloc[0]}")
    start = pd.Timestamp(day)
    outside = (frame["pickup_at"] < start) | (frame["pickup_at"] >= start + pd.Timedelta(days=1))
    if outside.any():
        found.append(f"{int(outside.sum())} pickup(s) outside {day}, e.g. {frame.loc[outside, 'pickup_at'].iloc[0]}")
    for column in ("fare", "distance_km"):
        negative = frame[column] < 0
        if negative.any():
            found.append(f"{int(negative.sum())} negative {column}")
    return found


def validate(day: dt.date, cfg: Config | None = None) -> int:
    frame = _read(raw_path(day, cfg), "the raw trips", day)
    found = problems(frame, day)
    if found:
        raise PipelineError(f"the trips of {day} fail validation: " + "; ".join(found))
    return len(frame)


# -- transform ---------------------------------------------------------------------------
def reference(trips: pd.DataFrame) -> pd.DataFrame:
    """zone_daily in pandas: the answer both engines are checked against."""
    frame = trips.assign(paid=trips["fare"] + trips["tip"].fillna(0))
    out = frame.groupby("pickup_zone").agg(trips=("trip_id", "size"), passengers=("passenger_count", "sum"),
                                           revenue=("paid", "sum"), avg_km=("distance_km", "mean"))
    return out.reset_index().rename(columns={"pickup_zone": "zone"})


def transform_duckdb(path: Path) -> pd.DataFrame:
    import duckdb

    with duckdb.connect() as con:
        con.read_parquet(str(path)).create_view("trips")      # the path as a value, not SQL text
        return con.execute(ZONE_DAILY_SQL).df()


def transform_spark(path: Path) -> pd.DataFrame:
    from scalelab.cluster import connect

    session = connect.spark("scalelab-pipeline")
    try:
        # Executors read the file: the data folder is at the same path on every machine of the stack.
        session.read.parquet(str(path)).createOrReplaceTempView("trips")
        return session.sql(ZONE_DAILY_SQL).toPandas()
    finally:
        session.stop()


def transform(day: dt.date, engine: str, cfg: Config | None = None) -> Path:
    target = output_path(engine, day, cfg)
    source = _require(raw_path(day, cfg), "the raw trips", day)   # the engine reads it, not this process
    run = transform_spark if engine == "spark" else transform_duckdb
    return _write_atomically(run(source), target)


# -- agree -------------------------------------------------------------------------------
def agree(day: dt.date, cfg: Config | None = None) -> dict[str, int]:
    """Each engine's output equals the pandas reference (values, nulls, row set; floats within
    compare.RTOL). Raises compare.Mismatch naming the engine otherwise."""
    want = reference(_read(raw_path(day, cfg), "the raw trips", day))
    rows = {}
    for engine in ENGINES:
        got = _read(output_path(engine, day, cfg), f"{engine}'s zone_daily", day)
        try:
            rows[engine] = compare.compare(got, want).rows
        except compare.Mismatch as exc:
            raise compare.Mismatch(f"{engine}'s zone_daily for {day} is not the reference's:\n{exc}") from None
    return rows


# -- load --------------------------------------------------------------------------------
DDL = f"""CREATE TABLE IF NOT EXISTS {TABLE} (
    day date NOT NULL, zone integer NOT NULL, trips bigint NOT NULL, passengers bigint,
    revenue double precision NOT NULL, avg_km double precision NOT NULL,
    PRIMARY KEY (day, zone))"""


def load(day: dt.date, engine: str = "duckdb", cfg: Config | None = None) -> int:
    """Replace the day's rows with the agreed output, in one transaction: a rerun of the day
    leaves the table as it was, and a reader never sees the day half loaded."""
    import psycopg

    cfg = cfg or Config.load()
    frame = _read(output_path(engine, day, cfg), f"{engine}'s zone_daily", day)
    with psycopg.connect(**cfg.postgres_params) as conn, conn.cursor() as cur:
        cur.execute(DDL)
        cur.execute(f"DELETE FROM {TABLE} WHERE day = %s", (day,))
        with cur.copy(f"COPY {TABLE} (day, zone, trips, passengers, revenue, avg_km) FROM STDIN") as copy:
            for row in frame.sort_values("zone").itertuples(index=False):
                passengers = None if pd.isna(row.passengers) else int(row.passengers)
                copy.write_row((day, int(row.zone), int(row.trips), passengers, float(row.revenue),
                                float(row.avg_km)))
    return len(frame)


def table_state(cfg: Config | None = None) -> pd.DataFrame:
    """Per day: rows, total trips and an md5 of every value in key order: equal states, equal tables."""
    import psycopg

    cfg = cfg or Config.load()
    with psycopg.connect(**cfg.postgres_params) as conn:
        exists = conn.execute("SELECT to_regclass(%s)", (TABLE,)).fetchone()[0]
        if exists is None:
            return pd.DataFrame(columns=["day", "rows", "trips", "md5"])
        rows = conn.execute(f"""
            SELECT day, count(*), sum(trips),
                   md5(string_agg(concat_ws(',', zone, trips, passengers, revenue, avg_km), ';' ORDER BY zone))
            FROM {TABLE} GROUP BY day ORDER BY day""").fetchall()
    return pd.DataFrame(rows, columns=["day", "rows", "trips", "md5"])


STEPS = ("generate", "validate", "transform", "agree", "load")
