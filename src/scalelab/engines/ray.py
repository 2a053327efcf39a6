"""Ray: Ray Data pipelines and tasks on the stack's Ray head."""

from __future__ import annotations

import platform
from pathlib import Path
from typing import Any

import pandas as pd

from .base import FIX, Engine, ship_workloads_by_value, VersionMismatch, python_minor, require_same


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
    lazy = True

    def _start(self) -> None:
        from .. import connect

        try:
            connect.ray()
        except RuntimeError as exc:      # ray.init's own check of Python and Ray versions
            if "version" in str(exc).lower():
                raise VersionMismatch(f"Ray: {exc}\n{FIX}") from exc
            raise
        import ray.data

        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False          # a lab's output, not a wall of bars
        ctx.execution_options.verbose_progress = False
        # Ray Data's second Parquet reader reads footers through new actors; on a small
        # head each read waited ~35 s for them (measured). The first reader does not.
        ctx.use_datasource_v2 = False
        # Shuffles (groupby, join) default to 200 partitions and an aggregator actor with
        # a whole CPU each: on a 2-CPU head the actors starve the tasks that feed them.
        # One partition per CPU, and actors that mostly wait reserve a sliver of a CPU.
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        ctx.default_hash_shuffle_parallelism = cpus
        ctx.max_hash_shuffle_aggregators = cpus
        ctx.hash_shuffle_operator_actor_num_cpus_override = 0.1
        ctx.hash_aggregate_operator_actor_num_cpus_override = 0.1
        from ray import cloudpickle

        ship_workloads_by_value(cloudpickle)

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

    def collect(self, result: Any) -> pd.DataFrame:
        return result.to_pandas() if hasattr(result, "to_pandas") else result

    def versions(self) -> dict[str, str]:
        import ray

        return {**super().versions(), "ray": ray.__version__}
