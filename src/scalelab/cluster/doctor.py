"""`scalelab doctor`: what the stack needs from this machine, and what to do when it is missing."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from dataclasses import dataclass

import psutil

from scalelab.cluster import kafka, local
from scalelab.cluster.java import MIN_JAVA, JavaError, require_java
from scalelab.cluster.services import services
from scalelab.config import Config

MIN_FREE_DISK = 5 * 2**30     # jars, logs, Spark scratch and the small data sets
MIN_AVAILABLE_MEMORY = 4 * 2**30  # the idle stack takes about 2 GiB PSS; work needs the rest


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def lock_digest(cfg: Config) -> str:
    return hashlib.sha256((cfg.root / "requirements.lock").read_bytes()).hexdigest()


def run_checks(cfg: Config) -> list[Check]:
    return [_runtime(cfg), _java(), _maven(cfg), _venv(cfg), _jars(cfg), *_ports(cfg), _disk(cfg), _memory()]


def _runtime(cfg: Config) -> Check:
    """The runtime `make up` picks: scripts/runtime.sh decides, for make and for this report alike."""
    proc = subprocess.run(["bash", str(cfg.root / "scripts" / "runtime.sh")], capture_output=True, text=True)
    if proc.returncode != 0:
        return Check("runtime", False, proc.stderr.strip(), "set RUNTIME to auto, local or docker")
    found = proc.stdout.strip()
    why = ("RUNTIME=" + cfg.get("RUNTIME")) if cfg.get("RUNTIME") != "auto" else (
        "a Docker engine answers `docker info`" if found == "docker" else "no Docker engine answers `docker info`")
    return Check("runtime", True, f"{found} ({why}): make up runs "
                 + ("compose.yaml" if found == "docker" else "the services as local processes"))


def _java() -> Check:
    try:
        java, version = require_java()
        return Check("java", True, f"Java {version} ({java})")
    except JavaError as exc:
        return Check("java", False, str(exc).split(":")[0],
                     f"install Java {MIN_JAVA}+ (Debian: apt-get install openjdk-17-jre-headless) or set JAVA_HOME")


def _maven(cfg: Config) -> Check:
    if kafka.jars_ready(cfg):
        return Check("maven", True, "not needed: Kafka's jars are cached")
    mvn = shutil.which("mvn")
    return Check("maven", mvn is not None, mvn or "mvn not found (needed once, to fetch Kafka's jars)",
                 "" if mvn else "apt-get install maven")


def _venv(cfg: Config) -> Check:
    stamp = cfg.root / ".venv" / ".scalelab-lock"
    if not (cfg.root / ".venv" / "bin" / "python").exists():
        return Check("venv", False, ".venv is missing", "make setup")
    if not stamp.exists() or stamp.read_text().strip() != lock_digest(cfg):
        return Check("venv", False, ".venv does not match requirements.lock", "make setup")
    if not _has_bytecode(cfg.root / ".venv"):
        # Where PYTHONDONTWRITEBYTECODE is set nothing caches it later: each Ray or Dask worker
        # would compile ray and pandas from source again (measured: import ray 9 s instead of 4.5 s).
        return Check("venv", False, ".venv has no compiled bytecode (every new process compiles from source)",
                     "rm .venv/.scalelab-lock && make setup")
    return Check("venv", True, ".venv matches requirements.lock, bytecode compiled")


def _has_bytecode(venv) -> bool:
    """pandas and ray stand for the venv: `make setup` compiles every package or none."""
    site = next(venv.glob("lib/python3*/site-packages"), None)
    return site is not None and all(any((site / pkg / "__pycache__").glob("__init__.*.pyc")) for pkg in ("pandas", "ray"))


def _jars(cfg: Config) -> Check:
    if kafka.jars_ready(cfg):
        return Check("kafka jars", True, str(kafka.jars_dir(cfg)))
    return Check("kafka jars", False, "not fetched yet", "make setup (resolves them with mvn, ~45 MB)")


def _ports(cfg: Config) -> list[Check]:
    running = {st.service.name for st in local.status(cfg, probe=False) if st.running}
    checks = []
    for svc in services(cfg):
        for setting in svc.ports:
            port = cfg.port(setting)
            if svc.name in running:
                checks.append(Check(f"port {port}", True, f"used by {svc.name} (running)"))
            elif local.port_free(cfg.bind_host, port):
                checks.append(Check(f"port {port}", True, f"free for {svc.name}"))
            else:
                checks.append(Check(f"port {port}", False, f"taken by another program{local.port_holder(port)}",
                                    f"stop it, or set {setting}=<free port> in .env"))
    return checks


def _disk(cfg: Config) -> Check:
    free = shutil.disk_usage(cfg.root).free
    ok = free >= MIN_FREE_DISK
    return Check("disk", ok, f"{free / 2**30:.1f} GiB free", "" if ok else "free some disk space (5 GiB wanted)")


def _memory() -> Check:
    avail = psutil.virtual_memory().available
    ok = avail >= MIN_AVAILABLE_MEMORY
    return Check("memory", ok, f"{avail / 2**30:.1f} GiB available",
                 "" if ok else "close programs, or lower SPARK_WORKER_MEMORY and DASK_WORKER_MEMORY in .env")
