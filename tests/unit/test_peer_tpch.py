"""Running pola-rs/polars-benchmark's TPC-H queries beside the bench: its table layout, its timings
rewritten as time.csv rows with a mode, the queries it got wrong, the ratio per mode.

The queries come from a checkout of polars-benchmark, which CI does not have; `scalelab bench peer
--suite tpch --checkout PATH` runs them (README, "Benchmarks"). Here: what is written for them and
what is read back from them.
"""

import csv
import os

import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from scalelab import datasets
from scalelab.bench import peer, peer_tpch
from scalelab.cli import app


@pytest.fixture(autouse=True)
def _scratch(dirs):
    """Every test here generates data and writes results in its own folders."""


def test_each_table_becomes_one_file_in_the_peers_layout_with_every_row_and_is_written_once(dirs):
    ds = datasets.generate("tpch", scale="tiny")
    folder = peer_tpch.write_tables(ds, dirs / "tables")
    assert folder == dirs / "tables" / "scale-0.01"
    names = sorted(p.stem for p in folder.glob("*.parquet"))
    assert names == sorted(ds.manifest["tables"])
    for name in names:
        ours = pd.read_parquet(ds.path / name)
        theirs = pd.read_parquet(folder / f"{name}.parquet")
        pd.testing.assert_frame_equal(theirs, ours)
    assert pq.read_schema(folder / "lineitem.parquet").field("l_shipdate").type == "date32[day]"
    # The same data set again: the files are kept (the stamp matches), not rewritten.
    before = os.stat(folder / "lineitem.parquet").st_mtime_ns
    assert peer_tpch.write_tables(ds, dirs / "tables") == folder
    assert os.stat(folder / "lineitem.parquet").st_mtime_ns == before
    # A copy cut short (no stamp) is never taken for a whole one: it is written again.
    (folder / ".scalelab-dataset.json").unlink()
    (folder / "lineitem.parquet").write_bytes(b"cut short")
    peer_tpch.write_tables(ds, dirs / "tables")
    assert pq.ParquetFile(folder / "lineitem.parquet").metadata.num_rows == ds.manifest["tables"]["lineitem"]["rows"]


LOG = """{"scale_factor": 1.0}
Code block 'Run duckdb query 1' took: 0.32418 s
Code block 'Run duckdb query 15' took: 0.28372 s
Traceback (most recent call last):
  File "/w/queries/duckdb/q15.py", line 56, in <module>
  File "/w/queries/common_utils.py", line 140, in check_query_result_pl
    assert_frame_equal(result, expected, check_dtypes=False)
AssertionError: DataFrames are different (height (row count) mismatch)
[left]: 0
[right]: 1
Code block 'Run duckdb query 16' took: 0.18364 s
Traceback (most recent call last):
  File "/w/queries/duckdb/q17.py", line 9, in <module>
  File "/w/queries/duckdb/utils.py", line 9, in q
duckdb.BinderException: Binder Error: column not found
Code block 'Overall execution of ALL duckdb queries' took: 15.9 s
Code block 'Run polars query 3' took: 0.00002 s
q3 FAILED
the argument 'streaming' for 'LazyFrame.collect' was removed
"""


def test_a_query_whose_check_failed_or_that_failed_outright_is_named_with_its_error():
    # q15's timer line came before its failed check; q17 failed before any timer line of its own and its
    # traceback follows q16's timer, so the query is read from the traceback's frames, not from the line order;
    # the peer's Polars code catches its errors and prints "qN FAILED" (its timing line a mere 20 us).
    failed = peer_tpch.failed_queries(LOG)
    assert failed == {15: "AssertionError: DataFrames are different (height (row count) mismatch)",
                      17: "duckdb.BinderException: Binder Error: column not found",
                      3: "the argument 'streaming' for 'LazyFrame.collect' was removed"}


def test_the_peers_timings_become_time_csv_rows_with_their_mode_and_a_wrong_answer_has_none(dirs):
    timings = dirs / "timings.csv"
    with open(timings, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["solution", "version", "query_number", "duration[s]", "io_type", "scale_factor"])
        w.writerows([["duckdb", "2.0.0", 1, 0.3, "parquet", 1.0], ["duckdb", "2.0.0", 1, 0.1, "skip", 1.0],
                     ["pyspark", "4.3.0", 2, 5.0, "parquet", 1.0], ["duckdb", "2.0.0", 15, 0.2, "parquet", 1.0],
                     ["modin", "1", 1, 9.0, "parquet", 1.0], ["polars", "2", 1, 9.0, "csv", 1.0]])
    rows = peer_tpch.to_time_rows(timings, "TPCH_SF1", "b", wrong={("duckdb", "parquet", 15)})
    got = [(r["solution"], r["question"], r["mode"], r["time_sec"]) for r in rows]
    assert got == [("duckdb", "pricing summary report", "scan", "0.3"), ("duckdb", "pricing summary report", "memory", "0.1"),
                   ("spark", "minimum cost supplier", "scan", "5.0")]
    assert {r["task"] for r in rows} == {"tpch"} and {r["data"] for r in rows} == {"TPCH_SF1"}


def test_a_peer_row_with_a_mode_is_compared_with_that_mode_only(dirs):
    rows = [{"solution": "duckdb", "data": "TPCH_SF1", "question": "pricing summary report", "run": "1",
             "time_sec": "0.4", "mode": "scan", "task": "tpch"},
            {"solution": "duckdb", "data": "TPCH_SF1", "question": "pricing summary report", "run": "1",
             "time_sec": "0.1", "mode": "memory", "task": "tpch"},
            {"solution": "spark", "data": "TPCH_SF1", "question": "pricing summary report", "run": "1",
             "time_sec": "4.0", "mode": "scan", "task": "tpch"}]
    ours = pd.DataFrame({"run_id": "r", "workload": "tpch.q1", "suite": "tpch", "engine": ["duckdb", "duckdb", "spark"],
                         "scale": "medium", "mode": ["scan", "memory", "memory"], "dataset": "TPCH_SF1",
                         "status": "ok", "warm_median_s": [0.2, 0.1, 1.0], "cold_s": [0.3, 0.1, 2.0]})
    summary, _ = peer.compare_rows(ours, rows)
    ratios = {(r.engine, r.mode): r.ratio for r in summary.itertuples()}
    # Spark's peer has a scan figure only: our memory figure is not set against it.
    assert ratios == {("duckdb", "scan"): 0.5, ("duckdb", "memory"): 1.0}
    assert set(summary["peer"]) == {"polars-benchmark"}
    assert summary.set_index("mode").loc["scan", "ratio_cold"] == pytest.approx(0.75)


def test_a_rerun_replaces_its_own_timings_and_keeps_the_others(dirs):
    path = dirs / "time.csv"
    row = {"task": "tpch", "data": "TPCH_SF1", "question": "pricing summary report", "run": "1", "batch": "b",
           "version": "1", "machine_type": "m"}
    peer_tpch.write_time_file(path, [{**row, "solution": "duckdb", "mode": "scan", "time_sec": "0.4"},
                                     {**row, "solution": "polars", "mode": "scan", "time_sec": "0.3"}], replaces=set())
    peer_tpch.write_time_file(path, [{**row, "solution": "polars", "mode": "scan", "time_sec": "0.2"}],
                              replaces={("polars", "scan", "TPCH_SF1"), ("polars", "memory", "TPCH_SF1")})
    got = sorted((r["solution"], r["time_sec"]) for r in peer.read_times(path))
    assert got == [("duckdb", "0.4"), ("polars", "0.2")]
    assert not path.with_suffix(".csv.tmp").exists()


def test_the_helpers_come_at_the_peers_own_pins_and_the_checkout_is_checked(dirs):
    checkout = dirs / "pb"
    (checkout / "queries").mkdir(parents=True)
    (checkout / "queries" / "common_utils.py").write_text("")
    (checkout / "settings.py").write_text("")
    (checkout / "requirements.txt").write_text("duckdb==0.10.2\nlinetimer==0.1.5\n    # via x\n"
                                               "pydantic-settings==2.2.1\n")
    assert peer_tpch.check_checkout(checkout) == checkout.resolve()
    assert peer_tpch.helper_pins(checkout) == ["linetimer==0.1.5", "pydantic-settings==2.2.1"]
    (checkout / "requirements.txt").write_text("linetimer==0.1.5\n")
    with pytest.raises(peer.PeerError, match="pins no pydantic-settings"):
        peer_tpch.helper_pins(checkout)
    result = CliRunner().invoke(app, ["bench", "peer", "--suite", "tpch", "--checkout", str(dirs)],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 2 and "is not a polars-benchmark checkout" in result.output
    with pytest.raises(peer.PeerError, match="no implementation for ray"):
        peer_tpch.run(checkout, "tiny", ["ray"], dirs / "out", ["scan"])


def test_the_peers_code_is_copied_and_adapted_only_by_the_declared_edits(dirs):
    checkout = dirs / "pb"
    for rel, changes in peer_tpch.ADAPTATIONS.items():
        (checkout / rel).parent.mkdir(parents=True, exist_ok=True)
        (checkout / rel).write_text("".join(f"x = {old}\n" for old, _new, _why in changes))
    (checkout / "settings.py").write_text("")
    why = peer_tpch.prepare(checkout, dirs / "work")
    assert len(why) == sum(len(c) for c in peer_tpch.ADAPTATIONS.values())
    for rel, changes in peer_tpch.ADAPTATIONS.items():
        text = (dirs / "work" / rel).read_text()
        assert all(new in text and old not in text for old, new, _why in changes)
        assert (checkout / rel).read_text().startswith(f"x = {changes[0][0]}")       # the checkout as it was
    (checkout / "queries" / "polars" / "utils.py").write_text("pl.scan_parquet(path)\n")
    with pytest.raises(peer.PeerError, match="no longer applies"):
        peer_tpch.prepare(checkout, dirs / "work")
