"""Run the engines side by side: plan, data, a memory-bandwidth floor, one child process per engine.

    scalelab bench --suite groupby --engines all --scale small --repeat 3

For every (scale, engine) a child process (`bench.child`) runs the chosen workloads
one after another and reports each as it finishes. A workload that runs past the
timeout has its child killed and is recorded as "timed out"; a child that dies
(out of memory, a crash) has its workload recorded as "crashed"; either way a new
child carries on with the rest. Results go to results/bench/<run_id>.parquet.
"""

from __future__ import annotations

import json
import os
import platform
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np

from scalelab import engines, workloads
from scalelab.bench import schema
from scalelab.datasets.base import SCALES
from scalelab.workloads import runner

# What a timing covers. Both are legitimate questions; a reader comparing with published
# db-benchmark results needs `memory`, one choosing how to query files on disk needs `scan`.
MODES = {
    "scan": "from the Parquet files to the whole answer as a pandas DataFrame: each run reads the files "
            "and converts the answer (what a notebook querying files on disk pays)",
    "memory": "db-benchmark's way: each engine holds the tables in its own memory once (pandas and Polars "
              "with repeated strings as categoricals, DuckDB as tables, Dask persisted, Spark cached and "
              "counted, Ray materialised), and each run ends with the whole answer kept in the engine's own "
              "form (a DuckDB table, a Polars frame, a persisted and counted Spark DataFrame, a materialised "
              "Ray dataset, a Dask frame persisted on its workers); the conversion to pandas for the check is untimed",
}

FAIRNESS = [
    "Every engine computes the whole answer (no show() or head()); in scan mode it is materialised as a "
    "pandas DataFrame, in memory mode kept in the engine's own form.",
    "Every engine reads the same Parquet files of the same data set.",
    "Each engine gets the same cores: DuckDB threads and Polars' pool are set to them; the Dask, "
    "Spark and Ray clusters are the stack's, sized by the same setting; pandas is single-threaded "
    "by design and is the baseline. The cores column says what each engine reported.",
    "No engine caches a result between runs; in scan mode nor its input (no persist, cache or "
    "materialised view), in memory mode the input is held once per data set, by every engine alike. "
    "The operating system's page cache is warm after the first run for everyone.",
    "The first run (cold) is reported apart from the warm runs; connecting to an engine and making "
    "its table handles (in memory mode: holding the tables) are timed separately and are not in either.",
    "The answer is checked after the timing: a wrong answer is reported as wrong, never as fast.",
]


@dataclass
class Plan:
    workloads: list[str]
    engines: list[str]
    scales: list[str]
    modes: list[str] = field(default_factory=lambda: ["scan"])
    repeat: int = 3
    timeout_s: float = 600.0
    cores: int = field(default_factory=lambda: os.cpu_count() or 1)
    params: dict = field(default_factory=dict)

    def units(self) -> int:
        return len(self.workloads) * len(self.engines) * len(self.scales) * len(self.modes)


def select_workloads(suites: list[str]) -> list[str]:
    names: list[str] = []
    for s in suites:
        names += [w.name for w in workloads.select(s) if w.name not in names]
    return names


def parse_list(text: str, valid: list[str], what: str) -> list[str]:
    """'all' or a comma-separated list, each checked against `valid`."""
    items = valid if text == "all" else [t.strip() for t in text.split(",") if t.strip()]
    bad = [i for i in items if i not in valid]
    if bad or not items:
        raise ValueError(f"unknown {what} {', '.join(bad) or repr(text)}; choose from: all, {', '.join(valid)}")
    return items


def machine() -> dict:
    import psutil

    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cores": os.cpu_count(), "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "os": f"{platform.system()} {platform.release()}", "python": platform.python_version(), "cpu": cpu}


def git_commit() -> str:
    from scalelab.config import repo_root

    try:
        root = repo_root()
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                                timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return (commit + ("+dirty" if dirty else "")) or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def input_bytes(w, ds) -> int:
    """The uncompressed size of the workload's tables, from the Parquet footers."""
    import pyarrow.parquet as pq

    total = 0
    for table in w.tables:
        for part in sorted(ds.table_path(table).glob("*.parquet")):
            meta = pq.ParquetFile(part).metadata
            total += sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    return total


FLOOR_CAP = 1 << 30      # scan at most 1 GiB and scale up: the floor is a rate


def memory_floor(nbytes: int) -> float:
    """Seconds for numpy to sum `nbytes` already in memory (best of five): no engine can beat it."""
    if nbytes <= 0:
        return 0.0
    n = max(1, min(nbytes, FLOOR_CAP) // 8)
    a = np.ones(n)
    best = min(_time(a.sum) for _ in range(5))
    return best * nbytes / (n * 8)


def _time(fn: Callable) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def run(plan: Plan, results_dir: Path, progress: Callable[[dict], None] | None = None) -> tuple[str, Path, list[dict]]:
    """Run the plan; returns the run id, the Parquet file written and its rows."""
    for scale in plan.scales:
        if scale not in SCALES:
            raise ValueError(f"unknown scale {scale!r}; choose from: {', '.join(SCALES)}")
    for mode in plan.modes:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; choose from: {', '.join(MODES)}")
    run_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    common = {"run_id": run_id, "git_commit": git_commit(), "machine": json.dumps(machine(), sort_keys=True)}
    facts = _data_facts(plan)
    rows: list[dict] = []
    results_dir.mkdir(parents=True, exist_ok=True)
    out = results_dir / f"{run_id}.parquet"
    # The pandas reference of each answer is computed once per run and shared by the children.
    with tempfile.TemporaryDirectory(prefix="scalelab-references-") as references:
        for scale in plan.scales:
            for engine in plan.engines:
                for mode in plan.modes:      # a child per mode: what one holds in memory is not the other's
                    for row in _run_engine(plan, engine, scale, mode, references):
                        row = {**common, **facts[(row["workload"], scale)], **row}
                        rows.append(row)
                        if progress:
                            progress(row)
                    # Written after every engine and mode: an interrupted run keeps what it measured.
                    _write(rows, out)
    return run_id, out, rows


def _data_facts(plan: Plan) -> dict:
    """Generate (or reuse) each data set before any timing, and measure its floor."""
    facts, floors = {}, {}
    for scale in plan.scales:
        for name in plan.workloads:
            w = workloads.get(name)
            ds = runner.prepare(w, scale, **plan.params)
            nbytes = input_bytes(w, ds)
            if nbytes not in floors:
                floors[nbytes] = memory_floor(nbytes)
            facts[(name, scale)] = {"input_bytes": nbytes, "floor_s": floors[nbytes]}
    return facts


def _write(rows: list[dict], path: Path) -> None:
    import pyarrow.parquet as pq

    tmp = path.with_suffix(".tmp")
    pq.write_table(schema.table(rows), tmp)
    os.replace(tmp, path)


def _run_engine(plan: Plan, engine: str, scale: str, mode: str, references: str):
    """Yield one row per workload; a child that hangs or dies is replaced for the rest."""
    todo = list(plan.workloads)
    while todo:
        spec = {"engine": engine, "scale": scale, "mode": mode, "workloads": todo, "repeat": plan.repeat,
                "cores": plan.cores,
                "params": plan.params, "reference_dir": references}
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(spec, f)
        try:
            for row in _child(f.name, plan.timeout_s):
                todo.remove(row["workload"])
                yield row
        finally:
            os.unlink(f.name)


def _child(spec_path: str, timeout_s: float):
    """Run one child; yield its rows, then a timed-out or crashed row if it stopped early."""
    # stderr to a file, not a pipe: Spark and Ray log plenty, and a full pipe would stall the child.
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen([sys.executable, "-u", "-m", "scalelab.bench.child", spec_path], stdout=subprocess.PIPE,
                            stderr=log, start_new_session=True)
    spec = json.loads(open(spec_path).read())
    # Raw reads and our own line buffer: a buffered reader could hold a "start" line
    # that select() no longer sees, and the deadline would never be set.
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    current, deadline, produced, pending, eof = None, None, False, b"", False
    try:
        while not eof:
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not sel.select(timeout=wait):
                _kill(proc)
                yield _stopped(spec, current, "timed out", f"still running after {timeout_s:.0f} s; stopped")
                return
            chunk = os.read(proc.stdout.fileno(), 1 << 16)
            eof = not chunk
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                try:
                    msg = json.loads(line)
                except ValueError:
                    continue                     # a library printing to stdout
                if msg.get("kind") == "start":
                    current, deadline = msg["workload"], time.monotonic() + timeout_s
                elif msg.get("kind") == "row":
                    current, deadline, produced = None, None, True
                    yield msg["row"]
        proc.wait()
        if current is None and not produced:
            current = spec["workloads"][0]      # died before its first workload: charge that one, move on
        if current is not None:
            log.seek(0)
            stderr_tail = log.read().decode(errors="replace").splitlines()[-15:]
            how = ("killed by signal %d (out of memory?)" % -proc.returncode if proc.returncode < 0
                   else f"exited with {proc.returncode}")
            yield _stopped(spec, current, "crashed", f"the engine's process {how}\n" + "\n".join(stderr_tail))
    finally:
        if proc.poll() is None:
            _kill(proc)
        sel.close()
        log.close()


def _stopped(spec: dict, workload: str | None, status: str, detail: str) -> dict:
    w = workloads.get(workload or spec["workloads"][0])
    return {"workload": w.name, "suite": w.suite, "engine": spec["engine"], "scale": spec["scale"],
            "mode": spec.get("mode", "scan"), "status": status, "detail": detail,
            "started_at": datetime.now(timezone.utc)}


def _kill(proc: subprocess.Popen) -> None:
    """The child and everything it started (its session)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def default_engines() -> list[str]:
    return list(engines.ENGINES)
