"""Running db-benchmark's own scripts beside the bench: its data files, its time.csv, the ratio table.

The scripts themselves come from a checkout of duckdblabs/db-benchmark, which CI does
not have; `scalelab bench peer --checkout PATH` runs them (README, "Benchmarks"). Here:
the files a script reads, the format it writes, and the comparison the report makes.
"""

import csv

import pandas as pd
import pytest
from typer.testing import CliRunner

from scalelab import datasets
from scalelab.bench import peer, report
from scalelab.cli import app

HEADER = ["nodename", "batch", "timestamp", "task", "data", "in_rows", "question", "out_rows", "out_cols", "solution",
          "version", "git", "fun", "run", "time_sec", "mem_gb", "cache", "chk", "chk_time_sec", "comment", "on_disk",
          "machine_type"]


@pytest.fixture(autouse=True)
def _scratch(dirs):
    """Every test here generates data and writes results in its own folders."""


def test_join_tables_are_named_as_db_benchmark_names_them():
    assert peer.table_names("join", "J1_1e7_NA_0_0") == {
        "x": "J1_1e7_NA_0_0", "small": "J1_1e7_1e1_0_0", "medium": "J1_1e7_1e4_0_0", "big": "J1_1e7_1e7_0_0"}
    assert peer.table_names("groupby", "G1_1e6_1e2_0_0") == {"x": "G1_1e6_1e2_0_0"}


def test_each_table_becomes_one_csv_file_with_one_header_and_every_row(dirs):
    ds = datasets.generate("groupby", rows=300_000, csv=True)
    # Our CSV copy may be in parts (one per Parquet file); the scripts read one file: split it in two to see.
    part = ds.path / "csv" / "x" / "part-00000.csv"
    lines = part.read_text().splitlines(keepends=True)
    part.write_text("".join(lines[:1000]))
    (ds.path / "csv" / "x" / "part-00001.csv").write_text(lines[0] + "".join(lines[1000:]))
    out = peer.write_csv_files(ds, "groupby", dirs / "work" / "data")
    frame = pd.read_csv(out["x"])
    assert out["x"].name == "G1_3e5_1e2_0_0.csv"
    assert len(frame) == 300_000 and list(frame.columns) == [f"id{i}" for i in range(1, 7)] + ["v1", "v2", "v3"]
    source = pd.read_parquet(ds.table_path("x"))
    assert frame["id3"].tolist() == source["id3"].tolist() and frame["v1"].sum() == source["v1"].sum()


def test_a_folder_that_is_not_db_benchmark_is_refused_by_name(dirs):
    result = CliRunner().invoke(app, ["bench", "peer", "--checkout", str(dirs)], env={"COLUMNS": "200"})
    assert result.exit_code == 2 and "is not a db-benchmark checkout" in result.output


def _time_csv(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        for solution, data, question, run, t in rows:
            w.writerow(["vm", "", 0, "groupby", data, 100, question, 1, 2, solution, "1", "", ".groupby", run, t, 0.1,
                        "TRUE", "1", 0.0, "", "FALSE", "x"])


def test_the_report_divides_our_warm_medians_by_the_peers_second_runs(dirs):
    _time_csv(dirs / "time.csv", [("polars", "G1_1e6_1e2_0_0", "sum v1 by id1", 1, 9.0),
                                  ("polars", "G1_1e6_1e2_0_0", "sum v1 by id1", 2, 2.0),
                                  ("polars", "G1_1e6_1e2_0_0", "sum v1 by id1:id2", 1, 9.0),
                                  ("polars", "G1_1e6_1e2_0_0", "sum v1 by id1:id2", 2, 2.0)])
    ours = pd.DataFrame({"run_id": "r", "workload": ["groupby.q1", "groupby.q2", "groupby.q1"], "suite": "groupby",
                         "engine": "polars", "scale": "small", "mode": ["memory", "memory", "scan"],
                         "dataset": "G1_1e6_1e2_0_0", "status": "ok", "warm_median_s": [1.0, 2.0, 8.0],
                         "cold_s": [1.5, 2.5, 9.0]})
    summary, detail = peer.compare_rows(ours, peer.read_times(dirs / "time.csv"))
    memory = summary.set_index("mode").loc["memory"]
    assert (memory["questions"], memory["scalelab_s"], memory["peer_s"], memory["ratio"]) == (2, 3.0, 4.0, 0.75)
    assert (memory["scalelab_cold_s"], memory["ratio_cold"], memory["peer"]) == (4.0, 1.0, "db-benchmark")
    assert summary.set_index("mode").loc["scan", "ratio"] == 4.0
    assert sorted(detail["ratio"]) == [0.5, 1.0, 4.0]
    df = ours.assign(machine='{"cores": 2, "memory_gib": 23, "os": "Linux", "cpu": "x", "python": "3.11"}',
                     git_commit="c", floor_s=0.1)
    assert "| groupby | db-benchmark | G1_1e6_1e2_0_0 | memory | polars | 2 | 3.000 | 4.000 | 4.000 | 0.75 | 1.00 |" \
        in report.markdown(
        df, peer.read_times(dirs / "time.csv"))


def test_a_file_not_in_db_benchmarks_format_is_refused(dirs):
    (dirs / "bad.csv").write_text("a,b\n1,2\n")
    with pytest.raises(peer.PeerError, match="not db-benchmark's time.csv format"):
        peer.read_times(dirs / "bad.csv")
    with pytest.raises(peer.PeerError, match="run `scalelab bench peer` first"):
        peer.read_times(dirs / "missing.csv")


def test_a_script_is_adapted_only_by_the_declared_edits_and_says_so(tmp_path):
    # db-benchmark's Polars script as it is (two calls Polars 2 removed), cut to the lines that matter.
    script = tmp_path / "groupby-polars.py"
    script.write_text('x = (pl.read_csv(src_grp, schema_overrides={"v1":pl.Int32}, low_memory=True, rechunk=True)\n'
                      'x = pl.read_ipc(f"{spill_dir}/tmp.ipc", memory_map=True)\n')
    out, why = peer.adapted_script("polars/groupby-polars.py", script, tmp_path / "work")
    text = out.read_text()
    assert 'low_memory=True).rechunk()\n' in text and 'read_ipc(f"{spill_dir}/tmp.ipc")\n' in text
    code = text.split("\n", 2)[2]                                       # below the two header lines
    assert "rechunk=" not in code and "memory_map" not in code
    assert len(why) == 2 and text.startswith("# scalelab adapted this copy of groupby-polars.py: Polars 2 removed")
    assert script.read_text().count("rechunk=True") == 1                  # the checkout is left as it was
    assert peer.adapted_script("pandas/groupby-pandas.py", script, tmp_path / "work") == (script, ())
    script.write_text("x = pl.scan_csv(src_grp)\n")                      # the peer changed: look again
    with pytest.raises(peer.PeerError, match="no longer applies"):
        peer.adapted_script("polars/groupby-polars.py", script, tmp_path / "work")


def test_each_script_gets_only_its_own_adaptations(tmp_path):
    # db-benchmark's join script for Polars reads its spill files without memory_map: only the
    # read_csv edit is declared for it, and it must apply (the run stopped when both were tried).
    script = tmp_path / "join-polars.py"
    script.write_text('x = (pl.read_csv(src_jn_x, schema_overrides={"id1":pl.Int32}, rechunk=True)\n'
                      'x = pl.read_ipc(f"{spill_dir}/x.ipc")\n')
    out, why = peer.adapted_script("polars/join-polars.py", script, tmp_path / "work")
    assert len(why) == 1 and "rechunk" in why[0]
    assert out.read_text().endswith('schema_overrides={"id1":pl.Int32}).rechunk()\nx = pl.read_ipc(f"{spill_dir}/x.ipc")\n')
    for rel in peer.ADAPTATIONS:            # every key is a script the peer runs
        assert rel in {s.format(task=t) for s in peer.SCRIPTS.values() for t in peer.TASKS.values()}, rel


def test_a_peer_run_n_times_is_judged_by_the_median_of_its_second_runs_and_a_rerun_replaces_it(dirs):
    # A stand-in for db-benchmark's script with its real interface (SRC_DATANAME in, rows appended to
    # CSV_TIME_FILE), each run slower than the last: the median must be the middle run's.
    checkout = dirs / "db-benchmark"
    (checkout / "_helpers").mkdir(parents=True)
    (checkout / "_helpers" / "helpers.py").write_text("")
    (checkout / "_control").mkdir()
    (checkout / "_control" / "questions.csv").write_text("task,question\n")
    (checkout / "pandas").mkdir()
    (checkout / "pandas" / "groupby-pandas.py").write_text(f'''
import csv, os
path, data = os.environ["CSV_TIME_FILE"], os.environ["SRC_DATANAME"]
n = sum(1 for _ in open(path)) - 1 if os.path.exists(path) else 0
with open(path, "a", newline="") as f:
    w = csv.writer(f)
    if n == 0:
        w.writerow({HEADER!r})
    for run in (1, 2):
        w.writerow(["vm", "", 0, "groupby", data, 100, "sum v1 by id1", 1, 2, "pandas", "1", "", ".groupby",
                    run, 10.0 if run == 1 else 1.0 + n, 0.1, "TRUE", "1", 0.0, "", "FALSE", "x"])
''')
    out = dirs / "results" / "peer"
    time_file, done = peer.run(checkout, "groupby", "tiny", ["pandas"], out, runs=3)
    assert [r.returncode for r in done] == [0, 0, 0]
    rows = peer.read_times(time_file)
    assert sorted(float(r["time_sec"]) for r in rows if r["run"] == "2") == [1.0, 3.0, 5.0]
    (key, seconds), = peer.peer_seconds(rows).items()
    assert key[0] == "pandas" and seconds == 3.0
    # Another solution's rows stay; this one's are replaced by the rerun, not added to.
    with open(time_file, "a", newline="") as f:
        csv.writer(f).writerow(["vm", "", 0, "groupby", key[1], 100, "sum v1 by id1", 1, 2, "polars", "1", "",
                                ".groupby", 2, 0.5, 0.1, "TRUE", "1", 0.0, "", "FALSE", "x"])
    peer.run(checkout, "groupby", "tiny", ["pandas"], out, runs=1)
    rows = peer.read_times(time_file)
    assert sorted((r["solution"], r["run"]) for r in rows) == [("pandas", "1"), ("pandas", "2"), ("polars", "2")]
    with pytest.raises(peer.PeerError, match="at least 1"):
        peer.run(checkout, "groupby", "tiny", ["pandas"], out, runs=0)
