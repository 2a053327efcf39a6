"""TPC-H's eight tables, made by tpchgen-cli (installed from PyPI with the lock; nothing is downloaded).

tpchgen-cli is the Rust port of TPC's dbgen and writes the same rows; scalelab runs it
into a hidden folder of the staging directory, then rewrites each file the way the
other data sets are laid out (`<table>/part-NNNNN.parquet`, zstd) with two type
changes every engine here reads the same way:

  * DECIMAL(15,2) money and quantities become DOUBLE. pandas would hold decimals as
    Python objects, Ray's batches too; TPC-H's answers are compared to the cent
    (TPC-H 2.1.3.5's rounding), far coarser than a double's round-off. polars-benchmark
    and Coiled's TPC-H do the same.
  * string_view columns become plain strings (Spark and older readers know no views).

Dates stay DATE. The scales map to TPC-H scale factors, so that lineitem has about 0.6
times the rows of the other data sets at the same scale:

  tiny SF 0.01 (tests), small SF 0.1, medium SF 1, large SF 10 (opt-in).

Named TPCH_SF<sf>; the tool's version is part of the parameters, so a new tpchgen
makes a new data set rather than reusing bytes it did not write.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from scalelab.datasets.base import SCALES, DatasetError, Generator, Progress, Spec, Table, check_no_extra

SCALE_FACTORS = {SCALES["tiny"]: 0.01, SCALES["small"]: 0.1, SCALES["medium"]: 1, SCALES["large"]: 10}
TABLES = ("region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem")
# Rows per scale factor 1 (TPC-H 4.2.5; lineitem varies around 6,001,215 and is the estimate).
ROWS_PER_SF = {"supplier": 10_000, "customer": 150_000, "part": 200_000, "partsupp": 800_000,
               "orders": 1_500_000, "lineitem": 6_001_215}
FIXED_ROWS = {"region": 5, "nation": 25}
TOOL = "tpchgen-cli"
HIDDEN = ".tpchgen"


def scale_factor(rows: int) -> float:
    try:
        return SCALE_FACTORS[rows]
    except KeyError:
        names = {v: k for k, v in SCALES.items()}
        raise DatasetError("tpch comes at TPC-H's scale factors, by scale: " + ", ".join(
            f"{names[r]} (SF {sf:g})" for r, sf in SCALE_FACTORS.items()) + f"; not {rows} rows") from None


def tool_version() -> str:
    try:
        return metadata.version(TOOL)
    except metadata.PackageNotFoundError:
        raise DatasetError(f"{TOOL} is not installed in this environment: `make setup` installs it "
                           "(it is pinned in requirements.lock)") from None


def tool_path() -> Path:
    """The venv's own tpchgen-cli (beside this Python), else one on PATH."""
    here = Path(sys.executable).parent / TOOL
    found = here if here.exists() else shutil.which(TOOL)
    if not found:
        raise DatasetError(f"{TOOL} is not on PATH nor beside {sys.executable}: `make setup` installs it")
    return Path(found)


def expected_rows(sf: float) -> dict[str, int]:
    return {**FIXED_ROWS, **{t: int(n * sf) for t, n in ROWS_PER_SF.items()}}


class TPCH(Generator):
    name = "tpch"
    description = "TPC-H's eight tables (tpchgen-cli, dbgen's rows), money as DOUBLE"
    bytes_per_row = 36.0          # zstd Parquet per row of the scale (SF 1 is about 330 MB for 10M)
    memory_per_row = 0.0          # rewritten a row group at a time

    def spec(self, rows: int, **extra) -> Spec:
        check_no_extra(self.name, " only", extra)
        sf = scale_factor(rows)
        return Spec(self.name, f"TPCH_SF{sf:g}", {"N": rows, "sf": sf, "tool": f"{TOOL} {tool_version()}"})

    def tables(self, spec: Spec) -> list[Table]:
        raise DatasetError("tpch's tables are written by tpchgen-cli, not in seeded blocks")

    def write(self, spec: Spec, staging: Path, chunk_rows: int, progress: Progress) -> None:
        sf = spec.params["sf"]
        progress.on_start(sum(expected_rows(sf).values()))
        raw = staging / HIDDEN
        parts = max(1, math.ceil(sf))          # SF 10: ten files a table, each rewritten alone
        command = [str(tool_path()), "parquet", "-s", f"{sf:g}", "-o", str(raw), "--parts", str(parts)]
        done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "RUST_BACKTRACE": "0"})
        if done.returncode != 0:
            raise DatasetError(f"{TOOL} failed ({' '.join(command)}):\n{done.stderr.strip()[-2000:]}")
        for table in TABLES:
            sources = sorted((raw / table).glob("*.parquet"), key=_part_number) if (raw / table).is_dir() \
                else [raw / f"{table}.parquet"]
            missing = [s for s in sources if not s.exists()]
            if missing or not sources:
                raise DatasetError(f"{TOOL} wrote no {table} table under {raw}")
            out = staging / table
            out.mkdir()
            for number, source in enumerate(sources):
                rewrite(source, out / f"part-{number:05d}.parquet", progress)
                source.unlink()                # the raw copy goes as soon as it is rewritten (disk at SF 10)
        shutil.rmtree(raw, ignore_errors=True)


def _part_number(path: Path) -> int:
    digits = path.stem.rsplit(".", 1)[-1]
    return int(digits) if digits.isdigit() else 0


def portable_type(t: pa.DataType) -> pa.DataType:
    if pa.types.is_decimal(t):
        return pa.float64()
    if t == pa.string_view() or pa.types.is_large_string(t):
        return pa.string()
    return t


def rewrite(source: Path, target: Path, progress: Progress) -> None:
    """One tpchgen file as a zstd Parquet file of portable types, a row group at a time."""
    reader = pq.ParquetFile(source)
    schema = pa.schema([pa.field(f.name, portable_type(f.type), f.nullable) for f in reader.schema_arrow])
    with pq.ParquetWriter(target, schema, compression="zstd") as writer:
        for i in range(reader.num_row_groups):
            group = reader.read_row_group(i).cast(schema)
            writer.write_table(group, row_group_size=max(1, group.num_rows))
            progress.on_rows(group.num_rows, group.nbytes)
