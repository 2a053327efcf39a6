"""One `engine` fixture over every engine, as ibis' backend suite has it.

Each engine's tests carry its mark, so `pytest tests/workloads -m spark` runs Spark's
column of the matrix. A cluster engine whose services are not healthy fails its tests
with the service's name and `make up`; nothing is skipped.
"""

from __future__ import annotations

import functools

import pytest

from scalelab import engines, workloads

MEMORY_TEST = "test_workload_held_in_memory_gives_the_reference_answer"


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


@functools.lru_cache(maxsize=None)
def memory_cover(suite: str) -> frozenset[str]:
    """The fewest of a suite's questions (greedy, registry order on ties) whose tables are all the
    tables its questions read: TPC-H's eight come from three questions, groupby's one from q1."""
    questions = [w for w in workloads.WORKLOADS.values() if w.suite == suite]
    left, chosen = {t for w in questions for t in w.tables}, []
    while left:
        best = max(questions, key=lambda w: len(left & set(w.tables)))
        chosen.append(best.name)
        left -= set(best.tables)
    return frozenset(chosen)


def pytest_collection_modifyitems(config, items):
    """Memory mode on an engine whose hold() only caches what load() gave (Engine.holds_as_loaded):
    each table held is checked, by memory_cover's questions; every question is checked in scan mode,
    over the same code. The others are deselected, so the count says what ran."""
    def redundant(item) -> bool:
        if getattr(item, "originalname", None) != MEMORY_TEST:
            return False
        w, name = item.callspec.params["workload"], item.callspec.params["engine"]
        return engines.engine_class(name).holds_as_loaded and w.name not in memory_cover(w.suite)

    dropped = [item for item in items if redundant(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if not redundant(item)]
