"""A workload: one question, its pandas reference, and each engine's own way of answering it.

    suite = Suite("groupby", data=Data("groupby", {"K": 100}), tables=("x",))
    q1 = suite.add("q1", "sum v1 by id1", sql="SELECT id1, sum(v1) AS v1 FROM x GROUP BY id1")

    @q1.reference                  # pandas; `also=("dask",)` when Dask's pandas API runs it as is
    def _(t): return t["x"].groupby("id1", as_index=False).agg(v1=("v1", "sum"))

    @q9.on("pandas", "dask")       # where the plainest code is not the fastest: the engines' own,
    def _(t): ...                  # still checked against the reference above

    @q1.on("polars")
    def _(t): return t["x"].group_by("id1").agg(pl.col("v1").sum())

    q1.cannot("ray", "why Ray cannot", raises=NotSupported)   # declared, shown in tables

An engine gets a workload's tables as its own handles (`t`) and returns its own
result; the engine materialises it in full. An engine with neither an
implementation nor a declared reason is a registry error (a unit test checks there
are none), so nothing quietly falls back to pandas.
"""

from __future__ import annotations

import inspect
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from scalelab.engines import ENGINES, REFERENCE, Engine, NotSupported
from scalelab.workloads.compare import Rules

Impl = Callable[[dict[str, Any]], Any]
# The code a workload runs on a cluster: the registry (this package) and the model code it calls.
SHIPPED_BY_VALUE = ("scalelab.workloads", "scalelab.ml")


class WorkloadError(LookupError):
    """An unknown workload, or a registry that is incomplete."""


@dataclass(frozen=True)
class Data:
    """The data set a suite runs on: a generator and its parameters (the scale comes at run time)."""
    generator: str
    params: dict = field(default_factory=dict)


@dataclass
class Workload:
    suite: str
    short: str
    question: str
    data: Data
    tables: tuple[str, ...]
    rules: Rules = field(default_factory=Rules)
    sql: str | None = None
    impls: dict[str, Impl] = field(default_factory=dict)
    ref: Impl | None = None                                   # the pandas reference every answer is checked against
    unsupported: dict[str, tuple[str, type[Exception]]] = field(default_factory=dict)
    inputs: Callable[[Any], dict[str, Any]] | None = None   # extra driver-side inputs (a fitted model)
    defined_at: str = ""                                      # file:line of its definition (and shared SQL)
    sql_at: dict[str, str] = field(default_factory=dict)      # file:line of an engine's own SQL dialect

    @property
    def name(self) -> str:
        return f"{self.suite}.{self.short}"

    # -- registration ------------------------------------------------------------------
    def reference(self, fn: Impl | None = None, *, also: tuple[str, ...] = ()):
        """The pandas reference; `also` names engines whose pandas-compatible API runs it unchanged.

        It is also the pandas engine's code unless `on("pandas")` gives a faster one: the
        reference may stay the plainest correct code, the benchmark's pandas the fastest.
        """
        def register(f: Impl) -> Impl:
            self.ref = f
            for engine in (REFERENCE, *also):
                if engine not in ENGINES:
                    raise WorkloadError(f"{self.name}: unknown engine {engine!r}")
                self.impls.setdefault(engine, f)        # an engine's own code, registered first, stays
            return f
        return register(fn) if fn is not None else register

    def on(self, *engines: str):
        def register(f: Impl) -> Impl:
            for engine in engines:
                self._set(engine, f)
            return f
        return register

    def sql_on(self, engine: str, text: str) -> Workload:
        """SQL for one engine where the dialects part (the shared `sql` serves the rest)."""
        self._set(engine, lambda t, text=text: _SqlCall(text))
        self.sql_at[engine] = _caller()
        return self

    def cannot(self, engine: str, reason: str, raises: type[Exception] = NotSupported) -> Workload:
        """Declare that an engine does not do this workload, and why (ibis' `notimpl`)."""
        if engine not in ENGINES:
            raise WorkloadError(f"{self.name}: unknown engine {engine!r}")
        self.unsupported[engine] = (reason, raises)
        return self

    def _set(self, engine: str, fn: Impl) -> None:
        if engine not in ENGINES:
            raise WorkloadError(f"{self.name}: unknown engine {engine!r}")
        self.impls[engine] = fn

    # -- use ---------------------------------------------------------------------------
    def supports(self, engine: str) -> bool:
        return engine not in self.unsupported and (engine in self.impls or (self.sql is not None and
                                                                          ENGINES[engine].sql))

    def status(self, engine: str) -> str:
        """'yes', or 'no: <reason>' (for tables)."""
        if engine in self.unsupported:
            return f"no: {self.unsupported[engine][0]}"
        return "yes" if self.supports(engine) else "missing"

    def where(self) -> dict[str, str]:
        """Engine -> where its code is: "file:line", "shared SQL at file:line", or "no: reason"."""
        out = {}
        for engine in ENGINES:
            if engine in self.unsupported:
                out[engine] = f"no: {self.unsupported[engine][0]}"
            elif engine in self.sql_at:
                out[engine] = f"its own SQL dialect at {self.sql_at[engine]}"
            elif engine in self.impls:
                shared = engine != REFERENCE and self.impls[engine] is self.ref
                out[engine] = _location(self.impls[engine]) + (f" (the {REFERENCE} reference, run as is)" if shared
                                                               else "")
            elif self.sql is not None and ENGINES[engine].sql:
                out[engine] = f"shared SQL at {self.defined_at}"
            else:
                out[engine] = "missing"
        return out

    def implementation(self, engine: Engine) -> Impl:
        for package in SHIPPED_BY_VALUE:
            if package in sys.modules:
                engine.ship_by_value(sys.modules[package])
        if engine.name in self.unsupported:
            reason, exc = self.unsupported[engine.name]
            raise exc(f"{self.name} on {engine.name}: {reason}")
        if engine.name in self.impls:
            impl = self.impls[engine.name]
            return lambda t: _run_sql_call(engine, impl(t), t)
        if self.sql is not None and engine.sql:
            return lambda t: engine.run_sql(self.sql, t)
        raise WorkloadError(f"{self.name} has no implementation for {engine.name} and no declared reason")

    def run(self, engine: Engine, handles: dict[str, Any]) -> pd.DataFrame:
        """Compute the answer on `engine` and materialise all of it."""
        return engine.collect(self.implementation(engine)(handles))

    def reference_answer(self, handles: dict[str, pd.DataFrame]) -> pd.DataFrame:
        """The reference's answer on pandas' handles (the answer every engine's is checked against)."""
        if self.ref is None:
            raise WorkloadError(f"{self.name} has no pandas reference")
        return self.ref(handles)


@dataclass(frozen=True)
class _SqlCall:
    text: str


def _run_sql_call(engine: Engine, result: Any, handles: dict[str, Any]) -> Any:
    return engine.run_sql(result.text, handles) if isinstance(result, _SqlCall) else result


@dataclass
class Suite:
    name: str
    data: Data
    tables: tuple[str, ...]
    description: str = ""
    workloads: dict[str, Workload] = field(default_factory=dict)

    def add(self, short: str, question: str, *, sql: str | None = None, rules: Rules | None = None,
            tables: tuple[str, ...] | None = None, data: Data | None = None,
            inputs: Callable[[Any], dict[str, Any]] | None = None) -> Workload:
        """A workload on the suite's data set (or its own `data`).

        `inputs(dataset)` makes what a workload needs besides tables, on the driver and
        untimed (a model fitted on the training split, for inference); they join the
        engine's table handles under their names.
        """
        w = Workload(self.name, short, question, data or self.data, self.tables if tables is None else tables,
                     rules or Rules(), sql, inputs=inputs, defined_at=_caller())
        self.workloads[short] = w
        return w


def _relative(path: str) -> str:
    root = Path(__file__).resolve().parents[3]
    try:
        return str(Path(path).resolve().relative_to(root))
    except ValueError:
        return path


def _caller() -> str:
    """file:line of the code that called the registration (outside this module)."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename == __file__:
        frame = frame.f_back
    return f"{_relative(frame.f_code.co_filename)}:{frame.f_lineno}" if frame else "?"


def _location(fn: Callable) -> str:
    fn = inspect.unwrap(fn)
    code = getattr(fn, "__code__", None)
    return f"{_relative(code.co_filename)}:{code.co_firstlineno}" if code else repr(fn)


def ray_partitions() -> int:
    """One partition per CPU of the Ray cluster (as the engine sets its hash shuffles)."""
    import ray

    return max(1, int(ray.cluster_resources().get("CPU", 1)))
