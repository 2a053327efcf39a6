"""Deterministic data sets for the labs, generated on demand (nothing is downloaded).

    from scalelab import datasets
    ds = datasets.generate("groupby", scale="tiny")        # or rows=..., K=..., nas=..., sort=...
    ds.path, ds.manifest["tables"]["x"]["rows"]
    pandas.read_parquet(ds.table_path())

Each data set lives in `datasets/<generator>/<name>/` with a `manifest.json`
(generator, parameters, seed, schema, row counts, files with sizes and sha256).
A data set whose manifest matches is reused; a partial or corrupt one is rebuilt.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import psutil

from scalelab.config import Config
from scalelab.datasets.base import (BLOCK_ROWS, SCALES, Dataset, DatasetError, Generator, Progress, Spec,
                                    describe_tables, replace_dir, rows_for_scale, sha256, whole, write_manifest)
from scalelab.datasets.events import Events
from scalelab.datasets.groupby import GroupBy
from scalelab.datasets.join import Join
from scalelab.datasets.tabular import Tabular
from scalelab.datasets.tpch import TPCH
from scalelab.datasets.trips import Trips

GENERATORS: dict[str, Generator] = {g.name: g for g in (GroupBy(), Join(), Trips(), Events(), Tabular(), TPCH())}
DEFAULT_CHUNK_ROWS = 16 * BLOCK_ROWS
CSV_DIR = "csv"
CSV_RATIO = 2.5               # CSV is about this many times the size of zstd Parquet

__all__ = ["GENERATORS", "SCALES", "Dataset", "DatasetError", "generate", "find", "list_datasets", "verify",
           "data_root"]


def data_root(cfg: Config | None = None) -> Path:
    return (cfg or Config.load()).data_dir


def generator(name: str) -> Generator:
    try:
        return GENERATORS[name]
    except KeyError:
        raise DatasetError(f"unknown data set {name!r}; choose one of: {', '.join(GENERATORS)}") from None


def resolve(name: str, scale: str | None = None, rows: int | None = None, **params) -> Spec:
    if (scale is None) == (rows is None):
        raise DatasetError("give a scale (" + ", ".join(SCALES) + ") or a row count, not both")
    params = {key: whole(key, value) for key, value in params.items()}
    return generator(name).spec(rows if rows is not None else rows_for_scale(scale), **params)


def find(spec: Spec, root: Path | None = None, csv: bool = False) -> Dataset | None:
    """The data set for this spec if it is there, complete and intact (sizes and sha256)
    and, when `csv` is asked for, with its CSV copy."""
    folder = (root or data_root()) / spec.generator / spec.name
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except (FileNotFoundError, ValueError):
        return None
    if {k: manifest.get(k) for k in spec.key()} != spec.key():
        return None
    if csv and "csv" not in manifest.get("formats", ()):
        return None
    found = Dataset(folder, manifest)
    return None if verify(found) else found


def check_resources(gen: Generator, spec: Spec, root: Path, chunk_rows: int, csv: bool = False) -> None:
    rows = spec.params["N"]
    need_disk = int(rows * gen.bytes_per_row * (1.2 + (CSV_RATIO if csv else 0)))
    need_disk += rows * 40 if spec.params.get("sort") else 0
    free = shutil.disk_usage(root if root.exists() else root.parent).free
    if need_disk > free:
        raise DatasetError(f"{spec.name} needs about {need_disk / 2**30:.1f} GiB of disk; {free / 2**30:.1f} GiB "
                           f"is free under {root}. Free some space or pick a smaller scale.")
    need_mem = int(rows * gen.memory_per_row + chunk_rows * 200 + 300 * 2**20)
    avail = psutil.virtual_memory().available
    if need_mem > avail:
        raise DatasetError(f"{spec.name} needs about {need_mem / 2**30:.1f} GiB of memory; {avail / 2**30:.1f} GiB "
                           "is available. Pick a smaller scale.")


def generate(name: str, scale: str | None = None, rows: int | None = None, *, force: bool = False,
             chunk_rows: int = DEFAULT_CHUNK_ROWS, root: Path | None = None, progress: Progress | None = None,
             csv: bool = False, **params) -> Dataset:
    """Make the data set (or reuse it when its manifest matches) and return it.

    Parquet always; with `csv`, also a CSV copy of every table under `csv/<table>/`.
    """
    spec = resolve(name, scale, rows, **params)
    gen = generator(name)
    root = root or data_root()
    if not force and (found := find(spec, root, csv)) is not None:
        return found
    check_resources(gen, spec, root, chunk_rows, csv)
    final = root / spec.generator / spec.name
    # Written beside the final folder and swapped in whole: a killed run leaves only
    # a `.partial-*` folder, which is never mistaken for a data set (and is cleared here).
    final.parent.mkdir(parents=True, exist_ok=True)
    for stale in final.parent.glob(f"{spec.name}.partial-*"):
        shutil.rmtree(stale, ignore_errors=True)
    staging = final.with_name(f"{spec.name}.partial-{int(time.time() * 1e6)}")
    staging.mkdir()
    t0 = time.perf_counter()
    progress = progress or Progress()
    try:
        gen.write(spec, staging, chunk_rows, progress)
        gen.finish(spec, staging, chunk_rows)
        if csv:
            write_csv(staging)
        manifest = write_manifest(staging, spec, describe_tables(staging, _scan(staging)), time.perf_counter() - t0,
                                  formats=["parquet", "csv"] if csv else ["parquet"])
        replace_dir(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Dataset(final, manifest, generated=True)


def _table_dirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name != CSV_DIR)


def write_csv(folder: Path) -> None:
    """A CSV copy of each Parquet file, one row group at a time (memory stays bounded)."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    for table_dir in _table_dirs(folder):
        out_dir = folder / CSV_DIR / table_dir.name
        out_dir.mkdir(parents=True)
        for part in sorted(table_dir.glob("*.parquet")):
            source = pq.ParquetFile(part)
            with pacsv.CSVWriter(out_dir / part.with_suffix(".csv").name, source.schema_arrow) as writer:
                for i in range(source.num_row_groups):
                    writer.write_table(source.read_row_group(i))


def _describe(folder: Path, files: list[Path], rows_of) -> list[dict]:
    return [{"path": str(f.relative_to(folder)), "rows": rows_of(f), "bytes": f.stat().st_size, "sha256": sha256(f)}
            for f in files]


def _scan(folder: Path) -> dict[str, list[dict]]:
    import pyarrow.parquet as pq

    out = {}
    for table_dir in _table_dirs(folder):
        parts = sorted(table_dir.glob("*.parquet"))
        rows = {p.stem: pq.ParquetFile(p).metadata.num_rows for p in parts}
        out[table_dir.name] = _describe(folder, parts, lambda f, rows=rows: rows[f.stem])
        csv_dir = folder / CSV_DIR / table_dir.name
        if csv_dir.is_dir():
            out[table_dir.name] += _describe(folder, sorted(csv_dir.glob("*.csv")), lambda f, rows=rows: rows[f.stem])
    for leftover in folder.glob(".*"):
        shutil.rmtree(leftover, ignore_errors=True)
    return out


def list_datasets(root: Path | None = None) -> list[Dataset]:
    root = root or data_root()
    found = []
    for manifest in sorted(root.glob("*/*/manifest.json")):
        try:
            found.append(Dataset(manifest.parent, json.loads(manifest.read_text())))
        except ValueError:
            continue
    return found


def verify(ds: Dataset) -> list[str]:
    """Every problem with a data set's files (missing, wrong size, wrong hash); empty if none."""
    problems = []
    for table in ds.manifest["tables"].values():
        for f in table["files"]:
            p = ds.path / f["path"]
            if not p.exists():
                problems.append(f"{f['path']}: missing")
            elif p.stat().st_size != f["bytes"]:
                problems.append(f"{f['path']}: {p.stat().st_size} bytes, manifest says {f['bytes']}")
            elif sha256(p) != f["sha256"]:
                problems.append(f"{f['path']}: sha256 differs from the manifest")
    return problems
