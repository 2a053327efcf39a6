"""Polars: lazy, multi-threaded DataFrames in one process, with a query optimiser."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from scalelab.engines.base import Engine


class PolarsEngine(Engine):
    name = "polars"
    description = "Polars, lazy, multi-threaded, in process"
    lazy = True

    def load(self, tables: dict[str, Path]) -> dict[str, Any]:
        import polars as pl

        return {name: pl.scan_parquet(f"{path}/*.parquet") for name, path in tables.items()}

    def collect(self, result: Any) -> pd.DataFrame:
        import polars as pl

        if isinstance(result, pl.LazyFrame):
            result = result.collect()
        return result.to_pandas() if isinstance(result, pl.DataFrame) else result

    def versions(self) -> dict[str, str]:
        import polars as pl

        return {**super().versions(), "polars": pl.__version__}
