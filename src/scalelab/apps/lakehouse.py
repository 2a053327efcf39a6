"""Lakehouse tables on local disk for lab 13: Delta Lake (delta-rs) and Apache Iceberg (pyiceberg).

A table is Parquet data files plus a log of commits that says which files make up each version:
Delta keeps JSON commits in `_delta_log/`, Iceberg keeps metadata, manifest lists and manifests,
found through a catalog (here SQLite, a file beside the warehouse). Every engine that reads the same
version reads the same files, which is what this module hands out.

Spark reads a version through its data files here, not through a connector: Spark 4.3 (the lab's) is
newer than every Delta and Iceberg connector on Maven Central on 2026-11-26 (delta-spark_4.2 4.4.0 fails
on it with NoSuchMethodError; iceberg-spark-runtime stops at 4.2). The table library plans the
version; Spark scans exactly its files. That is exact as long as the version has no delete files
(Iceberg merge-on-read deletes, Delta deletion vectors), which `*_files` checks.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from scalelab.config import Config

SPARK_CONNECTOR_NOTE = ("Spark 4.3 has no Delta or Iceberg connector on Maven Central yet (delta-spark_4.2 4.4.0 "
                        "fails on it with NoSuchMethodError; iceberg-spark-runtime stops at Spark 4.2): Spark scans "
                        "the data files the table library plans for a version.")


class LakehouseError(RuntimeError):
    pass


def root(cfg: Config | None = None) -> Path:
    return (cfg or Config.load()).data_dir / "lakehouse"


def reset(cfg: Config | None = None) -> Path:
    """Start the lab's tables from nothing (a rerun of the notebook makes the same versions)."""
    folder = root(cfg)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def delta_path(name: str, cfg: Config | None = None) -> str:
    return str(root(cfg) / "delta" / name)


def iceberg_catalog(cfg: Config | None = None, namespace: str = "lab"):
    """A SQL catalog in SQLite, with its warehouse beside it: Iceberg on a laptop, no server."""
    from pyiceberg.catalog.sql import SqlCatalog

    # Polars plans Iceberg scans with an optional plugin, else with pyiceberg after a warning per scan.
    os.environ.setdefault("POLARS_ICEBERG_PLANNER", "pyiceberg")
    folder = root(cfg) / "iceberg"
    (folder / "warehouse").mkdir(parents=True, exist_ok=True)
    catalog = SqlCatalog("lab", uri=f"sqlite:///{folder / 'catalog.db'}", warehouse=f"file://{folder / 'warehouse'}")
    catalog.create_namespace_if_not_exists(namespace)
    return catalog


def delta_files(path: str, version: int | None = None) -> list[str]:
    """The data files of one version of a Delta table (the latest when `version` is None)."""
    from deltalake import DeltaTable

    table = DeltaTable(path) if version is None else DeltaTable(path, version=version)
    if table.protocol().min_reader_version >= 3 and "deletionVectors" in (table.protocol().reader_features or []):
        raise LakehouseError(f"{path} uses deletion vectors: its files alone are not the version's rows")
    return table.file_uris()


def iceberg_files(table, snapshot_id: int | None = None) -> list[str]:
    """The data files of one snapshot of an Iceberg table (the current one when None)."""
    tasks = list(table.scan(snapshot_id=snapshot_id).plan_files())
    with_deletes = [t.file.file_path for t in tasks if t.delete_files]
    if with_deletes:
        raise LakehouseError(f"{len(with_deletes)} data file(s) have delete files (merge-on-read): "
                             "their rows are not the snapshot's rows")
    return [t.file.file_path for t in tasks]


def spark_read(session, files: list[str]):
    """Spark scans exactly these files; columns added by a later schema are null in older files."""
    if not files:
        raise LakehouseError("this version has no data files")
    return session.read.option("mergeSchema", "true").parquet(*files)


def data_files_on_disk(path: str) -> int:
    """Parquet files in a Delta table's folder, referenced or not (what vacuum removes)."""
    return sum(1 for _ in Path(path).glob("**/*.parquet"))
