"""Dask: pandas' API on partitions, scheduled across the stack's Dask workers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from scalelab.engines.base import FIX, Engine, python_minor, require_same

# What must match between the client and every scheduler and worker: Python (pickle
# protocol and bytecode) and the libraries whose objects travel between them.
SHARED = ("dask", "distributed", "pandas", "numpy", "pyarrow", "cloudpickle")


# Each partition about this much of a file's uncompressed bytes, row groups split across partitions.
# Dask's default keeps a file under 256 MiB whole: TPC-H's lineitem at SF 1 (one file of 53 row groups)
# became one partition, so one worker held and scanned all 6M rows (and paused at 80% memory holding
# it) while the other idled. Dask's guide asks for partitions of about 100 MB in memory.
PARTITION_BYTES = "64MiB"
# How long release() waits for the scheduler to forget a cancelled answer.
RELEASE_S = 30

class DaskEngine(Engine):
    name = "dask"
    description = "Dask DataFrame on the stack's scheduler and workers"
    distributed = True
    holds_as_loaded = True
    lazy = True

    def __init__(self):
        super().__init__()
        self.client = None

    def _start(self) -> None:
        from scalelab.cluster import connect

        self.client = connect.dask()

    def stop(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
        super().stop()

    def pickler(self):
        import cloudpickle

        return cloudpickle

    def preflight(self) -> None:
        info = self.client.get_versions()
        mine = info["client"]["packages"]
        pairs = []
        for role, node in [("scheduler", info["scheduler"])] + [(f"worker {a}", w) for a, w in
                                                                 info["workers"].items()]:
            theirs = node["packages"]
            pairs.append((f"Python on the {role}", python_minor(mine["python"]), python_minor(theirs["python"])))
            pairs += [(f"{pkg} on the {role}", str(mine.get(pkg)), str(theirs.get(pkg))) for pkg in SHARED]
        pairs += self._code_pairs()
        require_same("Dask", pairs, FIX)

    def _code_pairs(self) -> list[tuple[str, str, str]]:
        """The scalelab code each scheduler and worker has loaded, against the client's.

        Dask pickles a task graph with the standard pickle first, so the workloads'
        functions travel by name (cloudpickle's by-value registration only applies to
        an object pickled on its own). A scheduler or worker that imported
        scalelab before the package changed would then run, or fail to find, other
        code than the client's; it is caught here instead of as a puzzling error.
        """
        from scalelab.engines import base

        def loaded_code_digest() -> str | None:
            # Defined here so that it travels by value: a stale worker may lack any module-level name.
            import sys

            module = sys.modules.get("scalelab.engines.base")
            return None if module is None else getattr(module, "CODE_DIGEST", "older, without a digest")

        mine = base.CODE_DIGEST
        loaded = {"scheduler": self.client.run_on_scheduler(loaded_code_digest),
                  **{f"worker {a}": d for a, d in self.client.run(loaded_code_digest).items()}}
        return [(f"scalelab code loaded on the {role}", mine, digest)
                for role, digest in loaded.items() if digest is not None]

    def load(self, tables: dict[str, Path]) -> dict[str, Any]:
        import dask.dataframe as dd

        return {name: dd.read_parquet(str(path), blocksize=PARTITION_BYTES) for name, path in tables.items()}

    def hold(self, handles: dict[str, Any], labels: tuple[str, ...] = (),
             int_keys: tuple[str, ...] = ()) -> dict[str, Any]:
        # Persisted on the workers and waited for (db-benchmark's Dask script persists its table).
        from distributed import wait

        held = {name: self.client.persist(h) if hasattr(h, "dask") else h for name, h in handles.items()}
        wait([h for h in held.values() if hasattr(h, "dask")])
        return held

    def keep(self, result: Any) -> Any:
        # The answer computed in full and left on the workers, as Spark's and Ray's are kept on their
        # clusters: compute() would time its trip to this process as well (a join answer of 1e6 rows
        # at `small`), which db-benchmark's Dask script, on Dask's threads in its own process, never pays.
        from distributed import futures_of, wait

        if not hasattr(result, "dask"):
            return result
        kept = self.client.persist(result)
        wait(kept)
        for future in futures_of(kept):          # wait() returns on a failed task too: raise it here,
            if future.status == "error":         # not at the check, after a timing of nothing
                future.result()
        return kept

    def release(self, kept: Any) -> None:
        # Cancelled, and waited for until the scheduler has forgotten every key. The next run of the
        # same question builds the same graph, so persists the same keys: a cancel the scheduler had
        # not yet carried out then cancelled the new answer too (FuturesCancelledError, reason unknown,
        # on the third of five repeats of join.q2 at small).
        import time

        from distributed import futures_of

        if not hasattr(kept, "dask"):
            return
        keys = [f.key for f in futures_of(kept)]
        self.client.cancel(kept)

        def known(keys, dask_scheduler=None) -> int:      # runs on the scheduler; travels by value
            return sum(k in dask_scheduler.tasks for k in keys)

        deadline = time.monotonic() + RELEASE_S
        while left := self.client.run_on_scheduler(known, keys=keys):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the Dask scheduler still holds {left} of {len(keys)} cancelled keys after "
                                   f"{RELEASE_S} s; its log (scalelab logs dask-scheduler) says why")
            time.sleep(0.02)

    @classmethod
    def services(cls, cfg) -> tuple[str, ...]:
        from scalelab.cluster.services import dask_worker_names

        return ("dask-scheduler", *dask_worker_names(cfg))

    def cores(self) -> int:
        return sum(w["nthreads"] for w in self.client.scheduler_info()["workers"].values())

    @classmethod
    def collect(cls, result: Any) -> pd.DataFrame:
        if hasattr(result, "compute"):
            result = result.compute()
        return result

    def versions(self) -> dict[str, str]:
        import dask
        import distributed

        return {**super().versions(), "dask": dask.__version__, "distributed": distributed.__version__,
                "workers": str(len(self.client.scheduler_info()["workers"])) if self.client else "?"}

