"""The churn models on `tabular`, shared by the ml workloads, the model service and the labs.

The split is fixed by id (every fifth customer is held out), so every engine, the
service and the lessons train and score on the same rows.

A random forest, not gradient boosting, for the search: each tree is grown by one
thread in a fixed order, so a fit gives the same model whatever the machine's
thread count, and "the same score" can be checked exactly.
"""

from __future__ import annotations

import tempfile

import numpy as np
import pandas as pd

from scalelab.datasets import tabular

NUMERIC = ("age", "income", "balance", "tenure_months", "num_products")
CATEGORICAL = {"region": tuple(tabular.REGIONS), "plan": tuple(tabular.PLANS), "channel": tuple(tabular.CHANNELS)}
MISSING = "missing"
HOLDOUT = 5                      # every fifth id is held out
SEED = 0
TREES = 25
GRID = {"max_depth": [4, 8, 12], "min_samples_leaf": [5, 50]}
SCORING = "roc_auc"
INFERENCE_PARAMS = {"max_depth": 8, "min_samples_leaf": 5}
C = 1.0                          # the logistic regression's inverse penalty (scikit-learn's C)


def model_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The features as the model takes them, whatever frame an engine hands over.

    Spark, Ray and Polars batches type missing integers and strings differently
    (float NaN, pandas NA, pyarrow nulls): here they all become float64 NaN and
    the category "missing", so that every engine feeds the model the same numbers.
    """
    out = {c: pd.to_numeric(df[c], errors="coerce").astype("float64").to_numpy() for c in NUMERIC}
    for c in CATEGORICAL:
        values = df[c].astype(object)
        out[c] = values.where(values.notna(), MISSING).to_numpy()
    return pd.DataFrame(out)


def holdout_split(data: pd.DataFrame):
    """(X_train, X_test, y_train, y_test): features as the model takes them, every HOLDOUT-th id held out."""
    test = (data["id"] % HOLDOUT == 0).to_numpy()
    X, y = model_frame(data), data["churn"].to_numpy()
    return X[~test], X[test], y[~test], y[test]


def pipeline(**params):
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder

    encode = ColumnTransformer([
        ("numeric", "passthrough", list(NUMERIC)),     # random forests take NaN as it is
        ("categorical", OneHotEncoder(categories=[[*levels, MISSING] for levels in CATEGORICAL.values()],
                                      handle_unknown="ignore", sparse_output=False), list(CATEGORICAL)),
    ])
    forest = RandomForestClassifier(n_estimators=TREES, random_state=SEED, n_jobs=1)
    return Pipeline([("frame", FunctionTransformer(model_frame)), ("encode", encode),
                     ("model", forest)]).set_params(**{f"model__{k}": v for k, v in params.items()})


def grid() -> list[dict]:
    from sklearn.model_selection import ParameterGrid

    return list(ParameterGrid(GRID))


def search_table(params: list[dict], scores: np.ndarray) -> pd.DataFrame:
    """One row per parameter set: its mean score over the folds and its rank (as GridSearchCV ranks)."""
    from scipy.stats import rankdata

    mean = np.asarray(scores, dtype=float).mean(axis=1)
    table = pd.DataFrame(params)
    return table.assign(mean_test_score=mean, rank_test_score=rankdata(-mean, method="min").astype("int64"))


def ray_grid(trial, grid: dict[str, list], metric: str, **data) -> list[tuple[dict, dict]]:
    """Run `trial(config, **data)` for every point of `grid` as Ray Tune trials: [(config, metrics)].

    `data` goes to the object store once (with_parameters), not once per trial.
    """
    from ray import tune as ray_tune

    trainable = ray_tune.with_parameters(trial, **data)
    space = {k: ray_tune.grid_search(v) for k, v in grid.items()}
    with tempfile.TemporaryDirectory(prefix="scalelab-tune-") as storage:
        results = ray_tune.Tuner(
            ray_tune.with_resources(trainable, {"cpu": 1}), param_space=space,
            # Short trials: reuse each trial's actor (a new one costs a Python process that imports
            # Ray Tune and scikit-learn, about 15 s on two cores, far longer than the trial).
            tune_config=ray_tune.TuneConfig(metric=metric, mode="max", reuse_actors=True),
            run_config=ray_tune.RunConfig(storage_path=storage, verbose=0),
        ).fit()
        if any(r.error for r in results):
            raise RuntimeError(f"Ray Tune: {sum(1 for r in results if r.error)} trial(s) failed: "
                               f"{next(r.error for r in results if r.error)}")
        return [(r.config, r.metrics) for r in results]


def logistic_pipeline():
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    encode = ColumnTransformer([
        ("numeric", make_pipeline(SimpleImputer(strategy="mean"), StandardScaler()), list(NUMERIC)),
        ("categorical", OneHotEncoder(categories=[[*levels, MISSING] for levels in CATEGORICAL.values()],
                                      handle_unknown="ignore", sparse_output=False), list(CATEGORICAL)),
    ])
    return Pipeline([("frame", FunctionTransformer(model_frame)), ("encode", encode),
                     ("model", LogisticRegression(C=C, max_iter=1000))])


def metrics_row(y, p) -> pd.DataFrame:
    from sklearn.metrics import accuracy_score, log_loss, roc_auc_score

    return pd.DataFrame({"rows": [len(y)], "accuracy": [accuracy_score(y, p >= 0.5)],
                         "roc_auc": [roc_auc_score(y, p)], "log_loss": [log_loss(y, p)]})


def predict(batch: pd.DataFrame, model) -> pd.DataFrame:
    """The per-batch step every engine runs: ids and their probability of churn."""
    return pd.DataFrame({"id": batch["id"].to_numpy(dtype="int64"), "p_churn": probability(model, batch)})


def probability(model, batch: pd.DataFrame) -> np.ndarray:
    # (An engine may hand over an empty batch, where scikit-learn refuses to predict.)
    return model.predict_proba(batch)[:, 1] if len(batch) else np.empty(0, dtype="float64")
