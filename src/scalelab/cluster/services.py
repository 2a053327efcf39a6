"""The stack's services: for each role, the command it runs, its ports and its health probe.

A role's command is what `scalelab serve ROLE` execs, in a container and in the
local runtime alike, so both runtimes run the same processes with the same flags.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from scalelab.cluster import airflow, credentials, health, kafka, platform
from scalelab.cluster.java import require_java
from scalelab.config import DASHBOARD_BASE_PATH, Config, private_dir, write_private


@dataclass(frozen=True)
class Launch:
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    # Variables of the caller's environment the service must not inherit (a secret it gets otherwise).
    drop: tuple[str, ...] = ()


@dataclass(frozen=True)
class Service:
    name: str
    role: str
    description: str
    ports: tuple[str, ...]          # settings naming the ports it listens on (checked before start)
    launch: Callable[[Config, int], Launch]
    probe: Callable[[Config, int], str]   # returns a detail string, raises health.NotHealthy
    url_setting: str | None = None
    instance: int = 0                # 1..N for replicated roles, 0 for singletons
    needs_java: bool = False
    stop_grace: float = 20.0         # seconds between SIGTERM and SIGKILL
    profile: str = "core"            # started by every `up`, or only with --profile PROFILE
    stop_signal: int = signal.SIGTERM
    # The path its UI is served under on url_setting's port: "/", or "/NAME/" for a UI that
    # serves under its own name (JupyterLab's proxy then passes the path through unchanged).
    ui_path: str = "/"
    # Started on its first request and stopped when unused (SCALELAB_ON_DEMAND): a web UI that most
    # sessions never open. Its one port (url_setting) is then held by scalelab.cluster.ondemand.
    on_demand: bool = False
    # Stopped again once unused for SCALELAB_ON_DEMAND_IDLE seconds; False for a server whose memory
    # holds what a lab reads later (the model-api's live requests and counters).
    idle_stop: bool = True

    def url(self, cfg: Config) -> str:
        if self.url_setting is None:
            return ""
        return cfg.url(self.url_setting, self.ui_path)


def _bin(cfg: Config, name: str) -> str:
    """A console script of the environment scalelab runs in (the project's venv)."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else str(cfg.venv_bin / name)


# A JVM that keeps cluster state, not one that crunches data: the serial GC needs no GC threads,
# the C1 compiler alone halves start-up CPU and code cache, and a heap that gives back what it
# does not use (free between 10 and 20 % after a GC) stays near its live size when idle.
_LEAN_JVM_FLAGS = ("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xms32m",
                   "-XX:MinHeapFreeRatio=10", "-XX:MaxHeapFreeRatio=20")
_LEAN_JVM = " ".join(_LEAN_JVM_FLAGS)


def _spark_home() -> Path:
    import pyspark
    return Path(pyspark.__file__).parent


def _spark_env(cfg: Config) -> dict[str, str]:
    work = cfg.state_dir / "spark" / "work"
    work.mkdir(parents=True, exist_ok=True)
    env = {
        "SPARK_HOME": str(_spark_home()),
        # Without SPARK_WORKER_DIR executors write their scratch into site-packages.
        "SPARK_WORKER_DIR": str(work),
        "SPARK_LOG_DIR": str(cfg.log_dir),
        "SPARK_DAEMON_MEMORY": cfg.get("SPARK_DAEMON_MEMORY"),
        # The master and worker only keep cluster state: a serial GC and the quick
        # C1 compiler halve their start-up CPU and memory. Executors are not affected.
        "SPARK_DAEMON_JAVA_OPTS": _LEAN_JVM,
        "PYSPARK_PYTHON": sys.executable,
        # The REST submission server (6066) runs any jar it is sent, unauthenticated.
        "SPARK_MASTER_OPTS": "-Dspark.master.rest.enabled=false",
        # Spark reads these itself too: set from the configuration, never inherited empty.
        "SPARK_WORKER_CORES": str(cfg.int("SPARK_WORKER_CORES")),
        "SPARK_WORKER_MEMORY": cfg.get("SPARK_WORKER_MEMORY"),
    }
    # Without SPARK_LOCAL_IP the web UIs listen on every interface (wanted in a container);
    # set but empty, they listen on none that another container reaches.
    if not cfg.binds_everywhere:
        env["SPARK_LOCAL_IP"] = cfg.bind_host
    return env


def _spark_master(cfg: Config, _: int) -> Launch:
    return Launch([str(_spark_home() / "bin" / "spark-class"), "org.apache.spark.deploy.master.Master",
                   # The master and workers register by this address: in a container, its own.
                   "--host", cfg.advertise_host, "--port", str(cfg.port("SPARK_MASTER_PORT")),
                   "--webui-port", str(cfg.port("SPARK_MASTER_WEBUI_PORT")),
                   *credentials.spark_daemon_args(cfg)], _spark_env(cfg))


def _spark_worker(cfg: Config, _: int) -> Launch:
    return Launch([str(_spark_home() / "bin" / "spark-class"), "org.apache.spark.deploy.worker.Worker",
                   cfg.spark_master_url, "--host", cfg.advertise_host,
                   "--cores", str(cfg.int("SPARK_WORKER_CORES")), "--memory", cfg.get("SPARK_WORKER_MEMORY"),
                   "--webui-port", str(cfg.port("SPARK_WORKER_WEBUI_PORT")),
                   *credentials.spark_daemon_args(cfg)], _spark_env(cfg))


def _spark_history(cfg: Config, _: int) -> Launch:
    events = cfg.spark_events_dir
    events.mkdir(parents=True, exist_ok=True)
    env = _spark_env(cfg)
    # Read by spark-class for the history server; the same lean daemon JVM as the master's.
    env["SPARK_HISTORY_OPTS"] = " ".join([
        f"-Dspark.history.fs.logDirectory={events.as_uri()}",
        f"-Dspark.history.ui.port={cfg.port('SPARK_HISTORY_PORT')}",
        "-Dspark.history.fs.update.interval=5s",        # a notebook's ended session shows within seconds
        "-Dspark.history.retainedApplications=10",      # UIs kept in memory; the rest re-read on demand
        # A lab machine's logs do not pile up: a week of applications, at most 200 of them.
        "-Dspark.history.fs.cleaner.enabled=true", "-Dspark.history.fs.cleaner.maxAge=7d",
        "-Dspark.history.fs.cleaner.maxNum=200"])
    return Launch([str(_spark_home() / "bin" / "spark-class"), "org.apache.spark.deploy.history.HistoryServer"], env)


def _dask_scheduler(cfg: Config, _: int) -> Launch:
    host = cfg.bind_host
    return Launch([_bin(cfg, "dask"), "scheduler", "--host", host, "--port", str(cfg.port("DASK_SCHEDULER_PORT")),
                   "--dashboard-address", f"{host}:{cfg.port('DASK_DASHBOARD_PORT')}", *credentials.dask_cli_args(cfg)])



def _dask_worker(cfg: Config, instance: int) -> Launch:
    host = cfg.bind_host
    name = health.dask_worker_name(instance)
    local = cfg.state_dir / "dask" / name
    local.mkdir(parents=True, exist_ok=True)
    return Launch([_bin(cfg, "dask"), "worker", cfg.dask_scheduler_address, "--name", name,
                   "--nthreads", str(cfg.int("DASK_WORKER_THREADS")), "--memory-limit", cfg.get("DASK_WORKER_MEMORY"),
                   "--host", host,
                   # Each worker serves a dashboard too; on a random port of the same interface.
                   "--dashboard-address", f"{host}:0", "--local-directory", str(local), *credentials.dask_cli_args(cfg)])


def _ray_head(cfg: Config, _: int) -> Launch:
    # Ray makes its temp folder, sockets/ and runtime_resources/ world-writable (0777, no sticky bit),
    # so it gets a folder inside one that is ours alone (0700): no other user can reach what it holds.
    temp = private_dir(cfg.ray_temp_dir, "Ray's temp folder", "Remove it, or point RAY_TEMP_DIR at a folder of your own") / "ray"
    temp.mkdir(exist_ok=True)
    # Every start leaves a session folder of logs; only the running head needs one.
    for old in temp.glob("session_2*"):
        shutil.rmtree(old, ignore_errors=True)
    env = cfg.ray_env()
    # Idle pre-started workers cost ~100 MiB each; on a laptop start them on first use.
    env.update(RAY_enable_worker_prestart="0", RAY_num_prestart_python_workers="0",
               RAY_prestart_worker_first_driver="0",
               # Keep an idle worker for a minute rather than a second: starting one takes
               # seconds on two cores, and a Ray Data pipeline reuses them stage after stage.
               RAY_idle_worker_killing_time_threshold_ms="60000",
               # The Ray Client server (port 10001) fork-execs one process per client
               # connection while its own gRPC threads run. gRPC's fork handlers then
               # crash the child now and then ("Check failed: next_worker->state ==
               # KICKED", "epoll_wait error: Bad file descriptor" in the proxier's log;
               # the client sees "SpecificServer startup failed"): about 1 start in 6
               # here. gRPC's advice for fork-then-exec is to turn the handlers off.
               GRPC_ENABLE_FORK_SUPPORT="false")
    # `ray start --head`, then a small watcher in the foreground, as a container's main process
    # must be (scalelab.cluster.ray_head says why not `--block`).
    return Launch([_bin(cfg, "python"), "-m", "scalelab.cluster.ray_head", "--disable-usage-stats",
                   "--node-ip-address", cfg.advertise_host, "--port", str(cfg.port("RAY_GCS_PORT")),
                   "--num-cpus", str(cfg.int("RAY_NUM_CPUS")),
                   "--object-store-memory", str(cfg.int("RAY_OBJECT_STORE_MEMORY")),
                   "--dashboard-host", cfg.bind_host, "--dashboard-port", str(cfg.port("RAY_DASHBOARD_PORT")),
                   "--ray-client-server-port", str(cfg.port("RAY_CLIENT_PORT")),
                   # No autoscaler monitor (~50 MiB): this cluster is one fixed node, nothing to
                   # scale; it only feeds `ray status`, which no lab or test reads.
                   "--no-monitor",
                   "--temp-dir", str(temp)], env)


def _kafka(cfg: Config, _: int) -> Launch:
    java, _version = require_java()
    kafka.ensure_jars(cfg)
    props = kafka.write_effective_properties(cfg, kafka.broker_overrides(cfg),
                                             cfg.state_dir / "kafka" / "server.properties")
    kafka.ensure_storage(cfg, java, props)
    heap = cfg.get("KAFKA_HEAP")
    # A one-broker lab: the heap starts small and grows to KAFKA_HEAP; a serial GC's
    # pauses are short at this size. C1 alone moves a lab's messages (a hundred thousand in
    # tests/stack/test_faults.py) well within its time, at half the start-up CPU.
    return Launch([java, *_LEAN_JVM_FLAGS, f"-Xmx{heap}", "-Djava.awt.headless=true",
                   f"-Dlog4j2.configurationFile={cfg.root / 'docker' / 'kafka' / 'log4j2.properties'}",
                   "-cp", f"{kafka.jars_dir(cfg)}/*", "kafka.Kafka", str(props)])


def _jupyterlab(cfg: Config, _: int) -> Launch:
    argv = [_bin(cfg, "jupyter"), "lab", "--no-browser", "--ip", cfg.bind_host,
            "--port", str(cfg.port("JUPYTER_PORT")), "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={cfg.root}", "--ServerApp.default_url=/lab/tree/labs",
            # The first open's settings and the stack's UIs behind this port (scalelab.cluster.jupyter,
            # which reads the services: this module names its file rather than import it).
            f"--config={Path(__file__).with_name('jupyter_server_config.py')}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        argv.append("--allow-root")  # containers and CI run as root; the token still guards the server
    # The token reaches the server in a file of ours alone (JUPYTER_TOKEN_FILE; no newline: the
    # server reads it whole), not in argv (`ps`) nor in the environment, which every kernel and
    # terminal inherits: an `os.environ` printed in a notebook would show it.
    token_file = write_private(private_dir(cfg.state_dir / "jupyter", "JupyterLab's token folder") / "token",
                               cfg.jupyter_token)
    env = {"JUPYTER_TOKEN_FILE": str(token_file), **cfg.client_env()}
    return Launch(argv, env, cwd=cfg.root, drop=("JUPYTER_TOKEN",))


def _model_api(cfg: Config, _: int) -> Launch:
    from scalelab.ml.serving import model

    # The server trains the churn model on its first start (MODEL_API_TRAIN_SCALE). Started on
    # demand, it is trained here instead, before the port is handed to the activator, so that a
    # first request only loads it.
    if cfg.on_demand:
        model.load_or_train(cfg)
    return Launch([_bin(cfg, "uvicorn"), "--factory", "scalelab.ml.serving.app:create_app", "--host", cfg.bind_host,
                   "--port", str(cfg.port("MODEL_API_PORT")), "--log-level", "warning", "--no-access-log"],
                  cwd=cfg.root)


def _dashboard(cfg: Config, _: int) -> Launch:
    return Launch([_bin(cfg, "python"), "-m", "scalelab.apps.dashboard"], cwd=cfg.root)


def _postgres(cfg: Config, _: int) -> Launch:
    return Launch(platform.postgres_argv(cfg))


def _redis(cfg: Config, _: int) -> Launch:
    return Launch(platform.redis_argv(cfg))


def _airflow_role(argv_of):
    # Every Airflow role runs with the same settings (database, secrets, DAGs folder).
    return lambda cfg, _: Launch(argv_of(cfg), airflow.env(cfg), cwd=cfg.root)


def _one(name, role, description, ports, launch, probe, url_setting=None, needs_java=False,
         stop_grace=20.0, profile="core", stop_signal=signal.SIGTERM, ui_path="/", on_demand=False,
         idle_stop=True) -> Service:
    if on_demand:
        # The activator answers the state path itself and passes everything else on.
        probe = health.on_demand(probe, url_setting)
    return Service(name, role, description, ports, launch, probe, url_setting, 0, needs_java, stop_grace, profile,
                   stop_signal, ui_path, on_demand, idle_stop)


def _free_port(host: str) -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def serving_launch(cfg: Config, svc: Service) -> Launch:
    """What `scalelab serve` execs for a service: its own command, or for an on-demand one the
    activator, which runs that command (on a private port) when the first request comes."""
    if not (svc.on_demand and cfg.on_demand):
        return svc.launch(cfg, svc.instance)
    listen_host = cfg.bind_host
    # The backend listens where the service would have; bound to every interface, it is reached on loopback.
    backend_host = "127.0.0.1" if cfg.binds_everywhere else listen_host
    # The backend is configured as if its port setting said the private port: the same command,
    # flags and environment it would have, reached only through the activator.
    moved = {svc.url_setting: str(_free_port(backend_host))}
    backend = svc.launch(Config.load(cfg.root, {**os.environ, **moved}), svc.instance)
    spec = {"name": svc.name, "listen_host": listen_host, "listen_port": cfg.port(svc.url_setting),
            "backend_host": backend_host, "backend_port": int(moved[svc.url_setting]), "argv": backend.argv,
            "idle_s": cfg.int("SCALELAB_ON_DEMAND_IDLE") if svc.idle_stop else 0,
            "start_timeout_s": cfg.int("SCALELAB_START_TIMEOUT"), "grace_s": svc.stop_grace}
    activator = Path(__file__).with_name("ondemand.py")
    return Launch([sys.executable, "-I", str(activator), json.dumps(spec)], {**backend.env, **moved}, backend.cwd,
                  backend.drop)


PROFILES = ("core", "platform")


def _profiles_file(cfg: Config) -> Path:
    return cfg.run_dir / "profiles"


def enabled_profiles(cfg: Config) -> list[str]:
    """core, and each profile an `up --profile` enabled (until `down`)."""
    try:
        extra = _profiles_file(cfg).read_text().split()
    except FileNotFoundError:
        extra = []
    return ["core", *[p for p in PROFILES[1:] if p in extra]]


def enable_profiles(cfg: Config, profiles: list[str]) -> None:
    unknown = [p for p in profiles if p not in PROFILES]
    if unknown:
        raise UnknownService(unknown[0], list(PROFILES), "profile")
    wanted = sorted(set(enabled_profiles(cfg)[1:]) | {p for p in profiles if p != "core"})
    cfg.run_dir.mkdir(parents=True, exist_ok=True)
    _profiles_file(cfg).write_text(" ".join(wanted) + "\n")


def forget_profiles(cfg: Config) -> None:
    _profiles_file(cfg).unlink(missing_ok=True)


def services(cfg: Config, everything: bool = False) -> list[Service]:
    """The stack's services in start order (each after what it registers with): those of the
    enabled profiles, or of every profile (`everything`: what `down` may have to stop)."""
    profiles = PROFILES if everything else enabled_profiles(cfg)
    return [svc for svc in _all(cfg) if svc.profile in profiles]


def _all(cfg: Config) -> list[Service]:
    out = [
        _one("spark-master", "spark-master", "Spark standalone master", ("SPARK_MASTER_PORT", "SPARK_MASTER_WEBUI_PORT"),
             _spark_master, health.spark_master, "SPARK_MASTER_WEBUI_PORT", True),
        _one("spark-worker", "spark-worker", "Spark standalone worker", ("SPARK_WORKER_WEBUI_PORT",),
             _spark_worker, health.spark_worker, "SPARK_WORKER_WEBUI_PORT", True),
        _one("spark-history", "spark-history", "Spark history server", ("SPARK_HISTORY_PORT",), _spark_history,
             health.spark_history, "SPARK_HISTORY_PORT", True, stop_grace=5.0, on_demand=True),
        _one("dask-scheduler", "dask-scheduler", "Dask scheduler", ("DASK_SCHEDULER_PORT", "DASK_DASHBOARD_PORT"),
             _dask_scheduler, health.dask_scheduler, "DASK_DASHBOARD_PORT"),
    ]
    out += [_dask_worker_service(i) for i in range(1, cfg.int("DASK_WORKERS") + 1)]
    out += [
        _one("ray-head", "ray-head", "Ray head node", ("RAY_GCS_PORT", "RAY_DASHBOARD_PORT", "RAY_CLIENT_PORT"),
             # Ray's processes drain for up to 30 s on SIGTERM and the GCS ignores it;
             # the head's state is a throwaway session folder, so it gets a short grace.
             _ray_head, health.ray_head, "RAY_DASHBOARD_PORT", stop_grace=3.0),
        _one("kafka", "kafka", "Apache Kafka broker (KRaft)", ("KAFKA_PORT", "KAFKA_CONTROLLER_PORT"),
             _kafka, health.kafka_broker, None, True),
        _one("jupyterlab", "jupyterlab", "JupyterLab", ("JUPYTER_PORT",), _jupyterlab, health.jupyterlab,
             "JUPYTER_PORT", ui_path="/lab"),
        _one("model-api", "model-api", "The churn model behind FastAPI", ("MODEL_API_PORT",), _model_api,
             health.model_api, "MODEL_API_PORT", stop_grace=5.0, on_demand=True, idle_stop=False),
        _one("dashboard", "dashboard", "Trips dashboard (Dash)", ("DASHBOARD_PORT",), _dashboard, health.dashboard,
             "DASHBOARD_PORT", stop_grace=5.0, ui_path=DASHBOARD_BASE_PATH, on_demand=True),
        # The data-platform profile. SIGTERM is PostgreSQL's "smart" shutdown, which waits for
        # every client to leave (a notebook's engine may never); SIGINT is its "fast" one, which
        # ends sessions and checkpoints (its workers take SIGINT as a harmless cancel request).
        _one("postgres", "postgres", "PostgreSQL (platform profile)", ("POSTGRES_PORT",), _postgres, health.postgres,
             stop_grace=15.0, profile="platform", stop_signal=signal.SIGINT),
        _one("redis", "redis", "Redis (platform profile)", ("REDIS_PORT",), _redis, health.redis, stop_grace=5.0,
             profile="platform"),
        # Airflow's API server migrates the metadata schema before it serves; the scheduler and
        # the DAG processor wait for that schema. Their probes read the API's health endpoint.
        _one("airflow-api", "airflow-api", "Airflow API server and UI (platform profile)", ("AIRFLOW_PORT",),
             _airflow_role(airflow.api_server_argv), health.airflow_api, "AIRFLOW_PORT", stop_grace=10.0,
             profile="platform"),
        _one("airflow-scheduler", "airflow-scheduler", "Airflow scheduler, LocalExecutor (platform profile)", (),
             _airflow_role(airflow.scheduler_argv), health.airflow_scheduler, stop_grace=15.0, profile="platform"),
        _one("airflow-dag-processor", "airflow-dag-processor", "Airflow DAG processor (platform profile)", (),
             _airflow_role(airflow.dag_processor_argv), health.airflow_dag_processor, stop_grace=10.0,
             profile="platform"),
    ]
    return out


ROLES = ("spark-master", "spark-worker", "spark-history", "dask-scheduler", "dask-worker", "ray-head", "kafka", "jupyterlab",
         "model-api", "dashboard", "postgres", "redis", "airflow-api", "airflow-scheduler", "airflow-dag-processor")


def by_name(cfg: Config, name: str) -> Service:
    known = services(cfg, everything=True)
    for svc in known:
        if svc.name == name:
            return svc
    raise UnknownService(name, [s.name for s in known])


def not_healthy(cfg: Config, names) -> dict[str, str]:
    """The named services whose health probe fails now, with the probe's reason (empty: all answer)."""
    down = {}
    for name in names:
        svc = by_name(cfg, name)
        try:
            svc.probe(cfg, svc.instance)
        except health.NotHealthy as exc:
            down[name] = str(exc)
    return down


def by_role(cfg: Config, role: str, instance: int = 0) -> Service:
    """The service a `scalelab serve ROLE` runs. The local runtime numbers its Dask workers
    (--instance N); a compose replica has no number (0) and is named after its container."""
    if role == "dask-worker":
        return _dask_worker_service(instance)
    for svc in services(cfg, everything=True):
        if svc.role == role:
            return svc
    raise UnknownService(role, list(ROLES))


def dask_worker_names(cfg: Config) -> list[str]:
    """The local runtime's Dask worker services, as many as DASK_WORKERS says."""
    return [health.dask_worker_name(i) for i in range(1, cfg.int("DASK_WORKERS") + 1)]


def _dask_worker_service(i: int) -> Service:
    return Service(health.dask_worker_name(i), "dask-worker", f"Dask worker {i or '(replica)'}", (), _dask_worker,
                   health.dask_worker, None, i)


class UnknownService(KeyError):
    def __init__(self, name: str, known: list[str], kind: str = "service"):
        self.name, self.known, self.kind = name, known, kind
        super().__init__(name)

    def __str__(self) -> str:
        return f"unknown {self.kind} {self.name!r}; known {self.kind}s: {', '.join(self.known)}"
