"""The `events` data set as a Kafka stream: produce it, read it back, aggregate it with Spark.

    from scalelab.apps import streaming
    topic = streaming.new_topic("events-lab")
    streaming.produce(topic, events_frame)              # acks=all, idempotent producer
    back = streaming.read_topic(topic)                  # every message, with partition and offset
    streaming.produce(topic, events_frame, client="confluent")   # librdkafka (SCALELAB_KAFKA_CLIENT)
    spark = streaming.spark()                           # a SparkSession with the Kafka connector
    stream = streaming.spark_events(spark, topic)       # a streaming DataFrame of typed events

An event travels as JSON keyed by its user (so one user's events stay in order on one
partition), with its time as epoch milliseconds: exact, and the same in every reader.
"""

from __future__ import annotations

import json
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from scalelab.cluster import maven
from scalelab.config import Config

SPARK_KAFKA_CONNECTOR_VERSION = "4.2.0"
# What the connector adds to pyspark's own classpath.
CONNECTOR_ARTIFACTS = ["spark-sql-kafka-0-10_2.13", "spark-token-provider-kafka-0-10_2.13", "kafka-clients",
                       "commons-pool2"]
EVENT_COLUMNS = ["event_id", "user_id", "session_id", "event_type", "item_id", "price", "event_time", "is_late"]
EVENT_SCHEMA = ("event_id BIGINT, user_id INT, session_id BIGINT, event_type STRING, item_id INT, price DOUBLE, "
                "event_time_ms BIGINT, is_late BOOLEAN")


class StreamError(RuntimeError):
    pass


# -- Spark's connector -------------------------------------------------------------
def connector_dir(cfg: Config | None = None) -> Path:
    cfg = cfg or Config.load()
    return cfg.jars_dir / f"spark-kafka-{SPARK_KAFKA_CONNECTOR_VERSION}"


def connector_jars(cfg: Config | None = None, quiet: bool = True) -> list[Path]:
    """The connector's jars, resolved from Maven Central on first use (about 7 MB)."""
    cfg = cfg or Config.load()
    target = maven.resolve(cfg.root / "docker" / "spark-kafka" / "pom.xml", connector_dir(cfg),
                           "Spark's Kafka connector", {"connector.version": SPARK_KAFKA_CONNECTOR_VERSION},
                           include=CONNECTOR_ARTIFACTS, quiet=quiet)
    jars = sorted(target.glob("*.jar"))
    if not any(j.name.startswith("spark-sql-kafka") for j in jars):
        raise StreamError(f"{target} holds no spark-sql-kafka jar; delete the folder and run `make setup` again")
    return jars


def spark(app_name: str = "scalelab-streaming", **conf):
    """A SparkSession on the stack's cluster with the Kafka connector on driver and executors."""
    from scalelab.cluster import connect

    jars = ",".join(str(j) for j in connector_jars())
    conf.setdefault("spark__sql__session__timeZone", "UTC")
    conf.setdefault("spark__ui__showConsoleProgress", "false")
    session = connect.spark(app_name, spark__jars=jars, **conf)
    try:
        session._jvm.java.lang.Thread.currentThread().getContextClassLoader().loadClass(
            "org.apache.spark.sql.kafka010.KafkaSourceProvider")
    except Exception:
        raise StreamError("this process started Spark without the Kafka connector, and a JVM's classpath is "
                          "fixed when it starts: restart the kernel and call streaming.spark() before any "
                          "other Spark session") from None
    return session


# -- topics, producing, reading back -------------------------------------------------
def new_topic(name: str, partitions: int = 3, timeout_s: float = 30.0) -> str:
    """Create `name` afresh (deleted first if it exists), and wait until it is usable."""
    from kafka.admin import NewTopic

    from scalelab.cluster import connect

    admin = connect.kafka_admin()
    try:
        if name in admin.list_topics():
            _delete(admin, name)
            _wait(lambda: name not in admin.list_topics(), timeout_s, f"topic {name} to be deleted")
        _wait(lambda: _try_create(admin, NewTopic(name, partitions, 1)), timeout_s, f"topic {name} to be created")
    finally:
        admin.close()
    return name


def ensure_topic(name: str, partitions: int = 3, timeout_s: float = 30.0) -> str:
    """Create `name` if it does not exist yet (kept if it does). The broker does not create
    topics on first use (auto.create.topics.enable=false): a typo in a topic name is an error,
    not a new empty topic, so whatever produces creates its topic first."""
    from kafka.admin import NewTopic

    from scalelab.cluster import connect

    admin = connect.kafka_admin()
    try:
        if name not in admin.list_topics():
            _try_create(admin, NewTopic(name, partitions, 1))
            _wait(lambda: name in admin.list_topics(), timeout_s, f"topic {name} to be created")
    finally:
        admin.close()
    return name


def delete_topic(name: str) -> None:
    """Delete `name` and its messages (nothing to do if it is not there)."""
    from scalelab.cluster import connect

    admin = connect.kafka_admin()
    try:
        _delete(admin, name)
    finally:
        admin.close()


def _delete(admin, name: str) -> None:
    from kafka.errors import UnknownTopicOrPartitionError

    try:
        admin.delete_topics([name])
    except UnknownTopicOrPartitionError:   # gone already
        pass


def _try_create(admin, topic) -> bool:
    from kafka.errors import TopicAlreadyExistsError

    try:
        admin.create_topics([topic])
        return True
    except TopicAlreadyExistsError:   # a deletion still in flight
        return False


def _wait(predicate, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise StreamError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.2)


def encode(row: dict) -> bytes:
    return json.dumps(row, separators=(",", ":")).encode()


def event_messages(events: pd.DataFrame):
    """(key, value) pairs for each event, in the frame's order (arrival order)."""
    def column(values: pd.Series) -> list:
        # Python ints and floats for json, None for a missing value (JSON null).
        return values.astype(object).where(values.notna(), None).tolist()

    ms = events["event_time"].to_numpy().astype("datetime64[ms]").astype(np.int64).tolist()
    # Whole columns to Python lists first: a row at a time through pandas cost more than the send.
    for event_id, user_id, session_id, event_type, item_id, price, time_ms, is_late in zip(
            events["event_id"].tolist(), events["user_id"].tolist(), events["session_id"].tolist(),
            events["event_type"].tolist(), column(events["item_id"].astype("Int64")), column(events["price"]),
            ms, events["is_late"].tolist(), strict=True):
        value = {"event_id": int(event_id), "user_id": int(user_id), "session_id": int(session_id),
                 "event_type": event_type, "item_id": item_id if item_id is None else int(item_id),
                 "price": price if price is None else float(price), "event_time_ms": time_ms,
                 "is_late": bool(is_late)}
        yield str(value["user_id"]).encode(), encode(value)


@dataclass
class Produced:
    topic: str
    sent: int
    acknowledged: int
    failed: int
    seconds: float
    checksum: int                 # sum of crc32(key|value) over acknowledged messages


def produce(topic: str, events: pd.DataFrame, idempotent: bool = True, progress: bool | None = None,
            client: str | None = None, **producer_conf) -> Produced:
    """Send every event with acks=all (and an idempotent producer) and count the acknowledgements.

    In a notebook a bar under the cell counts the acknowledged messages (`progress`: force it on or off).
    `client`: kafka-python or confluent (default: SCALELAB_KAFKA_CLIENT); `producer_conf` in that client's names."""
    return produce_messages(topic, event_messages(events), idempotent=idempotent, total=len(events),
                            progress=progress, client=client, **producer_conf)


def produce_messages(topic: str, messages, idempotent: bool = True, total: int | None = None,
                     progress: bool | None = None, client: str | None = None, **producer_conf) -> Produced:
    """Send each (key, value) or (key, value, headers) of `messages`; see produce."""
    from scalelab import progress as bars
    from scalelab.apps import kafka_clients

    client = client or Config.load().kafka_client
    conf = kafka_clients.producer_conf(client, idempotent, producer_conf)
    ensure_topic(topic)
    tally = kafka_clients.Tally()
    # The bar counts acknowledgements, drawn from this thread (kafka-python's callbacks run in its
    # I/O thread, and a widget is best updated from the kernel's own).
    shown = bars.bar(total, f"acknowledged by {topic}", enabled=progress)
    start = time.perf_counter()
    try:
        sent = kafka_clients.send_all(client, topic, messages, conf, tally, message_crc,
                                      lambda: shown.update(tally.acknowledged - shown.n))
    finally:
        shown.close()
    return Produced(topic, sent, tally.acknowledged, tally.failed, time.perf_counter() - start, tally.checksum)


def read_topic(topic: str, timeout_s: float = 60.0, progress: bool | None = None,
               client: str | None = None) -> pd.DataFrame:
    """Every message now in `topic`: partition, offset, key, value (bytes), read to the end offsets.

    In a notebook a bar counts the messages read; `client` as for produce."""
    from scalelab import progress as bars
    from scalelab.apps import kafka_clients

    client = client or Config.load().kafka_client
    rows = kafka_clients.read_all(client, topic, timeout_s, StreamError,
                                  lambda total: bars.bar(total, f"read from {topic}", enabled=progress))
    return pd.DataFrame(rows, columns=["partition", "offset", "key", "value"])


def message_crc(key: bytes | None, value: bytes) -> int:
    """One message's fingerprint; summed over messages it is order-free, so partitions can interleave.
    A message without a key counts as one with an empty key, as the producer counted it."""
    return zlib.crc32((key or b"") + b"|" + value)


def checksum(messages: pd.DataFrame) -> int:
    """The sum of message_crc over a frame of messages (what read_topic returns)."""
    return pairs_checksum(zip(messages["key"], messages["value"], strict=True))


def pairs_checksum(pairs) -> int:
    return int(sum(message_crc(k, v) for k, v in pairs))


# What each field of an event message must be; None marks the fields that may be JSON null.
FIELD_TYPES = {"event_id": (int,), "user_id": (int,), "session_id": (int,), "event_type": (str,),
               "item_id": (int, None), "price": (float, int, None), "event_time_ms": (int,), "is_late": (bool,)}


def event_problem(value) -> str | None:
    """Why a message's value is not an event (None when it is one)."""
    try:
        event = json.loads(value)
    except (ValueError, TypeError) as exc:      # not JSON, not UTF-8, or not bytes at all
        return f"not JSON: {exc}"[:200]
    if not isinstance(event, dict):
        return f"not a JSON object but {type(event).__name__}"
    for name, kinds in FIELD_TYPES.items():
        if name not in event:
            return f"no field {name!r}"
        v = event[name]
        if v is None and None in kinds:
            continue
        if isinstance(v, bool) != (kinds == (bool,)) or not isinstance(v, tuple(k for k in kinds if k)):
            return f"field {name!r} is {type(v).__name__} {str(v)[:40]!r}"
        if isinstance(v, float) and v != v:
            return f"field {name!r} is NaN"
    return None


@dataclass
class Decoded:
    events: pd.DataFrame          # the events, shaped like the data set's table
    bad: pd.DataFrame             # the messages that are not events: their columns, and `reason`


def split_events(messages: pd.DataFrame) -> Decoded:
    """The events of a batch of messages, and apart from them every message that is not one.

    One malformed message (b'{not json', b'null', a field missing or of another type) must not
    stop the batch: the rest are decoded, and the bad ones kept with the reason, for a dead-letter topic.
    """
    reasons = [event_problem(v) for v in messages["value"]]
    ok = np.array([r is None for r in reasons], dtype=bool)
    good = messages[ok]
    out = pd.DataFrame([json.loads(v) for v in good["value"]], columns=list(FIELD_TYPES))
    out["event_time"] = pd.to_datetime(out.pop("event_time_ms").astype("int64"), unit="ms")
    bad = messages[~ok].assign(reason=[r for r in reasons if r is not None])
    return Decoded(out[EVENT_COLUMNS], bad.reset_index(drop=True))


def decode_events(messages: pd.DataFrame) -> pd.DataFrame:
    """The events back as a frame shaped like the data set's table; a message that is not an event
    is an error naming it (split_events keeps the rest instead)."""
    decoded = split_events(messages)
    if len(decoded.bad):
        first = decoded.bad.iloc[0]
        where = f" at partition {first['partition']}, offset {first['offset']}" if "offset" in decoded.bad else ""
        raise StreamError(f"{len(decoded.bad):,} of {len(messages):,} messages are not events; the first{where}: "
                          f"{first['reason']} (streaming.split_events decodes the rest)")
    return decoded.events


def dead_letter_topic(topic: str) -> str:
    return f"{topic}.dead-letter"


def send_dead_letters(topic: str, bad: pd.DataFrame) -> Produced:
    """Each bad message, as it came, to `topic`'s dead-letter topic, its reason in a header."""
    keys = bad["key"] if "key" in bad else [None] * len(bad)
    triples = [(k, v, [("scalelab-reason", r.encode()), ("scalelab-source-topic", topic.encode())])
               for k, v, r in zip(keys, bad["value"], bad["reason"], strict=True)]
    return produce_messages(dead_letter_topic(topic), triples)


# -- Spark Structured Streaming -------------------------------------------------------
def spark_events(session, topic: str, max_offsets_per_trigger: int | None = None):
    """The topic as a streaming DataFrame of typed events (event_time a timestamp)."""
    from pyspark.sql import functions as F

    cfg = Config.load()
    from scalelab.cluster import credentials

    reader = (session.readStream.format("kafka").option("kafka.bootstrap.servers", cfg.kafka_bootstrap_servers)
              .options(**credentials.kafka_spark_options(cfg))
              .option("subscribe", topic).option("startingOffsets", "earliest"))
    if max_offsets_per_trigger:
        reader = reader.option("maxOffsetsPerTrigger", str(max_offsets_per_trigger))
    parsed = reader.load().select(F.from_json(F.col("value").cast("string"), EVENT_SCHEMA).alias("e"),
                                  F.col("timestamp").alias("kafka_time"))
    return parsed.select("e.*", "kafka_time").withColumn("event_time", F.timestamp_millis("event_time_ms")) \
        .drop("event_time_ms")


def run_to_end(frame, name: str, mode: str = "complete"):
    """Run a streaming query over everything in the topic now (trigger availableNow), into memory.

    Returns the query's result as a pandas DataFrame and its progress reports.
    """
    query = (frame.writeStream.outputMode(mode).format("memory").queryName(name)
             .trigger(availableNow=True).start())
    query.awaitTermination()
    if query.exception() is not None:
        raise StreamError(f"streaming query {name} failed: {query.exception()}")
    session = frame.sparkSession
    result = session.sql(f"SELECT * FROM {name}").toPandas()
    progress = list(query.recentProgress)
    return result, progress


def windowed_counts(events: pd.DataFrame, minutes: int = 1) -> pd.DataFrame:
    """The batch answer a windowed stream must match: events and revenue per window and type."""
    df = events.assign(window_start=events["event_time"].dt.floor(f"{minutes}min"))
    groups = df.groupby(["window_start", "event_type"], observed=True)
    # SQL's SUM over nothing but NULLs is NULL where pandas' sum is 0: min_count=1 means the same as SQL
    # (searches carry no price, so a window of only searches has no revenue, not a revenue of 0).
    return groups.size().rename("events").to_frame().assign(revenue=groups["price"].sum(min_count=1)).reset_index()
