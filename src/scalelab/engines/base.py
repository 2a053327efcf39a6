"""What every engine offers the workloads: start, load tables, run, materialise, versions.

An engine is a thin adapter: workloads hold the engine-specific code (each written
the way that engine is meant to be used), the engine only connects, reads the data
set's Parquet files into its own lazy or eager handles and turns a result into a
pandas DataFrame, in full (never a `show()` or `head()`).
"""

from __future__ import annotations

import hashlib
import platform
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import pandas as pd


class EngineError(RuntimeError):
    """An engine cannot run here (not installed, cluster down, versions differ)."""


class NotSupported(NotImplementedError):
    """This engine does not do this workload; the message says why.

    Raised instead of quietly running the pandas code: a result an engine did not
    compute must never be timed or checked as that engine's.
    """


class VersionMismatch(EngineError):
    """The client and the cluster run different Python or library versions."""


class Engine(ABC):
    """One engine, and every fact about it that the rest of scalelab asks.

    The bench, its report, grading, the test fixtures and the demos ask these and
    never write an engine's name; adding an engine is one module here (registered in
    `engines.ENGINES`) plus its workload implementations.
    """
    name: str
    description: str
    distributed: bool = False          # a cluster engine: runs on the stack's services (needs `make up`)
    sql: bool = False                  # runs the workloads' shared SQL text
    lazy: bool = False                 # load() returns plans, run when collected
    # hold() caches the frames load() gave, unchanged in type (a persist, a cache, a materialize), so a
    # question held in memory runs the code it runs in scan mode on the same values: the matrix checks
    # every table held, by the fewest questions that read them all, rather than every question again.
    holds_as_loaded: bool = False
    # The top-level modules whose objects are this engine's answers (a DataFrame, a plan, a dataset):
    # how grading tells which engine computed a learner's answer. Default: the module named as the engine.
    result_modules: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.started = False
        self.shipped: set[str] = set()

    # -- life cycle ----------------------------------------------------------------
    def start(self) -> Engine:
        """Connect (cluster engines) and check versions; idempotent."""
        if not self.started:
            self._start()
            self.preflight()
            self.started = True
        return self

    def _start(self) -> None:
        """Open the session or client. Default: nothing to open."""

    def stop(self) -> None:
        self.started = False

    def preflight(self) -> None:
        """Fail with VersionMismatch when the cluster's versions differ from the client's."""

    def ship_by_value(self, module) -> None:
        """Send `module`'s functions (a package: all of it) to the cluster as code, not as "import this name".

        By reference, a worker imports the module itself: a worker started before the
        package changed (a notebook edit, an upgrade, a container built earlier) would
        run other code than the client's, or fail to find a function. By value, the
        workers run exactly what the client has. The layer that owns the code (the
        workload registry) says what to ship; an in-process engine has nothing to send.
        """
        pickler = self.pickler()
        if pickler is not None and module.__name__ not in self.shipped:
            pickler.register_pickle_by_value(module)
            self.shipped.add(module.__name__)

    def pickler(self):
        """The cloudpickle module this engine's client pickles tasks with; None for an in-process engine."""
        return None

    # -- data ----------------------------------------------------------------------
    @abstractmethod
    def load(self, tables: dict[str, Path]) -> dict[str, Any]:
        """Each table's folder of Parquet files as this engine's handle, by name."""

    def run_sql(self, text: str, handles: dict[str, Any]) -> Any:
        raise NotSupported(f"{self.name} does not run SQL")

    # -- the bench's memory mode: db-benchmark's way of timing a query --------------------
    def hold(self, handles: dict[str, Any], labels: tuple[str, ...] = (),
             int_keys: tuple[str, ...] = ()) -> dict[str, Any]:
        """The tables read into the engine's memory once, in the form its best users query a table
        they keep asking questions of; later queries never touch the Parquet files. `labels` names
        the data set's columns of repeated string keys, which an engine may hold as categoricals;
        `int_keys` its integer keys, never summed, which an engine may hold in 32 bits where the
        values fit. Default: the handles as they are (an eager engine has read them already)."""
        return handles

    def keep(self, result: Any) -> Any:
        """The answer computed in full and kept in the engine's own form (a table, a collected
        frame, a persisted and counted DataFrame), not converted to pandas. Default: collect (an
        engine whose own form is a pandas DataFrame)."""
        return self.collect(result)

    def release(self, kept: Any) -> None:
        """Free what `keep` (or `hold`, given its handles) left in the engine. Default: nothing to free."""

    @classmethod
    @abstractmethod
    def collect(cls, result: Any) -> pd.DataFrame:
        """The whole result as a pandas DataFrame (computed if lazy). Needs no connection:
        grading calls it on a learner's object, on the engine's class."""

    # -- facts ---------------------------------------------------------------------
    @classmethod
    def kind(cls) -> str:
        """"cluster" or "single-node": how the report groups engines (and finds the crossover)."""
        return "cluster" if cls.distributed else "single-node"

    @classmethod
    def mark(cls) -> str:
        """The pytest mark of this engine's tests (`pytest -m NAME`, `make test/NAME`)."""
        return cls.name

    @classmethod
    def services(cls, cfg) -> tuple[str, ...]:
        """The stack services this engine needs healthy (none for an in-process engine)."""
        return ()

    @classmethod
    def owns(cls, result: Any) -> bool:
        """Whether `result` is an object of this engine (a learner's answer, say)."""
        return (type(result).__module__ or "").split(".")[0] in (cls.result_modules or (cls.name,))

    @classmethod
    def bench_environment(cls, cores: int) -> dict[str, str]:
        """Variables a bench child sets before importing the engine's library, to give it `cores`."""
        return {}

    @classmethod
    def for_bench(cls, cores: int) -> Engine:
        """The engine as the bench runs it with `cores` cores (those it can be told to use)."""
        return cls()

    @abstractmethod
    def cores(self) -> int:
        """The cores this engine has, as it reports them itself (after start)."""

    def versions(self) -> dict[str, str]:
        return {"python": platform.python_version()}

    def __repr__(self) -> str:
        return f"<engine {self.name}>"


def require_same(engine: str, pairs: list[tuple[str, str, str]], fix: str) -> None:
    """Raise VersionMismatch listing every (component, client, cluster) that differ."""
    bad = [(what, mine, theirs) for what, mine, theirs in pairs if mine != theirs]
    if bad:
        lines = "\n".join(f"  {what}: this client {mine}, the cluster {theirs}" for what, mine, theirs in bad)
        raise VersionMismatch(f"{engine}: the client and the cluster differ:\n{lines}\n"
                              "Objects pickled on one side cannot be trusted on the other. " + fix)


def code_digest() -> str:
    """A digest of the scalelab source as this process loads it (see the Dask engine's pre-flight)."""
    h = hashlib.sha256()
    for path in sorted(Path(__file__).resolve().parent.parent.rglob("*.py")):
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


# Computed once, when the engine layer is first imported: the code this process runs.
CODE_DIGEST = code_digest()


def python_minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


FIX = ("Run the notebook or command with the project's environment (`make setup`, then `.venv/bin/python` "
       "or the JupyterLab that `make up` starts) and restart the stack with `make down up` after any upgrade.")
