"""Health probes: each speaks the service's own protocol, as a client would.

A probe returns a short detail on success and raises `NotHealthy` with the reason
otherwise. They are used by `up` (wait until healthy), `status`, compose
healthchecks (`scalelab probe ROLE`) and the stack tests.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.error
import urllib.request

from scalelab.cluster import credentials
from scalelab.config import Config, address_host, address_host_port


class NotHealthy(RuntimeError):
    pass


def port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _require_port(cfg: Config, setting: str, host: str | None = None) -> None:
    host = host or cfg.client_host
    port = cfg.port(setting)
    if not port_open(host, port):
        raise NotHealthy(f"nothing listens on {host}:{port} ({setting})")


def _require_address(address: str, setting: str) -> None:
    host, port = address_host_port(address)
    if not port_open(host, port):
        raise NotHealthy(f"nothing listens on {host}:{port} ({setting})")


# Sent with every probe: an on-demand service's activator does not count a probe as use, so a
# healthcheck every 10 s does not keep an unused server running (scalelab.cluster.ondemand).
PROBE_HEADERS = {"X-Scalelab-Probe": "1"}


def http_json(url: str, headers: dict[str, str] | None = None, timeout: float = 5.0):
    req = urllib.request.Request(url, headers={**PROBE_HEADERS, **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read().decode())
    except urllib.error.HTTPError as exc:
        raise NotHealthy(f"{url} answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise NotHealthy(f"{url}: {exc}") from None


def _spark_master_host(cfg: Config) -> str:
    # Where the master is: this machine in the local runtime, `spark-master` inside compose.
    return address_host(cfg.spark_master_url)


def spark_master_state(cfg: Config) -> dict:
    # The master serves its state at /json/ (/json redirects there).
    return http_json(cfg.url("SPARK_MASTER_WEBUI_PORT", "/json/", _spark_master_host(cfg)))


def spark_master(cfg: Config, _: int = 0) -> str:
    state = spark_master_state(cfg)
    if state.get("status") != "ALIVE":
        raise NotHealthy(f"master status is {state.get('status')!r}")
    return "status ALIVE"  # workers are probed (and reported) by their own rows


def spark_worker(cfg: Config, _: int = 0) -> str:
    _require_port(cfg, "SPARK_MASTER_WEBUI_PORT", _spark_master_host(cfg))
    state = spark_master_state(cfg)
    ui_port = cfg.port("SPARK_WORKER_WEBUI_PORT")
    # Bound to every interface the probe runs in the worker's own container (a compose
    # healthcheck), where replicas share a UI port: then the worker must be this one.
    mine = f"//{cfg.advertise_host}:" if cfg.binds_everywhere else ""
    for worker in state.get("workers", []):
        ui = str(worker.get("webuiaddress", ""))
        if worker.get("state") == "ALIVE" and ui.endswith(f":{ui_port}") and mine in ui:
            return f"ALIVE, {worker['cores']} cores, {worker['memory']} MiB"
    raise NotHealthy(f"the master lists no ALIVE worker with UI port {ui_port}{' at ' + mine if mine else ''}")


def spark_history(cfg: Config, _: int = 0) -> str:
    apps = http_json(cfg.url("SPARK_HISTORY_PORT", "/api/v1/applications?status=completed"))
    if not isinstance(apps, list):
        raise NotHealthy(f"the history server's application list is not a list: {str(apps)[:80]}")
    return f"{len(apps)} finished application(s)"


def on_demand_state(cfg: Config, port_setting: str) -> dict:
    """What an on-demand service's activator says of its server: idle, starting or running."""
    from scalelab.cluster.ondemand import STATE_PATH

    state = http_json(cfg.url(port_setting, STATE_PATH))
    if not isinstance(state, dict) or "backend" not in state:
        raise NotHealthy(f"{cfg.url(port_setting, STATE_PATH)} is not an on-demand activator's state: "
                         f"{str(state)[:80]}")
    return state


def on_demand(probe, port_setting: str):
    """A probe for a service that starts on its first request: healthy when its activator answers;
    once the server runs, the server's own probe too (through the activator, not counted as use)."""
    def check(cfg: Config, instance: int = 0) -> str:
        if not cfg.on_demand:
            return probe(cfg, instance)
        state = on_demand_state(cfg, port_setting)
        if state["backend"] != "running":
            last = f"; last run {state['last_exit']}" if state.get("last_exit") else ""
            return f"on demand: {state['backend']}, starts on first request{last}"
        return probe(cfg, instance)
    check.__name__ = getattr(probe, "__name__", "probe")
    check.__doc__ = probe.__doc__
    return check


def _dask_workers(cfg: Config) -> dict:
    from distributed import Client

    _require_address(cfg.dask_scheduler_address, "DASK_SCHEDULER_ADDRESS")
    try:
        with Client(cfg.dask_scheduler_address, timeout="5s", set_as_default=False,
                    security=credentials.dask_security(cfg)) as client:
            return client.scheduler_info(n_workers=-1)["workers"]
    except OSError as exc:
        raise NotHealthy(f"no Dask scheduler at {cfg.dask_scheduler_address}: {exc}") from None


def dask_scheduler(cfg: Config, _: int = 0) -> str:
    _dask_workers(cfg)  # a client connected and asked; workers are reported by their own rows
    return "answers a client"


def dask_worker_name(instance: int) -> str:
    """dask-worker-N in the local runtime; a compose replica (instance 0) is named after its container."""
    return f"dask-worker-{instance or socket.gethostname()}"


def dask_worker(cfg: Config, instance: int) -> str:
    name = dask_worker_name(instance)
    workers = _dask_workers(cfg)
    for addr, info in workers.items():
        if info.get("name") == name:
            return f"connected as {addr}"
    # Seen from outside compose, replicas carry their containers' names: worker N is
    # there when the scheduler lists N of them.
    names = [str(info.get("name")) for info in workers.values()]
    numbered = [n for n in names if n.removeprefix("dask-worker-").isdigit()]
    if instance and not numbered and len(names) >= instance:
        return f"{len(names)} replicas connected"
    raise NotHealthy(f"the scheduler does not list {name}")


_RAY_PROBE = """
import sys, ray
ray.init(address=sys.argv[1], logging_level="ERROR", log_to_driver=False)
print(int(ray.cluster_resources().get("CPU", 0)))
ray.shutdown()
"""


def ray_head(cfg: Config, _: int = 0) -> str:
    head = address_host(cfg.ray_address)
    _require_port(cfg, "RAY_GCS_PORT", head)
    _require_port(cfg, "RAY_CLIENT_PORT", head)
    # ray.init in a child process: it would otherwise tie this process to the cluster.
    import os
    env = {**os.environ, **cfg.client_env()}
    try:
        out = subprocess.run([sys.executable, "-c", _RAY_PROBE, cfg.ray_address], capture_output=True,
                             text=True, timeout=60, env=env)
    except subprocess.TimeoutExpired:
        raise NotHealthy(f"ray.init(address={cfg.ray_address!r}) did not answer within 60 s") from None
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise NotHealthy(f"ray.init(address={cfg.ray_address!r}) failed: {last}")
    return f"{out.stdout.strip()} CPU(s)"


def kafka_broker(cfg: Config, _: int = 0) -> str:
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    _require_address(cfg.kafka_bootstrap_servers, "KAFKA_BOOTSTRAP_SERVERS")
    try:
        admin = KafkaAdminClient(bootstrap_servers=cfg.kafka_bootstrap_servers, request_timeout_ms=5000,
                                 client_id="scalelab-probe", **credentials.kafka_client_params(cfg))
        try:
            brokers = admin.describe_cluster().get("brokers", [])
        finally:
            admin.close()
    except KafkaError as exc:
        raise NotHealthy(f"Kafka admin client at {cfg.kafka_bootstrap_servers}: {exc}") from None
    if not brokers:
        raise NotHealthy("the cluster lists no broker")
    return f"{len(brokers)} broker(s)"


def jupyterlab(cfg: Config, _: int = 0) -> str:
    status = http_json(cfg.url("JUPYTER_PORT", "/api/status"),
                       headers={"Authorization": f"token {cfg.jupyter_token}"})
    return f"{status.get('kernels', 0)} kernel(s)"


def model_api(cfg: Config, _: int = 0) -> str:
    card = http_json(cfg.url("MODEL_API_PORT", "/health"))
    return f"{card['model_id']}, held-out ROC AUC {card['holdout_roc_auc']:.3f}"


def dashboard(cfg: Config, _: int = 0) -> str:
    layout = http_json(cfg.dashboard_url("_dash-layout"))
    graphs = [c for c in layout["props"]["children"] if c.get("type") == "Graph"]
    return f"{len(graphs)} graph(s)"


def postgres(cfg: Config, _: int = 0) -> str:
    import psycopg

    params = cfg.postgres_params
    _require_port(cfg, "POSTGRES_PORT", params["host"])
    try:
        with psycopg.connect(**params, connect_timeout=5) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
    except psycopg.Error as exc:
        raise NotHealthy(f"PostgreSQL at {params['host']}:{params['port']}: {exc}".strip()) from None
    return f"PostgreSQL {version}, database {cfg.get('POSTGRES_DB')}"


def redis(cfg: Config, _: int = 0) -> str:
    import redis as redis_py

    params = cfg.redis_params
    _require_port(cfg, "REDIS_PORT", params["host"])
    try:
        client = redis_py.Redis(**params, socket_timeout=5)
        info = client.info("server")
        client.close()
    except redis_py.RedisError as exc:
        raise NotHealthy(f"Redis at {params['host']}:{params['port']}: {exc}") from None
    return f"Redis {info['redis_version']}"


# -- Airflow: one endpoint reports the database and each component's last heartbeat ---------------
def _airflow_health(cfg: Config) -> dict:
    # Inside compose the API server is another container (AIRFLOW_API_HOST=airflow-api).
    return http_json(cfg.url("AIRFLOW_PORT", "/api/v2/monitor/health", host=cfg.airflow_api_host))


def _airflow_component(cfg: Config, component: str, label: str) -> str:
    info = (_airflow_health(cfg).get(component) or {})
    status = info.get("status")
    if status != "healthy":
        beat = info.get(f"latest_{component}_heartbeat") or "none yet"
        raise NotHealthy(f"Airflow reports the {label} {status or 'unknown'} (last heartbeat: {beat})")
    return f"{label} heartbeat {info.get(f'latest_{component}_heartbeat', '?')[:19]}"


def airflow_api(cfg: Config, _: int = 0) -> str:
    status = (_airflow_health(cfg).get("metadatabase") or {}).get("status")
    if status != "healthy":
        raise NotHealthy(f"Airflow's API server answers but its metadata database is {status}")
    return "API server up, metadata database healthy"


def airflow_scheduler(cfg: Config, _: int = 0) -> str:
    return _airflow_component(cfg, "scheduler", "scheduler")


def airflow_dag_processor(cfg: Config, _: int = 0) -> str:
    return _airflow_component(cfg, "dag_processor", "DAG processor")
