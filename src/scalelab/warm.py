"""A warm runner: one process per cluster engine that keeps its session between `scalelab run`s.

A command that starts its own Spark driver pays for it every time: the driver JVM and its
gateway (~1.6 s here), the SparkContext (~1.8 s), the session (~2 s), an executor JVM on the
worker (~3 s) and a cold first query; Ray pays a driver and new worker processes per job.
None of that is the workload. Like Gradle's daemon (or Spark Connect), the first `scalelab
run` on such an engine starts a runner that holds the session; later commands hand it the
request over a Unix socket and print what it answers. The runner runs one request at a time,
exits after SCALELAB_WARM_IDLE seconds without one (releasing its executors' cores), after an
error that may have broken its session, and on `scalelab down`.

Which engines get one is the engine class's fact (`Engine.distributed`): an in-process engine
starts in well under a second and runs in the command itself. `scalelab run --no-warm` runs in
the command too. The socket and the runner's pid live in the run folder, 0700: only this user
reaches them, and a runner runs only registered workloads.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from scalelab.config import Config, private_dir

# Kinds of failure the runner reports; the command maps them to its exit codes. RESTART: the
# runner was started with other settings than the command has (it exits; a new one is started).
USAGE, NOT_SUPPORTED, STACK, MISMATCH, ERROR, RESTART = ("usage", "not supported", "stack", "mismatch", "error",
                                                         "restart")
_LINE_LIMIT = 1 << 20


class Unavailable(RuntimeError):
    """No runner could be reached or started: the command runs the workload itself."""


def folder(cfg: Config) -> Path:
    return private_dir(cfg.run_dir / "warm")


def socket_path(cfg: Config, engine: str) -> Path:
    return folder(cfg) / f"{engine}.sock"


def _pid_path(cfg: Config, engine: str) -> Path:
    return folder(cfg) / f"{engine}.pid"


def log_path(cfg: Config, engine: str) -> Path:
    return cfg.log_dir / f"warm-{engine}.log"


# -- the command's side ------------------------------------------------------------
def _send(path: Path, request: dict, timeout: float | None) -> dict:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5.0)
        sock.connect(str(path))
        sock.settimeout(timeout)
        sock.sendall(json.dumps(request).encode() + b"\n")
        reply = sock.makefile("rb").readline(_LINE_LIMIT)
    if not reply:
        raise Unavailable("the runner closed the connection without an answer (its log says why)")
    return json.loads(reply)


def _start(cfg: Config, engine: str) -> subprocess.Popen:
    cfg.log_dir.mkdir(parents=True, exist_ok=True)
    with open(log_path(cfg, engine), "ab") as log:
        log.write(f"\n===== scalelab: warm runner for {engine} at {time.strftime('%Y-%m-%d %H:%M:%S')} =====\n"
                  .encode())
        log.flush()
        return subprocess.Popen([sys.executable, "-m", "scalelab.warm", engine], stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT, cwd=cfg.root, start_new_session=True,
                                # The command's settings, whatever their source: the runner's are the same.
                                env={**os.environ, **cfg.values(), "SCALELAB_ROOT": str(cfg.root),
                                     "PYTHONUNBUFFERED": "1"})


def fingerprint(cfg: Config) -> str:
    """The settings a runner was started with (data folder, addresses, ...): a command with other ones
    gets a new runner rather than answers from the old settings."""
    import hashlib

    return hashlib.sha256(json.dumps(cfg.values(), sort_keys=True).encode()).hexdigest()[:16]


def ask(cfg: Config, engine: str, request: dict, timeout: float | None = None) -> dict:
    """The runner's answer to `request`, starting the runner when none listens. Raises Unavailable."""
    request = {**request, "config": fingerprint(cfg)}
    reply = _ask(cfg, engine, request, timeout)
    if reply.get("kind") == RESTART:          # it exits; wait for its socket to go, then start one
        deadline = time.monotonic() + 30
        while socket_path(cfg, engine).exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        reply = _ask(cfg, engine, request, timeout)
    return reply


def _ask(cfg: Config, engine: str, request: dict, timeout: float | None) -> dict:
    path = socket_path(cfg, engine)
    try:
        return _send(path, request, timeout)
    except (FileNotFoundError, ConnectionRefusedError):
        pass
    except (OSError, ValueError) as exc:
        raise Unavailable(f"the {engine} runner at {path}: {exc}") from None
    proc = _start(cfg, engine)
    deadline = time.monotonic() + cfg.int("SCALELAB_START_TIMEOUT")
    while time.monotonic() < deadline:
        code = proc.poll()
        try:
            return _send(path, request, timeout)
        except (FileNotFoundError, ConnectionRefusedError):
            if code is not None:      # it exited without listening: its engine could not start
                raise Unavailable(f"the {engine} runner exited with code {code} "
                                  f"(see {log_path(cfg, engine)})") from None
        except (OSError, ValueError) as exc:
            raise Unavailable(f"the {engine} runner: {exc}") from None
        time.sleep(0.2)
    raise Unavailable(f"the {engine} runner did not listen within {cfg.int('SCALELAB_START_TIMEOUT')} s")


def running(cfg: Config) -> dict[str, int]:
    """Engine -> pid of each runner alive now."""
    import psutil

    out = {}
    for pid_file in (cfg.run_dir / "warm").glob("*.pid") if (cfg.run_dir / "warm").is_dir() else []:
        try:
            pid = int(pid_file.read_text())
            if "scalelab.warm" in " ".join(psutil.Process(pid).cmdline()):
                out[pid_file.stem] = pid
        except (ValueError, OSError, psutil.Error):
            pass
    return out


def stop_all(cfg: Config, timeout: float = 20.0) -> list[str]:
    """Stop every runner (`scalelab down`): their sessions belong to the stack that goes."""
    import psutil

    procs = {}
    for engine, pid in running(cfg).items():
        try:
            procs[engine] = psutil.Process(pid)
            procs[engine].terminate()
        except psutil.Error:
            pass
    _gone, alive = psutil.wait_procs(list(procs.values()), timeout=timeout)
    for proc in alive:
        proc.kill()
    return sorted(procs)


# -- the runner's side -------------------------------------------------------------
def _run(eng, request: dict) -> dict:
    from scalelab import datasets, engines, workloads
    from scalelab.cluster.connect import StackNotUp
    from scalelab.workloads import compare

    try:
        w = workloads.get(request["workload"])
        outcome = workloads.run(w, eng, scale=request.get("scale"), data=request.get("data"),
                                check=request.get("check", True), keep_result=bool(request.get("out")),
                                **request.get("params", {}))
    except (workloads.WorkloadError, engines.EngineError, datasets.DatasetError) as exc:
        return {"ok": False, "kind": USAGE, "message": str(exc)}
    except engines.NotSupported as exc:
        return {"ok": False, "kind": NOT_SUPPORTED, "message": str(exc)}
    except StackNotUp as exc:
        return {"ok": False, "kind": STACK, "message": str(exc)}
    except compare.Mismatch as exc:
        return {"ok": False, "kind": MISMATCH, "message": str(exc)}
    if request.get("out"):
        out = Path(request["out"])
        out.parent.mkdir(parents=True, exist_ok=True)
        outcome.result.to_parquet(out)
    return {"ok": True, "summary": outcome.summary(), "checksum": str(outcome.checksum), "pid": os.getpid()}


def _listen(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(str(path))
    except OSError:
        try:                          # a live runner already holds it: leave it be
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                probe.connect(str(path))
            raise SystemExit(0)
        except (ConnectionRefusedError, FileNotFoundError):
            path.unlink(missing_ok=True)      # a runner that died left its socket behind
            sock.bind(str(path))
    os.chmod(path, 0o600)
    sock.listen(16)
    return sock


def _interrupt(*_) -> None:
    raise KeyboardInterrupt


def serve(engine_name: str, cfg: Config | None = None) -> int:
    from scalelab import engines

    cfg = cfg or Config.load()
    idle = cfg.int("SCALELAB_WARM_IDLE")
    eng = engines.get(engine_name)
    eng.start()                               # connect once; every request reuses it
    path = socket_path(cfg, engine_name)
    sock = _listen(path)
    _pid_path(cfg, engine_name).write_text(str(os.getpid()))
    signal.signal(signal.SIGTERM, _interrupt)
    print(f"warm runner for {engine_name}: listening on {path}; exits after {idle} s without a request", flush=True)
    served, mine = 0, fingerprint(cfg)
    try:
        while True:
            sock.settimeout(idle if idle > 0 else None)
            try:
                conn, _ = sock.accept()
            except socket.timeout:
                print(f"warm runner for {engine_name}: {served} request(s), none for {idle} s: exiting", flush=True)
                return 0
            with conn:
                conn.settimeout(None)
                try:
                    request = json.loads(conn.makefile("rb").readline(_LINE_LIMIT))
                    if not isinstance(request, dict) or "workload" not in request:
                        raise ValueError("a request is a JSON object with a workload")
                except ValueError as exc:
                    conn.sendall(json.dumps({"ok": False, "kind": USAGE, "message": f"bad request: {exc}"})
                                 .encode() + b"\n")
                    continue
                if request.get("config", mine) != mine:
                    conn.sendall(json.dumps({"ok": False, "kind": RESTART, "message": "other settings"}).encode()
                                 + b"\n")
                    print(f"warm runner for {engine_name}: a command with other settings: exiting", flush=True)
                    return 0
                try:
                    reply = _run(eng, request)
                except Exception as exc:  # noqa: BLE001 - reported, then a fresh runner next time
                    reply = {"ok": False, "kind": ERROR, "message": f"{type(exc).__name__}: {exc}"}
                served += 1
                print(f"warm runner for {engine_name}: {request['workload']}: "
                      f"{reply.get('summary') or reply['kind'] + ': ' + reply['message'][:200]}", flush=True)
                try:
                    conn.sendall(json.dumps(reply).encode() + b"\n")
                except OSError:
                    pass                  # the command went away (Ctrl-C); the next one asks again
                if reply.get("kind") in (ERROR, STACK):
                    # The session may be broken (the stack went down under it): the next command
                    # starts a runner with a fresh one.
                    print(f"warm runner for {engine_name}: exiting after {reply['kind']}", flush=True)
                    return 1
    except KeyboardInterrupt:
        print(f"warm runner for {engine_name}: stopped", flush=True)
        return 0
    finally:
        sock.close()
        path.unlink(missing_ok=True)
        _pid_path(cfg, engine_name).unlink(missing_ok=True)
        eng.stop()


def request_of(workload: str, scale: str | None, data: Path | None, params: dict[str, Any], check: bool,
               out: Path | None) -> dict:
    """What the command sends: paths absolute, since the runner has its own working folder."""
    return {"workload": workload, "scale": scale, "data": str(Path(data).resolve()) if data else None,
            "params": params, "check": check, "out": str(Path(out).resolve()) if out else None}


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1]))
