"""The pandas references of the newer workloads, checked against what their docs say they are.

The workload matrix compares every engine with these references, so a reference
that drifted from its documented meaning would make every engine "right" about the
wrong thing. Each is pinned here to an independent statement of the semantics:
scikit-learn's transformers, a hand-worked example, or the data set's own truth.
"""

import numpy as np
import pandas as pd
import pytest

from scalelab import datasets, workloads
from scalelab.workloads import features, ml, timeseries


@pytest.fixture(scope="module")
def tabular(tmp_path_factory):
    ds = datasets.generate("tabular", rows=3_000, root=tmp_path_factory.mktemp("data"))
    return pd.read_parquet(ds.table_path("data"))


def test_the_model_matrix_is_scikit_learns_imputer_scaler_and_one_hot(tabular):
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    got = workloads.get("features.matrix").impls["pandas"]({"data": tabular})
    assert list(got.columns) == features.columns()
    numeric = tabular[list(features.NUMERIC)].astype("float64")
    want = StandardScaler().fit_transform(SimpleImputer(strategy="mean").fit_transform(numeric))
    np.testing.assert_allclose(got[[f"{c}_z" for c in features.NUMERIC]].to_numpy(), want, rtol=1e-12, atol=1e-12)
    for c, levels in features.ONE_HOT.items():
        hot = OneHotEncoder(categories=[list(levels)], handle_unknown="ignore", sparse_output=False)
        values = tabular[[c]].astype(object).fillna("(missing)")
        np.testing.assert_array_equal(got[[f"{c}_{v}" for v in levels]].to_numpy(), hot.fit_transform(values))


def test_target_encoding_by_hand():
    df = pd.DataFrame({"id": range(6), "churn": [1, 0, 1, 1, 0, 0], "region": ["a", "a", "b", None, "b", "b"],
                       **{c: [1.0] * 6 for c in features.NUMERIC}, "plan": "basic", "channel": "web"})
    df["age"] = [1.0, 2.0, 3.0, 4.0, 5.0, np.nan]     # a deviation to divide by
    for c in features.NUMERIC[1:]:
        df[c] = range(6)
    got = workloads.get("features.matrix").impls["pandas"]({"data": df})
    m, prior = features.SMOOTHING, 0.5
    want_a, want_b = (1 + m * prior) / (2 + m), (1 + m * prior) / (3 + m)
    np.testing.assert_allclose(got["region_te"], [want_a, want_a, want_b, prior, want_b, want_b])


def test_sessions_by_hand():
    t = pd.Timestamp("2024-01-01 10:00")
    minutes = [0, 10, 45, 50, 0, 31]                   # user 1: a 35-minute gap; user 2: 31 minutes
    events = pd.DataFrame({"user_id": [1, 1, 1, 1, 2, 2], "event_id": range(6),
                           "event_time": [t + pd.Timedelta(minutes=m) for m in minutes],
                           "event_type": ["view", "purchase", "view", "purchase", "view", "view"],
                           "price": [5.0, 10.0, 2.0, 3.0, 1.0, 1.0]})
    got = timeseries._sessions(events.iloc[::-1])       # arrival order does not matter
    assert got[["user_id", "session", "events", "purchases"]].values.tolist() == [[1, 1, 2, 1], [1, 2, 2, 1],
                                                                                 [2, 1, 1, 0], [2, 2, 1, 0]]
    assert got["revenue"].tolist() == [10.0, 3.0, 0.0, 0.0]
    assert got["started_at"].iloc[1] == t + pd.Timedelta(minutes=45)


def test_every_engine_feeds_the_model_the_same_numbers():
    # Spark, Ray and Polars batches arrive with other dtypes for the same values.
    base = pd.DataFrame({"age": [30, None], "income": [1.5, None], "balance": [2.0, 3.0], "tenure_months": [1, 2],
                         "num_products": [1, 2], "region": ["north", None], "plan": ["basic", "plus"],
                         "channel": [None, "web"]})
    nullable = base.astype({"age": "Int32", "region": "string", "channel": "string"})
    arrow = base.astype({"age": "int32[pyarrow]", "region": "string[pyarrow]", "channel": "large_string[pyarrow]"})
    frames = [ml.model_frame(df) for df in (base, nullable, arrow)]
    for frame in frames[1:]:
        pd.testing.assert_frame_equal(frame, frames[0])
    assert frames[0]["region"].tolist() == ["north", ml.MISSING] and np.isnan(frames[0]["age"][1])


def test_engines_that_score_folds_rank_them_as_grid_search_does():
    scores = np.array([[0.8, 0.9], [0.9, 0.8], [0.7, 0.7]])    # a tie for first place
    table = ml.search_table([{"p": 1}, {"p": 2}, {"p": 3}], scores)
    assert table["rank_test_score"].tolist() == [1, 1, 3]
