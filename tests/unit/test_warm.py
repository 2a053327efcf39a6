"""The warm runner: a process that keeps an engine's session between `scalelab run` commands.

Run here with DuckDB (the command gives cluster engines a runner; the runner serves any engine,
and an in-process one needs no stack): real processes, a real Unix socket, an isolated state folder.
"""

import json
import os
import socket
import stat
import time

import psutil
import pytest
from typer.testing import CliRunner

from scalelab import engines, warm, workloads
from scalelab.cli import app
from scalelab.config import Config
from scalelab.workloads import runner


@pytest.fixture
def cfg(tmp_path, monkeypatch):
    monkeypatch.setenv("SCALELAB_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("SCALELAB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SCALELAB_WARM_IDLE", "60")
    cfg = Config.load()
    yield cfg
    warm.stop_all(cfg)


def _request(**kw):
    return warm.request_of(kw.pop("workload", "groupby.q1"), "tiny", None, kw.pop("params", {}), True, None)


def test_the_first_request_starts_a_runner_and_the_next_is_served_by_the_same_one(cfg):
    first = warm.ask(cfg, "duckdb", _request())
    assert first["ok"], first
    assert first["summary"].startswith("groupby.q1 on duckdb (G1_1e4_1e2_0_0): 100 rows")
    assert "checked against the pandas reference" in first["summary"]
    second = warm.ask(cfg, "duckdb", _request(workload="groupby.q3"))
    assert second["ok"] and second["pid"] == first["pid"] == warm.running(cfg)["duckdb"]
    assert first["pid"] != os.getpid()
    # Only this user reaches the socket.
    assert stat.S_IMODE(os.stat(warm.folder(cfg)).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(warm.socket_path(cfg, "duckdb")).st_mode) == 0o600


def test_a_wrong_request_is_answered_and_the_runner_stays(cfg):
    pid = warm.ask(cfg, "duckdb", _request())["pid"]
    unknown = warm.ask(cfg, "duckdb", _request(workload="groupby.q99"))
    assert not unknown["ok"] and unknown["kind"] == warm.USAGE and "groupby.q1" in unknown["message"]
    with socket.socket(socket.AF_UNIX) as sock:                  # not JSON at all
        sock.connect(str(warm.socket_path(cfg, "duckdb")))
        sock.sendall(b"hello\n")
        garbage = json.loads(sock.makefile("rb").readline())
    assert garbage["kind"] == warm.USAGE and "bad request" in garbage["message"]
    assert warm.ask(cfg, "duckdb", _request())["pid"] == pid


def test_a_wrong_answer_is_reported_as_one(cfg, monkeypatch):
    w = workloads.get("groupby.q1")
    monkeypatch.setattr(w, "sql", "SELECT id1, sum(v1) + 1 AS v1 FROM x GROUP BY id1")
    runner._REFERENCES.clear()
    reply = warm._run(engines.get("duckdb"), _request())       # the runner's own code, in this process
    assert reply["kind"] == warm.MISMATCH and not reply["ok"]


def test_other_settings_get_a_new_runner(cfg, monkeypatch, tmp_path):
    pid = warm.ask(cfg, "duckdb", _request())["pid"]
    monkeypatch.setenv("SCALELAB_DATA_DIR", str(tmp_path / "elsewhere"))
    other = Config.load()
    monkeypatch.setenv("SCALELAB_DATA_DIR", cfg.get("SCALELAB_DATA_DIR"))
    reply = warm.ask(other, "duckdb", _request())
    assert reply["ok"] and reply["pid"] != pid
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_an_unused_runner_exits_and_takes_its_socket_with_it(cfg, monkeypatch):
    monkeypatch.setenv("SCALELAB_WARM_IDLE", "1")
    pid = warm.ask(Config.load(), "duckdb", _request())["pid"]
    deadline = time.monotonic() + 30
    while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the runner did not exit when unused"
        time.sleep(0.2)
    assert not warm.socket_path(cfg, "duckdb").exists() and warm.running(cfg) == {}
    assert "none for 1 s: exiting" in warm.log_path(cfg, "duckdb").read_text()


def test_down_stops_the_runners(cfg):
    pid = warm.ask(cfg, "duckdb", _request())["pid"]
    assert warm.stop_all(cfg) == ["duckdb"]
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert warm.running(cfg) == {} and not warm.socket_path(cfg, "duckdb").exists()


def test_a_runner_that_cannot_start_says_so_and_the_command_runs_the_workload_itself(cfg):
    with pytest.raises(warm.Unavailable, match="exited with code 1"):
        warm.ask(cfg, "no-such-engine", _request())
    # A cluster engine with no stack: the runner cannot connect, so the command runs it itself
    # and says what is missing, as without a runner.
    result = CliRunner().invoke(app, ["run", "groupby.q1", "-e", "dask", "--scale", "tiny"],
                                env={"DASK_SCHEDULER_ADDRESS": "tcp://127.0.0.1:9"})
    assert result.exit_code == 1, result.output
    assert "no warm runner" in result.output and "Dask scheduler" in result.output
    # --no-warm: the command runs it itself without asking for a runner.
    cold = CliRunner().invoke(app, ["run", "groupby.q1", "-e", "dask", "--scale", "tiny", "--no-warm"],
                              env={"DASK_SCHEDULER_ADDRESS": "tcp://127.0.0.1:9"})
    assert cold.exit_code == 1 and "Dask scheduler" in cold.output and "no warm runner" not in cold.output
    assert "dask" not in warm.running(cfg)
