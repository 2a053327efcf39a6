"""What every data set generator shares: naming, scales, seeded blocks, atomic writes, manifests.

Reproducible byte for byte, whatever the chunk size: rows are made in fixed blocks of
BLOCK_ROWS, each from its own generator seeded by (seed, table, block), and each
block is written as one Parquet row group. How many blocks are made per step (the
chunk) changes memory, never the bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

FORMAT_VERSION = 2             # bumped when a generator's bytes change for the same parameters
BLOCK_ROWS = 1 << 16           # rows per seeded block and per Parquet row group
BLOCKS_PER_FILE = 16           # about a million rows per Parquet file
SCALES = {"tiny": 10_000, "small": 1_000_000, "medium": 10_000_000, "large": 100_000_000}
DEFAULT_SEED = 108             # db-benchmark's seed


class DatasetError(ValueError):
    """Bad parameters, not enough room, or a data set that fails verification."""


def rows_for_scale(scale: str) -> int:
    try:
        return SCALES[scale]
    except KeyError:
        raise DatasetError(f"unknown scale {scale!r}; choose one of: "
                           + ", ".join(f"{k} ({pretty_sci(v)} rows)" for k, v in SCALES.items())) from None


def pretty_sci(n: int) -> str:
    """db-benchmark's names: 10_000_000 -> '1e7', 300_000 -> '3e5', 12345 -> '12345'."""
    digits = str(int(n))
    stripped = digits.rstrip("0")
    if len(stripped) == 1:
        return f"{stripped}e{len(digits) - 1}"
    return digits


def rng_for(seed: int, table: int, block: int) -> np.random.Generator:
    return np.random.default_rng([seed, table, block])


class Permutation:
    """A seeded pseudo-random bijection of [0, size), evaluated for any slice of positions.

    What lets a generator place "every key exactly once" block by block, in constant
    memory: a 4-round Feistel network over the smallest even power of two that covers
    `size`, with cycle walking back into range (Black and Rogaway's construction).
    """

    ROUNDS = 4

    def __init__(self, size: int, seed: int, stream: int):
        if size < 1:
            raise DatasetError("a permutation needs at least one element")
        self.size = size
        self.half = max(1, (int(size - 1).bit_length() + 1) // 2)
        self.mask = np.uint64((1 << self.half) - 1)
        keys = np.random.default_rng([seed, stream, 0x5EED]).integers(0, 2**63, self.ROUNDS, dtype=np.uint64)
        self.keys = [np.uint64(k) for k in keys]

    def _round(self, right: np.ndarray, key: np.uint64) -> np.ndarray:
        x = (right ^ key) * np.uint64(0x9E3779B97F4A7C15)
        x ^= x >> np.uint64(29)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(32)
        return x & self.mask

    def _encrypt(self, x: np.ndarray) -> np.ndarray:
        shift = np.uint64(self.half)
        left, right = x >> shift, x & self.mask
        for key in self.keys:
            left, right = right, left ^ self._round(right, key)
        return (left << shift) | right

    def __call__(self, positions: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            out = self._encrypt(np.asarray(positions, dtype=np.uint64))
            # Cycle walking: a value outside [0, size) is encrypted again until it lands
            # inside; this keeps the map a bijection on [0, size).
            outside = out >= self.size
            while outside.any():
                out[outside] = self._encrypt(out[outside])
                outside = out >= self.size
        return out.astype(np.int64)


@dataclass(frozen=True)
class Spec:
    """Everything that decides a data set's bytes, and the folder name derived from it."""
    generator: str
    name: str
    params: dict
    seed: int = DEFAULT_SEED

    def key(self) -> dict:
        return {"generator": self.generator, "name": self.name, "params": self.params, "seed": self.seed,
                "format_version": FORMAT_VERSION, "block_rows": BLOCK_ROWS}


@dataclass
class Table:
    """One table of a data set: its row count and how to make rows [start, stop)."""
    name: str
    rows: int
    make: Callable[[int, int, np.random.Generator], pa.Table]
    index: int = 0                       # part of each block's seed
    produces: int | None = None          # rows written, when make() adds rows (duplicates)

    @property
    def rows_out(self) -> int:
        return self.rows if self.produces is None else self.produces


class Generator(ABC):
    name: str
    description: str
    bytes_per_row: float                 # on disk, for the estimate before generating
    memory_per_row: float = 0.0          # whole-table state some generators keep (join keys)
    # String columns of repeated labels, the keys questions group and join on (db-benchmark's id
    # columns): what an engine may hold as categoricals, codes instead of strings, in memory.
    labels: tuple[str, ...] = ()
    # Integer key columns, grouped or joined on and never summed, whose values the generator keeps
    # far below 2**31: what an engine may hold as 32-bit integers (db-benchmark's Polars scripts read
    # them so). Never a value column: Polars sums an Int32 column in 32 bits, and wraps.
    int_keys: tuple[str, ...] = ()

    @abstractmethod
    def spec(self, rows: int, **params) -> Spec: ...

    @abstractmethod
    def tables(self, spec: Spec) -> list[Table]: ...

    def write(self, spec: Spec, staging: Path, chunk_rows: int, progress: Progress) -> None:
        """Write every table's Parquet files under `staging/<table>/`. Default: the seeded blocks
        of `tables()`; a generator that runs an outside tool (TPC-H's) writes its own."""
        tables = self.tables(spec)
        progress.on_start(sum(t.rows_out for t in tables))
        for table in tables:
            write_table(spec, table, staging, chunk_rows, progress)

    def finish(self, spec: Spec, staging: Path, chunk_rows: int) -> None:
        """After all tables are written (sorting, for instance). Default: nothing."""

    def parse_params(self, raw: dict[str, str]) -> dict:
        return {k: whole(k, v) for k, v in raw.items()}


# -- parameter checks shared by the generators' spec() ------------------------------
def check_no_extra(generator: str, takes: str, extra: dict) -> None:
    if extra:
        raise DatasetError(f"{generator} takes N (from the scale){takes}; not {sorted(extra)}")


def check_min_rows(generator: str, rows: int, minimum: int = 1) -> None:
    if rows < minimum:
        raise DatasetError(f"{generator} needs at least {'one row' if minimum == 1 else f'{minimum} rows'}")


def check_percent(name: str, value: int) -> None:
    if not 0 <= value <= 100:
        raise DatasetError(f"{name}={value} is a percentage: 0 to 100")


def check_sort(sort: int) -> None:
    if sort not in (0, 1):
        raise DatasetError(f"sort={sort} must be 0 (random order) or 1 (sorted)")


def whole(key: str, value) -> int:
    """A generator parameter as an int: every parameter names a data set, so each must be a whole number.

    From the command line it arrives as text ("100", "1e2"); from Python as a number. Anything else
    (a list, None, "../1", 1.5) is refused here, before it can reach a folder name or a comparison.
    """
    number = value
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    if isinstance(number, bool) or not isinstance(number, (int, float)) or number != number \
            or number in (float("inf"), float("-inf")) or int(number) != number:
        raise DatasetError(f"parameter {key}={value!r} must be a whole number")
    return int(number)


# -- writing -----------------------------------------------------------------------
@dataclass
class Progress:
    on_start: Callable[[int], None] = lambda total_rows: None        # only when rows will be made
    on_rows: Callable[[int, int], None] = lambda rows, nbytes: None


def block_ranges(total: int, start_block: int = 0, stop_block: int | None = None) -> Iterator[tuple[int, int, int]]:
    nblocks = -(-total // BLOCK_ROWS)
    for b in range(start_block, nblocks if stop_block is None else min(stop_block, nblocks)):
        yield b, b * BLOCK_ROWS, min(total, (b + 1) * BLOCK_ROWS)


def write_table(spec: Spec, table: Table, out_dir: Path, chunk_rows: int, progress: Progress) -> None:
    """Write one table as Parquet files of BLOCKS_PER_FILE blocks each."""
    if chunk_rows < BLOCK_ROWS or chunk_rows % BLOCK_ROWS:
        raise DatasetError(f"chunk_rows must be a multiple of {BLOCK_ROWS}")
    per_chunk = chunk_rows // BLOCK_ROWS
    nblocks = max(1, -(-table.rows // BLOCK_ROWS))
    folder = out_dir / table.name
    folder.mkdir(parents=True, exist_ok=True)
    for file_no, first in enumerate(range(0, nblocks, BLOCKS_PER_FILE)):
        last = min(nblocks, first + BLOCKS_PER_FILE)
        path = folder / f"part-{file_no:05d}.parquet"
        writer = None
        for chunk_start in range(first, last, per_chunk):
            blocks = [table.make(s, e, rng_for(spec.seed, table.index, b))
                      for b, s, e in block_ranges(table.rows, chunk_start, min(last, chunk_start + per_chunk))]
            if not blocks:  # a table of zero rows still gets a file with its schema
                blocks = [table.make(0, 0, rng_for(spec.seed, table.index, 0))]
            if writer is None:
                writer = pq.ParquetWriter(path, blocks[0].schema, compression="zstd")
            for block in blocks:
                # One row group per block, whatever its length (some generators add rows),
                # so that the chunk size never changes the bytes.
                writer.write_table(block, row_group_size=max(1, block.num_rows))
                progress.on_rows(block.num_rows, block.nbytes)
        writer.close()


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def schema_of(path: Path) -> list[list[str]]:
    return [[f.name, str(f.type)] for f in pq.read_schema(path)]


def describe_tables(out_dir: Path, files_by_table: dict[str, list[dict]]) -> dict:
    def parquet(files):
        return [f for f in files if f["path"].endswith(".parquet")]

    return {name: {"rows": sum(f["rows"] for f in parquet(files)), "schema": schema_of(out_dir / files[0]["path"]),
                   "files": files}
            for name, files in files_by_table.items()}


def write_manifest(out_dir: Path, spec: Spec, tables: dict, seconds: float, formats: list[str]) -> dict:
    import pyarrow

    from scalelab import __version__

    manifest = {**spec.key(), "formats": formats, "tables": tables, "seconds": round(seconds, 3),
                "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "scalelab_version": __version__, "pyarrow_version": pyarrow.__version__}
    # The manifest goes last: a folder without one is never taken for a complete data set.
    tmp = out_dir / "manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    os.replace(tmp, out_dir / "manifest.json")
    return manifest


def replace_dir(staging: Path, final: Path) -> None:
    """Swap a finished staging folder into place (the old one, if any, is removed first)."""
    if final.exists():
        trash = final.with_name(final.name + f".old-{os.getpid()}")
        os.replace(final, trash)
        shutil.rmtree(trash, ignore_errors=True)
    os.replace(staging, final)


@dataclass
class Dataset:
    path: Path
    manifest: dict = field(repr=False)
    generated: bool = False          # made by this call, rather than found complete

    @property
    def name(self) -> str:
        return self.manifest["name"]

    def table_path(self, table: str | None = None) -> Path:
        """The folder of one table's Parquet files (the only table when there is one)."""
        tables = self.manifest["tables"]
        if table is None:
            if len(tables) != 1:
                raise DatasetError(f"{self.name} has tables {sorted(tables)}: name one")
            table = next(iter(tables))
        if table not in tables:
            raise DatasetError(f"{self.name} has no table {table!r}; it has {sorted(tables)}")
        return self.path / table

    def csv_path(self, table: str | None = None) -> Path:
        """The folder of one table's CSV files (generate with csv=True to have them)."""
        name = self.table_path(table).name
        if "csv" not in self.manifest.get("formats", ()):
            raise DatasetError(f"{self.name} was generated without CSV: generate it again with csv=True "
                               "(`scalelab data generate ... --csv`)")
        return self.path / "csv" / name

    def rows(self, table: str | None = None) -> int:
        return self.manifest["tables"][self.table_path(table).name]["rows"]
