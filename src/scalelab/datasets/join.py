"""db-benchmark's J1 join tables: x (N rows) and small, medium and big right-hand tables.

Keys follow db-benchmark's design: for each key column a permutation of 1.1*n ids is
split 0.9 common / 0.1 left-only / 0.1 right-only, so an inner join matches 90% of
the key values and outer joins have rows on both sides with no partner. Every key
of a side appears at least once ("sample all"). Tables, for N rows in x:

  x       N        id1 id2 id3 (int), id4 id5 id6 ('id<id1>'... strings), v1
  small   N/1e6    id1, id4, v2
  medium  N/1e3    id1 id2, id4 id5, v2
  big     N        id1 id2 id3, id4 id5 id6, v2

Named like db-benchmark: J1_<N>_NA_<nas>_<sort>. Difference, on purpose: small and
medium have at least 10 and 100 rows, so that `tiny` (1e4 rows) still joins.
With nas > 0, nas% of each key column's distinct values become NA in x (all their
rows), and nas% of v1.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .base import (DatasetError, Generator, Spec, Table, check_min_rows, check_no_extra, check_percent, check_sort,
                   pretty_sci, rng_for)
from .groupby import with_nas

MIN_SMALL, MIN_MEDIUM = 10, 100


def sizes(n: int) -> dict[str, int]:
    return {"x": n, "small": max(MIN_SMALL, n // 10**6), "medium": max(MIN_MEDIUM, n // 10**3), "big": n}


def _split_keys(k: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    ids = rng.permutation(int(k * 1.1)).astype(np.int64) + 1
    common, left = int(k * 0.9), k
    return {"x": ids[:common], "l": ids[common:left], "r": ids[left:]}


def _sample_all(keys: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """`size` draws in which every key appears at least once, shuffled."""
    if len(keys) > size:
        raise DatasetError("more keys than rows")
    out = np.concatenate([keys, rng.choice(keys, size - len(keys))])
    rng.shuffle(out)
    return out


class Join(Generator):
    name = "join"
    description = "db-benchmark J1: x joined to small, medium and big tables on id1..id3"
    bytes_per_row = 2 * 30.0      # x and big, zstd Parquet
    memory_per_row = 40.0         # whole key columns of x and big are drawn at once

    def spec(self, rows: int, nas: int = 0, sort: int = 0, **extra) -> Spec:
        check_no_extra(self.name, ", nas and sort", extra)
        check_min_rows(self.name, rows, MIN_MEDIUM)
        check_percent("nas", nas)
        check_sort(sort)
        return Spec(self.name, f"J1_{pretty_sci(rows)}_NA_{nas}_{sort}", {"N": rows, "nas": nas, "sort": sort})

    def tables(self, spec: Spec) -> list[Table]:
        n, nas, sort = spec.params["N"], spec.params["nas"], spec.params["sort"]
        size = sizes(n)
        # Whole key columns, drawn once from their own seeds (the part of this
        # generator that is not block-wise: "every key at least once" needs the whole column).
        rng = rng_for(spec.seed, 99, 0)
        keys = {"id1": _split_keys(size["small"], rng), "id2": _split_keys(size["medium"], rng),
                "id3": _split_keys(n, rng)}
        cols_of = {"x": ("id1", "id2", "id3"), "small": ("id1",), "medium": ("id1", "id2"),
                   "big": ("id1", "id2", "id3")}
        tables = []
        for index, (table, cols) in enumerate(cols_of.items(), start=1):
            side = ("x", "l") if table == "x" else ("x", "r")
            draw_rng = rng_for(spec.seed, 100 + index, 0)
            columns = {c: _sample_all(np.concatenate([keys[c][s] for s in side]), size[table], draw_rng)
                       for c in cols}
            if sort:
                order = np.lexsort([columns[c] for c in reversed(cols)])
                columns = {c: v[order] for c, v in columns.items()}
            na_keys = {}
            if table == "x" and nas:
                for c in cols:
                    distinct = np.concatenate([keys[c]["x"], keys[c]["l"]])
                    na_keys[c] = draw_rng.choice(distinct, int(len(distinct) * nas / 100), replace=False)
            tables.append(Table(table, size[table], _maker(columns, na_keys, "v1" if table == "x" else "v2",
                                                           nas if table == "x" else 0), index))
        return tables


def _maker(columns: dict[str, np.ndarray], na_keys: dict[str, np.ndarray], measure: str, nas: int):
    twin = {"id1": "id4", "id2": "id5", "id3": "id6"}

    def make(start: int, stop: int, rng: np.random.Generator) -> pa.Table:
        out = {}
        ints = {}
        for c, values in columns.items():
            part = values[start:stop]
            mask = np.isin(part, na_keys[c]) if c in na_keys else None
            ints[c] = pa.array(part, pa.int64(), mask=mask)
        out.update(ints)
        for c, arr in ints.items():
            out[twin[c]] = pc.binary_join_element_wise("id", pc.cast(arr, pa.string()), "")
        out[measure] = with_nas(pa.array(np.round(rng.random(stop - start) * 100, 6)), rng, nas)
        return pa.table(out)

    return make
