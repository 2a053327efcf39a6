"""ondemand: a web service that starts on its first request and stops when unused.

Each test runs the activator as the stack does (`python -I ondemand.py SPEC`) in front of a real
HTTP server (the standard library's, serving a temporary folder), and talks to it over TCP.
"""

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import psutil
import pytest

import scalelab.cluster.ondemand as ondemand
from scalelab.cluster import health, services
from scalelab.config import Config


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Running:
    def __init__(self, tmp_path, argv=None, idle_s=0.0, start_timeout_s=20.0):
        (tmp_path / "page.txt").write_text("served by the backend\n")
        self.port, self.backend_port = _port(), _port()
        argv = argv or [sys.executable, "-m", "http.server", str(self.backend_port), "--bind", "127.0.0.1",
                        "--directory", str(tmp_path)]
        spec = {"name": "demo", "listen_host": "127.0.0.1", "listen_port": self.port,
                "backend_host": "127.0.0.1", "backend_port": self.backend_port, "argv": argv, "idle_s": idle_s,
                "start_timeout_s": start_timeout_s, "grace_s": 5.0}
        self.proc = subprocess.Popen([sys.executable, "-I", ondemand.__file__, json.dumps(spec)],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert "listening on" in self.proc.stdout.readline()

    def get(self, path="/page.txt", headers=None, timeout=30.0):
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", headers=headers or {})
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read().decode()

    def state(self) -> dict:
        return json.loads(self.get(ondemand.STATE_PATH)[1])

    def backends(self) -> list[psutil.Process]:
        return psutil.Process(self.proc.pid).children()

    def wait_state(self, wanted, timeout=15.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.state()
            if state["backend"] == wanted:
                return state
            time.sleep(0.1)
        raise AssertionError(f"backend never {wanted}: {state}")

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=20)
        return out


@pytest.fixture
def running(tmp_path):
    made = []

    def make(**kwargs):
        made.append(Running(tmp_path, **kwargs))
        return made[-1]

    yield make
    for r in made:
        r.stop()


def test_a_port_check_and_the_state_request_start_nothing(running):
    r = running()
    with socket.create_connection(("127.0.0.1", r.port), timeout=5):
        pass                                   # what health.port_open and a TCP healthcheck do
    state = r.state()
    assert state["backend"] == "idle" and state["starts"] == 0 and state["pid"] is None
    assert r.backends() == []


def test_the_first_request_starts_the_server_and_gets_its_answer(running):
    r = running()
    status, body = r.get()
    assert (status, body) == (200, "served by the backend\n")
    state = r.state()
    assert state["backend"] == "running" and state["starts"] == 1
    assert [p.pid for p in r.backends()] == [state["pid"]]
    assert r.get() == (200, "served by the backend\n")     # the same server answers the next
    assert r.state()["starts"] == 1


def test_an_unused_server_stops_and_the_next_request_starts_it_again(running):
    r = running(idle_s=1.0)
    r.get()
    first = r.state()["pid"]
    r.wait_state("idle", timeout=15)
    assert not psutil.pid_exists(first) or psutil.Process(first).status() == psutil.STATUS_ZOMBIE
    assert r.get() == (200, "served by the backend\n")
    state = r.state()
    assert state["starts"] == 2 and state["pid"] != first


def test_probes_do_not_keep_an_unused_server_running(running):
    r = running(idle_s=2.0)
    r.get()
    deadline = time.monotonic() + 20
    while r.state()["backend"] == "running":
        assert time.monotonic() < deadline, "a probe every 0.3 s kept the server alive"
        try:
            r.get(headers=health.PROBE_HEADERS)
        except urllib.error.URLError:
            pass                               # stopped between the state check and the probe
        time.sleep(0.3)
    assert r.state()["starts"] == 1


def test_a_server_that_cannot_start_is_a_503_that_says_why_and_the_next_request_retries(running):
    r = running(argv=[sys.executable, "-c", "import sys; print('cannot bind'); sys.exit(3)"])
    for attempt in (1, 2):
        with pytest.raises(urllib.error.HTTPError) as err:
            r.get()
        assert err.value.code == 503
        text = err.value.read().decode()
        assert "demo starts on its first request, and did not start" in text and "exited with code 3" in text
        assert r.state()["starts"] == attempt
    assert r.state()["backend"] == "idle"


def test_stopping_the_service_stops_its_server(running):
    r = running()
    r.get()
    pid = r.state()["pid"]
    out = r.stop()
    assert r.proc.returncode == 0
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert "stopping the server" in out and "the service is stopping" in out


def test_a_request_head_is_parsed_for_its_path_and_the_probe_header():
    head = b"GET /api/v1/applications HTTP/1.1\r\nHost: x\r\nX-Scalelab-Probe: 1\r\n\r\n"
    assert ondemand.parse_head(head) == ("GET", "/api/v1/applications", True)
    assert ondemand.parse_head(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n") == ("GET", "/", False)
    assert ondemand.parse_head(b"\x16\x03\x01 not http") == ("", "", False)


def test_serve_runs_the_activator_with_the_services_own_command_on_a_private_port(tmp_path):
    cfg = Config.load(tmp_path, {"SCALELAB_ON_DEMAND": "on", "DASHBOARD_PORT": "18550"})
    svc = services.by_name(cfg, "dashboard")
    launch = services.serving_launch(cfg, svc)
    spec = json.loads(launch.argv[-1])
    assert launch.argv[:3] == [sys.executable, "-I", ondemand.__file__]
    assert spec["listen_port"] == 18550 and spec["backend_port"] != 18550
    assert spec["argv"] == svc.launch(cfg, 0).argv                 # the command it would run anyway
    assert launch.env["DASHBOARD_PORT"] == str(spec["backend_port"])   # which reads its port from here
    assert spec["idle_s"] == 900
    off = Config.load(tmp_path, {"SCALELAB_ON_DEMAND": "off"})
    assert services.serving_launch(off, svc).argv == svc.launch(off, 0).argv
    with pytest.raises(Exception, match="neither on nor off"):
        Config.load(tmp_path, {"SCALELAB_ON_DEMAND": "maybe"}).on_demand
