"""pandas: the reference every other engine is checked against (one process, one core)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from scalelab.engines.base import Engine


def _types(t):
    """pandas' own types for what it reads (strings as its `str` dtype), DATE as pyarrow's date32."""
    import pyarrow as pa

    if pa.types.is_date(t):
        return pd.ArrowDtype(t)
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pd.StringDtype(na_value=float("nan"))
    return None


class PandasEngine(Engine):
    name = "pandas"
    description = "pandas, eager, single-threaded: the reference"

    def load(self, tables: dict[str, Path]) -> dict[str, pd.DataFrame]:
        # DATE as pyarrow's date32 (pandas' ArrowDtype), compared and taken `.dt` of in vectorised code, the
        # type Dask's reader gives its pandas partitions too; pyarrow's default to_pandas makes a column of
        # datetime.date objects, compared one Python object at a time.
        import pyarrow.parquet as pq

        return {name: pq.read_table(path).to_pandas(types_mapper=_types) for name, path in tables.items()}

    def hold(self, handles: dict[str, pd.DataFrame], labels: tuple[str, ...] = (),
             int_keys: tuple[str, ...] = ()) -> dict[str, pd.DataFrame]:
        # Label columns as categoricals: integer codes to group and join on, as pandas' users hold key
        # columns in memory (db-benchmark's pandas scripts cast its id columns so).
        return {name: df.astype({c: "category" for c in labels if c in df.columns})
                if isinstance(df, pd.DataFrame) else df for name, df in handles.items()}

    @classmethod
    def collect(cls, result: pd.DataFrame) -> pd.DataFrame:
        return result

    def cores(self) -> int:
        return 1                     # pandas runs an operation on one thread

    def versions(self) -> dict[str, str]:
        return {**super().versions(), "pandas": pd.__version__}

