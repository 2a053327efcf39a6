"""db-benchmark's G1 groupby table: N rows, K groups, a share of NAs, sorted or not.

Columns, as db-benchmark defines them:
  id1, id2  string 'id001'..'idK'           (K large groups)
  id3       string 'id0000000001'..        (N/K small groups)
  id4, id5  int 1..K                        (K large groups)
  id6       int 1..N/K                      (N/K small groups)
  v1, v2    int 1..5
  v3        float in [0, 100), 4 decimals
Named like db-benchmark's files: G1_<N>_<K>_<nas>_<sort>, e.g. G1_1e7_1e2_0_0.

Differences, on purpose: each value is NA independently with probability nas/100
(db-benchmark blanks exactly N*nas/100 rows per column, which needs the whole
table in memory); sorted data is sorted by id1..id6 and then v1..v3 so that the
order, and so the bytes, are fully determined.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from scalelab.datasets.base import (DatasetError, Generator, Spec, Table, check_min_rows, check_no_extra,
                                    check_percent, check_sort, pretty_sci)

SORT_KEYS = ("id1", "id2", "id3", "id4", "id5", "id6", "v1", "v2", "v3")


def _labels(width: int, count: int) -> pa.Array:
    return pa.array([f"id{i:0{width}d}" for i in range(1, count + 1)], pa.string())


def with_nas(arr: pa.Array, rng: np.random.Generator, nas: int) -> pa.Array:
    """Each value becomes NA with probability nas/100 (no draw at all when nas is 0)."""
    if nas == 0:
        return arr
    mask = pa.array(rng.random(len(arr)) < nas / 100)
    return pc.if_else(mask, pa.scalar(None, arr.type), arr)


class GroupBy(Generator):
    name = "groupby"
    description = "db-benchmark G1: id1..id6 group keys, v1..v3 measures"
    labels = ("id1", "id2", "id3")
    int_keys = ("id4", "id5", "id6")
    bytes_per_row = 28.0          # zstd Parquet, measured at 1e6 rows
    memory_per_row = 0.0

    def spec(self, rows: int, K: int = 100, nas: int = 0, sort: int = 0, **extra) -> Spec:
        check_no_extra(self.name, ", K, nas and sort", extra)
        check_min_rows(self.name, rows)
        if not 1 <= K <= rows:
            raise DatasetError(f"K={K} must be between 1 and the row count ({rows})")
        check_percent("nas", nas)
        check_sort(sort)
        name = f"G1_{pretty_sci(rows)}_{pretty_sci(K)}_{nas}_{sort}"
        return Spec(self.name, name, {"N": rows, "K": K, "nas": nas, "sort": sort})

    def tables(self, spec: Spec) -> list[Table]:
        n, k, nas = spec.params["N"], spec.params["K"], spec.params["nas"]
        small = max(1, n // k)
        id_k, id_small = _labels(3, k), _labels(10, small)

        def make(start: int, stop: int, rng: np.random.Generator) -> pa.Table:
            size = stop - start
            # One draw per column, in a fixed order, so every block is reproducible.
            draws = {
                "id1": rng.integers(0, k, size), "id2": rng.integers(0, k, size),
                "id3": rng.integers(0, small, size),
                "id4": rng.integers(1, k + 1, size), "id5": rng.integers(1, k + 1, size),
                "id6": rng.integers(1, small + 1, size),
                "v1": rng.integers(1, 6, size), "v2": rng.integers(1, 6, size),
                "v3": np.round(rng.random(size) * 100, 4),
            }
            arrays = {
                "id1": id_k.take(pa.array(draws["id1"])), "id2": id_k.take(pa.array(draws["id2"])),
                "id3": id_small.take(pa.array(draws["id3"])),
                **{c: pa.array(draws[c], pa.int32()) for c in ("id4", "id5", "id6", "v1", "v2")},
                "v3": pa.array(draws["v3"], pa.float64()),
            }
            return pa.table({c: with_nas(a, rng, nas) for c, a in arrays.items()})

        return [Table("x", n, make)]

    def finish(self, spec: Spec, staging: Path, chunk_rows: int) -> None:
        if spec.params["sort"] == 1:
            sort_table(staging / "x", SORT_KEYS)


def sort_table(folder: Path, keys: tuple[str, ...]) -> None:
    """Sort a table's Parquet files with DuckDB, which spills to disk past its memory limit."""
    import duckdb

    from scalelab.datasets.base import BLOCK_ROWS

    out = folder.with_name(folder.name + ".sorted")
    out.mkdir()
    con = duckdb.connect()
    # One thread: the output order and row groups must not depend on scheduling.
    con.execute(f"SET threads=1; SET memory_limit='1GB'; SET temp_directory='{folder.parent / '.spill'}'; "
                "SET preserve_insertion_order=true")
    order = ", ".join(f"{k} NULLS FIRST" for k in keys)
    con.execute(f"COPY (SELECT * FROM read_parquet('{folder}/*.parquet') ORDER BY {order}) "
                f"TO '{out}/part-00000.parquet' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {BLOCK_ROWS})")
    con.close()
    for f in folder.glob("*.parquet"):
        f.unlink()
    (out / "part-00000.parquet").rename(folder / "part-00000.parquet")
    out.rmdir()
