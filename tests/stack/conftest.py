"""Fixtures for tests against the running stack (`make up`).

Each fixture probes its service first. A service that is not healthy fails the
test that needs it, naming the service and how to start it: never a skip.
"""

from __future__ import annotations

import pytest
from cdp import Browser, chromium

from scalelab.cluster.services import services
from scalelab.config import Config


@pytest.fixture(scope="session", autouse=True)
def _client_environment(client_environment):
    """Every stack test runs as a kernel does (see tests/conftest.py)."""


@pytest.fixture(scope="session")
def spark(cfg: Config, require):
    require("spark-master", "spark-worker")
    from scalelab.cluster import connect

    session = connect.spark("scalelab-tests")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def dask_client(cfg: Config, require):
    require("dask-scheduler", *[s.name for s in services(cfg) if s.role == "dask-worker"])
    from scalelab.cluster import connect

    client = connect.dask()
    yield client
    client.close()


@pytest.fixture(scope="session")
def ray_cluster(cfg: Config, require):
    require("ray-head")
    import ray

    from scalelab.cluster import connect

    connect.ray()
    yield ray
    ray.shutdown()


@pytest.fixture(scope="session")
def kafka_up(cfg: Config, require) -> str:
    require("kafka")
    return cfg.kafka_bootstrap_servers


@pytest.fixture(scope="session")
def jupyter(cfg: Config, require) -> str:
    require("jupyterlab")
    return cfg.url("JUPYTER_PORT", "")


@pytest.fixture
def browser(tmp_path):
    """A headless Chromium of this test's own (tests/stack/cdp.py)."""
    with Browser(chromium(), tmp_path / "profile") as b:
        yield b


@pytest.fixture
def shots(cfg):
    """Where the browser tests keep their screenshots (taken before the checks: a failure keeps one)."""
    folder = cfg.results_dir / "browser"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
