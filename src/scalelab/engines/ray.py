"""Ray: Ray Data pipelines and tasks on the stack's Ray head."""

from __future__ import annotations

import platform
from pathlib import Path
from typing import Any

import pandas as pd

from scalelab.engines.base import FIX, Engine, VersionMismatch, python_minor, require_same


def _node_versions():
    import platform

    import pandas
    import pyarrow
    import ray

    return platform.python_version(), ray.__version__, pandas.__version__, pyarrow.__version__


class RayEngine(Engine):
    name = "ray"
    description = "Ray Data and Ray tasks on the stack's Ray head"
    distributed = True
    holds_as_loaded = True
    lazy = True

    def _start(self) -> None:
        from scalelab.cluster import connect

        try:
            connect.ray()
        except RuntimeError as exc:      # ray.init's own check of Python and Ray versions
            if "version" in str(exc).lower():
                raise VersionMismatch(f"Ray: {exc}\n{FIX}") from exc
            raise

    def pickler(self):
        from ray import cloudpickle

        return cloudpickle

    def preflight(self) -> None:
        import pandas
        import pyarrow
        import ray

        python, ray_v, pandas_v, arrow_v = ray.get(ray.remote(_node_versions).remote())
        require_same("Ray", [
            ("Python on the workers", python_minor(platform.python_version()), python_minor(python)),
            ("ray on the workers", ray.__version__, ray_v),
            ("pandas on the workers", pandas.__version__, pandas_v),
            ("pyarrow on the workers", pyarrow.__version__, arrow_v),
        ], FIX)

    def load(self, tables: dict[str, Path]) -> dict[str, Any]:
        import ray.data

        return {name: ray.data.read_parquet(str(path)) for name, path in tables.items()}

    def hold(self, handles: dict[str, Any], labels: tuple[str, ...] = (),
             int_keys: tuple[str, ...] = ()) -> dict[str, Any]:
        # Read into the object store once; later pipelines start from its blocks.
        return {name: h.materialize() if hasattr(h, "materialize") else h for name, h in handles.items()}

    def keep(self, result: Any) -> Any:
        # Every block of the answer computed and held in the object store.
        return result.materialize() if hasattr(result, "materialize") else result

    @classmethod
    def services(cls, cfg) -> tuple[str, ...]:
        return ("ray-head",)

    def cores(self) -> int:
        import ray

        return int(ray.cluster_resources().get("CPU", 0))

    @classmethod
    def collect(cls, result: Any) -> pd.DataFrame:
        return result.to_pandas() if hasattr(result, "to_pandas") else result

    def versions(self) -> dict[str, str]:
        import ray

        return {**super().versions(), "ray": ray.__version__}
