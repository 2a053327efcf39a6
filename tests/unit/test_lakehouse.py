"""Lab 13's tables: time travel returns an earlier version exactly, and the files handed to Spark for a
version are that version's rows (the way Spark reads a table here, without a connector)."""

import pandas as pd
import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from scalelab.apps import lakehouse
from scalelab.config import Config


@pytest.fixture
def cfg(tmp_path) -> Config:
    return Config.load(root=tmp_path, environ={"SCALELAB_STATE_DIR": str(tmp_path / "state"),
                                               "SCALELAB_DATA_DIR": str(tmp_path / "data")})


def _batch(start: int, n: int) -> pd.DataFrame:
    ids = range(start, start + n)
    return pd.DataFrame({"id": list(ids), "fare": [i * 1.5 for i in ids],
                         "payment": ["cash" if i % 3 == 0 else "card" for i in ids]})


def _rows_of(files: list[str]) -> pd.DataFrame:
    frames = [pd.read_parquet(f.removeprefix("file://")) for f in files]
    return pd.concat(frames).sort_values("id", ignore_index=True)


def test_delta_time_travel_and_the_files_of_each_version(cfg):
    path = lakehouse.delta_path("t", cfg)
    write_deltalake(path, _batch(0, 10))
    write_deltalake(path, _batch(10, 5), mode="append")
    DeltaTable(path).delete("payment = 'cash'")
    write_deltalake(path, _batch(15, 5).assign(note="new"), mode="append", schema_mode="merge")
    assert DeltaTable(path).version() == 3
    v0 = DeltaTable(path, version=0).to_pandas().sort_values("id", ignore_index=True)
    pd.testing.assert_frame_equal(v0, _batch(0, 10), check_dtype=False)
    after_delete = _rows_of(lakehouse.delta_files(path, 2))
    want = pd.concat([_batch(0, 10), _batch(10, 5)]).query("payment != 'cash'").reset_index(drop=True)
    pd.testing.assert_frame_equal(after_delete, want, check_dtype=False)
    latest = DeltaTable(path).to_pandas()
    assert latest["note"].isna().sum() == len(want)           # older rows read the new column as null


def test_iceberg_time_travel_and_the_files_of_each_snapshot(cfg):
    catalog = lakehouse.iceberg_catalog(cfg)
    first = pa.Table.from_pandas(_batch(0, 10), preserve_index=False)
    table = catalog.create_table("lab.t", schema=first.schema)
    table.append(first)
    snapshot = table.current_snapshot().snapshot_id
    table.append(pa.Table.from_pandas(_batch(10, 5), preserve_index=False))
    old = table.scan(snapshot_id=snapshot).to_pandas().sort_values("id", ignore_index=True)
    pd.testing.assert_frame_equal(old, _batch(0, 10), check_dtype=False)
    pd.testing.assert_frame_equal(_rows_of(lakehouse.iceberg_files(table, snapshot)), _batch(0, 10), check_dtype=False)
    assert len(_rows_of(lakehouse.iceberg_files(table))) == 15
    assert [int(s.summary["added-records"]) for s in table.snapshots()] == [10, 5]


def test_reset_starts_the_tables_from_nothing(cfg):
    write_deltalake(lakehouse.delta_path("t", cfg), _batch(0, 3))
    lakehouse.reset(cfg)
    assert list(lakehouse.root(cfg).iterdir()) == []


def test_spark_is_given_no_empty_version(cfg):
    with pytest.raises(lakehouse.LakehouseError, match="no data files"):
        lakehouse.spark_read(None, [])
