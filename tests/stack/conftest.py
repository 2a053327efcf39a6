"""Fixtures for tests against the running stack (`make up`).

Each fixture probes its service first. A service that is not healthy fails the
test that needs it, naming the service and how to start it: never a skip.
"""

from __future__ import annotations

import os

import pytest

from scalelab.cluster.health import NotHealthy
from scalelab.cluster.services import by_name, services
from scalelab.config import Config


def require(cfg: Config, *names: str) -> None:
    for name in names:
        svc = by_name(cfg, name)
        try:
            svc.probe(cfg, svc.instance)
        except NotHealthy as exc:
            pytest.fail(f"{name} is not healthy ({exc}). Start the stack with `make up`; "
                        f"`make status` and `make logs SERVICE={name}` say more.", pytrace=False)


@pytest.fixture(scope="session", autouse=True)
def client_environment(cfg: Config):
    """Point every client in this process (and its children) at the stack, as a kernel is."""
    saved = dict(os.environ)
    os.environ.update(cfg.client_env())
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="session")
def spark(cfg: Config):
    require(cfg, "spark-master", "spark-worker")
    from scalelab import connect

    session = connect.spark("scalelab-tests")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def dask_client(cfg: Config):
    require(cfg, "dask-scheduler", *[s.name for s in services(cfg) if s.role == "dask-worker"])
    from scalelab import connect

    client = connect.dask()
    yield client
    client.close()


@pytest.fixture(scope="session")
def ray_cluster(cfg: Config):
    require(cfg, "ray-head")
    import ray

    from scalelab import connect

    connect.ray()
    yield ray
    ray.shutdown()


@pytest.fixture(scope="session")
def kafka_up(cfg: Config) -> str:
    require(cfg, "kafka")
    return cfg.kafka_bootstrap_servers


@pytest.fixture(scope="session")
def jupyter(cfg: Config) -> str:
    require(cfg, "jupyterlab")
    return cfg.url("JUPYTER_PORT", "")
