"""What every engine offers the workloads: start, load tables, run, materialise, versions.

An engine is a thin adapter: workloads hold the engine-specific code (each written
the way that engine is meant to be used), the engine only connects, reads the data
set's Parquet files into its own lazy or eager handles and turns a result into a
pandas DataFrame, in full (never a `show()` or `head()`).
"""

from __future__ import annotations

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
    name: str
    description: str
    distributed: bool = False          # runs on the stack's cluster (needs `make up`)
    sql: bool = False                  # runs the workloads' shared SQL text
    lazy: bool = False                 # load() returns plans, run when collected

    def __init__(self) -> None:
        self.started = False

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

    # -- data ----------------------------------------------------------------------
    @abstractmethod
    def load(self, tables: dict[str, Path]) -> dict[str, Any]:
        """Each table's folder of Parquet files as this engine's handle, by name."""

    def run_sql(self, text: str, handles: dict[str, Any]) -> Any:
        raise NotSupported(f"{self.name} does not run SQL")

    @abstractmethod
    def collect(self, result: Any) -> pd.DataFrame:
        """The whole result as a pandas DataFrame."""

    # -- facts ---------------------------------------------------------------------
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


def ship_workloads_by_value(cloudpickle) -> None:
    """Send the workloads' functions to the cluster as code, not as "import this name".

    By reference, a worker imports `scalelab.workloads` itself: a worker started before
    the package changed (a notebook edit, an upgrade, a container built earlier) would
    run other code than the client's, or fail to find a function. By value, the
    workers run exactly what the client has.
    """
    from scalelab import workloads

    cloudpickle.register_pickle_by_value(workloads)


def python_minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


FIX = ("Run the notebook or command with the project's environment (`make setup`, then `.venv/bin/python` "
       "or the JupyterLab that `make up` starts) and restart the stack with `make down up` after any upgrade.")
