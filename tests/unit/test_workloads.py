"""The workload registry and `scalelab run` / `scalelab workloads`, on the in-process engines."""

import pandas as pd
import pytest
from typer.testing import CliRunner

from scalelab import engines, workloads
from scalelab.cli import app
from scalelab.workloads import runner
from scalelab.workloads.compare import Mismatch


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SCALELAB_DATA_DIR", str(tmp_path / "data"))
    runner._REFERENCES.clear()
    return tmp_path / "data"


def test_every_pair_is_implemented_or_declared_with_a_reason():
    for w in workloads.WORKLOADS.values():
        for engine in engines.ENGINES:
            status = w.status(engine)
            assert status == "yes" or status.startswith("no: ") and len(status) > 12, (w.name, engine, status)


def test_names_are_listed_in_question_order():
    names = list(workloads.WORKLOADS)
    assert names[:10] == [f"groupby.q{i}" for i in range(1, 11)] and names[10:15] == [f"join.q{i}" for i in range(1, 6)]
    assert [w.name for w in workloads.select("join")] == names[10:15]
    with pytest.raises(workloads.WorkloadError, match="unknown workload 'groupby.q11'; choose one of: groupby.q1"):
        workloads.get("groupby.q11")


def test_a_declared_gap_raises_before_anything_runs(monkeypatch):
    w = workloads.get("groupby.q1")
    monkeypatch.setitem(w.unsupported, "duckdb", ("no reason at all, for this test", engines.NotSupported))
    with pytest.raises(engines.NotSupported, match="groupby.q1 on duckdb: no reason at all"):
        workloads.run(w, "duckdb", scale="tiny")
    assert w.status("duckdb").startswith("no: no reason")
    with pytest.raises(workloads.WorkloadError, match="unknown engine 'flink'"):
        w.cannot("flink", "not an engine here")


def test_a_wrong_engine_answer_is_caught(monkeypatch):
    w = workloads.get("groupby.q1")
    monkeypatch.setattr(w, "sql", "SELECT id1, sum(v1) + 1 AS v1 FROM x GROUP BY id1")
    with pytest.raises(Mismatch, match=r"missing \(by id1, v1\)"):
        workloads.run(w, "duckdb", scale="tiny")


def test_past_the_reference_limit_the_stored_checksum_checks(monkeypatch):
    w = workloads.get("groupby.q2")
    monkeypatch.setattr(runner, "REFERENCE_MAX_ROWS", 0)
    first = workloads.run(w, "duckdb", scale="tiny")
    assert first.checked.startswith("unchecked: 10,000 input rows")
    monkeypatch.setattr(runner, "REFERENCE_MAX_ROWS", 10**9)
    assert workloads.run(w, "polars", scale="tiny").checked == "pandas reference"     # stores the checksum
    monkeypatch.setattr(runner, "REFERENCE_MAX_ROWS", 0)
    assert workloads.run(w, "duckdb", scale="tiny").checked == "stored checksum"
    monkeypatch.setattr(w, "sql", "SELECT id1, id2, sum(v1) AS v1 FROM x WHERE v1 > 1 GROUP BY id1, id2")
    with pytest.raises(Mismatch, match="stored reference checksum"):
        workloads.run(w, "duckdb", scale="tiny")


def test_cli_run_checks_and_writes_the_result(tmp_path):
    out = tmp_path / "q3.parquet"
    result = CliRunner().invoke(app, ["run", "groupby.q3", "--engine", "duckdb", "--scale", "tiny", "-p", "K=10",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "groupby.q3 on duckdb (G1_1e4_1e1_0_0): 1,000 rows" in result.output
    assert "checked against the pandas reference" in result.output and "checksum: {'rows': 1000" in result.output
    assert len(pd.read_parquet(out)) == 1000


def test_cli_run_on_a_data_set_folder(data_dir):
    ds = workloads.prepare(workloads.get("join.q1"), "tiny")
    result = CliRunner().invoke(app, ["run", "join.q1", "-e", "polars", "--data", str(ds.path)])
    assert result.exit_code == 0 and "join.q1 on polars (J1_1e4_NA_0_0)" in result.output, result.output
    wrong = CliRunner().invoke(app, ["run", "groupby.q1", "-e", "polars", "--data", str(ds.path)])
    assert wrong.exit_code == 2 and "runs on a groupby data set" in wrong.output


@pytest.mark.parametrize("args, code, words", [
    (["run", "groupby.q99", "-e", "duckdb"], 2, "choose one of: groupby.q1"),
    (["run", "groupby.q1", "-e", "flink"], 2, "choose one of: pandas, duckdb, polars, dask, spark, ray"),
    (["run", "groupby.q1", "-e", "duckdb", "--scale", "huge"], 2, "unknown scale 'huge'"),
    (["run", "groupby.q1", "-e", "duckdb", "--data", "/nonexistent"], 2, "not a data set"),
    (["run", "groupby.q1", "-e", "duckdb", "--scale", "tiny", "--data", "/tmp"], 2, "not both"),
    (["run", "groupby.q1", "-e", "duckdb", "-p", "colour=1"], 2, "not ['colour']"),
])
def test_cli_run_bad_input_gets_a_clear_error(args, code, words):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == code and words in " ".join(result.output.split()), result.output


def test_cli_run_reports_a_wrong_answer_and_a_declared_gap(monkeypatch):
    w = workloads.get("groupby.q1")
    monkeypatch.setattr(w, "sql", "SELECT id1, sum(v1) AS v1 FROM x WHERE id1 <> 'id001' GROUP BY id1")
    wrong = CliRunner().invoke(app, ["run", "groupby.q1", "-e", "duckdb"])
    assert wrong.exit_code == 4 and "WRONG ANSWER" in wrong.output and "missing" in wrong.output
    monkeypatch.setitem(w.unsupported, "polars", ("declared for this test", engines.NotSupported))
    gap = CliRunner().invoke(app, ["run", "groupby.q1", "-e", "polars"])
    assert gap.exit_code == 3 and "declared for this test" in gap.output


def test_cli_workloads_lists_the_matrix():
    result = CliRunner().invoke(app, ["workloads"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for name in ("groupby.q1", "groupby.q10", "join.q5", "pandas", "spark", "ray"):
        assert name in result.output


def test_where_points_at_each_engines_own_code():
    # Every file:line it prints is the def of that engine's implementation (or the suite.add
    # holding the shared SQL), so a reader lands on the code, not on a registry line.
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    for w in workloads.WORKLOADS.values():
        for engine, place in w.where().items():
            assert place != "missing", (w.name, engine)
            if place.startswith("no: "):
                assert place[4:] == w.unsupported[engine][0]
                continue
            file, line = place.split(" at ")[-1].split(" (")[0].rsplit(":", 1)
            source = (root / file).read_text().splitlines()[int(line) - 1]
            if place.startswith("shared SQL"):
                expected = "add("
            elif place.startswith("its own SQL"):
                expected = "sql_on("
            else:
                expected = "def "            # a function: its first line (a decorator counts)
            assert expected in source or source.lstrip().startswith("@"), (w.name, engine, place, source)


def test_cli_workloads_where_prints_every_engine_reference_rules_and_tests():
    result = CliRunner().invoke(app, ["workloads", "--where", "groupby.q3"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "shared SQL at src/scalelab/workloads/groupby.py:" in result.output        # duckdb and spark
    assert "polars       src/scalelab/workloads/groupby.py:" in result.output
    assert "(the pandas reference, run as is)" in result.output                          # dask runs pandas' code
    assert "rtol=1e-09" in result.output and "-k 'groupby.q3-'" in result.output
    unknown = CliRunner().invoke(app, ["workloads", "--where", "groupby.q99"])
    assert unknown.exit_code == 2 and "unknown workload 'groupby.q99'" in unknown.output


def test_duckdb_reads_a_data_set_whose_folder_has_a_quote_in_its_name(tmp_path):
    from scalelab import datasets

    ds = datasets.generate("groupby", scale="tiny", root=tmp_path / "q'x", K=10)
    outcome = workloads.run(workloads.get("groupby.q1"), "duckdb", data=ds.path)
    assert outcome.checked == "pandas reference" and outcome.rows == 10
