"""Run by `make test` after `scalelab down`: the stack left nothing behind."""

from typer.testing import CliRunner

from scalelab.cli import app
from scalelab.cluster import local
from scalelab.cluster.services import services


def test_no_configured_port_is_listening(cfg):
    assert local.listeners_left(cfg) == []


def test_no_process_of_the_stack_is_left(cfg):
    assert local.stack_processes(cfg) == []
    assert [s.name for s in services(cfg, everything=True) if (cfg.run_dir / f"{s.name}.json").exists()] == []


def test_status_says_every_service_is_down(cfg):
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 1
    assert result.output.count("down") >= len(services(cfg))
