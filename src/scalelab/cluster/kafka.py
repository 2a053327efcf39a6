"""The Kafka broker from Maven Central jars: resolve them once, format KRaft storage once."""

from __future__ import annotations

import base64
import subprocess
import uuid
from pathlib import Path

from scalelab.cluster import maven
from scalelab.config import KAFKA_VERSION, Config, write_private


class KafkaSetupError(RuntimeError):
    pass


def pom_path(cfg: Config) -> Path:
    return cfg.root / "docker" / "kafka" / "pom.xml"


def jars_dir(cfg: Config) -> Path:
    return cfg.jars_dir / f"kafka-{KAFKA_VERSION}"


def jars_ready(cfg: Config) -> bool:
    d = jars_dir(cfg)
    return maven.ready(d) and any(d.glob(f"kafka_2.13-{KAFKA_VERSION}.jar"))


def ensure_jars(cfg: Config, quiet: bool = True) -> Path:
    """Resolve the broker's jars with `mvn` into the state folder (once; ~45 MB)."""
    if jars_ready(cfg):
        return jars_dir(cfg)
    try:
        return maven.resolve(pom_path(cfg), jars_dir(cfg), "Kafka's jars", {"kafka.version": KAFKA_VERSION},
                             quiet=quiet)
    except maven.MavenError as exc:
        raise KafkaSetupError(str(exc)) from None


def data_dir(cfg: Config) -> Path:
    return cfg.state_dir / "kafka" / "data"


def ensure_storage(cfg: Config, java: str, effective_properties: Path) -> None:
    """Format the KRaft log directory once, as a standalone controller+broker."""
    logs = data_dir(cfg)
    if (logs / "meta.properties").exists():
        return
    logs.mkdir(parents=True, exist_ok=True)
    cluster_id_file = cfg.state_dir / "kafka" / "cluster-id"
    cid = cluster_id_file.read_text().strip() if cluster_id_file.exists() else ""
    # The storage is not formatted yet (no meta.properties), so an id it cannot take is replaced:
    # one an earlier start wrote that begins with "-", or an empty file from a start killed mid-write.
    if not _usable_cluster_id(cid):
        cid = new_cluster_id()
        write_private(cluster_id_file, cid + "\n")
    cmd = [java, "-cp", f"{jars_dir(cfg)}/*", "kafka.tools.StorageTool", "format",
           "-t", cid, "-c", str(effective_properties), "--standalone", "--ignore-formatted"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise KafkaSetupError("formatting Kafka's storage failed:\n" + (proc.stdout + proc.stderr)[-2000:])


def new_cluster_id() -> str:
    """A KRaft cluster id as Kafka's own Uuid.randomUuid makes it (made here without a JVM start).

    Base64url of 16 random bytes; like Kafka, never one that begins with "-": the storage tool's
    `-t` would read it as an option ("argument --cluster-id/-t: expected one argument"), one
    fresh id in 64, which is how a fresh-clone compose run once lost its broker.
    """
    while not _usable_cluster_id(cid := base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")):
        pass
    return cid


def _usable_cluster_id(cid: str) -> bool:
    return len(cid) == 22 and not cid.startswith("-")


def properties_path(cfg: Config) -> Path:
    return cfg.root / "docker" / "kafka" / "server.properties"


def write_effective_properties(cfg: Config, overrides: list[str], dest: Path) -> Path:
    """The checked-in server.properties with the configured ports and paths applied."""
    lines = properties_path(cfg).read_text().splitlines()
    keys = {ov.split("=", 1)[0] for ov in overrides}
    kept = [ln for ln in lines if ln.split("=", 1)[0].strip() not in keys]
    # Private: with SCALELAB_AUTH=on it holds the SASL password and the key store's.
    return write_private(dest, "\n".join(kept + ["# set by scalelab from the configuration"] + overrides) + "\n")


def broker_overrides(cfg: Config) -> list[str]:
    from scalelab.cluster import credentials

    bind = cfg.bind_host
    host = cfg.client_host
    port, ctrl = cfg.port("KAFKA_PORT"), cfg.port("KAFKA_CONTROLLER_PORT")
    advertised = cfg.get("KAFKA_ADVERTISED_HOST") or host
    protocol = credentials.kafka_protocol(cfg)
    # The controller serves only this broker (one process, one node): on loopback, where no
    # client of another machine or container can reach it, whatever the bind host.
    listeners = [f"CLIENT://{bind}:{port}", f"CONTROLLER://127.0.0.1:{ctrl}"]
    announced = [f"CLIENT://{advertised}:{port}"]
    protocols = ["CONTROLLER:PLAINTEXT", f"CLIENT:{protocol}"]
    names = ["CLIENT"]
    internal = cfg.get("KAFKA_INTERNAL_LISTENER")
    if internal:
        # A broker tells each client where to reconnect: host clients come in through the
        # published port (and must hear 127.0.0.1), containers by the service name. One
        # listener cannot say both, so each kind of client gets its own.
        internal_host, _, internal_port = internal.rpartition(":")
        if not internal_host or not internal_port.isdigit():
            raise KafkaSetupError(f"KAFKA_INTERNAL_LISTENER={internal!r} is not host:port (for example kafka:19092)")
        listeners.append(f"INTERNAL://{bind}:{internal_port}")
        announced.append(f"INTERNAL://{internal}")
        protocols.append(f"INTERNAL:{protocol}")
        names.append("INTERNAL")
    return [
        f"listeners={','.join(listeners)}",
        f"advertised.listeners={','.join(announced)}",
        f"listener.security.protocol.map={','.join(protocols)}",
        "inter.broker.listener.name=CLIENT",
        "controller.quorum.bootstrap.servers=127.0.0.1:" + str(ctrl),
        f"log.dirs={data_dir(cfg)}",
        *credentials.kafka_broker_overrides(cfg, names),
    ]
