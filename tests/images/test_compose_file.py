"""The compose implementation itself accepts compose.yaml (docker compose config / podman-compose config)."""

import os
import subprocess

import pytest
import yaml

pytestmark = [pytest.mark.images]


def test_the_compose_tool_parses_the_file_into_every_role(cfg, engine):
    from scalelab.cluster.services import ROLES

    tool = os.environ.get("COMPOSE", f"{engine} compose").split()
    proc = subprocess.run([*tool, "-f", str(cfg.root / "compose.yaml"), "--profile", "all", "--profile", "platform",
                           "config"],
                          capture_output=True, text=True, cwd=cfg.root, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    parsed = yaml.safe_load(proc.stdout)
    assert set(parsed["services"]) == set(ROLES)
    assert parsed["services"]["kafka"]["environment"]["KAFKA_INTERNAL_LISTENER"] == "kafka:19092"
