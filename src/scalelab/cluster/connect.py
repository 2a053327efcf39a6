"""Connections to the running stack, with no configuration in the notebook.

Addresses come from the same variables `make up` exports into JupyterLab's kernels
(SPARK_MASTER_URL, DASK_SCHEDULER_ADDRESS, RAY_ADDRESS, KAFKA_BOOTSTRAP_SERVERS), so
pointing them at an external cluster moves a notebook there unchanged.

    from scalelab.cluster import connect
    spark = connect.spark()          # SparkSession on the standalone cluster
    client = connect.dask()          # distributed.Client on the scheduler
    connect.ray()                    # ray.init on the head
    producer = connect.kafka_producer()   # kafka-python; client="confluent" for librdkafka's
    engine = connect.postgres()      # the platform profile: SQLAlchemy on PostgreSQL
    store = connect.redis()          # and a Redis client
"""

from __future__ import annotations

import os
import sys
from typing import Any

from scalelab.cluster import credentials
from scalelab.cluster.health import port_open
from scalelab.config import KAFKA_CLIENTS, Config, address_host_port


class StackNotUp(ConnectionError):
    """The service a helper needs is not answering."""


def _config() -> Config:
    return Config.load()


def _require(service: str, address: str) -> None:
    host, port = address_host_port(address)
    if not port_open(host, port, timeout=2.0):
        raise StackNotUp(f"{service} is not reachable at {address}. Start the stack with `make up` "
                         f"(or `scalelab up`), then check it with `make status`.")


def spark(app_name: str = "scalelab", **conf: Any):
    """A SparkSession on the standalone cluster (never local[*])."""
    cfg = _config()
    _require("The Spark master", cfg.spark_master_url)
    from pyspark.sql import SparkSession

    # Executors run Python UDFs with the same interpreter as the driver (same venv here).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    # In a container (JupyterLab's) that is the container's own address, not 127.0.0.1.
    driver_host = os.environ.get("SPARK_DRIVER_HOST", cfg.advertise_host)
    builder = (SparkSession.builder.master(cfg.spark_master_url).appName(app_name)
               # Executors connect back to the driver: give them an address they can reach.
               .config("spark.driver.host", driver_host)
               .config("spark.driver.bindAddress", os.environ.get("SPARK_DRIVER_BIND_ADDRESS", cfg.bind_host))
               .config("spark.executor.memory", cfg.get("SPARK_EXECUTOR_MEMORY"))
               # Set before the driver's JVM starts (pyspark passes them to spark-submit), so they apply to it.
               .config("spark.driver.extraJavaOptions", cfg.get("SPARK_APP_JAVA_OPTIONS"))
               .config("spark.executor.extraJavaOptions", cfg.get("SPARK_APP_JAVA_OPTIONS"))
               # One executor of SPARK_APP_CORES per application, capped by spark.cores.max, so a
               # second notebook's application gets the worker's other slots instead of waiting.
               .config("spark.executor.cores", str(cfg.int("SPARK_APP_CORES")))
               .config("spark.cores.max", str(cfg.int("SPARK_APP_CORES")))
               .config("spark.sql.shuffle.partitions", str(2 * cfg.int("SPARK_APP_CORES")))
               .config("spark.sql.execution.arrow.pyspark.enabled", "true")
               # The application UI (jobs, stages, SQL plans) on SPARK_UI_PORT; a second notebook's
               # driver takes the next free port, up to SPARK_UI_PORTS of them. JupyterLab's proxy
               # serves it at /proxy/PORT/ (spark_jobs.ui_path), so one forwarded port reaches it.
               .config("spark.ui.enabled", "true")
               .config("spark.ui.port", str(cfg.port("SPARK_UI_PORT")))
               .config("spark.port.maxRetries", str(cfg.int("SPARK_UI_PORTS")))
               # A lab's jobs, not a week's: the driver keeps less UI state than its default 1,000.
               .config("spark.ui.retainedJobs", "200")
               .config("spark.ui.retainedStages", "200")
               # Every application's event log, for the history server (its UI once the notebook ends).
               .config("spark.eventLog.enabled", "true")
               .config("spark.eventLog.dir", _events_dir(cfg).as_uri())
               # The console bar writes to the driver JVM's stderr, which a notebook never shows; in a
               # notebook the bar under the cell is spark_jobs' (watch_cells below).
               .config("spark.ui.showConsoleProgress", "false"))
    # SCALELAB_AUTH=on: the master and worker ask for the stack's shared secret.
    for key, value in credentials.spark_conf(cfg).items():
        builder = builder.config(key, value)
    for key, value in conf.items():
        builder = builder.config(key.replace("__", "."), value)
    # Without SPARK_LOCAL_IP the application UI listens on every interface; read at the JVM's start.
    if not cfg.binds_everywhere:
        os.environ.setdefault("SPARK_LOCAL_IP", cfg.bind_host)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("WARN")
    from scalelab.cluster import spark_jobs

    if spark_jobs.watch_cells(session.sparkContext):
        spark_jobs.show_link(session.sparkContext)
    return session


def _events_dir(cfg: Config):
    path = cfg.spark_events_dir
    path.mkdir(parents=True, exist_ok=True)
    return path


def dask(**kwargs: Any):
    """A distributed.Client on the stack's scheduler."""
    cfg = _config()
    _require("The Dask scheduler", cfg.dask_scheduler_address)
    from distributed import Client

    security = credentials.dask_security(cfg)
    if security is not None:
        kwargs.setdefault("security", security)
    return Client(cfg.dask_scheduler_address, **kwargs)


def ray(**kwargs: Any):
    """Join the Ray head as a driver (ray.init); returns Ray's context."""
    cfg = _config()
    address = cfg.ray_address
    # A ray:// address too: Ray's client retries a silent server for 40 s, then says only "timeout".
    _require("The Ray client server" if address.startswith("ray://") else "The Ray head", address)
    imported_before = "ray" in sys.modules
    missing = {k: v for k, v in cfg.ray_env().items() if k not in os.environ}
    os.environ.update(missing)
    import ray as _ray

    if imported_before and missing and not _ray.is_initialized():
        _reread_ray_env(_ray)

    if _ray.is_initialized():
        context = _ray.get_runtime_context()
    else:
        kwargs.setdefault("logging_level", "ERROR")
        context = _ray.init(address=address, **kwargs)
    _tune_ray_data(_ray)
    return context


def _reread_ray_env(ray) -> None:
    """Make an already-imported Ray see the variables connect.ray just set.

    Ray reads two of them once, at import: RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER (without
    it, Ray swaps 127.0.0.1 for the machine's external address and waits for a GCS
    that is not listening there: a lab cell hung 300 s on a machine whose eth0 had an
    address) and RAY_AUTH_MODE (without it, the head refuses the driver's missing token).
    A notebook that ran `import ray` first would otherwise never join. This is what
    Ray's own tests do to change those settings after import (authentication_test_utils).
    """
    from ray._private import ray_constants
    from ray._raylet import AuthenticationTokenLoader, Config

    flag = os.environ.get(ray_constants.ENABLE_RAY_CLUSTERS_ENV_VAR)
    if flag is not None:
        ray_constants.ENABLE_RAY_CLUSTER = flag.lower() in ("1", "true")
    Config.initialize("")
    AuthenticationTokenLoader.instance().reset_cache()


def _tune_ray_data(ray) -> None:
    """Ray Data's defaults assume a big cluster; these fit the stack's small head (every driver gets them)."""
    import ray.data

    from scalelab.progress import in_notebook

    ctx = ray.data.DataContext.get_current()
    # A kernel's stdout is no terminal, so Ray Data reports progress as log lines (each operator's
    # rows, every RAY_DATA_NON_TTY_PROGRESS_LOG_INTERVAL s, and a last line when it ends); a
    # notebook shows them under the cell. A script, a test or the bench stays quiet.
    ctx.enable_progress_bars = in_notebook()
    if ctx.enable_progress_bars:
        import logging

        logging.getLogger("ray.data").setLevel(logging.INFO)   # ray.init's logging_level is ERROR
    ctx.execution_options.verbose_progress = False
    # Ray Data's second Parquet reader reads footers through new actors; on a small
    # head each read waited ~35 s for them (measured). The first reader does not.
    ctx.use_datasource_v2 = False
    # Shuffles (groupby, join) default to 200 partitions and an aggregator actor with
    # a whole CPU each: on a 2-CPU head the actors starve the tasks that feed them.
    # One partition per CPU, and actors that mostly wait reserve a sliver of a CPU.
    cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
    # A read splits into at least 200 blocks by default, and every operator after it then pays
    # Ray Data's cost per block (about 17 ms here): a 1e6-row table read as 60 blocks took 1.0 s
    # for a bare select_columns, as 4 blocks 0.1 s. Two blocks per CPU keep both CPUs busy while
    # one block is handed on; big files still split at target_max_block_size (128 MiB).
    ctx.read_op_min_num_blocks = 2 * cpus
    ctx.default_hash_shuffle_parallelism = cpus
    ctx.max_hash_shuffle_aggregators = cpus
    ctx.hash_shuffle_operator_actor_num_cpus_override = 0.1
    ctx.hash_aggregate_operator_actor_num_cpus_override = 0.1


# kafka-python backs off up to 30 s between reconnects (Java's client: 1 s): after a broker restart a
# client could sit out most of that with the broker back. One broker on this host: retry every second.
RECONNECT_BACKOFF_MAX_MS = 1_000


def kafka_producer(client: str = "kafka-python", **kwargs: Any):
    """A producer on the broker (acks=all by default: a lab should not lose data).

    client="kafka-python" (what the labs teach): a KafkaProducer, keywords as kafka-python names them.
    client="confluent": librdkafka's Producer, keywords librdkafka's properties with `_` for `.`
    (linger_ms=20 is linger.ms=20); an unknown one is librdkafka's error naming it.
    """
    client = _kafka_client(client)
    cfg = _config()
    _require("The Kafka broker", cfg.kafka_bootstrap_servers)
    kwargs.setdefault("acks", "all")
    kwargs.setdefault("reconnect_backoff_max_ms", RECONNECT_BACKOFF_MAX_MS)
    if client == "confluent":
        from confluent_kafka import Producer

        return Producer(_librdkafka_conf(cfg, kwargs))
    from kafka import KafkaProducer

    return KafkaProducer(bootstrap_servers=cfg.kafka_bootstrap_servers, **credentials.kafka_client_params(cfg), **kwargs)


def kafka_consumer(*topics: str, client: str = "kafka-python", **kwargs: Any):
    """A consumer on the broker, subscribed to `topics` (none: assign partitions yourself).

    client="confluent": librdkafka's Consumer (keywords as for kafka_producer); it needs a
    group_id even when it only reads assigned partitions, so one is made up when none is given.
    """
    client = _kafka_client(client)
    cfg = _config()
    _require("The Kafka broker", cfg.kafka_bootstrap_servers)
    kwargs.setdefault("auto_offset_reset", "earliest")
    kwargs.setdefault("reconnect_backoff_max_ms", RECONNECT_BACKOFF_MAX_MS)
    if client == "confluent":
        from confluent_kafka import Consumer

        kwargs.setdefault("group_id", f"scalelab-{os.getpid()}")
        consumer = Consumer(_librdkafka_conf(cfg, kwargs))
        if topics:
            consumer.subscribe(list(topics))
        return consumer
    from kafka import KafkaConsumer

    return KafkaConsumer(*topics, bootstrap_servers=cfg.kafka_bootstrap_servers, **credentials.kafka_client_params(cfg),
                         **kwargs)


def _kafka_client(client: str) -> str:
    if client not in KAFKA_CLIENTS:
        raise ValueError(f"client={client!r}: a Kafka client is one of {', '.join(KAFKA_CLIENTS)}")
    return client


def _librdkafka_conf(cfg: Config, kwargs: dict[str, Any]) -> dict[str, Any]:
    conf = {"bootstrap.servers": cfg.kafka_bootstrap_servers, **credentials.kafka_librdkafka_params(cfg)}
    conf.update({key.replace("_", "."): value for key, value in kwargs.items()})
    return conf


def kafka_admin(**kwargs: Any):
    cfg = _config()
    _require("The Kafka broker", cfg.kafka_bootstrap_servers)
    from kafka import KafkaAdminClient

    return KafkaAdminClient(bootstrap_servers=cfg.kafka_bootstrap_servers, **credentials.kafka_client_params(cfg),
                            **kwargs)


def postgres(cfg: Config | None = None):
    """A SQLAlchemy engine on the platform profile's database (`make up PROFILE=platform`)."""
    cfg = cfg or _config()
    _require("PostgreSQL (make up PROFILE=platform)", f"{cfg.postgres_params['host']}:{cfg.port('POSTGRES_PORT')}")
    import sqlalchemy

    return sqlalchemy.create_engine(cfg.postgres_url)


def redis(cfg: Config | None = None):
    """A Redis client on the platform profile's Redis (`make up PROFILE=platform`)."""
    cfg = cfg or _config()
    params = cfg.redis_params
    _require("Redis (make up PROFILE=platform)", f"{params['host']}:{params['port']}")
    import redis as redis_py

    return redis_py.Redis(**params)
