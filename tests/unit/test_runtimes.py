"""Two runtimes, one topology: what differs in a container is derived, not configured twice."""

import os
import subprocess

import pytest

from scalelab.cluster import kafka
from scalelab.cluster.services import by_role
from scalelab.config import Config, ConfigError, address_host


def _cfg(tmp_path, **env) -> Config:
    return Config.load(root=tmp_path, environ={"SCALELAB_STATE_DIR": str(tmp_path / "state"),
                                              "RAY_TEMP_DIR": str(tmp_path / "ray"), **env})


@pytest.mark.parametrize("address,host", [("spark://spark-master:7077", "spark-master"),
                                          ("tcp://127.0.0.1:8786", "127.0.0.1"), ("ray://ray-head:10001", "ray-head"),
                                          ("kafka:19092,other:19092", "kafka"), ("[::1]:9092", "::1")])
def test_the_host_of_every_kind_of_service_address(address, host):
    assert address_host(address) == host


def test_on_loopback_everything_is_advertised_on_loopback(tmp_path):
    cfg = _cfg(tmp_path)
    assert cfg.advertise_host == "127.0.0.1"
    assert "--host" in (argv := by_role(cfg, "spark-worker").launch(cfg, 0).argv)
    assert argv[argv.index("--host") + 1] == "127.0.0.1"


def test_bound_to_every_interface_services_advertise_this_machines_address(tmp_path):
    # In a container: a worker registered as 0.0.0.0 or a driver that says 127.0.0.1 is unreachable.
    import socket

    cfg = _cfg(tmp_path, SCALELAB_BIND_HOST="0.0.0.0")
    mine = socket.gethostbyname(socket.gethostname())
    assert cfg.advertise_host == mine
    for role in ("spark-master", "spark-worker"):
        argv = by_role(cfg, role).launch(cfg, 0).argv
        assert argv[argv.index("--host") + 1] == mine, role
    head = by_role(cfg, "ray-head").launch(cfg, 0).argv
    assert head[head.index("--node-ip-address") + 1] == mine
    # Spark's web UIs listen on every interface: SPARK_LOCAL_IP is left out, not set empty.
    assert "SPARK_LOCAL_IP" not in by_role(cfg, "spark-master").launch(cfg, 0).env


def test_a_compose_replica_is_named_after_its_container(tmp_path):
    import socket

    cfg = _cfg(tmp_path)
    assert by_role(cfg, "dask-worker", 0).name == f"dask-worker-{socket.gethostname()}"
    assert by_role(cfg, "dask-worker", 2).name == "dask-worker-2"
    argv = by_role(cfg, "dask-worker", 2).launch(cfg, 2).argv
    assert argv[argv.index("--name") + 1] == "dask-worker-2"


def test_one_listener_by_default_and_a_second_for_a_container_network(tmp_path):
    single = kafka.broker_overrides(_cfg(tmp_path))
    assert "advertised.listeners=CLIENT://127.0.0.1:9092" in single
    cfg = _cfg(tmp_path, SCALELAB_BIND_HOST="0.0.0.0", KAFKA_ADVERTISED_HOST="127.0.0.1",
               KAFKA_INTERNAL_LISTENER="kafka:19092")
    props = dict(line.split("=", 1) for line in kafka.broker_overrides(cfg))
    # The controller serves this broker alone: on loopback even when the clients' listeners are not.
    assert props["listeners"] == "CLIENT://0.0.0.0:9092,CONTROLLER://127.0.0.1:9093,INTERNAL://0.0.0.0:19092"
    assert props["advertised.listeners"] == "CLIENT://127.0.0.1:9092,INTERNAL://kafka:19092"
    assert "INTERNAL:PLAINTEXT" in props["listener.security.protocol.map"].split(",")


def test_a_malformed_internal_listener_is_refused_with_an_example(tmp_path):
    with pytest.raises(kafka.KafkaSetupError, match="kafka:19092"):
        kafka.broker_overrides(_cfg(tmp_path, KAFKA_INTERNAL_LISTENER="kafka"))


def test_a_wrong_runtime_is_refused_with_the_choices(tmp_path):
    with pytest.raises(ConfigError, match="auto, local, docker"):
        _ = _cfg(tmp_path, RUNTIME="kubernetes").runtime


def _runtime_sh(cfg, tmp_path, **env) -> subprocess.CompletedProcess:
    # A PATH whose `docker` is a stand-in answering as told: the engine is the variable here.
    fake = tmp_path / "bin"
    fake.mkdir(exist_ok=True)
    (fake / "docker").write_text(f"#!/bin/sh\nexit {env.pop('DOCKER_EXIT', 1)}\n")
    (fake / "docker").chmod(0o755)
    base = {k: v for k, v in os.environ.items() if k != "RUNTIME"}
    return subprocess.run(["bash", str(cfg.root / "scripts" / "runtime.sh")], capture_output=True, text=True,
                          env={**base, "PATH": f"{fake}:/usr/bin:/bin", **env})


@pytest.mark.parametrize("env,found", [({"DOCKER_EXIT": 0}, "docker"), ({"DOCKER_EXIT": 1}, "local"),
                                       ({"DOCKER_EXIT": 0, "RUNTIME": "local"}, "local"),
                                       ({"DOCKER_EXIT": 1, "RUNTIME": "docker"}, "docker")])
def test_make_up_picks_docker_when_an_engine_answers_unless_told(cfg, tmp_path, env, found):
    proc = _runtime_sh(cfg, tmp_path, **{k: str(v) for k, v in env.items()})
    assert (proc.returncode, proc.stdout.strip()) == (0, found)


def test_a_wrong_runtime_stops_make_up_with_the_choices(cfg, tmp_path):
    proc = _runtime_sh(cfg, tmp_path, RUNTIME="kubernetes")
    assert proc.returncode == 2 and "auto, local, docker" in proc.stderr


def test_jupyterlab_gets_its_token_in_a_private_file_not_in_its_environment(tmp_path):
    cfg = _cfg(tmp_path, JUPYTER_TOKEN="t0ken-from-env")
    launch = by_role(cfg, "jupyterlab").launch(cfg, 0)
    assert "JUPYTER_TOKEN" not in launch.env and "JUPYTER_TOKEN" in launch.drop
    assert not [a for a in launch.argv if "t0ken" in a]
    token_file = launch.env["JUPYTER_TOKEN_FILE"]
    # jupyter_server reads the file whole: no newline after the token.
    with open(token_file) as fh:
        assert fh.read() == "t0ken-from-env"
    assert os.stat(token_file).st_mode & 0o777 == 0o600
    assert os.stat(os.path.dirname(token_file)).st_mode & 0o777 == 0o700


def test_seen_from_a_peer_container_a_service_is_reached_by_its_name(tmp_path):
    # lab.tour() in the JupyterLab container (network.status) probes each service at its compose
    # name: the probes' URLs follow the host they are given.
    cfg = _cfg(tmp_path, SCALELAB_BIND_HOST="0.0.0.0", RUNTIME="docker")
    peer = cfg.with_values(SCALELAB_BIND_HOST="model-api")
    assert peer.url("MODEL_API_PORT", "/health") == "http://model-api:8100/health"
    assert not peer.binds_everywhere and cfg.url("MODEL_API_PORT") == "http://127.0.0.1:8100/"


@pytest.mark.parametrize("left", ["", "-" + "A" * 21], ids=["empty", "starts with a dash"])
def test_a_kafka_cluster_id_the_storage_tool_cannot_take_is_replaced_before_formatting(tmp_path, left):
    # An id that begins with "-" is read by the storage tool as an option (one fresh base64url id
    # in 64); an empty file is what a start killed mid-write leaves. /bin/echo stands in for java:
    # ensure_storage runs it as it would run the storage tool.
    import re

    cfg = _cfg(tmp_path)
    id_file = cfg.state_dir / "kafka" / "cluster-id"
    id_file.parent.mkdir(parents=True)
    id_file.write_text(left + "\n")
    kafka.ensure_storage(cfg, "/bin/echo", tmp_path / "server.properties")
    cid = id_file.read_text().strip()
    assert re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_-]{21}", cid), cid
    kafka.ensure_storage(cfg, "/bin/echo", tmp_path / "server.properties")
    assert id_file.read_text().strip() == cid          # a usable id, once written, is kept


def test_no_new_kafka_cluster_id_begins_with_a_dash():
    ids = [kafka.new_cluster_id() for _ in range(2000)]     # ~31 would begin with "-" unfiltered
    assert all(len(c) == 22 and not c.startswith("-") for c in ids)
