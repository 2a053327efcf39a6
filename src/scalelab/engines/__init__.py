"""The engines a workload runs on, one module each, behind one small interface (`base.Engine`).

    from scalelab import engines
    spark = engines.get("spark").start()      # connects to the stack, checks versions
"""

from __future__ import annotations

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

__all__ = ["ENGINES", "REFERENCE", "Engine", "EngineError", "NotSupported", "VersionMismatch", "get"]


def get(name: str) -> Engine:
    try:
        return ENGINES[name]()
    except KeyError:
        raise EngineError(f"unknown engine {name!r}; choose one of: {', '.join(ENGINES)}") from None
