"""SQL and NoSQL stores for the platform labs: PostgreSQL (load, query from every engine,
indexes) and Redis as an online feature store fed by the Kafka events stream.

    from scalelab.apps import stores
    seconds = stores.load_copy(frame, "trips")        # COPY: one stream of rows
    seconds = stores.load_rows(frame, "trips_slow")   # one INSERT per row, to measure against
    stores.read_pandas("SELECT ...")                   # pandas through SQLAlchemy
    stores.read_duckdb("trips", "SELECT ... FROM t")   # the table as Arrow (ADBC), queried by DuckDB
    stores.read_spark(spark, "trips", "trip_id")       # Spark's JDBC source, partitioned reads
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
from psycopg import sql

from scalelab.cluster import maven
from scalelab.config import Config

JDBC_DRIVER_VERSION = "42.7.14"   # keep in step with docker/postgres-jdbc/pom.xml


class StoreError(RuntimeError):
    pass


def _cfg(cfg: Config | None) -> Config:
    return cfg or Config.load()


def _conn(cfg: Config | None = None):
    import psycopg

    return psycopg.connect(**_cfg(cfg).postgres_params)


# -- loading --------------------------------------------------------------------------
_PG_TYPES = {"i": "bigint", "u": "bigint", "f": "double precision", "b": "boolean", "M": "timestamp"}


def ident(name: str) -> str:
    """A table or column name as PostgreSQL SQL text, quoted by psycopg (a quote inside is doubled):
    for the clients that take SQL as a string (ADBC, Spark's JDBC source)."""
    return sql.Identifier(name).as_string(None)


def _create(cur, frame: pd.DataFrame, table: str) -> None:
    columns = sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(str(c)),
                                                         sql.SQL(_PG_TYPES.get(frame[c].dtype.kind, "text")))
                                 for c in frame.columns)
    cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))
    cur.execute(sql.SQL("CREATE TABLE {} ({})").format(sql.Identifier(table), columns))


def _rows(frame: pd.DataFrame):
    # Nulls as None, numpy scalars as Python ones: what the driver sends as parameters.
    for row in frame.astype(object).where(frame.notna(), None).itertuples(index=False, name=None):
        yield row


def load_rows(frame: pd.DataFrame, table: str, cfg: Config | None = None) -> float:
    """The slow way, for comparison: one INSERT statement per row (one transaction). Seconds."""
    insert = sql.SQL("INSERT INTO {} VALUES ({})").format(
        sql.Identifier(table), sql.SQL(", ").join([sql.Placeholder()] * len(frame.columns)))
    start = time.perf_counter()
    with _conn(cfg) as conn, conn.cursor() as cur:
        _create(cur, frame, table)
        for row in _rows(frame):
            cur.execute(insert, row)
    return time.perf_counter() - start


def load_copy(frame: pd.DataFrame, table: str, cfg: Config | None = None) -> float:
    """The bulk way: COPY FROM STDIN, every row in one stream (one transaction). Seconds."""
    start = time.perf_counter()
    with _conn(cfg) as conn, conn.cursor() as cur:
        _create(cur, frame, table)
        with cur.copy(sql.SQL("COPY {} FROM STDIN").format(sql.Identifier(table))) as copy:
            for row in _rows(frame):
                copy.write_row(row)
    return time.perf_counter() - start


def table_summary(table: str, key: str, cfg: Config | None = None) -> tuple[int, int]:
    """(rows, sum of `key`): a cheap fingerprint to compare two loads of the same data."""
    with _conn(cfg) as conn:
        rows, total = conn.execute(sql.SQL("SELECT count(*), coalesce(sum({}), 0) FROM {}").format(
            sql.Identifier(key), sql.Identifier(table))).fetchone()
    return int(rows), int(total)


# -- querying -------------------------------------------------------------------------
def read_pandas(sql: str, cfg: Config | None = None) -> pd.DataFrame:
    from scalelab.cluster import connect

    engine = connect.postgres(cfg)
    try:
        return pd.read_sql(sql, engine)
    finally:
        engine.dispose()


def read_arrow(table: str, cfg: Config | None = None):
    """A whole table as an Arrow table through ADBC (columnar, no Python objects per row)."""
    import adbc_driver_postgresql.dbapi as adbc

    with adbc.connect(_cfg(cfg).postgres_uri()) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT * FROM {ident(table)}")
        return cur.fetch_arrow_table()


def read_duckdb(table: str, sql: str, cfg: Config | None = None) -> pd.DataFrame:
    """DuckDB on a PostgreSQL table: `sql` names it `t`. DuckDB's postgres extension would scan it
    in place, but extensions download from DuckDB's site, which this lab does not reach; ADBC
    hands DuckDB the table as Arrow instead (fine at lab sizes: the whole table crosses once)."""
    import duckdb

    t = read_arrow(table, cfg)   # noqa: F841 - DuckDB finds the Arrow table by its Python name
    with duckdb.connect() as con:
        return con.sql(sql).df()


def jdbc_jars(cfg: Config | None = None) -> list[Path]:
    cfg = _cfg(cfg)
    target = maven.resolve(cfg.root / "docker" / "postgres-jdbc" / "pom.xml",
                           cfg.jars_dir / f"postgres-jdbc-{JDBC_DRIVER_VERSION}", "PostgreSQL's JDBC driver",
                           {"driver.version": JDBC_DRIVER_VERSION})
    return sorted(target.glob("*.jar"))


def spark(app_name: str = "scalelab-stores", **conf):
    """A SparkSession with PostgreSQL's JDBC driver on the driver and executors."""
    from scalelab.cluster import connect

    return connect.spark(app_name, spark__jars=",".join(str(j) for j in jdbc_jars()), **conf)


def jdbc_options(cfg: Config | None = None) -> dict[str, str]:
    p = _cfg(cfg).postgres_params
    return {"url": f"jdbc:postgresql://{p['host']}:{p['port']}/{p['dbname']}", "user": p["user"],
            "password": p["password"], "driver": "org.postgresql.Driver"}


def read_spark(session, table: str, partition_column: str | None = None, partitions: int = 4,
               cfg: Config | None = None):
    """Spark's JDBC source. With a numeric `partition_column`, `partitions` executors' tasks each read
    one range of it in parallel (Spark asks PostgreSQL for the bounds first); without, one task reads all."""
    reader = session.read.format("jdbc").options(dbtable=ident(table), **jdbc_options(cfg))
    if partition_column:
        with _conn(cfg) as conn:
            column = sql.Identifier(partition_column)
            low, high = conn.execute(sql.SQL("SELECT min({}), max({}) FROM {}").format(
                column, column, sql.Identifier(table))).fetchone()
        if low is None:
            raise StoreError(f"{table} is empty: nothing to partition by {partition_column}")
        reader = reader.options(partitionColumn=partition_column, lowerBound=str(low), upperBound=str(high),
                                numPartitions=str(partitions))
    return reader.load()


def explain(sql: str, cfg: Config | None = None, analyze: bool = True) -> str:
    """PostgreSQL's plan for `sql` (EXPLAIN ANALYZE runs it: the times are real)."""
    with _conn(cfg) as conn:
        rows = conn.execute(("EXPLAIN ANALYZE " if analyze else "EXPLAIN ") + sql).fetchall()
    return "\n".join(r[0] for r in rows)


# -- Redis: an online feature store ------------------------------------------------------
FEATURES = ("view", "cart", "remove", "purchase", "search")


def _key(prefix: str, user) -> str:
    return f"{prefix}:{int(user)}"


def update_features(client, events: pd.DataFrame, prefix: str = "features:user") -> int:
    """Add a batch of events to each user's counters (HINCRBY per user and event type), in one
    round trip. Counters are increments: a batch applied twice is counted twice, so a consumer
    commits its offsets only after the batch is applied (at-least-once, see feed_from_kafka)."""
    counts = events.groupby(["user_id", "event_type"]).size()
    with client.pipeline(transaction=False) as pipe:
        for (user, kind), n in counts.items():
            pipe.hincrby(_key(prefix, user), kind, int(n))
        pipe.execute()
    return int(counts.sum())


class Fed(int):
    """The events a feed applied (an int, as before), and how many messages went to the dead-letter topic."""
    dead_lettered: int

    def __new__(cls, applied: int, dead_lettered: int) -> Fed:
        fed = super().__new__(cls, applied)
        fed.dead_lettered = dead_lettered
        return fed


def feed_from_kafka(client, topic: str, group: str, prefix: str = "features:user", expected: int | None = None,
                    idle_s: float = 10.0) -> Fed:
    """Consume `topic` in batches, update the counters, then commit: the stream feeds the store.

    A message that is not an event goes to the topic's dead-letter topic (with the reason) and the
    rest of its batch is applied; `expected` counts messages consumed, good and bad.
    """
    from scalelab.apps.streaming import send_dead_letters, split_events
    from scalelab.cluster import connect

    consumer = connect.kafka_consumer(topic, group_id=group, enable_auto_commit=False, consumer_timeout_ms=1000)
    applied, dead, consumed, last = 0, 0, 0, time.monotonic()
    try:
        while expected is None or consumed < expected:
            batch = consumer.poll(timeout_ms=1000, max_records=5000)
            records = [r for part in batch.values() for r in part]
            if not records:
                if time.monotonic() - last > idle_s:
                    break
                continue
            frame = pd.DataFrame({"partition": [r.partition for r in records], "offset": [r.offset for r in records],
                                  "key": [r.key for r in records], "value": [r.value for r in records]})
            decoded = split_events(frame)
            if len(decoded.bad):
                sent = send_dead_letters(topic, decoded.bad)
                if sent.acknowledged != len(decoded.bad):   # not committed: the batch comes again
                    raise RuntimeError(f"the dead-letter topic took {sent.acknowledged} of {len(decoded.bad)} "
                                       "messages; nothing of this batch was committed")
                dead += len(decoded.bad)
            applied += update_features(client, decoded.events, prefix)
            consumer.commit()
            consumed += len(records)
            last = time.monotonic()
    finally:
        consumer.close()
    return Fed(applied, dead)


def online_features(client, users, prefix: str = "features:user") -> pd.DataFrame:
    """Each user's counters as the serving side reads them: one HGETALL per user, pipelined."""
    users = [int(u) for u in users]
    with client.pipeline(transaction=False) as pipe:
        for user in users:
            pipe.hgetall(_key(prefix, user))
        hashes = pipe.execute()
    rows = [{"user_id": u, **{f: int(h.get(f.encode(), 0)) for f in FEATURES}} for u, h in zip(users, hashes, strict=True)]
    return pd.DataFrame(rows, columns=["user_id", *FEATURES])


def batch_features(events: pd.DataFrame) -> pd.DataFrame:
    """The same counters computed in one batch with pandas: what the online store must equal."""
    counts = pd.crosstab(events["user_id"], events["event_type"])
    counts = counts.reindex(columns=list(FEATURES), fill_value=0).astype("int64")
    return counts.reset_index().rename_axis(columns=None)


def clear_features(client, prefix: str = "features:user") -> int:
    keys = list(client.scan_iter(f"{prefix}:*", count=1000))
    return client.delete(*keys) if keys else 0
