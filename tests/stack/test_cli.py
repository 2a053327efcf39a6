"""The CLI against the running stack (through typer's CliRunner, as fastapi-cli tests)."""

import json

import pytest
from typer.testing import CliRunner

from scalelab.cli import app
from scalelab.cluster.services import services
from scalelab.config import Config

pytestmark = [pytest.mark.stack, pytest.mark.local_runtime]
runner = CliRunner()


def _pids(cfg):
    return {s.name: json.loads((cfg.run_dir / f"{s.name}.json").read_text())["pid"] for s in services(cfg)}


def test_status_reports_every_service_healthy(cfg):
    result = runner.invoke(app, ["status", "--memory"])
    assert result.exit_code == 0, result.output
    for svc in services(cfg):
        assert svc.name in result.output
    assert "down" not in result.output and "unhealthy" not in result.output
    assert "PSS" in result.output


def test_up_leaves_running_services_alone(cfg):
    before = _pids(cfg)
    result = runner.invoke(app, ["up"])
    assert result.exit_code == 0, result.output
    assert "started" not in result.output
    assert _pids(cfg) == before
    assert f"token={cfg.jupyter_token}" in result.output.replace("\n", "")


def test_logs_print_the_end_of_that_services_log(cfg):
    log = (cfg.log_dir / "kafka.log").read_text().splitlines()
    assert any(line.startswith("scalelab serve kafka: ") for line in log)  # the launcher's own line
    result = runner.invoke(app, ["logs", "kafka", "-n", "20"])
    assert result.exit_code == 0
    printed = result.output.splitlines()
    assert len(printed) == 20
    assert set(printed) <= set((cfg.log_dir / "kafka.log").read_text().splitlines())  # the log may grow meanwhile


def test_doctor_finds_nothing_wrong_with_a_running_stack():
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 0, result.output
    assert "used by kafka (running)" in result.output


def test_memory_is_counted_per_service_and_recorded_as_the_idle_footprint(cfg, tmp_path, monkeypatch):
    from scalelab.bench import budget
    from scalelab.cluster import local

    by_service = local.memory_by_service(cfg)
    core = {s.name for s in services(cfg) if s.profile == "core"}
    assert core <= set(by_service), core - set(by_service)       # every running service has its processes
    assert all(count >= 1 and rss >= pss > 0 for count, rss, pss in by_service.values())
    monkeypatch.setenv("SCALELAB_RESULTS_DIR", str(tmp_path))
    result = runner.invoke(app, ["status", "--memory", "--record"])
    assert result.exit_code == 0, result.output
    row = budget.last(Config.load())["idle PSS"]
    assert row["unit"] == "GiB" and 0.1 < float(row["value"]) < 24 and f"{len(core)} core services" in row["detail"]


@pytest.mark.parametrize("engine", ["spark", "ray"])
def test_run_on_a_cluster_engine_keeps_its_session_warm_between_commands(cfg, require, engine):
    # scalelab.warm (issue 24, item 4): the first command starts a runner that holds the session;
    # the next is answered by it (same process), checked against the pandas reference as before.
    from scalelab import warm

    require({"spark": "spark-master", "ray": "ray-head"}[engine])
    try:
        first = runner.invoke(app, ["run", "groupby.q1", "-e", engine, "--scale", "tiny"])
        assert first.exit_code == 0, first.output
        pid = warm.running(cfg)[engine]
        second = runner.invoke(app, ["run", "groupby.q2", "-e", engine, "--scale", "tiny"])
        assert second.exit_code == 0, second.output
        assert "groupby.q2 on " + engine in second.output and "checked against the pandas reference" in second.output
        assert warm.running(cfg)[engine] == pid
        log = warm.log_path(cfg, engine).read_text()
        assert f"warm runner for {engine}: groupby.q2: groupby.q2 on {engine}" in log
    finally:
        warm.stop_all(cfg)       # its executors' cores go back to the worker for the tests after this one
    assert engine not in warm.running(cfg)
