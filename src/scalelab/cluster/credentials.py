"""Credentials on the engine ports, when SCALELAB_AUTH=on.

Ray (its token), JupyterLab (its token), PostgreSQL, Redis and Airflow (passwords) always ask for
credentials. Spark's master, Dask's scheduler and Kafka's broker run any client's code or hand it
any topic, so on loopback they are a local-privilege matter and beyond it remote code execution:
`up` refuses a bind host other than loopback unless this is on (see `check_bind`). With it on:

- Spark: `spark.authenticate` with a shared secret (a kept secret) on master, worker and every
  driver; the worker hands it to its executors. The daemons read it from a private properties
  file, never from argv, where `ps` would show it.
- Dask: TLS with certificates of the stack's own CA, client certificates required
  (distributed checks the CA, not host names).
- Kafka: SASL PLAIN over TLS on every client listener; the controller listens on loopback only.

The CA and the certificate live in .state/secrets/tls (0700), made once by whoever asks first: the
local runtime's `serve`, or scripts/compose.sh through the image before the containers start
(which then read the folder mounted read-only).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

from scalelab.config import Config, ConfigError, private_dir, write_private

KAFKA_USER = "lab"
# Names the certificate answers to: this machine, and the services of compose.yaml by name.
_SERVICE_NAMES = ("localhost", "kafka", "dask-scheduler", "spark-master", "jupyterlab")
_LOOPBACK = ("127.0.0.1", "::1")


class CredentialsError(RuntimeError):
    pass


def check_bind(cfg: Config) -> None:
    """Refuse a bind host beyond loopback without credentials on the engine ports."""
    host = cfg.bind_host
    if cfg.auth or _is_loopback(host):
        return
    raise ConfigError(
        f"SCALELAB_BIND_HOST={host!r} would let anyone who reaches this machine run code on the Spark "
        f"master, the Dask scheduler and the Kafka broker: none of them asks for credentials unless "
        f"SCALELAB_AUTH=on. Set SCALELAB_AUTH=on (in .env) with it, or keep the default 127.0.0.1.")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# -- the CA and the certificate ------------------------------------------------------
@dataclass(frozen=True)
class TLS:
    folder: Path

    @property
    def ca(self) -> Path:
        return self.folder / "ca.pem"

    @property
    def cert(self) -> Path:
        return self.folder / "cert.pem"

    @property
    def key(self) -> Path:
        return self.folder / "key.pem"

    @property
    def keystore(self) -> Path:
        """The certificate and key for Kafka's JVM (PKCS12, password `keystore-password`)."""
        return self.folder / "kafka.p12"

    @property
    def names(self) -> list[str]:
        return (self.folder / "names").read_text().split()


def tls(cfg: Config) -> TLS:
    """The stack's TLS material, made on first use."""
    folder = cfg.secrets_dir / "tls"
    if (folder / "names").exists():
        return TLS(folder)
    # Made in a folder of its own, then renamed into place: of processes racing (every role
    # starts at once), one rename wins and the others read the winner's.
    tmp = Path(tempfile.mkdtemp(dir=cfg.secrets_dir, prefix=".tls-"))
    try:
        wanted = _names(cfg)
        # This machine's name too, though no later start asks for it (a container's changes).
        _make(tmp, [*wanted, *([] if socket.gethostname() in wanted else [socket.gethostname()])],
              cfg.kept_secret("kafka-keystore-password"))
        try:
            os.rename(tmp, folder)
        except OSError:
            if not (folder / "names").exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return TLS(folder)


def _require_names(cfg: Config, have: TLS) -> None:
    """Kafka's clients check the broker's name against its certificate (Dask's check the CA only):
    the broker refuses to start with one that does not name where its clients are sent."""
    missing = [n for n in _names(cfg) if n not in have.names]
    if missing:
        raise CredentialsError(
            f"the stack's certificate ({have.cert}) does not name {', '.join(missing)} (a new bind or "
            f"advertised host?): remove {have.folder} and start the stack again to make a new one")


def _names(cfg: Config) -> list[str]:
    names = [*_SERVICE_NAMES, *_LOOPBACK]
    for extra in (cfg.bind_host, cfg.get("KAFKA_ADVERTISED_HOST"), cfg.get("KAFKA_INTERNAL_LISTENER").rpartition(":")[0]):
        if extra and extra not in ("0.0.0.0", "::") and extra not in names:
            names.append(extra)
    return names


def _make(folder: Path, names: list[str], keystore_password: str) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(hours=1), now + datetime.timedelta(days=825)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "scalelab stack CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    alt = []
    for n in names:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            alt.append(x509.DNSName(n))
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "scalelab")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            # One certificate for both ends: servers present it, clients (Dask's) too.
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    write_private(folder / "ca.pem", ca.public_bytes(pem).decode())
    write_private(folder / "cert.pem", cert.public_bytes(pem).decode())
    write_private(folder / "key.pem", key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                        serialization.NoEncryption()).decode())
    # The CA's key signs nothing after this: it is not kept, so a leaked folder cannot mint more.
    write_private(folder / "kafka.p12", pkcs12.serialize_key_and_certificates(
        b"scalelab", key, cert, [ca], serialization.BestAvailableEncryption(keystore_password.encode())))
    write_private(folder / "names", "\n".join(names) + "\n")


# -- Spark ----------------------------------------------------------------------------
def spark_conf(cfg: Config) -> dict[str, str]:
    """What every driver sets (nothing with auth off)."""
    if not cfg.auth:
        return {}
    return {"spark.authenticate": "true", "spark.authenticate.secret": cfg.kept_secret("spark-secret")}


def spark_daemon_args(cfg: Config) -> list[str]:
    """`--properties-file` for the master and the worker: the secret in a file of ours alone."""
    if not cfg.auth:
        return []
    path = private_dir(cfg.state_dir / "spark-auth", "Spark's credentials folder") / "spark-auth.conf"
    write_private(path, "".join(f"{k} {v}\n" for k, v in spark_conf(cfg).items()))
    return ["--properties-file", str(path)]


# -- Dask -----------------------------------------------------------------------------
def dask_cli_args(cfg: Config) -> list[str]:
    """The scheduler's and the workers' TLS flags (their certificate doubles as the client's)."""
    if not cfg.auth:
        return []
    t = tls(cfg)
    return ["--protocol", "tls", "--tls-ca-file", str(t.ca), "--tls-cert", str(t.cert), "--tls-key", str(t.key)]


def dask_security(cfg: Config):
    """A distributed.Security for clients (None with auth off)."""
    if not cfg.auth:
        return None
    from distributed.security import Security

    t = tls(cfg)
    return Security(tls_ca_file=str(t.ca), tls_client_cert=str(t.cert), tls_client_key=str(t.key),
                    require_encryption=True)


# -- Kafka ----------------------------------------------------------------------------
def kafka_protocol(cfg: Config) -> str:
    return "SASL_SSL" if cfg.auth else "PLAINTEXT"


def kafka_broker_overrides(cfg: Config, listeners: list[str]) -> list[str]:
    """The broker's SASL and TLS settings for its client listeners (named in `listeners`)."""
    if not cfg.auth:
        return []
    t = tls(cfg)
    _require_names(cfg, t)
    # The broker logs in as the lab's user too (inter-broker traffic) and knows that one user.
    jaas = _plain_login(cfg, f'user_{KAFKA_USER}="{cfg.kept_secret("kafka-password")}"')
    out = ["sasl.enabled.mechanisms=PLAIN", "sasl.mechanism.inter.broker.protocol=PLAIN",
           "ssl.keystore.type=PKCS12", f"ssl.keystore.location={t.keystore}",
           f"ssl.keystore.password={cfg.kept_secret('kafka-keystore-password')}",
           "ssl.truststore.type=PEM", f"ssl.truststore.location={t.ca}"]
    out += [f"listener.name.{name.lower()}.plain.sasl.jaas.config={jaas}" for name in listeners]
    return out


def _plain_login(cfg: Config, *users: str) -> str:
    """Kafka's JAAS line for SASL PLAIN as the lab's user (a broker's also lists who may log in)."""
    return " ".join(['org.apache.kafka.common.security.plain.PlainLoginModule required',
                     f'username="{KAFKA_USER}"', f'password="{cfg.kept_secret("kafka-password")}"', *users]) + ";"


def kafka_client_params(cfg: Config) -> dict:
    """kafka-python's keywords for the broker's listener (empty with auth off)."""
    if not cfg.auth:
        return {}
    return {"security_protocol": "SASL_SSL", "sasl_mechanism": "PLAIN", "sasl_plain_username": KAFKA_USER,
            "sasl_plain_password": cfg.kept_secret("kafka-password"), "ssl_cafile": str(tls(cfg).ca)}


def kafka_librdkafka_params(cfg: Config) -> dict[str, str]:
    """The same as kafka_client_params in librdkafka's property names (confluent-kafka)."""
    if not cfg.auth:
        return {}
    return {"security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN", "sasl.username": KAFKA_USER,
            "sasl.password": cfg.kept_secret("kafka-password"), "ssl.ca.location": str(tls(cfg).ca)}


def kafka_spark_options(cfg: Config) -> dict[str, str]:
    """The options of Spark's Kafka source: the CA travels inline, since executors in other
    containers do not have the driver's paths."""
    if not cfg.auth:
        return {}
    return {"kafka.security.protocol": "SASL_SSL", "kafka.sasl.mechanism": "PLAIN",
            "kafka.sasl.jaas.config": _plain_login(cfg),
            "kafka.ssl.truststore.type": "PEM", "kafka.ssl.truststore.certificates": tls(cfg).ca.read_text()}
