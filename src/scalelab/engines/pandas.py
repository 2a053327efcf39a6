"""pandas: the reference every other engine is checked against (one process, one core)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from scalelab.engines.base import Engine


class PandasEngine(Engine):
    name = "pandas"
    description = "pandas, eager, single-threaded: the reference"

    def load(self, tables: dict[str, Path]) -> dict[str, pd.DataFrame]:
        return {name: pd.read_parquet(path) for name, path in tables.items()}

    @classmethod
    def collect(cls, result: pd.DataFrame) -> pd.DataFrame:
        return result

    def cores(self) -> int:
        return 1                     # pandas runs an operation on one thread

    def versions(self) -> dict[str, str]:
        return {**super().versions(), "pandas": pd.__version__}
