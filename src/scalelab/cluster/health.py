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

from ..config import Config


class NotHealthy(RuntimeError):
    pass


def port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _require_port(cfg: Config, setting: str) -> None:
    port = cfg.port(setting)
    if not port_open(cfg.client_host, port):
        raise NotHealthy(f"nothing listens on {cfg.client_host}:{port} ({setting})")


def http_json(url: str, headers: dict[str, str] | None = None, timeout: float = 5.0):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read().decode())
    except urllib.error.HTTPError as exc:
        raise NotHealthy(f"{url} answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise NotHealthy(f"{url}: {exc}") from None


def spark_master_state(cfg: Config) -> dict:
    # The master serves its state at /json/ (/json redirects there).
    return http_json(cfg.url("SPARK_MASTER_WEBUI_PORT", "/json/"))


def spark_master(cfg: Config, _: int = 0) -> str:
    state = spark_master_state(cfg)
    if state.get("status") != "ALIVE":
        raise NotHealthy(f"master status is {state.get('status')!r}")
    return "status ALIVE"  # workers are probed (and reported) by their own rows


def spark_worker(cfg: Config, _: int = 0) -> str:
    _require_port(cfg, "SPARK_MASTER_WEBUI_PORT")
    state = spark_master_state(cfg)
    ui_port = cfg.port("SPARK_WORKER_WEBUI_PORT")
    for worker in state.get("workers", []):
        if worker.get("state") == "ALIVE" and str(worker.get("webuiaddress", "")).endswith(f":{ui_port}"):
            return f"ALIVE, {worker['cores']} cores, {worker['memory']} MiB"
    raise NotHealthy(f"the master lists no ALIVE worker with UI port {ui_port}")


def _dask_workers(cfg: Config) -> dict:
    from distributed import Client

    _require_port(cfg, "DASK_SCHEDULER_PORT")
    try:
        with Client(cfg.dask_scheduler_address, timeout="5s", set_as_default=False) as client:
            return client.scheduler_info(n_workers=-1)["workers"]
    except OSError as exc:
        raise NotHealthy(f"no Dask scheduler at {cfg.dask_scheduler_address}: {exc}") from None


def dask_scheduler(cfg: Config, _: int = 0) -> str:
    _dask_workers(cfg)  # a client connected and asked; workers are reported by their own rows
    return "answers a client"


def dask_worker(cfg: Config, instance: int) -> str:
    name = f"dask-worker-{instance}"
    workers = _dask_workers(cfg)
    for addr, info in workers.items():
        if info.get("name") == name:
            return f"connected as {addr}"
    raise NotHealthy(f"the scheduler does not list {name}")


_RAY_PROBE = """
import sys, ray
ray.init(address=sys.argv[1], logging_level="ERROR", log_to_driver=False)
print(int(ray.cluster_resources().get("CPU", 0)))
ray.shutdown()
"""


def ray_head(cfg: Config, _: int = 0) -> str:
    _require_port(cfg, "RAY_GCS_PORT")
    _require_port(cfg, "RAY_CLIENT_PORT")
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

    _require_port(cfg, "KAFKA_PORT")
    try:
        admin = KafkaAdminClient(bootstrap_servers=cfg.kafka_bootstrap_servers, request_timeout_ms=5000,
                                 client_id="scalelab-probe")
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
    layout = http_json(cfg.url("DASHBOARD_PORT", "/_dash-layout"))
    graphs = [c for c in layout["props"]["children"] if c.get("type") == "Graph"]
    return f"{len(graphs)} graph(s)"
