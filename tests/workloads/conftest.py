"""One `engine` fixture over every engine, as ibis' backend suite has it.

Each engine's tests carry its mark, so `pytest tests/workloads -m spark` runs Spark's
column of the matrix. A cluster engine whose services are not healthy fails its tests
with the service's name and `make up`; nothing is skipped.
"""

from __future__ import annotations

import pytest

from scalelab import engines


def engine_params() -> list:
    """One parameter per registered engine, carrying the engine's own mark."""
    return [pytest.param(name, marks=getattr(pytest.mark, cls.mark())) for name, cls in engines.ENGINES.items()]


@pytest.fixture(scope="session", autouse=True)
def _client_environment(client_environment):
    """Engines reach the stack as a notebook kernel does."""


@pytest.fixture(scope="session")
def engine_needs(require, cfg):
    """engine_needs("spark"): fail, naming the services, unless that engine's services are healthy."""
    return lambda name: require(*engines.engine_class(name).services(cfg))


@pytest.fixture(scope="session", params=engine_params())
def engine(request, engine_needs):
    engine_needs(request.param)
    engine = engines.get(request.param)
    engine.start()
    yield engine
    engine.stop()
