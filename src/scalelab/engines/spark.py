"""Spark: DataFrames and SQL on the standalone cluster (master and worker), never local[*]."""

from __future__ import annotations

import platform
from pathlib import Path
from typing import Any

import pandas as pd

from scalelab.engines.base import FIX, Engine, python_minor, require_same


def _executor_versions(_):
    import platform

    import pyarrow
    import pyspark

    return platform.python_version(), pyspark.__version__, pyarrow.__version__


class SparkEngine(Engine):
    name = "spark"
    description = "PySpark DataFrames and Spark SQL on the standalone cluster"
    distributed = True
    holds_as_loaded = True
    sql = True
    lazy = True
    result_modules = ("pyspark",)

    def __init__(self):
        super().__init__()
        self.spark = None

    def _start(self) -> None:
        import warnings

        from scalelab.cluster import connect

        # pyspark 4.3 warns on every toPandas that pandas 3 is "not yet fully supported";
        # every answer is checked against pandas, which is the test that counts here.
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)

        # UTC, so that timestamps mean the same here as in pandas and the Parquet files.
        self.spark = connect.spark("scalelab-engine", spark__sql__session__timeZone="UTC",
                                   spark__ui__showConsoleProgress="false")

    def stop(self) -> None:
        # The session is shared by the process (getOrCreate), so it is left running; the
        # stack's `down` or the end of the process releases its executors.
        self.spark = None
        super().stop()

    def pickler(self):
        from pyspark import cloudpickle

        return cloudpickle

    def preflight(self) -> None:
        import pyarrow
        import pyspark

        python, spark_py, arrow = (self.spark.sparkContext.parallelize([0], 1)
                                   .map(_executor_versions).collect()[0])
        require_same("Spark", [
            ("Spark (the cluster's JVM)", pyspark.__version__, self.spark.version),
            ("Python on the executors", python_minor(platform.python_version()), python_minor(python)),
            ("pyspark on the executors", pyspark.__version__, spark_py),
            ("pyarrow on the executors (pandas UDFs)", pyarrow.__version__, arrow),
        ], FIX)

    def load(self, tables: dict[str, Path]) -> dict[str, Any]:
        frames = {}
        for name, path in tables.items():
            frames[name] = self.spark.read.parquet(str(path))
            frames[name].createOrReplaceTempView(name)
        return frames

    def hold(self, handles: dict[str, Any], labels: tuple[str, ...] = (),
             int_keys: tuple[str, ...] = ()) -> dict[str, Any]:
        # Cached by the executors and counted, so the cache is full before any timing (db-benchmark's
        # Spark script: persist, count()); the view names the cache. MEMORY_AND_DISK, the level Spark's
        # own cache() uses, not db-benchmark's MEMORY_ONLY: a table larger than the executor's storage
        # memory (TPC-H at SF 1 in a 1 GiB executor) keeps what does not fit on local disk, where
        # MEMORY_ONLY drops it and rebuilds it from the Parquet files on every query (measured: q3 2.1 s
        # scanned, 24.9 s "held"). Where the table fits, the two are the same.
        from pyspark import StorageLevel

        held = {}
        for name, df in handles.items():
            if not hasattr(df, "persist"):
                held[name] = df
                continue
            held[name] = df.persist(StorageLevel.MEMORY_AND_DISK)
            held[name].count()
            held[name].createOrReplaceTempView(name)
        return held

    def keep(self, result: Any) -> Any:
        # The answer persisted and counted: computed in full on the cluster, left there.
        from pyspark import StorageLevel

        if not hasattr(result, "persist"):
            return result
        kept = result.persist(StorageLevel.MEMORY_ONLY)
        kept.count()
        return kept

    def release(self, kept: Any) -> None:
        if hasattr(kept, "unpersist"):
            kept.unpersist()

    def run_sql(self, text: str, handles: dict[str, Any]) -> Any:
        return self.spark.sql(text)

    @classmethod
    def bench_environment(cls, cores: int) -> dict[str, str]:
        # The bench's application runs its JVMs for throughput (SPARK_BENCH_JAVA_OPTIONS), not for the
        # quick start a notebook's short jobs want; a fresh process, so its driver starts with them.
        from scalelab.config import Config

        return {"SPARK_APP_JAVA_OPTIONS": Config.load().get("SPARK_BENCH_JAVA_OPTIONS")}

    @classmethod
    def services(cls, cfg) -> tuple[str, ...]:
        return ("spark-master", "spark-worker")

    def cores(self) -> int:
        return self.spark.sparkContext.defaultParallelism

    @classmethod
    def collect(cls, result: Any) -> pd.DataFrame:
        # Through Arrow, the whole result: toPandas is an action over every partition.
        return result.toPandas() if hasattr(result, "toPandas") else result

    def versions(self) -> dict[str, str]:
        import pyspark

        return {**super().versions(), "pyspark": pyspark.__version__,
                "spark": self.spark.version if self.spark else "?"}
