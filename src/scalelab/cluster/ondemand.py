"""Start a web service on its first request and stop it when nobody has used it for a while.

A UI that most sessions never open (Spark's history server, the trips dashboard) would
otherwise hold 130-150 MiB all day. This process listens on the service's port instead,
~10 MiB, and on the first request starts the real server on a private port, waits until it
accepts, and relays bytes both ways; the person who opened the page waits a few seconds
once. It is systemd's socket activation (and `systemd-socket-proxyd --exit-idle-time`) in
the standard library, so it runs the same in a container and in the local runtime.

Standard library only, run as a script after `scalelab serve` has exec'd into it (the
imports that built the backend's command line are returned, as with childwatch):

    python -I ondemand.py SPEC_JSON

SPEC_JSON: {"name", "listen_host", "listen_port", "backend_host", "backend_port", "argv", "idle_s",
"start_timeout_s", "grace_s"}; the backend inherits this process's environment.

- A connection that sends nothing (a port check) starts nothing.
- `GET /.scalelab/on-demand` is answered here: the backend's state as JSON, without starting
  it (the health probe reads it).
- A request with the header `X-Scalelab-Probe` is relayed but does not count as use, so a
  healthcheck every 10 s does not keep an unused server alive.
- The backend is stopped (SIGTERM, then SIGKILL after grace_s) when no connection is open
  and none has been for idle_s seconds (0: never); the next request starts it again.
- The backend fails to start or dies: the request gets a 503 that says so and where its log
  is; the next request tries again.
- SIGTERM or SIGINT: stop the backend, exit 0.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time

STATE_PATH = "/.scalelab/on-demand"
PROBE_HEADER = "x-scalelab-probe"
_HEAD_LIMIT = 64 * 1024     # a request head larger than this is relayed without looking further
_FIRST_BYTES_TIMEOUT = 60.0


def _log(spec: dict, message: str) -> None:
    print(f"{spec['name']} (on demand): {message}", flush=True)


def parse_head(head: bytes) -> tuple[str, str, bool]:
    """(method, path, is_probe) of an HTTP request head; ('', '', False) when it is not one."""
    text = head.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    lines = text.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        return "", "", False
    probe = any(line.split(":", 1)[0].strip().lower() == PROBE_HEADER for line in lines[1:])
    return parts[0], parts[1], probe


def _response(status: str, body: bytes, content_type: str) -> bytes:
    return (f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            "Cache-Control: no-store\r\nConnection: close\r\n\r\n").encode() + body


class Activator:
    def __init__(self, spec: dict):
        self.spec = spec
        self.proc: subprocess.Popen | None = None
        self.state = "idle"            # idle, starting, running
        self.starts = 0
        self.last_exit = ""
        self.started_at = 0.0
        self.open_uses = 0             # relayed connections that are not probes
        self.last_use = time.monotonic()
        self._lock = asyncio.Lock()
        self.backend_host = spec["backend_host"]

    # -- the backend ---------------------------------------------------------------
    def _alive(self) -> bool:
        if self.proc is None:
            return False
        code = self.proc.poll()
        if code is None:
            return True
        self.last_exit = _describe(code)
        _log(self.spec, f"the server (pid {self.proc.pid}) {self.last_exit}")
        self.proc, self.state = None, "idle"
        return False

    async def _accepts(self) -> bool:
        try:
            _r, w = await asyncio.open_connection(self.backend_host, self.spec["backend_port"])
        except OSError:
            return False
        w.close()
        return True

    async def ensure_backend(self) -> str | None:
        """None once the backend accepts connections; otherwise why it does not."""
        async with self._lock:
            if self._alive() and self.state == "running":
                return None
            if not self._alive():
                self.starts += 1
                self.state, self.started_at = "starting", time.monotonic()
                _log(self.spec, f"first request: starting the server on port {self.spec['backend_port']}")
                self.proc = subprocess.Popen(self.spec["argv"], stdin=subprocess.DEVNULL)
            deadline = time.monotonic() + self.spec["start_timeout_s"]
            while time.monotonic() < deadline:
                if not self._alive():
                    return f"it {self.last_exit} while starting"
                if await self._accepts():
                    self.state = "running"
                    _log(self.spec, f"the server accepts after {time.monotonic() - self.started_at:.1f} s")
                    return None
                await asyncio.sleep(0.2)
            await self._terminate("it did not accept connections in time")
            return f"it did not accept connections within {self.spec['start_timeout_s']:.0f} s"

    async def stop_backend(self, why: str) -> None:
        async with self._lock:          # a request arriving meanwhile waits, then starts it again
            await self._terminate(why)

    async def _terminate(self, why: str) -> None:
        if not self._alive():
            return
        proc = self.proc
        _log(self.spec, f"stopping the server (pid {proc.pid}): {why}")
        proc.terminate()
        deadline = time.monotonic() + self.spec["grace_s"]
        while proc.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        self.proc, self.state = None, "idle"

    def snapshot(self) -> dict:
        self._alive()
        return {"service": self.spec["name"], "backend": self.state, "pid": self.proc.pid if self.proc else None,
                "backend_port": self.spec["backend_port"], "starts": self.starts, "last_exit": self.last_exit,
                "idle_stop_s": self.spec["idle_s"], "open_connections": self.open_uses,
                "idle_for_s": round(time.monotonic() - self.last_use, 1)}

    # -- connections ---------------------------------------------------------------
    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(self._read_head(reader), _FIRST_BYTES_TIMEOUT)
        except (asyncio.TimeoutError, OSError):
            head = b""
        if not head:                    # a port check, or a client that gave up: start nothing
            writer.close()
            return
        method, path, probe = parse_head(head)
        if path == STATE_PATH and method in ("GET", "HEAD"):
            body = json.dumps(self.snapshot()).encode()
            writer.write(_response("200 OK", body if method == "GET" else b"", "application/json"))
            await _close(writer)
            return
        counted = not probe
        if counted:
            self.open_uses += 1
            self.last_use = time.monotonic()
        try:
            why = await self.ensure_backend()
            if why is not None:
                log = os.environ.get("SCALELAB_SERVICE_LOG", "the service's log (scalelab logs NAME)")
                body = (f"{self.spec['name']} starts on its first request, and did not start: {why}. "
                        f"See {log}; the next request tries again.\n").encode()
                writer.write(_response("503 Service Unavailable", body, "text/plain; charset=utf-8"))
                await _close(writer)
                return
            try:
                br, bw = await asyncio.open_connection(self.backend_host, self.spec["backend_port"])
            except OSError as exc:
                writer.write(_response("502 Bad Gateway", f"{self.spec['name']}: {exc}\n".encode(), "text/plain"))
                await _close(writer)
                return
            bw.write(head)
            await asyncio.gather(_pipe(reader, bw), _pipe(br, writer))
            await asyncio.gather(_close(bw), _close(writer))
        finally:
            if counted:
                self.open_uses -= 1
                self.last_use = time.monotonic()

    @staticmethod
    async def _read_head(reader: asyncio.StreamReader) -> bytes:
        head = b""
        while b"\r\n\r\n" not in head and len(head) < _HEAD_LIMIT:
            chunk = await reader.read(65536)
            if not chunk:
                break
            head += chunk
        return head

    async def reap_idle(self) -> None:
        while True:
            await asyncio.sleep(min(5.0, max(self.spec["idle_s"], 0.5)))
            idle = time.monotonic() - self.last_use
            if (self.spec["idle_s"] > 0 and self.open_uses == 0 and idle >= self.spec["idle_s"]
                    and self.state == "running" and not self._lock.locked()):
                await self.stop_backend(f"unused for {idle:.0f} s; the next request starts it again")
            else:
                self._alive()           # notice a backend that died on its own


async def _pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
    try:
        while chunk := await src.read(65536):
            dst.write(chunk)
            await dst.drain()
    except OSError:
        pass
    finally:
        # Half-close: the other side may still be answering (a client that sent its whole request).
        try:
            if dst.can_write_eof():
                dst.write_eof()
        except OSError:
            pass


async def _close(writer: asyncio.StreamWriter) -> None:
    try:
        await writer.drain()
        writer.close()
        await writer.wait_closed()
    except OSError:
        pass


def _describe(code: int) -> str:
    if code < 0:
        return f"was killed by {signal.Signals(-code).name}"
    return f"exited with code {code}"


def listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


async def serve(spec: dict) -> None:
    activator = Activator(spec)
    server = await asyncio.start_server(activator.handle, sock=listen(spec["listen_host"], spec["listen_port"]))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    reaper = asyncio.create_task(activator.reap_idle())
    idle = f"stops after {spec['idle_s']:.0f} s unused" if spec["idle_s"] > 0 else "stays once started"
    _log(spec, f"listening on {spec['listen_host']}:{spec['listen_port']}; the server starts on the first "
               f"request and {idle}")
    await stop.wait()
    reaper.cancel()
    server.close()
    await activator.stop_backend("the service is stopping")
    _log(spec, "stopped")


def main(argv: list[str]) -> int:
    spec = json.loads(argv[0])
    asyncio.run(serve(spec))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
