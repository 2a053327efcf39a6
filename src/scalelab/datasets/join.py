"""db-benchmark's J1 join tables: x (N rows) and small, medium and big right-hand tables.

Keys follow db-benchmark's design: for each key column the ids 1..1.1*k (k the
column's key count) are shuffled and split 0.9 common / 0.1 left-only / 0.1
right-only, so an inner join matches 90% of the key values and outer joins have
rows on both sides with no partner. Every key of a side appears at least once
("sample all"): with as many keys as rows (id3, and each right-hand table's own
keys) each side is a permutation of its keys. Tables, for N rows in x:

  x       N        id1 id2 id3 (int), id4 id5 id6 ('id<id1>'... strings), v1
  small   N/1e6    id1, id4, v2
  medium  N/1e3    id1 id2, id4 id5, v2
  big     N        id1 id2 id3, id4 id5 id6, v2

Named like db-benchmark: J1_<N>_NA_<nas>_<sort>. Differences, on purpose: small and
medium have at least 10 and 100 rows, so that `tiny` (1e4 rows) still joins; keys
are placed by seeded permutations evaluated block by block, never whole columns,
so that 1e8 rows generate in bounded memory.
With nas > 0, nas% of each key column's distinct values become NA in x (all their
rows), and nas% of v1.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from scalelab.datasets.base import (Generator, Permutation, Spec, Table, check_min_rows, check_no_extra,
                                    check_percent, check_sort, pretty_sci)
from scalelab.datasets.groupby import sort_table, with_nas

MIN_SMALL, MIN_MEDIUM = 10, 100
TWIN = {"id1": "id4", "id2": "id5", "id3": "id6"}
COLUMNS = {"x": ("id1", "id2", "id3"), "small": ("id1",), "medium": ("id1", "id2"), "big": ("id1", "id2", "id3")}


def sizes(n: int) -> dict[str, int]:
    return {"x": n, "small": max(MIN_SMALL, n // 10**6), "medium": max(MIN_MEDIUM, n // 10**3), "big": n}


class KeySpace:
    """One key column's ids, shuffled and split, as functions of position (no arrays).

    Positions [0, common) are keys both sides have, [common, k) x's own, [k, k + right)
    the right-hand side's own; `ids` maps a position to its id.
    """

    def __init__(self, k: int, seed: int, stream: int):
        self.k, self.right = k, k // 10
        self.common = k - self.right
        self.ids = Permutation(k + self.right, seed, stream)

    def side_keys(self, left: bool) -> int:
        return self.k if left else self.common + self.right

    def position(self, index: np.ndarray, left: bool) -> np.ndarray:
        """The index-th key of one side (x is the left side) as a position."""
        return index if left else np.where(index < self.common, index, index + self.k - self.common)


class Join(Generator):
    name = "join"
    description = "db-benchmark J1: x joined to small, medium and big tables on id1..id3"
    labels = ("id4", "id5", "id6")
    int_keys = ("id1", "id2", "id3")
    bytes_per_row = 2 * 30.0      # x and big, zstd Parquet
    memory_per_row = 0.0          # keys are placed block by block

    def spec(self, rows: int, nas: int = 0, sort: int = 0, **extra) -> Spec:
        check_no_extra(self.name, ", nas and sort", extra)
        check_min_rows(self.name, rows, MIN_MEDIUM)
        check_percent("nas", nas)
        check_sort(sort)
        return Spec(self.name, f"J1_{pretty_sci(rows)}_NA_{nas}_{sort}", {"N": rows, "nas": nas, "sort": sort})

    def tables(self, spec: Spec) -> list[Table]:
        size = sizes(spec.params["N"])
        spaces = {"id1": KeySpace(size["small"], spec.seed, 1), "id2": KeySpace(size["medium"], spec.seed, 2),
                  "id3": KeySpace(size["x"], spec.seed, 3)}
        return [Table(table, size[table], _maker(spec, table, size[table], spaces, index), index)
                for index, table in enumerate(COLUMNS, start=1)]

    def finish(self, spec: Spec, staging: Path, chunk_rows: int) -> None:
        if spec.params["sort"] == 1:
            for table, cols in COLUMNS.items():
                # The measure last, so that rows with NA keys still have one order.
                sort_table(staging / table, cols + ("v1" if table == "x" else "v2",))


def _maker(spec: Spec, table: str, rows: int, spaces: dict[str, KeySpace], index: int):
    left = table == "x"
    nas = spec.params["nas"] if left else 0
    measure = "v1" if left else "v2"
    # Per key column: where each side's designated "at least once" rows go, and which
    # of x's distinct keys are NA.
    placement = {c: Permutation(rows, spec.seed, 10 * index + i) for i, c in enumerate(COLUMNS[table])}
    na_order = {c: Permutation(spaces[c].k, spec.seed, 100 + i) for i, c in enumerate(COLUMNS[table])} if nas else {}

    def make(start: int, stop: int, rng: np.random.Generator) -> pa.Table:
        out, rows_here = {}, np.arange(start, stop, dtype=np.int64)
        for c in COLUMNS[table]:
            space = spaces[c]
            nkeys = space.side_keys(left)
            slot = placement[c](rows_here)
            # Rows whose slot is below the key count carry that key (so each key appears
            # at least once); the others draw one of the side's keys at random.
            index = np.where(slot < nkeys, slot, rng.integers(0, nkeys, len(rows_here)))
            pos = space.position(index, left)
            mask = na_order[c](pos) < space.k * nas // 100 if c in na_order else None
            out[c] = pa.array(space.ids(pos) + 1, pa.int64(), mask=mask)
        for c in COLUMNS[table]:
            out[TWIN[c]] = pc.binary_join_element_wise("id", pc.cast(out[c], pa.string()), "")
        out[measure] = with_nas(pa.array(np.round(rng.random(stop - start) * 100, 6)), rng, nas)
        return pa.table(out)

    return make
