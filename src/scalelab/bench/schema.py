"""One row per (workload, engine, scale) of a benchmark run: the fixed schema of results/bench/*.parquet.

Every run writes its own file, `results/bench/<run_id>.parquet` (the folder is one
Parquet data set: `pd.read_parquet("results/bench")` reads every run). Times are
seconds, memory is MiB.
"""

from __future__ import annotations

import pyarrow as pa

STATUSES = ("ok", "wrong", "not supported", "timed out", "crashed", "error")

FIELDS: list[tuple[str, pa.DataType, str]] = [
    ("run_id", pa.string(), "one per `scalelab bench` invocation (UTC start time)"),
    ("started_at", pa.timestamp("s", tz="UTC"), "when this row's work started"),
    ("git_commit", pa.string(), "the checkout's commit (with '+dirty' when it has changes)"),
    ("machine", pa.string(), "JSON: cores, memory, OS, Python, CPU model"),
    ("suite", pa.string(), "groupby, join, timeseries, cleaning, features or ml"),
    ("workload", pa.string(), "e.g. groupby.q3"),
    ("engine", pa.string(), "pandas, duckdb, polars, dask, spark or ray"),
    ("scale", pa.string(), "tiny, small, medium or large"),
    ("mode", pa.string(), "scan (from the Parquet files to pandas) or memory (db-benchmark's: tables held in "
                          "the engine, the answer kept in its own form); see bench.harness.MODES"),
    ("dataset", pa.string(), "the data set's name (its parameters, as db-benchmark names them)"),
    ("params", pa.string(), "JSON: the data set's parameters"),
    ("input_rows", pa.int64(), "rows of the tables the workload reads"),
    ("input_bytes", pa.int64(), "their uncompressed size in memory (Parquet metadata)"),
    ("status", pa.string(), "|".join(STATUSES)),
    ("detail", pa.string(), "why, when the status is not ok (the error, the declared reason)"),
    ("cores", pa.int64(), "the cores the engine was given (pandas: 1, by design)"),
    ("connect_s", pa.float64(), "connecting to the engine (non-zero on an engine's first workload only)"),
    ("load_s", pa.float64(), "making the engine's handles on the tables (reading for eager engines; in memory "
                             "mode holding them, once per data set, the same figure on each of its workloads)"),
    ("cold_s", pa.float64(), "the first run: compute and materialise the whole result"),
    ("warm_s", pa.list_(pa.float64()), "each further run, the same way"),
    ("warm_median_s", pa.float64(), "the median of warm_s (cold_s when there are no warm runs)"),
    ("floor_s", pa.float64(), "numpy summing input_bytes in memory: a memory-bandwidth floor"),
    ("rows", pa.int64(), "rows in the result"),
    ("checksum", pa.string(), "JSON: db-benchmark's checksum (row count, sums of numeric columns)"),
    ("checked", pa.string(), "what the answer was checked against"),
    ("peak_rss_mib", pa.float64(), "peak memory of the driver and the engine's cluster processes during the runs: "
     "the sum of each process's resident high-water mark (the kernel's VmHWM, reset before the runs)"),
    ("base_rss_mib", pa.float64(), "the same processes' memory just before the runs"),
    ("versions", pa.string(), "JSON: the engine's library versions"),
]

SCHEMA = pa.schema([pa.field(name, typ, metadata={"doc": doc}) for name, typ, doc in FIELDS])
COLUMNS = [name for name, _, _ in FIELDS]


def table(rows: list[dict]) -> pa.Table:
    """Rows as the fixed schema (a missing field is null; times may arrive as ISO text from a child)."""
    from datetime import datetime

    def fix(row: dict) -> dict:
        out = {c: row.get(c) for c in COLUMNS}
        if isinstance(out["started_at"], str):
            out["started_at"] = datetime.fromisoformat(out["started_at"])
        return out
    return pa.Table.from_pylist([fix(r) for r in rows], schema=SCHEMA)
