"""One `engine` fixture over every engine, as ibis' backend suite has it.

Each engine's tests carry its mark, so `pytest tests/workloads -m spark` runs Spark's
column of the matrix. A cluster engine whose services are not healthy fails its tests
with the service's name and `make up`; nothing is skipped.
"""

from __future__ import annotations

import pytest

from scalelab import engines

# What each cluster engine needs running; the in-process engines need nothing.
NEEDS = {"dask": ("dask-scheduler", "dask-worker-1", "dask-worker-2"), "spark": ("spark-master", "spark-worker"),
         "ray": ("ray-head",)}


@pytest.fixture(scope="session", autouse=True)
def _client_environment(client_environment):
    """Engines reach the stack as a notebook kernel does."""


@pytest.fixture(scope="session")
def engine_needs(require):
    """engine_needs("spark"): fail, naming the services, unless that engine's services are healthy."""
    return lambda name: require(*NEEDS.get(name, ()))


@pytest.fixture(scope="session", params=[pytest.param(name, marks=getattr(pytest.mark, name))
                                         for name in engines.ENGINES])
def engine(request, engine_needs):
    engine_needs(request.param)
    engine = engines.get(request.param)
    engine.start()
    yield engine
    engine.stop()
