"""Dask: pandas' API on partitions, scheduled across the stack's Dask workers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from .base import FIX, Engine, ship_workloads_by_value, python_minor, require_same

# What must match between the client and every scheduler and worker: Python (pickle
# protocol and bytecode) and the libraries whose objects travel between them.
SHARED = ("dask", "distributed", "pandas", "numpy", "pyarrow", "cloudpickle")


class DaskEngine(Engine):
    name = "dask"
    description = "Dask DataFrame on the stack's scheduler and workers"
    distributed = True
    lazy = True

    def __init__(self):
        super().__init__()
        self.client = None

    def _start(self) -> None:
        from .. import connect

        self.client = connect.dask()
        import cloudpickle

        ship_workloads_by_value(cloudpickle)

    def stop(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
        super().stop()

    def preflight(self) -> None:
        info = self.client.get_versions()
        mine = info["client"]["packages"]
        pairs = []
        for role, node in [("scheduler", info["scheduler"])] + [(f"worker {a}", w) for a, w in
                                                                 info["workers"].items()]:
            theirs = node["packages"]
            pairs.append((f"Python on the {role}", python_minor(mine["python"]), python_minor(theirs["python"])))
            pairs += [(f"{pkg} on the {role}", str(mine.get(pkg)), str(theirs.get(pkg))) for pkg in SHARED]
        require_same("Dask", pairs, FIX)

    def load(self, tables: dict[str, Path]) -> dict[str, Any]:
        import dask.dataframe as dd

        return {name: dd.read_parquet(str(path)) for name, path in tables.items()}

    def collect(self, result: Any) -> pd.DataFrame:
        if hasattr(result, "compute"):
            result = result.compute()
        return result

    def versions(self) -> dict[str, str]:
        import dask
        import distributed

        return {**super().versions(), "dask": dask.__version__, "distributed": distributed.__version__,
                "workers": str(len(self.client.scheduler_info()["workers"])) if self.client else "?"}
