"""Every lab executes top to bottom at `tiny` with its exercises filled from the solutions.

A failing cell fails the test; each `grading.check` runs strict, so a solution that
stops being right fails too. How long each lab took is written to
results/labs/timings.csv (timings are reported, never asserted).
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


def test_there_are_labs():
    assert len(LABS) >= 10, [p.name for p in LABS]


@pytest.mark.parametrize("path", LABS, ids=[p.stem for p in LABS])
def test_the_lab_runs_with_its_solutions(path: Path, require, cfg: Config):
    require("spark-master", "spark-worker", "dask-scheduler", "ray-head", "kafka", "model-api", "dashboard",
            # labs 11 and 12: the platform profile, which `make test` starts
            "postgres", "redis", "airflow-api", "airflow-scheduler", "airflow-dag-processor")
    scale = os.environ.get(lab.SCALE_ENV) or "tiny"      # `make labs SCALE=small` runs them bigger
    run = notebooks.execute(path, scale=scale)
    out = cfg.results_dir / "labs" / "timings.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    header = ["when", "lab", "scale", "seconds", "cells", "slowest_cells"]
    if out.exists() and out.read_text().split("\n", 1)[0] != ",".join(header):
        out.rename(out.with_name("timings-before-slowest-cells.csv"))     # an older layout: keep it apart
    new = not out.exists()
    with out.open("a", newline="") as f:
        w = csv.writer(f)
        if new:
            w.writerow(header)
        slowest = " ".join(f"{i}:{s:.1f}" for i, s in run.slowest[:3])      # cell index: seconds
        w.writerow([time.strftime("%Y-%m-%dT%H:%M:%S"), path.stem, scale, f"{run.seconds:.1f}", run.cells, slowest])
    print(f"{path.stem} at {scale}: {run.seconds:.1f} s; slowest cells {run.slowest[:3]}")
