"""The compose stack's container pitfalls, each checked on the running stack: published ports on
loopback only, executors and workers that reach a driver in the JupyterLab container, both Kafka
listeners, one path for a file on the host and in every container, files owned by the host's user."""

import json
import os
import uuid

import pytest

pytestmark = [pytest.mark.images, pytest.mark.stack]


def test_every_role_runs_and_is_healthy(containers, run, engine, cfg):
    from scalelab.cluster.services import services

    # The roles of the profiles compose was started with (scripts/compose.sh reads PROFILES too).
    started = set(os.environ.get("PROFILES", "all").split())
    roles = {s.role for s in services(cfg, everything=True) if s.profile == "core" or s.profile in started}
    for role in sorted(roles):
        want = cfg.int("DASK_WORKERS") if role == "dask-worker" else 1
        assert len(containers(role)) == want, (role, containers(role))
    for name in containers():
        if engine == "podman":
            run("healthcheck", "run", name)     # Podman without systemd checks when asked; exit 0: healthy
        else:
            assert run("inspect", "--format", "{{.State.Health.Status}}", name).strip() == "healthy", name


def test_every_published_port_is_on_loopback(containers, inspect):
    published = []
    for name in containers():
        for inside, bindings in (inspect(name)["NetworkSettings"]["Ports"] or {}).items():
            published += [(name, inside, b["HostIp"], b["HostPort"]) for b in bindings or []]
    assert len(published) >= 12, published
    assert [p for p in published if p[2] != "127.0.0.1"] == [], published


_IN_NETWORK = '''
import json, os, uuid
import pandas as pd
from scalelab.cluster import connect

out = {"user": os.getuid()}
path = os.path.join(os.environ["SCALELAB_DATA_DIR"], "compose-check-" + uuid.uuid4().hex[:8] + ".parquet")
pd.DataFrame({"k": [i % 7 for i in range(1000)], "v": range(1000)}).to_parquet(path)
out["path"] = path

# Spark: the driver is this kernel, in the JupyterLab container; executors call it back.
spark = connect.spark("compose-check")
out["spark"] = int(spark.read.parquet(path).groupBy("k").count().count())
out["spark_executor_host"] = spark.sparkContext.parallelize([0], 1).map(lambda _: __import__("socket").gethostname()).collect()[0]
spark.stop()

# Dask: workers in their own containers read the file this container wrote, by the same path.
import dask.dataframe as dd
client = connect.dask()
out["dask"] = int(dd.read_parquet(path)["v"].sum().compute())
client.close()

# Ray: a driver in another container joins through the Ray Client.
import ray
connect.ray()
out["ray"] = ray.get(ray.remote(lambda: sum(range(10))).remote())
ray.shutdown()

# Kafka: the container-network listener (kafka:19092).
from scalelab.apps import streaming
topic = streaming.ensure_topic("compose-check-" + uuid.uuid4().hex[:8])
producer = connect.kafka_producer()
producer.send(topic, b"from-jupyterlab").get(timeout=30)
producer.flush(); producer.close()
consumer = connect.kafka_consumer(topic, consumer_timeout_ms=15000)
out["kafka"] = [m.value.decode() for m in consumer]
consumer.close()
print(json.dumps(out))
'''


def test_a_notebook_in_jupyterlab_drives_every_engine_in_the_network(in_kernel, cfg):
    out = json.loads(in_kernel(_IN_NETWORK, timeout=300).strip().splitlines()[-1])
    try:
        assert out["spark"] == 7 and out["dask"] == sum(range(1000)) and out["ray"] == 45
        assert out["kafka"] == ["from-jupyterlab"]
        # The file is at the host's own path, and the host's user owns it.
        assert out["path"].startswith(str(cfg.data_dir)), out["path"]
        st = os.stat(out["path"])
        assert (out["user"], st.st_uid) == (os.getuid(), os.getuid())
    finally:
        if os.path.exists(out["path"]):
            os.remove(out["path"])


def test_kafka_tells_host_clients_and_containers_each_their_own_address(in_kernel, cfg):
    """A message produced on the host (127.0.0.1:9092) is read in a container (kafka:19092)."""
    from scalelab.apps import streaming
    from scalelab.cluster import connect

    topic = streaming.ensure_topic(f"two-listeners-{uuid.uuid4().hex[:8]}")
    producer = connect.kafka_producer()
    producer.send(topic, b"from-the-host").get(timeout=30)
    producer.close()
    code = (f"from scalelab import connect; c = connect.kafka_consumer({topic!r}, consumer_timeout_ms=15000); "
            "print([m.value.decode() for m in c]); c.close()")
    assert in_kernel(code).strip() == "['from-the-host']"


def test_a_file_the_host_writes_is_read_by_the_dask_workers_at_the_same_path(cfg, require, client_environment):
    import dask.dataframe as dd
    import pandas as pd

    from scalelab.cluster import connect

    require("dask-scheduler")

    path = cfg.data_dir / f"host-written-{uuid.uuid4().hex[:8]}.parquet"
    pd.DataFrame({"v": range(500)}).to_parquet(path)
    try:
        with connect.dask():
            assert int(dd.read_parquet(str(path))["v"].sum().compute()) == sum(range(500))
    finally:
        path.unlink()


_PLATFORM_IN_NETWORK = '''
import json
from scalelab.cluster import connect
from scalelab.apps import lakehouse, stores
from scalelab.apps.airflow_api import Airflow
from deltalake import DeltaTable, write_deltalake
import pandas as pd

out = {}
# The labs 11-13 reach the platform's services by name from here (POSTGRES_HOST, REDIS_HOST, AIRFLOW_API_HOST).
out["postgres"] = stores.read_pandas("SELECT 41 + 1 AS answer")["answer"].iloc[0].item()
r = connect.redis(); r.set("compose-check", "ok"); out["redis"] = r.get("compose-check").decode(); r.delete("compose-check")
out["airflow"] = Airflow().dag("trips_daily")["dag_id"]
path = lakehouse.delta_path("compose-check")
write_deltalake(path, pd.DataFrame({"v": [1, 2]}), mode="overwrite")
write_deltalake(path, pd.DataFrame({"v": [3]}), mode="append")
out["delta_v0"] = sorted(DeltaTable(path, version=0).to_pandas()["v"].tolist())
print(json.dumps(out))
'''


def test_the_platform_labs_reach_postgres_redis_and_airflow_from_jupyterlab(in_kernel, require, cfg):
    require("postgres", "redis", "airflow-api")
    out = json.loads(in_kernel(_PLATFORM_IN_NETWORK, timeout=180).strip().splitlines()[-1])
    assert out == {"postgres": 42, "redis": "ok", "airflow": "trips_daily", "delta_v0": [1, 2]}


_LAB_01 = '''
import json
from pathlib import Path
from scalelab.teaching import lab, notebooks
table = lab.tour()
run = notebooks.execute(Path("/work/labs/01_tour.ipynb"), scale="tiny")
print(json.dumps({"tour": table[["service", "healthy", "detail"]].to_dict("records"), "cells": run.cells,
                  "seconds": run.seconds}))
'''


def test_lab_01_runs_in_the_jupyterlab_container_and_its_tour_sees_every_service(in_kernel):
    # Inside a container there are no pid files of the local runtime: the tour probes each
    # service by its name on the network, and lab 01 (which stops on any unhealthy row) runs.
    out = json.loads(in_kernel(_LAB_01, timeout=600).strip().splitlines()[-1])
    rows = {r["service"]: r for r in out["tour"]}
    assert {"spark-master", "spark-worker", "dask-scheduler", "ray-head", "kafka", "jupyterlab"} <= set(rows)
    assert [r for r in rows.values() if not r["healthy"]] == [], rows
    assert out["cells"] > 5
    print(f"lab 01 in the JupyterLab container: {out['seconds']:.1f} s")


def test_no_container_has_a_capability_or_can_gain_one(containers, run):
    # compose.yaml: cap_drop ALL and no-new-privileges on every service; PostgreSQL alone takes a
    # few back, and only uses them when run as root (to drop to its own user).
    for name in containers():
        status = dict(line.split(":", 1) for line in run("exec", name, "cat", "/proc/1/status").splitlines()
                      if ":" in line)
        assert status["NoNewPrivs"].strip() == "1", name
        if "postgres" not in name:
            assert int(status["CapEff"], 16) == 0 and int(status["CapBnd"], 16) == 0, (name, status["CapEff"])
