"""Run a workload on an engine and check the answer: the one path the CLI, tests and benchmarks share."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from scalelab import datasets, engines
from scalelab.datasets.base import Dataset, DatasetError
from scalelab.engines import Engine
from scalelab.workloads import compare
from scalelab.workloads.base import Workload

ANSWERS = "answers.json"             # reference checksums stored beside a data set
REFERENCE_MAX_ROWS = 25_000_000      # above this many input rows, pandas is not asked


@dataclass
class Outcome:
    workload: str
    engine: str
    dataset: str
    seconds: float                   # compute and materialise, the data already loaded as handles
    rows: int
    checksum: dict
    checked: str                     # "reference", "stored checksum" or "unchecked: why"
    result: pd.DataFrame | None = field(default=None, repr=False)

    def summary(self) -> str:
        checked = self.checked if self.checked.startswith("unchecked") else f"checked against the {self.checked}"
        return f"{self.workload} on {self.engine} ({self.dataset}): {self.rows:,} rows in {self.seconds:.3f} s, {checked}"


def prepare(w: Workload, scale: str | None = None, data: Path | str | None = None, **params) -> Dataset:
    """The data set a workload runs on: generated at a scale (reused when present), or read from a path."""
    if data is not None:
        path = Path(data)
        manifest = path / "manifest.json"
        if not manifest.exists():
            raise DatasetError(f"{path} is not a data set (no manifest.json); make one with `scalelab data generate`")
        ds = Dataset(path, json.loads(manifest.read_text()))
        if ds.manifest["generator"] != w.data.generator:
            raise DatasetError(f"{w.name} runs on a {w.data.generator} data set; {path} is a "
                               f"{ds.manifest['generator']} one")
        return ds
    return datasets.generate(w.data.generator, scale=scale or "tiny", **{**w.data.params, **params})


def tables_of(w: Workload, ds: Dataset) -> dict[str, Path]:
    return {name: ds.table_path(name) for name in w.tables}


def input_rows(w: Workload, ds: Dataset) -> int:
    return sum(ds.rows(name) for name in w.tables)


# Where other processes' references can be read from (the benchmark's children share one per run).
REFERENCE_CACHE: Path | None = None
_REFERENCES: dict[tuple[Any, str], pd.DataFrame] = {}
_STORED: set[tuple[str, str]] = set()
_INPUTS: dict[tuple[str, str], dict[str, Any]] = {}


def forget() -> None:
    """Drop the references and inputs held in this process (so they do not count in its memory)."""
    _REFERENCES.clear()
    _INPUTS.clear()


def handles(w: Workload, engine: Engine, ds: Dataset, tables: dict[str, Any] | None = None) -> dict[str, Any]:
    """The engine's handles on the workload's tables (or the `tables` given: ones it already holds),
    plus its driver-side inputs (made once per data set)."""
    out = dict(tables) if tables is not None else engine.load(tables_of(w, ds))
    if w.inputs is not None:
        key = (w.name, str(ds.path))
        if key not in _INPUTS:
            _INPUTS[key] = w.inputs(ds)
        out.update(_INPUTS[key])
    return out


def load_reference(w: Workload, ds: Dataset) -> pd.DataFrame:
    """The pandas reference answer (computed once per process per data set), its checksum stored."""
    # Keyed by the reference function: workloads that share one (ml.gridsearch and ml.tune) compute it once.
    key = (w.ref, str(ds.path))
    if key not in _REFERENCES:
        cached = None if REFERENCE_CACHE is None else REFERENCE_CACHE / f"{w.name}--{ds.name}.pkl"
        if cached is not None and cached.exists():
            _REFERENCES[key] = pd.read_pickle(cached)
        else:
            pandas = engines.get(engines.REFERENCE)
            _REFERENCES[key] = w.reference_answer(handles(w, pandas, ds))
            if cached is not None:
                # (A pickle, not Parquet: the reference must come back exactly as it was, dtypes and all.)
                _REFERENCES[key].to_pickle(cached)
    if (w.name, str(ds.path)) not in _STORED:        # stored once per process: a stale one is replaced
        _store_checksum(ds, w, compare.checksum(_REFERENCES[key]))
        _STORED.add((w.name, str(ds.path)))
    return _REFERENCES[key]


def _store_checksum(ds: Dataset, w: Workload, checksum: dict) -> None:
    path = ds.path / ANSWERS
    try:
        answers = json.loads(path.read_text()) if path.exists() else {}
    except ValueError:
        answers = {}
    answers[w.name] = checksum
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(answers, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


def stored_checksum(ds: Dataset, w: Workload) -> dict | None:
    try:
        return json.loads((ds.path / ANSWERS).read_text()).get(w.name)
    except (FileNotFoundError, ValueError):
        return None


def check_answer(w: Workload, ds: Dataset, result: pd.DataFrame, checksum: dict | None = None) -> str:
    """Check `result` against the pandas reference when it is affordable, else the stored checksum.

    Returns what it was checked against ("pandas reference", "stored checksum" or
    "unchecked: why"); raises compare.Mismatch when the answer is wrong.
    """
    if input_rows(w, ds) <= REFERENCE_MAX_ROWS:
        compare.compare(result, load_reference(w, ds), w.rules)
        return "pandas reference"
    if (stored := stored_checksum(ds, w)) is not None:
        checksum = checksum if checksum is not None else compare.checksum(result)
        if not compare.checksums_match(checksum, stored, w.rules):
            raise compare.Mismatch(f"checksum {checksum} differs from the stored reference checksum {stored}")
        return "stored checksum"
    return (f"unchecked: {input_rows(w, ds):,} input rows is past what the pandas reference is asked "
            "to do, and no reference checksum is stored for this data set")


def hold(w: Workload, engine: Engine, ds: Dataset, tables: tuple[str, ...] | None = None) -> dict[str, Any]:
    """`w`'s tables (or the named tables of its data set) held in the engine's memory (the bench's
    memory mode)."""
    paths = tables_of(w, ds) if tables is None else {name: ds.table_path(name) for name in tables}
    gen = datasets.generator(ds.manifest["generator"])
    return engine.hold(engine.load(paths), gen.labels, gen.int_keys)


def held_for(w: Workload, engine: Engine, ds: Dataset, held_cache: dict) -> tuple[dict[str, Any], float]:
    """`w`'s tables from the data set this engine holds in `held_cache`, holding it first when it is
    not the one held (any other data set's tables go first: an engine names what it holds, DuckDB's
    tables and Spark's views, so a table of the same name would be shadowed). Also the seconds the
    holding took (once per data set; the same figure on each of its workloads).

    Every table of the data set is held, as db-benchmark loads its tables once before the questions:
    the next workload on it takes its own from them (TPC-H's 22 queries share eight tables)."""
    key = (engine.name, str(ds.path))
    if key not in held_cache:
        release_held(engine, held_cache)
        t0 = time.perf_counter()
        held = hold(w, engine, ds, tuple(ds.manifest["tables"]))
        held_cache[key] = (held, time.perf_counter() - t0)
    held, seconds = held_cache[key]
    return {name: held[name] for name in w.tables}, seconds


def release_held(engine: Engine, held_cache: dict) -> None:
    """Release the tables `run(..., held_cache=)` or `held_for` held on this engine, and forget them."""
    for key in [k for k in held_cache if k[0] == engine.name]:
        _release_all(engine, held_cache.pop(key)[0])


def _release_all(engine: Engine, held: dict[str, Any]) -> None:
    for handle in held.values():
        engine.release(handle)


def run(w: Workload, engine: Engine | str, scale: str | None = None, data: Path | str | None = None,
        check: bool = True, keep_result: bool = False, mode: str = "scan",
        held_cache: dict | None = None, **params: Any) -> Outcome:
    """Run `w` on `engine`, materialise the whole result, and check it.

    mode="memory" runs it as the bench's memory mode does: the tables held in the engine,
    the answer kept in the engine's own form (timed so), then converted for the check.
    With `held_cache` (a dict the caller keeps) the held tables are kept there and reused by
    the next run on the same engine and data, as the bench's child holds them once per data
    set; the caller releases them (release_held). Raises compare.Mismatch when the answer is wrong,
    engines.NotSupported when the engine declares it cannot do the workload.
    """
    ds = prepare(w, scale, data, **params)
    engine = engines.get(engine) if isinstance(engine, str) else engine
    impl = w.implementation(engine)           # NotSupported before any connection is made
    engine.start()
    if mode == "memory":
        held = held_for(w, engine, ds, held_cache)[0] if held_cache is not None else hold(w, engine, ds)
        try:
            t0 = time.perf_counter()
            kept = engine.keep(impl(handles(w, engine, ds, held)))
            seconds = time.perf_counter() - t0
            result = engine.collect(kept)
            engine.release(kept)
        finally:
            if held_cache is None:
                _release_all(engine, held)
    elif mode == "scan":
        t = handles(w, engine, ds)
        t0 = time.perf_counter()
        result = engine.collect(impl(t))
        seconds = time.perf_counter() - t0
    else:
        raise ValueError(f"unknown mode {mode!r}: scan or memory")
    checksum = compare.checksum(result)
    checked = check_answer(w, ds, result, checksum) if check else "unchecked: --no-check"
    return Outcome(w.name, engine.name, ds.name, seconds, len(result), checksum, checked,
                   result if keep_result else None)
