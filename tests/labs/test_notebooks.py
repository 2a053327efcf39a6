"""Every lab executes top to bottom at `tiny` with its exercises filled from the solutions.

A failing cell fails the test; each `grading.check` runs strict, so a solution that
stops being right fails too. The labs run SCALELAB_LAB_LANES at a time (notebooks.run_all;
a lab marked exclusive has only single-machine labs beside it), started when the first lab's test runs; each test
waits for its own lab. How long each lab took is written to results/labs/timings.csv
(timings are reported, never asserted).
"""

import csv
import os
import time
from pathlib import Path

import pytest

from scalelab.config import Config
from scalelab.teaching import lab, notebooks

LABS = notebooks.notebooks()
pytestmark = [pytest.mark.stack, pytest.mark.labs]
SERVICES = ("spark-master", "spark-worker", "dask-scheduler", "ray-head", "kafka", "model-api", "dashboard",
            # labs 11 and 12: the platform profile, which `make test` starts
            "postgres", "redis", "airflow-api", "airflow-scheduler", "airflow-dag-processor")
HEADER = ["when", "lab", "scale", "seconds", "cells", "slowest_cells"]


def _timings(cfg: Config) -> Path:
    return cfg.results_dir / "labs" / "timings.csv"


def _expected(cfg: Config) -> dict[str, float]:
    """Each lab's last recorded time: the longest start first."""
    try:
        with _timings(cfg).open() as f:
            return {row["lab"]: float(row["seconds"]) for row in csv.DictReader(f)}
    except (FileNotFoundError, KeyError, ValueError):
        return {}


@pytest.fixture(scope="module")
def lab_runs(require, cfg: Config, request):
    # The stack is checked once for the tier, not once per lab (the probes cost seconds each).
    require(*SERVICES)
    scale = os.environ.get(lab.SCALE_ENV) or "tiny"      # `make labs SCALE=small` runs them bigger
    chosen = [item.callspec.params["path"] for item in request.session.items
              if item.originalname == "test_the_lab_runs_with_its_solutions"]
    return scale, notebooks.run_all(chosen, scale=scale, lanes=cfg.int("SCALELAB_LAB_LANES"), expected=_expected(cfg))


def test_there_are_labs():
    assert len(LABS) >= 10, [p.name for p in LABS]


def test_the_fault_drills_run_apart_from_the_big_data_labs():
    # Lab 09 restarts the broker other labs stream through: run_all puts only single-machine labs beside it.
    assert notebooks.exclusive(next(p for p in LABS if p.stem == "09_fault_drills"))


@pytest.mark.timeout(1800)     # waits for its lab, which may be queued behind others
@pytest.mark.parametrize("path", LABS, ids=[p.stem for p in LABS])
def test_the_lab_runs_with_its_solutions(path: Path, lab_runs, cfg: Config):
    scale, futures = lab_runs
    run = futures[path].result()          # the lab's own error (a failing cell, a wrong answer) is raised here
    out = _timings(cfg)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists() and out.read_text().split("\n", 1)[0] != ",".join(HEADER):
        out.rename(out.with_name("timings-before-slowest-cells.csv"))     # an older layout: keep it apart
    new = not out.exists()
    with out.open("a", newline="") as f:
        w = csv.writer(f)
        if new:
            w.writerow(HEADER)
        slowest = " ".join(f"{i}:{s:.1f}" for i, s in run.slowest[:3])      # cell index: seconds
        w.writerow([time.strftime("%Y-%m-%dT%H:%M:%S"), path.stem, scale, f"{run.seconds:.1f}", run.cells, slowest])
    print(f"{path.stem} at {scale}: {run.seconds:.1f} s; slowest cells {run.slowest[:3]}")


# Labs whose long steps draw a bar under their cell: an ipywidgets view in the executed notebook's outputs.
PROGRESS = {
    "02_pandas_to_dask": "persisting the table: distributed.progress, the dashboard's Progress pane under the cell",
    "03_pandas_to_pyspark": "a Spark job of several seconds: spark_jobs' bar from the driver's status tracker",
    "07_scikit_learn_at_scale": "the serial grid search: progress.joblib_bar counting GridSearchCV's fits",
    # a million events at `small`, two minutes with kafka-python: tqdm.auto in a kernel
    "08_stream_processing_with_kafka": "producing the events set: streaming.produce's bar",
}


@pytest.mark.parametrize("stem", sorted(PROGRESS))
def test_the_labs_long_steps_show_a_progress_bar_under_the_cell(lab_runs, stem):
    _, futures = lab_runs
    path = next(p for p in futures if p.stem == stem and not notebooks.single_machine(p))
    assert futures[path].result().widgets >= 1, f"{path.stem}: no bar for {PROGRESS[stem]}"
