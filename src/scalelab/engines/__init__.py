"""The engines a workload runs on, one module each, behind one small interface (`base.Engine`).

    from scalelab import engines
    spark = engines.get("spark").start()      # connects to the stack, checks versions

An engine's class holds every fact about it (its services, cores, how an answer
becomes pandas, single-node or cluster, its pytest mark); the rest of scalelab asks
the class. Adding an engine: a module here, its entry in ENGINES (or `register`), and
its implementations in the workload registry.
"""

from __future__ import annotations

from typing import Any

from scalelab.engines.base import Engine, EngineError, NotSupported, VersionMismatch
from scalelab.engines.dask import DaskEngine
from scalelab.engines.duckdb import DuckDBEngine
from scalelab.engines.pandas import PandasEngine
from scalelab.engines.polars import PolarsEngine
from scalelab.engines.ray import RayEngine
from scalelab.engines.spark import SparkEngine

ENGINES: dict[str, type[Engine]] = {e.name: e for e in (PandasEngine, DuckDBEngine, PolarsEngine, DaskEngine,
                                                         SparkEngine, RayEngine)}
REFERENCE = "pandas"

__all__ = ["ENGINES", "REFERENCE", "Engine", "EngineError", "NotSupported", "VersionMismatch", "engine_class",
           "get", "of", "register", "unregister"]


def engine_class(name: str) -> type[Engine]:
    """The class of a registered engine; an unknown name is an error, never a silent default."""
    try:
        return ENGINES[name]
    except KeyError:
        raise EngineError(f"unknown engine {name!r}; choose one of: {', '.join(ENGINES)}") from None


def get(name: str) -> Engine:
    return engine_class(name)()


def of(result: Any) -> str | None:
    """The name of the engine whose object `result` is, or None (a plain Python value)."""
    return next((name for name, cls in ENGINES.items() if cls.owns(result)), None)


def register(cls: type[Engine]) -> type[Engine]:
    """Add an engine (a plug-in, or a test's throw-away one); usable as a class decorator."""
    if cls.name in ENGINES and ENGINES[cls.name] is not cls:
        raise EngineError(f"an engine named {cls.name!r} is registered already")
    ENGINES[cls.name] = cls
    return cls


def unregister(name: str) -> None:
    if name == REFERENCE:
        raise EngineError("the reference engine cannot be removed")
    ENGINES.pop(name, None)
