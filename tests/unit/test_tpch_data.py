"""The tpch data set: tpchgen-cli's eight tables, laid out and typed like the other data sets."""

from __future__ import annotations

import pytest

from scalelab import datasets
from scalelab.datasets import DatasetError, tpch


def test_tiny_is_sf_001_with_tpc_h_row_counts_and_portable_types(tmp_path):
    ds = datasets.generate("tpch", scale="tiny", root=tmp_path)
    assert ds.name == "TPCH_SF0.01" and ds.manifest["params"]["sf"] == 0.01
    assert ds.manifest["params"]["tool"].startswith("tpchgen-cli ")
    tables = ds.manifest["tables"]
    assert sorted(tables) == sorted(tpch.TABLES)
    expected = tpch.expected_rows(0.01)
    for name in ("region", "nation", "supplier", "customer", "part", "partsupp", "orders"):
        assert tables[name]["rows"] == expected[name], name
    assert abs(tables["lineitem"]["rows"] - expected["lineitem"]) < 0.01 * expected["lineitem"]
    types = {column: kind for column, kind in tables["lineitem"]["schema"]}
    assert types["l_extendedprice"] == "double" and types["l_shipdate"] == "date32[day]"
    assert types["l_comment"] == "string"
    assert all(f["path"].startswith(f"{t}/part-") for t, table in tables.items() for f in table["files"])
    assert not list(ds.path.glob(".*")), "tpchgen's raw output is not left behind"
    assert datasets.generate("tpch", scale="tiny", root=tmp_path).generated is False     # reused


@pytest.mark.parametrize("rows", [12_345, 20_000])
def test_a_row_count_that_is_no_scale_factor_is_refused(rows):
    with pytest.raises(DatasetError, match=r"tiny \(SF 0.01\), small \(SF 0.1\), medium \(SF 1\), large \(SF 10\)"):
        datasets.resolve("tpch", rows=rows)


def test_tpch_takes_no_parameters():
    with pytest.raises(DatasetError, match="tpch takes N"):
        datasets.resolve("tpch", scale="tiny", K=10)


def test_a_missing_generator_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setattr(tpch, "TOOL", "tpchgen-cli-not-here")
    with pytest.raises(DatasetError, match="make setup"):
        tpch.tool_version()
    with pytest.raises(DatasetError, match="make setup"):
        tpch.tool_path()


def test_a_failing_generator_leaves_no_data_set(monkeypatch, tmp_path):
    fake = tmp_path / "bin" / "tpchgen-cli"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'no room on the device' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setattr(tpch, "tool_path", lambda: fake)
    with pytest.raises(DatasetError, match="no room on the device"):
        datasets.generate("tpch", scale="tiny", root=tmp_path / "data")
    assert not any((tmp_path / "data" / "tpch").iterdir())
