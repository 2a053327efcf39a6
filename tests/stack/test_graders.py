"""Each lab's grader rejects a wrong answer and accepts a right one, in the engine the exercise asks for.

The right answer is the exercise's own pandas answer turned into that engine's object
(a Dask, Spark, Ray, Polars or DuckDB frame on the live stack); the wrong ones are the
same answer with a row missing, a value changed, or computed with pandas instead.
The notebooks' tests (tests/labs) show that the written solutions pass too.
"""

import os

import numpy as np
import pandas as pd
import pytest

from scalelab import datasets
from scalelab.teaching import grading
from scalelab.teaching.exercises import skewed_keys

pytestmark = [pytest.mark.stack]


def _events():
    return pd.read_parquet(datasets.generate("events", scale="tiny", rate=1).table_path())


def _table(generator: str, table: str, **params):
    return lambda: pd.read_parquet(datasets.generate(generator, scale="tiny", **params).table_path(table))


_dirty, _customers, _trips = _table("tabular", "dirty", dirty=1), _table("tabular", "data"), _table("trips", "trips")


def _iceberg_snapshots():
    import tempfile

    import pyarrow as pa

    from scalelab.apps import lakehouse
    from scalelab.config import Config

    folder = tempfile.mkdtemp(prefix="grader-iceberg-")
    cfg = Config.load(environ={**os.environ, "SCALELAB_DATA_DIR": folder})
    batches = [_trips().iloc[:40], _trips().iloc[40:70]]
    table = lakehouse.iceberg_catalog(cfg).create_table("lab.trips", schema=pa.Schema.from_pandas(batches[0],
                                                                                                     preserve_index=False))
    for batch in batches:
        table.append(pa.Table.from_pandas(batch, preserve_index=False))
    return {"table": table, "batches": batches}


def _promos():
    return pd.DataFrame({"zone_id": [1, 1, 2, 9_999], "promo": ["a", "b", "c", "d"]})


def _model_reference():
    from scalelab.ml.serving import model

    return model.load()[2]


def _shifted():
    from scalelab.ml import models

    return models.model_frame(_customers().sample(1_000, random_state=5)).assign(income=lambda d: d["income"] * 3)


def _scores():
    rng = np.random.default_rng(0)
    return {"y_true": rng.integers(0, 2, 500), "p": rng.random(500), "threshold": 0.3}


def _depth_data():
    from scalelab.ml import models

    data = _customers()
    return {"X": models.model_frame(data), "y": data["churn"].to_numpy()}


def _network():
    from scalelab.ml import nn

    X, y = nn.churn_matrix(_customers())
    return {"net": nn.Network.init(X.shape[1], 8, seed=0), "X": X[:64], "y": y[:64]}


def _fitted_mlp():
    from sklearn.neural_network import MLPClassifier

    from scalelab.ml import nn

    X, y = nn.churn_matrix(_customers())
    mlp = MLPClassifier(hidden_layer_sizes=(8,), activation="tanh", max_iter=300, random_state=0).fit(X[:8000], y[:8000])
    return {"model": mlp, "X": X[8000:], "y": y[8000:]}


def _split():
    from scalelab.ml import models

    return models.holdout_split(_customers())


def _search():
    from scalelab.ml import models

    X, _, y, _ = _split()
    return {"pipe": models.logistic_pipeline(), "X": X, "y": y}      # its last step is "model": a LogisticRegression


def _ensembles():
    X_train, X_test, y_train, y_test = _split()
    return {"X_train": X_train, "y_train": y_train, "X_test": X_test, "y_test": y_test}


def _rows():
    return pd.DataFrame({"engine": ["duckdb", "spark", "duckdb", "spark"], "status": ["ok"] * 4,
                         "warm_median_s": [0.1, 1.0, 0.2, 2.0]})


CONTEXTS = {
    "01.cluster_size": lambda: {},
    "02.v3_by_id4": lambda: {"data": datasets.generate("groupby", scale="tiny")},
    "02.top_id6": lambda: {"data": datasets.generate("groupby", scale="tiny")},
    "03.borough_revenue": lambda: {"data": datasets.generate("trips", scale="tiny")},
    "03.salted_totals": lambda: {"frame": skewed_keys(5_000)},
    "04.fare_by_payment": lambda: {"data": datasets.generate("trips", scale="tiny")},
    "04.type_counts": lambda: {"data": datasets.generate("events", scale="tiny", rate=1)},
    "05.top_zone": lambda: {"data": datasets.generate("trips", scale="tiny")},
    "06.q2_polars": lambda: {"data": datasets.generate("groupby", scale="tiny")},
    "06.fastest": lambda: {"rows": _rows()},
    "07.best_params": lambda: {"data": datasets.generate("tabular", scale="tiny")},
    "08.purchases_per_minute": lambda: {"events": _events()},
    "09.survivor_sum": lambda: {"n": 30},
    "10.out_of_core": lambda: {"data": datasets.generate("groupby", scale="tiny")},
    "10.hot_key": lambda: {"frame": skewed_keys(5_000, seed=11)},
    "10.unique_users": lambda: {"events": _events()},
    "11.zone_revenue": lambda: {"data": datasets.generate("trips", scale="tiny")},
    "11.buyer_features": lambda: {"events": _events(), "users": [int(u) for u in _events()["user_id"].unique()[:8]]},
    "12.daily_totals": lambda: {"days": [pd.Timestamp("2025-07-01").date(), pd.Timestamp("2025-07-02").date()]},
    "12.task_states": lambda: {},
    "13.revenue_as_of": lambda: {"batches": [_trips().iloc[:60], _trips().iloc[60:120]]},
    "13.snapshot_rows": _iceberg_snapshots,
    "f01.income": lambda: {"dirty": _dirty()},
    "f01.signup_dates": lambda: {"dirty": _dirty()},
    "f02.zscore": lambda: {"data": _customers()},
    "f02.least_squares": lambda: {"data": _customers()},
    "f03.daily": lambda: {"trips": _trips()},
    "f03.join_counts": lambda: {"trips": _trips(), "promos": _promos()},
    "f04.boroughs": lambda: {"trips": _trips(), "zones": _table("trips", "zones")()},
    "f04.busiest_hour": lambda: {"trips": _trips()},
    "f05.confusion": _scores,
    "f05.best_depth": _depth_data,
    "f06.best_c": _search,
    "f06.ensembles": _ensembles,
    "f07.output_gradient": _network,
    "f07.most_important": _fitted_mlp,
    "f08.scored": lambda: {"batch": _customers().sample(50, random_state=8)},
    "f08.drifted": lambda: {"reference": _model_reference(), "shifted": _shifted()},
}


def test_every_exercise_has_a_grader_test():
    grading.get("01.cluster_size")
    assert set(CONTEXTS) == set(grading.EXERCISES)


@pytest.fixture(scope="module")
def as_engine(request):
    """pandas frame -> the engine's object, on the live stack."""
    def convert(df: pd.DataFrame, engine: str):
        if engine == "dask":
            import dask.dataframe as dd

            return dd.from_pandas(df, npartitions=2)
        if engine == "spark":
            return request.getfixturevalue("spark").createDataFrame(df)
        if engine == "ray":
            import ray.data

            request.getfixturevalue("ray_cluster")
            return ray.data.from_pandas(df)
        if engine == "polars":
            import polars as pl

            return pl.from_pandas(df).lazy()
        if engine == "duckdb":
            import duckdb

            return duckdb.from_df(df)
        return df
    return convert


def _wrong_frames(ex, right: pd.DataFrame):
    yield "missing row", right.iloc[:-1], "wrong row count"
    value_cols = [c for c in right.columns if c not in ex.keys and pd.api.types.is_numeric_dtype(right[c])]
    changed = right.copy()
    changed.loc[changed.index[0], value_cols[0]] = changed[value_cols[0]].iloc[0] * 2 + 1
    yield "changed value", changed, f"wrong value for {ex.keys[0]}=" if ex.keys else "some values are wrong"


@pytest.mark.parametrize("exercise", sorted(CONTEXTS))
def test_the_grader_accepts_the_answer_and_rejects_wrong_ones(exercise, as_engine, client_environment, require):
    require("spark-master", "spark-worker", "dask-scheduler", "ray-head", "model-api")   # model-api: its model
    ex = grading.get(exercise)
    context = CONTEXTS[exercise]()
    right = ex.expected(**context)
    engine = ex.engines[0] if ex.engines else "pandas"
    if ex.kind == "frame":
        assert grading.grade(exercise, as_engine(right, engine), **context).ok
        for what, wrong, says in _wrong_frames(ex, right):
            verdict = grading.grade(exercise, as_engine(wrong, engine), **context)
            assert not verdict.ok and says in verdict.message, (what, verdict.message)
        if ex.engines and "pandas" not in ex.engines:
            verdict = grading.grade(exercise, right, **context)
            assert not verdict.ok and "not with" in verdict.message
    elif ex.kind == "mapping":
        assert grading.grade(exercise, dict(right), **context).ok
        key = sorted(right)[0]
        wrong = {**right, key: right[key] + 1 if isinstance(right[key], int) else f"not {right[key]}"}
        verdict = grading.grade(exercise, wrong, **context)
        assert not verdict.ok and f"{key} is" in verdict.message
    elif ex.kind == "bars":
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        def chart(series):
            return series.plot.bar(ax=plt.subplots()[1], title="t", ylabel="y")
        assert grading.grade(exercise, chart(right), **context).ok
        verdict = grading.grade(exercise, chart(right.sort_index()), **context)
        assert not verdict.ok and "in this order" in verdict.message, verdict.message
        plt.close("all")
    elif ex.kind == "array":
        assert grading.grade(exercise, right, **context).ok
        changed = right.copy()
        changed.flat[-1] += 1
        for wrong, says in ((changed, "wrong value at index"), (right[:-1], "wrong shape"),
                            (right.tolist(), "expected a NumPy array")):
            verdict = grading.grade(exercise, wrong, **context)
            assert not verdict.ok and says in verdict.message, verdict.message
    else:
        assert grading.grade(exercise, right, **context).ok
        wrong = right + 1 if isinstance(right, int) else "pandas"
        assert not grading.grade(exercise, wrong, **context).ok
