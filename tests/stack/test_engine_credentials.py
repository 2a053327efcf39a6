"""What SCALELAB_AUTH says holds on the running stack: with it on, the Spark master, the Dask
scheduler and the Kafka broker refuse a client without the stack's credentials; with it off (the
loopback default), that client gets in, which is why `up` refuses a wider bind host then.
The labs' own clients (connect.*) present the credentials: every other stack test is theirs."""

import os
import socket
import ssl
import subprocess
import sys
import textwrap
import time

import pytest

from scalelab.cluster import credentials
from scalelab.config import address_host_port

pytestmark = [pytest.mark.stack]

_ANONYMOUS_DRIVER = textwrap.dedent("""
    from scalelab.cluster import connect
    # The lab's own session settings, minus the secret.
    session = connect.spark("anonymous", spark__authenticate="false")
    print("COUNT", session.range(10).count(), flush=True)
""")


@pytest.mark.spark
def test_the_spark_master_refuses_a_driver_without_the_secret(cfg, require):
    require("spark-master", "spark-worker")
    proc = subprocess.Popen([sys.executable, "-c", _ANONYMOUS_DRIVER], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    seen, deadline = [], time.monotonic() + 120
    try:
        for line in proc.stdout:
            seen.append(line)
            # The master's answer to the first message of a driver that does not authenticate.
            if "Expected SaslMessage" in line or line.startswith("COUNT") or time.monotonic() > deadline:
                break
    finally:
        proc.kill()
        proc.wait()
    out = "".join(seen)
    if cfg.auth:
        assert "Expected SaslMessage" in out and "COUNT" not in out, out[-3000:]
    else:
        assert "COUNT 10" in out, out[-3000:]


def _dask_endpoint(cfg):
    return address_host_port(cfg.dask_scheduler_address.split("://", 1)[1])


@pytest.mark.dask
def test_the_dask_scheduler_refuses_a_client_without_a_certificate(cfg, require):
    require("dask-scheduler")
    from distributed import Client

    host, port = _dask_endpoint(cfg)
    if not cfg.auth:
        with Client(f"tcp://{host}:{port}", timeout="10s", set_as_default=False) as client:
            assert client.submit(sum, [1, 2]).result(timeout=30) == 3
        return
    # A plain-TCP client: the scheduler speaks only TLS.
    with pytest.raises(OSError):
        with Client(f"tcp://{host}:{port}", timeout="5s", set_as_default=False):
            pass
    # TLS that trusts the stack's CA but shows no certificate of its own: the handshake fails
    # (the scheduler requires a client certificate), before any Dask message is read.
    ctx = ssl.create_default_context(cafile=str(credentials.tls(cfg).ca))
    ctx.check_hostname = False
    with pytest.raises((ssl.SSLError, ConnectionError)):
        with socket.create_connection((host, port), timeout=10) as raw, ctx.wrap_socket(raw) as tls:
            tls.sendall(b"\0" * 8)
            if not tls.recv(1):       # TLS 1.3 reports the refusal on the first read
                raise ConnectionError("closed by the scheduler")
    # The lab's client (connect.dask) presents the certificate and gets in.
    from scalelab.cluster import connect
    with connect.dask(timeout="10s", set_as_default=False) as client:
        assert client.submit(sum, [1, 2]).result(timeout=30) == 3


@pytest.mark.kafka
def test_the_kafka_broker_refuses_a_client_without_the_password(cfg, require, caplog):
    require("kafka")
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaTimeoutError

    def admin(**params):
        return KafkaAdminClient(bootstrap_servers=cfg.kafka_bootstrap_servers, bootstrap_timeout_ms=6_000,
                                request_timeout_ms=5_000, **params)

    if not cfg.auth:
        client = admin()
        try:
            assert client.describe_cluster()["brokers"]
        finally:
            client.close()
        return
    caplog.set_level("WARNING", logger="kafka")
    with pytest.raises(KafkaTimeoutError):
        admin().close()
    # The wrong password reached the broker and was refused there (not a network failure). The
    # broker closes the connection right after its answer, and over TLS the client sometimes loses
    # that answer: each attempt is refused, one must show the reason. Under compose, through
    # Podman's port forwarding, every answer of three attempts (a dozen connections) was lost in one
    # CI run of two: there the reason is read from the broker's own log, which names each
    # refused login (the local runtime's broker runs without SASL and takes the branch above).
    wrong = {**credentials.kafka_client_params(cfg), "sasl_plain_password": "not-the-password"}
    compose = os.environ.get("RUNTIME") == "docker"
    refusals_before = _compose_log(cfg, "kafka").count(KAFKA_REFUSED) if compose else 0

    def told_why() -> bool:
        return "Authentication failed" in caplog.text or "SaslAuthenticationFailed" in caplog.text

    for _attempt in range(3):
        with pytest.raises(KafkaTimeoutError):
            admin(**wrong).close()
        if told_why():
            break
    if compose:       # always read there, so that this path is checked on every compose run
        log = _compose_log(cfg, "kafka")
        assert log.count(KAFKA_REFUSED) > refusals_before, log[-2000:]
    else:
        assert told_why(), caplog.text[-2000:]
    client = admin(**credentials.kafka_client_params(cfg))
    try:
        assert client.describe_cluster()["brokers"]
    finally:
        client.close()


# What Kafka's SocketServer logs (INFO, to the container's stdout) for a SASL login it refused.
KAFKA_REFUSED = "(Authentication failed: Invalid username or password)"


def _compose_log(cfg, service: str) -> str:
    """What a compose service wrote (scripts/compose.sh logs: Podman or Docker, whichever runs it)."""
    proc = subprocess.run(["bash", str(cfg.root / "scripts" / "compose.sh"), "logs", service],
                          capture_output=True, text=True, timeout=60, env={**os.environ, "TAIL": "100000"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout + proc.stderr
