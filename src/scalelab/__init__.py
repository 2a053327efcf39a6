"""scalelab: pandas and scikit-learn workloads scaled across Spark, Dask, Ray, DuckDB and Polars.

The package in layers, each importing only those below it (a unit test fails on any
import cycle):

    config                      settings from the environment and .env
    cluster/                    the stack: services, launcher, health, connect, doctor
    engines/                    one class per engine, owning every fact about it
    datasets/                   generated data sets, named by their parameters
    workloads/                  the question registry: pandas references, per-engine code, compare
    bench/                      the side-by-side benchmark and its report
    ml/                         model code, the NumPy network, the model service
    apps/                       streaming, stores, pipeline, Airflow client, lakehouse, dashboard
    teaching/                   grading, exercises, foundations, notebook helpers, drills, interview
    cli                         the `scalelab` command

Notebooks write `from scalelab import connect, grading, lab`: the short names below are
loaded on first use from their layer, so a lesson need not know the package layout.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# The short names a notebook imports, and the module each one is.
SHORT_NAMES = {
    "connect": "scalelab.cluster.connect", "doctor": "scalelab.cluster.doctor",
    "compare": "scalelab.workloads.compare",
    "nn": "scalelab.ml.nn", "serving": "scalelab.ml.serving",
    "streaming": "scalelab.apps.streaming", "stores": "scalelab.apps.stores",
    "pipeline": "scalelab.apps.pipeline", "airflow_api": "scalelab.apps.airflow_api",
    "lakehouse": "scalelab.apps.lakehouse", "dashboard": "scalelab.apps.dashboard",
    "grading": "scalelab.teaching.grading", "exercises": "scalelab.teaching.exercises",
    "foundations": "scalelab.teaching.foundations", "notebooks": "scalelab.teaching.notebooks",
    "lab": "scalelab.teaching.lab", "drills": "scalelab.teaching.drills",
    "interview": "scalelab.teaching.interview",
}


def __getattr__(name: str):
    # PEP 562: `from scalelab import lab` lands here for a short name, and imports it only then.
    if name in SHORT_NAMES:
        module = importlib.import_module(SHORT_NAMES[name])
        globals()[name] = module
        return module
    raise AttributeError(f"module 'scalelab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *SHORT_NAMES])
