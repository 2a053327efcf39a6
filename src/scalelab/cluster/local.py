"""The local runtime: the stack's services as processes on this machine.

Each service is `python -m scalelab serve ROLE`, started in a session of its own
(the same command a container runs). Its pid, session and start time are kept in
`<state>/run/NAME.json`, its output in `<state>/logs/NAME.log`. Stopping signals the
whole session, because several services fork helpers (Ray's raylet and GCS, Dask's
nanny, Spark's executors) that outlive a signal to the parent alone.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import psutil

from scalelab.cluster import credentials, health
from scalelab.cluster.java import require_java
from scalelab.cluster.services import Service, enable_profiles, forget_profiles, services
from scalelab.config import Config


class StackError(RuntimeError):
    """A failure the user can act on; the message says what to do."""


@dataclass
class ServiceState:
    service: Service
    pid: int | None
    running: bool
    healthy: bool | None = None
    detail: str = ""


# -- bookkeeping ---------------------------------------------------------------
def _pidfile(cfg: Config, svc: Service) -> Path:
    return cfg.run_dir / f"{svc.name}.json"


def log_path(cfg: Config, svc: Service) -> Path:
    return cfg.log_dir / f"{svc.name}.log"


def _record(cfg: Config, svc: Service) -> dict | None:
    try:
        return json.loads(_pidfile(cfg, svc).read_text())
    except (FileNotFoundError, ValueError):
        return None


def _alive(record: dict | None) -> bool:
    """The recorded process still runs (and is the same process, not a reused pid)."""
    if not record:
        return False
    try:
        proc = psutil.Process(record["pid"])
        return abs(proc.create_time() - record["created"]) < 1.0 and proc.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied, KeyError):
        return False


def session_processes(sid: int) -> list[psutil.Process]:
    """Every process in a session (a service's whole tree, daemonised helpers included),
    and their descendants that left it (PostgreSQL's workers each start a session)."""
    found = []
    for proc in psutil.process_iter():
        try:
            if os.getsid(proc.pid) == sid:
                found.append(proc)
        except (ProcessLookupError, PermissionError, psutil.Error):
            continue
    seen = {p.pid for p in found}
    for proc in list(found):
        try:
            children = proc.children(recursive=True)
        except psutil.Error:
            continue
        for child in children:
            if child.pid not in seen:
                seen.add(child.pid)
                found.append(child)
    return found


def running_sessions(cfg: Config, prefixes: tuple[str, ...]) -> list[int]:
    """Session ids of the running services whose names start with one of `prefixes`."""
    return [rec["sid"] for svc in services(cfg, everything=True) if svc.name.startswith(prefixes)
            if _alive(rec := _record(cfg, svc))]


def processes_by_service(cfg: Config) -> dict[str, list[psutil.Process]]:
    """Each recorded service's whole process tree, by service name."""
    return {svc.name: session_processes(rec["sid"]) for svc in services(cfg, everything=True)
            if (rec := _record(cfg, svc))}


def stack_processes(cfg: Config) -> list[psutil.Process]:
    return [proc for procs in processes_by_service(cfg).values() for proc in procs]


def memory_by_service(cfg: Config) -> dict[str, tuple[int, int, int]]:
    """Each running service's (processes, RSS, PSS) in bytes, its whole process tree counted."""
    out = {}
    for name, procs in processes_by_service(cfg).items():
        count = rss = pss = 0
        for proc in procs:
            try:
                info = proc.memory_full_info()
            except psutil.Error:          # the process ended, or is not ours to read
                continue
            count, rss, pss = count + 1, rss + info.rss, pss + getattr(info, "pss", info.rss)
        if count:
            out[name] = (count, rss, pss)
    return out


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log yet)"


# -- checks before starting ------------------------------------------------------
def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As the servers do: connections in TIME_WAIT from a stopped service don't hold the port.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def check_ports(cfg: Config, svc: Service) -> None:
    for setting in svc.ports:
        port = cfg.port(setting)
        if not port_free(cfg.bind_host, port):
            holder = port_holder(port)
            raise StackError(
                f"{svc.name}: port {port} on {cfg.bind_host} is already in use{holder}. "
                f"Stop what holds it, or give {svc.name} another port: set {setting}=<free port> in .env.")


def port_holder(port: int) -> str:
    try:
        for conn in psutil.net_connections(kind="inet"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
                return f" by pid {conn.pid} ({psutil.Process(conn.pid).name()})"
    except (psutil.Error, OSError):
        pass
    return ""


# -- start, wait, stop ----------------------------------------------------------------
def start(cfg: Config, svc: Service) -> None:
    check_ports(cfg, svc)
    cfg.log_dir.mkdir(parents=True, exist_ok=True)
    cfg.run_dir.mkdir(parents=True, exist_ok=True)
    log = open(log_path(cfg, svc), "ab")
    log.write(f"\n===== scalelab: starting {svc.name} at {time.strftime('%Y-%m-%d %H:%M:%S')} =====\n".encode())
    log.flush()
    argv = [sys.executable, "-m", "scalelab", "serve", svc.role]
    if svc.instance:
        argv += ["--instance", str(svc.instance)]
    env = {**os.environ, "SCALELAB_ROOT": str(cfg.root), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                            cwd=cfg.root, start_new_session=True)
    log.close()
    record = {"pid": proc.pid, "sid": proc.pid, "created": psutil.Process(proc.pid).create_time(),
              "role": svc.role, "instance": svc.instance}
    tmp = _pidfile(cfg, svc).with_suffix(".tmp")
    tmp.write_text(json.dumps(record))
    os.replace(tmp, _pidfile(cfg, svc))


def wait_healthy(cfg: Config, svc: Service, timeout: float) -> str:
    """Poll the probe until it passes; on death or timeout raise with the log's tail."""
    deadline = time.monotonic() + timeout
    last = "not probed yet"
    while time.monotonic() < deadline:
        if not _alive(_record(cfg, svc)):
            raise StackError(f"{svc.name} exited while starting. Last lines of {log_path(cfg, svc)}:\n"
                             f"{tail(log_path(cfg, svc))}")
        try:
            return svc.probe(cfg, svc.instance)
        except health.NotHealthy as exc:
            last = str(exc)
        time.sleep(1.0)
    raise StackError(f"{svc.name} did not become healthy within {timeout:.0f} s ({last}). "
                     f"Last lines of {log_path(cfg, svc)}:\n{tail(log_path(cfg, svc))}")


def stop(cfg: Config, svc: Service) -> bool:
    """Stop a service's whole session: SIGTERM, then SIGKILL after its grace period."""
    rec = _record(cfg, svc)
    if rec is None:
        return False
    procs = session_processes(rec["sid"])
    # The whole session at once: helpers that ignore a parent's SIGTERM (Ray's GCS and
    # autoscaler monitor, say) get their own. No `ray stop`: it stops every Ray on the machine.
    for proc in procs:
        try:
            proc.send_signal(svc.stop_signal)
        except psutil.Error:
            pass
    _gone, alive = psutil.wait_procs(procs, timeout=svc.stop_grace)
    for proc in alive:
        try:
            proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(alive, timeout=5)
    _pidfile(cfg, svc).unlink(missing_ok=True)
    return bool(procs)


def status(cfg: Config, probe: bool = True) -> list[ServiceState]:
    def one(svc: Service) -> ServiceState:
        rec = _record(cfg, svc)
        running = _alive(rec)
        st = ServiceState(svc, rec["pid"] if running else None, running)
        if running and probe:
            try:
                st.detail, st.healthy = svc.probe(cfg, svc.instance), True
            except health.NotHealthy as exc:
                st.detail, st.healthy = str(exc), False
        elif not running:
            st.detail = "stopped"
        return st

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, services(cfg)))


def up(cfg: Config, names: list[str] | None = None, on_event=None,
       profiles: list[str] | None = None) -> list[ServiceState]:
    """Start what is not running, in parallel, and wait until every service is healthy.

    A service already running is left alone (and probed). `profiles` enables more than the
    core services (kept until `down`). Raises StackError naming every service that failed,
    with its log's tail.
    """
    # Before anything starts: beyond loopback, the engine ports must ask for credentials.
    credentials.check_bind(cfg)
    if profiles:
        enable_profiles(cfg, profiles)
    chosen = [s for s in services(cfg) if names is None or s.name in names]
    from scalelab.cluster import platform
    platform.require_installed([s.role for s in chosen])
    if any(s.role.startswith("airflow-") for s in chosen):
        from scalelab.cluster import airflow
        airflow.airflow_bin(cfg)
    if any(s.needs_java for s in chosen):
        require_java()
    if any(s.role == "kafka" for s in chosen):
        from scalelab.cluster import kafka
        kafka.ensure_jars(cfg)
    to_start = [s for s in chosen if not _alive(_record(cfg, s))]
    for svc in to_start:  # check every port before starting anything
        check_ports(cfg, svc)
    for svc in to_start:
        start(cfg, svc)
        if on_event:
            on_event(svc, "started")
    timeout = float(cfg.int("SCALELAB_START_TIMEOUT"))
    errors: list[str] = []

    def wait(svc: Service) -> ServiceState:
        try:
            try:
                detail = wait_healthy(cfg, svc, timeout)
            except StackError:
                # One more start for a service that died while starting (Ray's head gives
                # up when two cores are busy): a second failure is reported as it is.
                if svc not in to_start or _alive(_record(cfg, svc)):
                    raise
                if on_event:
                    on_event(svc, "exited while starting; starting it again")
                stop(cfg, svc)
                start(cfg, svc)
                detail = wait_healthy(cfg, svc, timeout)
            state = ServiceState(svc, _record(cfg, svc)["pid"], True, True, detail)
        except StackError as exc:
            errors.append(str(exc))
            state = ServiceState(svc, None, _alive(_record(cfg, svc)), False, str(exc).splitlines()[0])
        if on_event:
            on_event(svc, "healthy" if state.healthy else "failed")
        return state

    with ThreadPoolExecutor(max_workers=len(chosen) or 1) as pool:
        states = list(pool.map(wait, chosen))
    if errors:
        raise StackError("\n\n".join(errors))
    return states


def down(cfg: Config) -> list[str]:
    """Stop every service at once; return the names that were running.

    In parallel: each stop is mostly waiting for a process to exit, and nothing here
    needs an order (a worker whose master went first just exits too).
    """
    all_services = services(cfg, everything=True)
    forget_profiles(cfg)
    with ThreadPoolExecutor(max_workers=len(all_services)) as pool:
        was_running = list(pool.map(lambda svc: stop(cfg, svc), all_services))
    return [svc.name for svc, ran in zip(all_services, was_running, strict=True) if ran]


def listeners_left(cfg: Config) -> list[str]:
    """Configured ports still listening after `down` (should be none)."""
    from scalelab.config import SETTINGS
    left = []
    for s in SETTINGS:
        if s.kind == "port" and health.port_open(cfg.client_host, cfg.port(s.name), timeout=0.5):
            left.append(f"{s.name}={cfg.port(s.name)}")
    return left
