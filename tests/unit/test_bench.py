"""The benchmark harness, on the in-process engines (no stack needed): rows, timeouts, crashes, report.

Real runs, real child processes: pandas' grid search (ml.gridsearch, several seconds at
tiny, and as long again for its reference) is the slow workload that the timeout and the
kill interrupt; the questions around it must still be measured.
"""

import threading
import time

import pandas as pd
import psutil
import pytest
from typer.testing import CliRunner

from scalelab import bench
from scalelab.bench import report, schema
from scalelab.cli import app


@pytest.fixture(autouse=True)
def _scratch(dirs):
    """Every test here generates data and writes results in its own folders."""


def test_a_run_writes_one_checked_row_per_pair_in_the_fixed_schema(dirs):
    plan = bench.Plan(["groupby.q1", "groupby.q3"], ["pandas", "duckdb"], ["tiny"], repeat=2, cores=2)
    run_id, path, rows = bench.run(plan, dirs / "results" / "bench")
    df = pd.read_parquet(path)
    assert len(df) == 4 and set(df["status"]) == {"ok"} and set(df["checked"]) == {"pandas reference"}
    assert list(df.columns) == schema.COLUMNS
    assert (df["warm_s"].map(len) == 2).all() and (df["floor_s"] > 0).all() and (df["cold_s"] > 0).all()
    assert df.set_index("engine")["cores"].to_dict() == {"pandas": 1, "duckdb": 2}
    assert (df["peak_rss_mib"] >= df["base_rss_mib"]).all() and (df["base_rss_mib"] > 50).all()
    assert df["rows"].tolist() == [100, 100, 100, 100]              # K=100 groups at tiny
    md = report.markdown(report.load(dirs / "results" / "bench", run_id))
    assert "| groupby.q1 |" in md and "never as fast" in md


def test_a_workload_past_the_timeout_is_recorded_and_the_rest_still_run(dirs):
    plan = bench.Plan(["groupby.q8", "ml.gridsearch", "groupby.q10"], ["pandas"], ["tiny"], repeat=0, timeout_s=2)
    _, _, rows = bench.run(plan, dirs / "results" / "bench")
    assert [(r["workload"], r["status"]) for r in rows] == [
        ("groupby.q8", "ok"), ("ml.gridsearch", "timed out"), ("groupby.q10", "ok")]
    assert "after 2 s" in rows[1]["detail"]


def test_a_child_that_dies_is_recorded_as_crashed_and_the_rest_still_run(dirs):
    def kill_the_child_mid_search():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for child in psutil.Process().children(recursive=True):
                try:
                    if "scalelab.bench.child" in " ".join(child.cmdline()) and time.time() - child.create_time() > 5:
                        child.kill()                                  # as the out-of-memory killer would
                        return
                except psutil.Error:                                  # a process that has just ended
                    continue
            time.sleep(0.2)

    killer = threading.Thread(target=kill_the_child_mid_search)
    killer.start()
    plan = bench.Plan(["ml.gridsearch", "groupby.q1"], ["pandas"], ["tiny"], repeat=0)
    _, _, rows = bench.run(plan, dirs / "results" / "bench")
    killer.join()
    assert [(r["workload"], r["status"]) for r in rows] == [("ml.gridsearch", "crashed"), ("groupby.q1", "ok")]
    assert "killed by signal 9" in rows[0]["detail"]


def test_a_declared_gap_is_a_row_not_a_time(dirs):
    plan = bench.Plan(["ml.tune"], ["duckdb"], ["tiny"], repeat=0)
    _, _, rows = bench.run(plan, dirs / "results" / "bench")
    assert rows[0]["status"] == "not supported" and "Ray Tune" in rows[0]["detail"] and rows[0].get("cold_s") is None


def test_ratios_and_crossover():
    df = pd.DataFrame({"workload": ["q"] * 4, "scale": ["small", "small", "medium", "medium"], "mode": "scan",
                       "engine": ["pandas", "spark"] * 2, "status": "ok", "warm_median_s": [1.0, 2.0, 10.0, 4.0],
                       "floor_s": 0.5})
    r = report.ratios(df)
    assert r["x_pandas"].tolist() == [1.0, 2.0, 1.0, 0.4] and r["x_floor"].tolist()[:2] == [2.0, 4.0]
    assert report.crossover(df) == ["q (scan): spark beats every single-node engine from medium on"]


@pytest.mark.parametrize("args, words", [
    (["bench", "--suite", "nope"], "unknown suite nope; choose from: all, groupby"),
    (["bench", "--engines", "pandas,oracle"], "unknown engine oracle"),
    (["bench", "--scale", "huge"], "unknown scale huge"),
    (["bench", "--mode", "scan,warp"], "unknown mode warp; choose from: all, scan, memory"),
    (["bench", "report"], "no benchmark results in"),
])
def test_cli_bad_input_gets_a_clear_error(args, words):
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 2 and words in result.output, result.output


def test_cli_runs_and_reports(dirs):
    result = CliRunner().invoke(app, ["bench", "--suite", "groupby", "--engines", "polars", "--scale", "tiny",
                                      "--repeat", "1"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "groupby.q10" in result.output and "report:" in result.output
    # Both modes by default, each its own table.
    assert "tiny, scan mode" in result.output and "tiny, memory mode" in result.output
    page = next((dirs / "results").glob("report-*.html")).read_text()
    assert "data:image/png;base64" in page and "groupby.q9" in page
    # HTML proper: headings and tables, not Markdown source in a <pre>.
    assert "<pre>" not in page and "| workload |" not in page
    assert "<h2>tiny, memory mode: warm median (s) or status</h2>" in page and page.count("<table") >= 3


def test_a_scaling_study_gets_its_curve():
    df = pd.DataFrame({"workload": "q", "scale": ["tiny", "tiny", "small", "small"], "engine": ["pandas", "dask"] * 2,
                       "mode": "memory", "status": "ok", "warm_median_s": [0.01, 0.5, 1.0, 0.8], "floor_s": 0.001,
                       "input_rows": [10_000, 10_000, 1_000_000, 1_000_000], "peak_rss_mib": 100.0})
    titles = [title for title, _ in report.plots(df)]
    assert "Scaling curve, memory mode" in titles and any("Speed-up" in t for t in titles)
    assert report.crossover(df) == ["q (memory): dask beats every single-node engine from small on"]


def test_memory_mode_holds_the_tables_once_and_checks_answers_kept_in_each_engines_form(dirs):
    plan = bench.Plan(["groupby.q1", "groupby.q8", "join.q4"], ["pandas", "duckdb", "polars"], ["tiny"],
                      modes=["memory", "scan"], repeat=1, cores=2)
    _, path, rows = bench.run(plan, dirs / "results" / "bench")
    df = pd.read_parquet(path)
    assert len(df) == 18 and set(df["status"]) == {"ok"}, df[["workload", "engine", "mode", "detail"]]
    assert set(df["checked"]) == {"pandas reference"} and set(df["mode"]) == {"memory", "scan"}
    held = df[(df["mode"] == "memory") & (df["suite"] == "groupby")]
    # The groupby table is held once per engine: both of its questions report the same hold.
    assert (held.groupby("engine")["load_s"].nunique() == 1).all()
    md = report.markdown(report.load(dirs / "results" / "bench"))
    assert "## tiny, memory mode" in md and "## tiny, scan mode" in md and "db-benchmark's way" in md


def test_results_from_before_the_modes_read_as_scan(dirs):
    old = pd.DataFrame({"run_id": "r", "workload": "q", "scale": "tiny", "engine": "pandas", "status": "ok",
                        "warm_median_s": 1.0}, index=[0])
    (dirs / "old").mkdir()
    old.to_parquet(dirs / "old" / "r.parquet")
    assert report.load(dirs / "old")["mode"].tolist() == ["scan"]


def test_peak_memory_is_the_kernels_high_water_mark_and_nothing_runs_while_timed():
    # The harness's memory figure must see a peak however short, and take no CPU from the
    # engine while it is timed (the sampler thread it replaced took a core's 13% for Dask).
    from scalelab.bench.memory import PeakMemory
    from scalelab.engines.pandas import PandasEngine

    threads = threading.active_count()
    with PeakMemory(PandasEngine) as m:
        assert threading.active_count() == threads          # no sampler beside the engine
        brief = b"\x01" * (300 * 2**20)                      # resident: every page written
        del brief                                            # gone before any sample could see it
    assert m.peak_mib >= m.base_mib + 250, (m.base_mib, m.peak_mib)
    # A second block starts again from the present: the earlier peak does not count.
    with PeakMemory(PandasEngine) as again:
        pass
    assert again.peak_mib < again.base_mib + 100, (again.base_mib, again.peak_mib)


def test_the_benchs_spark_runs_its_jvms_for_throughput_and_notebooks_keep_the_quick_start(monkeypatch):
    from scalelab.config import Config
    from scalelab.engines.spark import SparkEngine

    monkeypatch.delenv("SPARK_BENCH_JAVA_OPTIONS", raising=False)
    monkeypatch.delenv("SPARK_APP_JAVA_OPTIONS", raising=False)
    bench_opts = SparkEngine.bench_environment(2)["SPARK_APP_JAVA_OPTIONS"].split()
    assert "-XX:TieredStopAtLevel=1" not in bench_opts and "-XX:+UseParallelGC" in bench_opts
    assert "-XX:TieredStopAtLevel=1" in Config.load().get("SPARK_APP_JAVA_OPTIONS").split()
    # Configured in one place, like every other setting.
    monkeypatch.setenv("SPARK_BENCH_JAVA_OPTIONS", "-Xss4m")
    assert SparkEngine.bench_environment(2) == {"SPARK_APP_JAVA_OPTIONS": "-Xss4m"}
