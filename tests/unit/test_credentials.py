"""SCALELAB_AUTH: what each engine is started with, and what `up` refuses (no stack needed;
tests/stack/test_engine_credentials.py checks the refusals on a running one)."""

import os
import stat
import subprocess

import pytest

from scalelab.cluster import credentials, kafka, local
from scalelab.cluster.services import by_role
from scalelab.config import Config, ConfigError


def _cfg(tmp_path, **env) -> Config:
    return Config.load(root=tmp_path, environ={"SCALELAB_STATE_DIR": str(tmp_path / "state"),
                                              "RAY_TEMP_DIR": str(tmp_path / "ray"), **env})


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::"])
def test_up_refuses_a_wider_bind_host_without_credentials_before_starting_anything(tmp_path, host, monkeypatch):
    started = []
    monkeypatch.setattr(local, "_start", lambda *a, **k: started.append(a), raising=False)
    cfg = _cfg(tmp_path, SCALELAB_BIND_HOST=host)
    with pytest.raises(ConfigError, match="SCALELAB_AUTH=on"):
        local.up(cfg)
    assert not started and not (tmp_path / "state" / "run").exists()


@pytest.mark.parametrize("host,auth", [("127.0.0.1", "off"), ("127.0.0.2", "off"), ("localhost", "off"),
                                       ("0.0.0.0", "on")])
def test_loopback_or_credentials_may_start(tmp_path, host, auth):
    credentials.check_bind(_cfg(tmp_path, SCALELAB_BIND_HOST=host, SCALELAB_AUTH=auth))


def test_with_auth_off_librdkafka_gets_no_login(tmp_path):
    assert credentials.kafka_librdkafka_params(_cfg(tmp_path)) == {}


def test_a_wrong_auth_value_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="neither on nor off"):
        _ = _cfg(tmp_path, SCALELAB_AUTH="yes").auth


def test_with_auth_off_the_engines_start_as_before(tmp_path):
    cfg = _cfg(tmp_path)
    assert not cfg.auth and cfg.dask_scheduler_address.startswith("tcp://")
    for role in ("spark-master", "spark-worker", "dask-scheduler", "dask-worker"):
        argv = by_role(cfg, role, 1).launch(cfg, 1).argv
        assert "--properties-file" not in argv and "--tls-cert" not in argv
    assert "CLIENT:PLAINTEXT" in "\n".join(kafka.broker_overrides(cfg))


def test_spark_daemons_read_the_secret_from_a_private_file_not_argv(tmp_path):
    cfg = _cfg(tmp_path, SCALELAB_AUTH="on")
    secret = cfg.kept_secret("spark-secret")
    for role in ("spark-master", "spark-worker"):
        argv = by_role(cfg, role).launch(cfg, 0).argv
        assert not [a for a in argv if secret in a], "the secret would show in `ps`"
        conf = argv[argv.index("--properties-file") + 1]
        assert stat.S_IMODE(os.stat(conf).st_mode) == 0o600
        lines = open(conf).read().splitlines()
        assert "spark.authenticate true" in lines and f"spark.authenticate.secret {secret}" in lines
    assert credentials.spark_conf(cfg) == {"spark.authenticate": "true", "spark.authenticate.secret": secret}


def test_dask_speaks_tls_with_a_certificate_of_the_stacks_ca(tmp_path):
    cfg = _cfg(tmp_path, SCALELAB_AUTH="on")
    assert cfg.dask_scheduler_address == "tls://127.0.0.1:8786"
    argv = by_role(cfg, "dask-scheduler").launch(cfg, 0).argv
    assert argv[argv.index("--protocol") + 1] == "tls"
    t = credentials.tls(cfg)
    assert argv[argv.index("--tls-ca-file") + 1] == str(t.ca)
    assert "--tls-key" in by_role(cfg, "dask-worker", 1).launch(cfg, 1).argv
    # The certificate is the CA's, and names loopback and the compose services.
    out = subprocess.run(["openssl", "verify", "-CAfile", str(t.ca), str(t.cert)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert {"127.0.0.1", "kafka", "dask-scheduler"} <= set(t.names)
    for path in (t.key, t.keystore, t.ca):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(t.folder).st_mode) == 0o700
    sec = credentials.dask_security(cfg)
    assert sec.require_encryption and sec.tls_client_cert == str(t.cert)


def test_the_certificate_is_made_once_and_a_new_host_name_is_a_clear_error(tmp_path):
    cfg = _cfg(tmp_path, SCALELAB_AUTH="on")
    first = credentials.tls(cfg).cert.read_bytes()
    assert credentials.tls(cfg).cert.read_bytes() == first
    # Kafka's clients check the name the broker is reached by: a broker advertised at a name the
    # certificate lacks refuses to start (Dask's clients check the CA only, so they still get in).
    moved = _cfg(tmp_path, SCALELAB_AUTH="on", SCALELAB_BIND_HOST="10.1.2.3")
    assert credentials.tls(moved).cert.read_bytes() == first
    with pytest.raises(credentials.CredentialsError, match="10.1.2.3"):
        kafka.broker_overrides(moved)


def test_kafka_listeners_ask_for_sasl_over_tls_and_keep_the_password_out_of_sight(tmp_path):
    cfg = _cfg(tmp_path, SCALELAB_AUTH="on", SCALELAB_BIND_HOST="0.0.0.0", KAFKA_ADVERTISED_HOST="127.0.0.1",
               KAFKA_INTERNAL_LISTENER="kafka:19092")
    props = dict(line.split("=", 1) for line in kafka.broker_overrides(cfg))
    assert set(props["listener.security.protocol.map"].split(",")) == {
        "CONTROLLER:PLAINTEXT", "CLIENT:SASL_SSL", "INTERNAL:SASL_SSL"}
    assert props["listeners"].split(",")[1] == "CONTROLLER://127.0.0.1:9093"
    for name in ("client", "internal"):
        assert cfg.kept_secret("kafka-password") in props[f"listener.name.{name}.plain.sasl.jaas.config"]
    real = Config.load(environ={"SCALELAB_STATE_DIR": str(tmp_path / "state"), "SCALELAB_AUTH": "on"})
    written = kafka.write_effective_properties(real, kafka.broker_overrides(real), tmp_path / "k" / "server.properties")
    assert stat.S_IMODE(os.stat(written).st_mode) == 0o600
    params = credentials.kafka_client_params(cfg)
    assert params["security_protocol"] == "SASL_SSL" and params["ssl_cafile"].endswith("ca.pem")
    # librdkafka (SCALELAB_KAFKA_CLIENT=confluent) gets the same login in its own property names.
    rd = credentials.kafka_librdkafka_params(cfg)
    assert (rd["security.protocol"], rd["sasl.mechanism"], rd["sasl.username"], rd["sasl.password"],
            rd["ssl.ca.location"]) == (params["security_protocol"], params["sasl_mechanism"],
                                       params["sasl_plain_username"], params["sasl_plain_password"],
                                       params["ssl_cafile"])
    # Spark's executors may run elsewhere: the CA goes inline, not as a path of this machine.
    spark = credentials.kafka_spark_options(cfg)
    assert spark["kafka.ssl.truststore.certificates"].startswith("-----BEGIN CERTIFICATE-----")
