"""Unit tests need no running stack. Those that start processes use an isolated state
folder and free ports, so they can run beside a live stack without touching it."""

from __future__ import annotations

import socket

import pytest

from scalelab.config import SETTINGS


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def isolated_env(tmp_path, monkeypatch) -> dict[str, str]:
    """Environment for a stack of our own: its own state folder, every port free."""
    env = {"SCALELAB_STATE_DIR": str(tmp_path / "state"), "RAY_TEMP_DIR": str(tmp_path / "ray")}
    for s in SETTINGS:
        if s.kind == "port":
            env[s.name] = str(free_port())
    for name in ("SPARK_MASTER_URL", "DASK_SCHEDULER_ADDRESS", "RAY_ADDRESS", "KAFKA_BOOTSTRAP_SERVERS"):
        monkeypatch.delenv(name, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture
def dirs(tmp_path, monkeypatch):
    """A test's own data and results folders (SCALELAB_DATA_DIR, SCALELAB_RESULTS_DIR under tmp_path)."""
    monkeypatch.setenv("SCALELAB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SCALELAB_RESULTS_DIR", str(tmp_path / "results"))
    return tmp_path
