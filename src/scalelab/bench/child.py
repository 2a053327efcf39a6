"""The worker side of a benchmark: one engine, one process, its workloads one after another.

    python -m scalelab.bench.child SPEC.json

The harness starts one such process per (engine, scale), so that an engine's
threads, memory and crashes stay its own, and a run that hangs can be killed and
recorded as timed out without losing the others. Each finished workload is written
to stdout as one JSON line ("row"); "start" lines say which workload is running, so
the harness knows what a timeout or a crash interrupted.

The spec's mode says what a timing covers (`MODES` in the harness): in `scan` each run
reads the Parquet files and ends with the whole answer as a pandas DataFrame; in
`memory` the tables are held in the engine once per data set and each run ends with
the answer kept in the engine's own form, converted to pandas only afterwards, untimed,
for the check.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path


def _emit(kind: str, **payload) -> None:
    sys.stdout.write(json.dumps({"kind": kind, **payload}, default=str) + "\n")
    sys.stdout.flush()


# memory mode: the data set the engine holds, whose workloads are running (runner.held_for).
_HELD: dict = {}


def held_tables(w, engine, ds) -> tuple[dict, float]:
    """The workload's tables held in the engine, and how long holding its data set took (held once,
    the same figure on each of its workloads)."""
    from scalelab.workloads import runner

    return runner.held_for(w, engine, ds, _HELD)


def release_held(engine) -> None:
    from scalelab.workloads import runner

    runner.release_held(engine, _HELD)


def run_one(w, engine, spec: dict, connect_s: float) -> dict:
    from scalelab.bench.memory import PeakMemory
    from scalelab.engines import NotSupported
    from scalelab.workloads import compare, runner

    mode = spec.get("mode", "scan")
    row = {"workload": w.name, "suite": w.suite, "engine": engine.name, "scale": spec["scale"], "mode": mode,
           "started_at": datetime.now(timezone.utc), "connect_s": connect_s}
    ds = runner.prepare(w, spec["scale"], **spec.get("params", {}))
    row.update(dataset=ds.name, params=json.dumps(ds.manifest.get("params", {}), sort_keys=True),
               input_rows=runner.input_rows(w, ds))
    try:
        impl = w.implementation(engine)
    except NotSupported as exc:
        return {**row, "status": "not supported", "detail": str(exc)}
    with PeakMemory(type(engine)) as memory:
        if mode == "memory":
            tables, row["load_s"] = held_tables(w, engine, ds)
            handles = runner.handles(w, engine, ds, tables)
        else:
            t0 = time.perf_counter()
            handles = runner.handles(w, engine, ds)
            row["load_s"] = time.perf_counter() - t0
        times, result = [], None
        last = spec["repeat"]
        for i in range(1 + last):
            # As db-benchmark does before each timing: the previous answer's garbage is not this one's.
            gc.collect()
            t0 = time.perf_counter()
            if mode == "memory":
                kept = engine.keep(impl(handles))
                times.append(time.perf_counter() - t0)
                if i == last:
                    # The check's conversion after the last timing, never between two: converting a
                    # Polars join answer to pandas slowed the next run by half (page faults on fresh memory).
                    result = engine.collect(kept)
                engine.release(kept)
                del kept
            else:
                out = engine.collect(impl(handles))
                times.append(time.perf_counter() - t0)
                if i == last:
                    result = out
                del out
    checksum = compare.checksum(result)
    row.update(cold_s=times[0], warm_s=times[1:], warm_median_s=statistics.median(times[1:] or times[:1]),
               rows=len(result), checksum=json.dumps(checksum, sort_keys=True),
               peak_rss_mib=memory.peak_mib, base_rss_mib=memory.base_mib,
               versions=json.dumps(engine.versions(), sort_keys=True), cores=engine.cores())
    # Checked after the timing, never inside it: a wrong answer is reported as wrong, not as fast.
    try:
        row.update(checked=runner.check_answer(w, ds, result, checksum), status="ok")
    except compare.Mismatch as exc:
        row.update(status="wrong", detail=str(exc)[:2000], checked="pandas reference")
    finally:
        runner.forget()              # the next workload's memory is its own
    return row


def main(spec_path: str) -> int:
    spec = json.loads(open(spec_path).read())
    from scalelab import engines

    cls = engines.engine_class(spec["engine"])
    # Threads are fixed before the engine's library is imported (Polars reads its pool size once);
    # importing scalelab.engines imports no engine library.
    os.environ.update(cls.bench_environment(spec["cores"]))
    from scalelab import workloads
    from scalelab.workloads import runner

    if spec.get("reference_dir"):
        runner.REFERENCE_CACHE = Path(spec["reference_dir"])
    engine = cls.for_bench(spec["cores"])
    connect_s = None
    for name in spec["workloads"]:
        w = workloads.get(name)
        _emit("start", workload=name)
        try:
            if connect_s is None and w.supports(engine.name):
                t0 = time.perf_counter()
                engine.start()
                connect_s = time.perf_counter() - t0
                row = run_one(w, engine, spec, connect_s)
            else:
                row = run_one(w, engine, spec, 0.0)
        except Exception as exc:        # recorded, and the next workload runs
            row = {"workload": name, "suite": w.suite, "engine": engine.name, "scale": spec["scale"],
                   "mode": spec.get("mode", "scan"), "status": "error", "detail": f"{type(exc).__name__}: {exc}\n{traceback.format_exc()[-1500:]}"}
        _emit("row", row=row)
    release_held(engine)
    engine.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
