"""pola-rs/polars-benchmark's TPC-H implementations, run beside `scalelab bench --suite tpch` on the same
tables and machine.

    scalelab bench peer --checkout PATH --suite tpch --scale medium
    scalelab bench report --peer results/peer/polars-benchmark-time.csv

polars-benchmark is the TPC-H peer of pandas, Polars, DuckDB, Dask and PySpark (Coiled's and Polars'
published comparisons come from it or from code like it). As for db-benchmark (peer.py), this module
does not copy its queries: it runs them, from a checkout, in a work folder holding our generated tables
in its layout (`scale-<sf>/<table>.parquet`, one file per table, the same row groups), with the
environment its settings read and the project's own libraries. Its two IO types are our two modes:
`parquet` reads the files inside the timed query, as `scan` does; `skip` reads them before the clock
starts, as `memory` does (its Dask and PySpark code refuse `skip`, so they have a scan figure only).

Each of its queries runs in a process of its own and is timed once, reading included or not; its
timings file is rewritten into db-benchmark's time.csv format with a `mode` column, so that
`bench report --peer` reads both peers one way.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from scalelab import datasets
from scalelab.config import Config
from scalelab.bench.peer import PeerError, PeerRun, apply_adaptations, replace_rows

# Our engine -> the peer's package under queries/, and the modes its utils accept.
LIBRARIES = {"pandas": "pandas", "polars": "polars", "duckdb": "duckdb", "dask": "dask", "spark": "pyspark"}
SCAN_ONLY = {"dask", "spark"}       # their utils raise "cannot run ... from an in-memory representation"
IO_TYPES = {"scan": "parquet", "memory": "skip"}
TIME_FILE = "polars-benchmark-time.csv"
# Its settings' helpers that our environment lacks, at the versions its requirements.txt pins
# (read from the checkout); layered over the project's venv by uv for the peer's processes only.
HELPERS = ("linetimer", "pydantic-settings")
# The only edits made to the peer's code (old text, new text, why), as for db-benchmark.
ADAPTATIONS = {
    "queries/common_utils.py": [
        ("assert_frame_equal(result, expected, check_dtype=False)",
         "assert_frame_equal(result, expected, check_dtypes=False)",
         "Polars 2 renamed assert_frame_equal(check_dtype=) to check_dtypes=; its answer check runs as before")],
    "queries/polars/utils.py": [
        ("pl.read_parquet(path, rechunk=True)", "pl.read_parquet(path).rechunk()",
         "Polars 2 removed read_parquet(rechunk=); .rechunk() on the frame it read makes it one chunk, as before"),
        ("lf.collect, streaming=streaming, no_optimization=eager, engine=engine",
         'lf.collect, engine="streaming" if streaming else engine, '
         '**({"optimizations": pl.QueryOptFlags.none()} if eager else {})',
         "Polars 2 removed collect(streaming=, no_optimization=); engine='streaming' and QueryOptFlags.none() "
         "are what they became (both off by default, so the default run collects on the cpu engine as before)")],
}


def check_checkout(checkout: Path) -> Path:
    checkout = Path(checkout).expanduser().resolve()
    missing = [p for p in ("queries/common_utils.py", "settings.py", "requirements.txt")
               if not (checkout / p).is_file()]
    if missing:
        raise PeerError(f"{checkout} is not a polars-benchmark checkout (no {', '.join(missing)}); clone "
                        "pola-rs/polars-benchmark and give its folder as --checkout")
    return checkout


def helper_pins(checkout: Path) -> list[str]:
    """`name==version` for each of HELPERS, as the checkout's requirements.txt pins it."""
    pins = {}
    for line in (checkout / "requirements.txt").read_text().splitlines():
        name, sep, version = line.strip().partition("==")
        if sep and name.lower() in HELPERS:
            pins[name.lower()] = f"{name}=={version.split()[0]}"
    missing = [h for h in HELPERS if h not in pins]
    if missing:
        raise PeerError(f"{checkout}/requirements.txt pins no {', '.join(missing)}")
    return [pins[h] for h in HELPERS]


def write_tables(ds, dest: Path) -> Path:
    """The data set's tables in the peer's layout: `dest/scale-<sf>/<table>.parquet`, each our parts'
    row groups in one file (same types, zstd). Written once per data set: a stamp holds its manifest's
    content hash, and a half-written folder is never taken for a whole one."""
    import pyarrow.parquet as pq

    sf = ds.manifest["params"]["sf"]
    folder = dest / f"scale-{float(sf)}"
    stamp = folder / ".scalelab-dataset.json"
    want = {"dataset": ds.name, "manifest_sha256": hashlib.sha256((ds.path / "manifest.json").read_bytes()).hexdigest()}
    if stamp.is_file() and json.loads(stamp.read_text()) == want:
        return folder
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for table_dir in sorted(p for p in ds.path.iterdir() if p.is_dir() and any(p.glob("*.parquet"))):
        parts = sorted(table_dir.glob("*.parquet"))
        writer = None
        for part in parts:
            f = pq.ParquetFile(part)
            for i in range(f.num_row_groups):
                group = f.read_row_group(i)
                if writer is None:
                    writer = pq.ParquetWriter(tmp / f"{table_dir.name}.parquet", group.schema, compression="zstd")
                writer.write_table(group)
        writer.close()
    (tmp / stamp.name).write_text(json.dumps(want))
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(tmp, folder)
    return folder


def prepare(checkout: Path, work: Path) -> tuple[str, ...]:
    """The peer's `queries/` and `settings.py` copied into the work folder, ADAPTATIONS applied;
    returns the reasons of those applied."""
    shutil.rmtree(work / "queries", ignore_errors=True)
    shutil.copytree(checkout / "queries", work / "queries")
    shutil.copy2(checkout / "settings.py", work / "settings.py")
    applied = []
    for rel, changes in ADAPTATIONS.items():
        target = work / rel
        target.write_text(apply_adaptations(target.read_text(), changes, f"{checkout / rel}"))
        applied += [why for _o, _n, why in changes]
    return tuple(applied)


def to_time_rows(timings: Path, dataset: str, run_id: str, wrong: set = frozenset()) -> list[dict]:
    """The peer's timings.csv (solution, version, query_number, duration[s], io_type, scale_factor) as
    db-benchmark time.csv rows, with the mode their IO type stands for and our question's name. A timing
    in `wrong` ((library, io type, query)) is left out: a wrong answer has no time."""
    from scalelab import workloads

    modes = {io: mode for mode, io in IO_TYPES.items()}
    engines = {lib: engine for engine, lib in LIBRARIES.items()}
    rows = []
    with open(timings, newline="") as f:
        for r in csv.DictReader(f):
            if r["io_type"] not in modes or r["solution"] not in engines or \
                    (r["solution"], r["io_type"], int(r["query_number"])) in wrong:
                continue
            rows.append({"task": "tpch", "data": dataset, "solution": engines[r["solution"]],
                         "version": r["version"], "question": workloads.get(f"tpch.q{int(r['query_number'])}").question,
                         "run": "1", "time_sec": r["duration[s]"], "mode": modes[r["io_type"]],
                         "batch": run_id, "machine_type": f"scalelab-{os.cpu_count()}-cores"})
    return rows


def run(checkout: Path, scale: str, solutions: list[str], out_dir: Path, modes: list[str],
        timeout_s: float = 3600) -> tuple[Path, list[PeerRun]]:
    """Run each solution's queries on the TPC-H data set at `scale`, in each mode it accepts."""
    checkout = check_checkout(checkout)
    unknown = [s for s in solutions if s not in LIBRARIES]
    if unknown:
        raise PeerError(f"polars-benchmark has no implementation for {', '.join(unknown)}; "
                        f"choose from: {', '.join(LIBRARIES)}")
    bad = [m for m in modes if m not in IO_TYPES]
    if bad:
        raise PeerError(f"unknown mode {', '.join(bad)}; choose from: {', '.join(IO_TYPES)}")
    pins = helper_pins(checkout)
    ds = datasets.generate("tpch", scale=scale)
    sf = float(ds.manifest["params"]["sf"])
    work = out_dir / "polars-benchmark"
    work.mkdir(parents=True, exist_ok=True)
    write_tables(ds, work / "tables")
    adapted = prepare(checkout, work)
    timings = work / "timings.csv"
    timings.unlink(missing_ok=True)
    uv = Config.load().uv
    if uv is None:
        raise PeerError("uv is needed to add the peer's helpers (linetimer, pydantic-settings) beside the "
                        "project's venv: `make setup` installs it under .state/bootstrap")
    base = [str(uv), "run", "--no-project", "--python", sys.executable, *(a for p in pins for a in ("--with", p))]
    runs, wrong = [], set()
    for solution in solutions:
        for mode in modes:
            if mode == "memory" and solution in SCAN_ONLY:
                continue
            env = {**os.environ, "SCALE_FACTOR": str(sf), "PATH_TABLES": str(work / "tables"),
                   "PATH_TIMINGS": str(work), "PATH_TIMINGS_FILENAME": timings.name,
                   # Its answers are TPC's at SF 1 (tpchgen-cli writes dbgen's rows): the peer checks itself.
                   "PATH_ANSWERS": str(checkout / "data" / "answers"), "RUN_CHECK_RESULTS": str(sf == 1.0).lower(),
                   "RUN_LOG_TIMINGS": "true", "RUN_IO_TYPE": IO_TYPES[mode], "PYTHONUNBUFFERED": "1"}
            log = out_dir / f"{solution}-tpch-{mode}-{ds.name}.log"
            t0 = time.perf_counter()
            with open(log, "w") as f:
                try:
                    code = subprocess.run([*base, "python", "-m", f"queries.{LIBRARIES[solution]}"], cwd=work,
                                          env=env, stdout=f, stderr=subprocess.STDOUT, timeout=timeout_s).returncode
                except subprocess.TimeoutExpired:
                    code = -1
            failed = failed_queries(log.read_text(errors="replace"))
            wrong.update({(LIBRARIES[solution], IO_TYPES[mode], n) for n in failed})
            runs.append(PeerRun(f"{solution} ({mode})", time.perf_counter() - t0, code or int(bool(failed)), log,
                                adapted, tuple(f"q{n}: {why}" for n, why in sorted(failed.items()))))
    time_file = out_dir / TIME_FILE
    rows = to_time_rows(timings, ds.name, time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()), wrong) \
        if timings.exists() else []
    ran = {(engine, mode, ds.name) for engine in solutions for mode in modes}
    write_time_file(time_file, rows, replaces=ran)
    return time_file, runs


TIME_COLUMNS = ["batch", "task", "data", "question", "solution", "version", "run", "time_sec", "mode", "machine_type"]


def write_time_file(path: Path, rows: list[dict], replaces: set[tuple[str, str, str]]) -> None:
    """`rows` into the time file, keeping what an earlier run timed for the other (solution, mode, data
    set)s: rerunning one solution does not lose the others' timings, and a rerun replaces, never doubles,
    its own."""
    replace_rows(path, lambda r: (r["solution"], r.get("mode", ""), r["data"]) in replaces, rows, TIME_COLUMNS)


def failed_queries(log_text: str) -> dict[int, str]:
    """Query number -> its error's line. The peer runs each query in a child process and ignores its
    exit code, so a query that failed (an error, or a wrong answer: RUN_CHECK_RESULTS checks it after
    its time is logged) shows only in the log: as a traceback, whose frames name `queries/LIB/qN.py`,
    or, where the peer's code catches the error (its Polars queries), as "qN FAILED" and the error."""
    failed, query, frames = {}, None, False
    lines = log_text.splitlines()
    for i, line in enumerate(lines):
        m = re.fullmatch(r"q(\d+) FAILED", line.strip())
        if m:                        # its Polars code catches the error and prints it on the next line
            failed.setdefault(int(m.group(1)), lines[i + 1].strip() if i + 1 < len(lines) else "")
            continue
        if line.startswith("Traceback (most recent call last)"):
            query, frames = None, True
            continue
        if not frames:
            continue
        m = re.search(r"queries/[^/]+/q(\d+)\.py", line)
        if m and query is None:
            query = int(m.group(1))
        if line.strip() and not line.startswith(" "):      # the exception's own line, after the frames
            if query is not None:
                failed.setdefault(query, line.strip())
            frames = False
    return failed
