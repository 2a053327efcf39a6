"""Shared by every test folder: the configuration the suite runs against."""

import os

import pytest

from scalelab.cluster.services import not_healthy
from scalelab.config import Config


@pytest.fixture(scope="session")
def cfg() -> Config:
    return Config.load()


def _require(cfg: Config, *names: str) -> None:
    for name, reason in not_healthy(cfg, names).items():
        pytest.fail(f"{name} is not healthy ({reason}). Start the stack with `make up`; "
                    f"`make status` and `make logs SERVICE={name}` say more.", pytrace=False)


@pytest.fixture(scope="session")
def require(cfg: Config):
    """require("spark-master", ...): fail, naming the service and how to start it, unless it is healthy."""
    return lambda *names: _require(cfg, *names)


@pytest.fixture(scope="session")
def client_environment(cfg: Config):
    """Point every client in this process (and its children) at the stack, as a kernel is."""
    saved = dict(os.environ)
    os.environ.update(cfg.client_env())
    yield
    os.environ.clear()
    os.environ.update(saved)
