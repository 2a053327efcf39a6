"""The Airflow lab's pipeline steps, without Airflow: deterministic days, validation, the engines'
transformation against the pandas reference, atomic and idempotent files, and the CLI's errors."""

import datetime as dt

import pandas as pd
import pytest
from typer.testing import CliRunner

from scalelab.apps import pipeline
from scalelab.cli import app
from scalelab.config import Config
from scalelab.workloads import compare

DAY = dt.date(2025, 3, 1)


@pytest.fixture
def cfg(tmp_path) -> Config:
    return Config.load(root=tmp_path, environ={"SCALELAB_STATE_DIR": str(tmp_path / "state"),
                                               "SCALELAB_DATA_DIR": str(tmp_path / "data")})


def test_a_day_is_the_same_every_time_and_different_from_the_next():
    a, b = pipeline.day_trips(DAY, 500), pipeline.day_trips(DAY, 500)
    pd.testing.assert_frame_equal(a, b)
    assert not pipeline.day_trips(DAY + dt.timedelta(days=1), 500)["fare"].equals(a["fare"])
    assert pipeline.problems(a, DAY) == []
    assert a["tip"].isna().any() and a["passenger_count"].isna().any()   # nulls the transform must keep right


def test_validation_names_every_broken_rule():
    found = pipeline.problems(pipeline.day_trips(DAY, 500, dirty=True), DAY)
    assert any("repeated" in p for p in found) and any("outside 2025-03-01" in p for p in found)
    bad = pipeline.day_trips(DAY, 500).assign(fare=lambda f: f["fare"].where(f.index != 3, -1.0))
    assert pipeline.problems(bad, DAY) == ["1 negative fare"]
    assert pipeline.problems(bad.drop(columns="tip"), DAY) == ["columns missing: ['tip']"]
    assert pipeline.problems(bad.iloc[:0], DAY)[0] == "no rows"


def test_duckdb_computes_the_reference_zone_totals(cfg):
    path = pipeline.generate(DAY, 800, cfg=cfg)
    got = pipeline.transform_duckdb(path)
    want = pipeline.reference(pd.read_parquet(path))
    assert compare.compare(got, want).rows == want.shape[0]
    assert int(got["trips"].sum()) == 800
    # Tips are null for cash: revenue adds fares and recorded tips only (a null tip is not a NaN revenue).
    assert got["revenue"].notna().all()


def test_agree_fails_when_one_engine_is_wrong(cfg):
    pipeline.generate(DAY, 300, cfg=cfg)
    # Both outputs from DuckDB here (Spark's own run is the stack test's): agree checks each of them.
    for engine in pipeline.ENGINES:
        target = pipeline.output_path(engine, DAY, cfg)
        target.parent.mkdir(parents=True, exist_ok=True)
        pipeline.transform_duckdb(pipeline.raw_path(DAY, cfg)).to_parquet(target)
    zones = pd.read_parquet(pipeline.raw_path(DAY, cfg))["pickup_zone"].nunique()
    assert pipeline.agree(DAY, cfg) == {"spark": zones, "duckdb": zones}
    wrong = pd.read_parquet(pipeline.output_path("spark", DAY, cfg))
    wrong.loc[0, "trips"] += 1
    wrong.to_parquet(pipeline.output_path("spark", DAY, cfg))
    with pytest.raises(compare.Mismatch, match="spark's zone_daily for 2025-03-01"):
        pipeline.agree(DAY, cfg)


def test_generate_writes_atomically_and_a_rerun_writes_the_same_file(cfg):
    path = pipeline.generate(DAY, 200, cfg=cfg)
    first = path.read_bytes()
    assert pipeline.generate(DAY, 200, cfg=cfg).read_bytes() == first
    assert [p.name for p in path.parent.iterdir()] == ["trips.parquet"]     # no temporary left behind


def test_the_first_attempts_fail_when_asked_and_leave_nothing(cfg):
    with pytest.raises(pipeline.PipelineError, match="attempt 1 of the 2 set to fail"):
        pipeline.generate(DAY, 100, attempt=1, fail_attempts=2, cfg=cfg)
    assert not pipeline.raw_path(DAY, cfg).exists()
    assert pipeline.generate(DAY, 100, attempt=3, fail_attempts=2, cfg=cfg).exists()


def test_a_step_before_its_input_says_which_step_to_run(cfg):
    with pytest.raises(pipeline.PipelineError, match="raw trips of 2025-03-01 is missing"):
        pipeline.validate(DAY, cfg)
    with pytest.raises(pipeline.PipelineError, match="unknown engine 'pandas'"):
        pipeline.output_path("pandas", DAY, cfg)


def test_the_cli_refuses_bad_days_and_steps_and_reports_bad_data(cfg, monkeypatch):
    monkeypatch.setenv("SCALELAB_DATA_DIR", str(cfg.data_dir))
    runner = CliRunner()
    result = runner.invoke(app, ["pipeline", "generate", "--day", "2025-02-30"])
    assert result.exit_code == 1 and "is not a date" in result.output
    result = runner.invoke(app, ["pipeline", "publish", "--day", "2025-03-01"])
    assert result.exit_code == 2 and "steps: generate, validate, transform, agree, load" in result.output
    assert runner.invoke(app, ["pipeline", "generate", "--day", "2025-03-01", "--rows", "50", "--dirty"]).exit_code == 0
    result = runner.invoke(app, ["pipeline", "validate", "--day", "2025-03-01"])
    assert result.exit_code == 1 and "fail validation" in result.output and "repeated" in result.output


def test_a_data_folder_with_a_quote_in_its_name_is_read_as_a_path_not_as_sql(tmp_path):
    # Paths go to DuckDB as values: a folder named q'x ended the SQL string literal (issue 25).
    quoted = Config.load(root=tmp_path, environ={"SCALELAB_STATE_DIR": str(tmp_path / "state"),
                                                 "SCALELAB_DATA_DIR": str(tmp_path / "q'x")})
    path = pipeline.generate(DAY, 300, cfg=quoted)
    assert "q'x" in str(path)
    assert int(pipeline.transform_duckdb(path)["trips"].sum()) == 300
