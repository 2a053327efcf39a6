"""Machine learning on `tabular`: scikit-learn's search, model and predictions, scaled out.

The split is fixed by id (every fifth customer is held out), so every engine trains
and scores on the same rows, and the folds of a search are drawn once, seeded, and
handed to every engine: the same parameters, the same splits, the same seeds.

  gridsearch  a cross-validated grid search (ROC AUC) of a random-forest pipeline
              on a sample of the training rows. Serial in the reference; through
              joblib's Dask backend, Ray's joblib backend, and Spark tasks (one per
              parameter set and fold, via mapInPandas). Checked: the same score for
              every parameter set, so the same best parameters.
  tune        the same search with Ray Tune (one trial per parameter set).
  logreg      a logistic regression (mean imputation, standardisation, one-hot),
              trained on the training rows and scored on the held-out ones;
              scikit-learn against Spark MLlib with the same penalty. Two solvers
              reach the optimum by different paths, so the metrics are compared
              within an absolute 0.01, not exactly.
  inference   the probability of churn for every customer, from one fitted
              pipeline, batch by batch on each engine. Checked: identical.

A random forest, not gradient boosting, for the search: each tree is grown by one
thread in a fixed order, so a fit gives the same model whatever the machine's
thread count, and "the same score" can be checked exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from scalelab.ml.models import (  # noqa: F401
    CATEGORICAL,
    GRID,
    HOLDOUT,
    INFERENCE_PARAMS,
    MISSING,
    NUMERIC,
    SCORING,
    SEED,
    C,
    grid,
    holdout_split,
    logistic_pipeline,
    metrics_row,
    model_frame,
    pipeline,
    predict,
    probability,
    ray_grid,
    search_table,
)
from scalelab.workloads.base import Data, Suite
from scalelab.workloads.compare import Rules

SEARCH_ROWS = 20_000             # a search runs on at most this many training rows
FOLDS = 5
PROPER = {"duckdb": "DuckDB", "polars": "Polars"}
MODEL_NOT_ENGINE = ("{engine} is a single-process query engine: it has no model library and no task "
                    "scheduler to spread fits over")

suite = Suite("ml", Data("tabular"), ("data",), "machine learning on the tabular table")


# -- the model -----------------------------------------------------------------------------------


def _train_sample(ds, rows: int = SEARCH_ROWS) -> pd.DataFrame:
    """The first `rows` training rows (id not a multiple of HOLDOUT), read in file order, not the whole table."""
    import pyarrow.parquet as pq

    parts, have = [], 0
    for path in sorted(ds.table_path("data").glob("*.parquet")):
        for batch in pq.ParquetFile(path).iter_batches():
            df = batch.to_pandas()
            parts.append(df[df["id"] % HOLDOUT != 0])
            have += len(parts[-1])
            if have >= rows:
                return pd.concat(parts, ignore_index=True).head(rows)
    return pd.concat(parts, ignore_index=True)


def search_inputs(ds) -> dict[str, Any]:
    """The search's training sample, labels and folds (drawn once, seeded; every engine gets the same)."""
    return _search_inputs(ds)


def _search_inputs(ds) -> dict[str, Any]:
    from sklearn.model_selection import StratifiedKFold

    train = _train_sample(ds)
    y = train["churn"].to_numpy()
    folds = list(StratifiedKFold(FOLDS, shuffle=True, random_state=SEED).split(np.zeros(len(y)), y))
    return {"X": train.drop(columns=["churn"]), "y": y, "folds": folds}


def _fold_score(X, y, folds, params: dict, fold: int) -> float:
    """Fit on a fold's training part, score its validation part: one unit of a search."""
    from sklearn.metrics import get_scorer

    fit_idx, val_idx = folds[fold]
    model = pipeline(**params).fit(X.iloc[fit_idx], y[fit_idx])
    return float(get_scorer(SCORING)(model, X.iloc[val_idx], y[val_idx]))


def _grid_search(t, n_jobs: int | None) -> pd.DataFrame:
    from sklearn.model_selection import GridSearchCV

    search = GridSearchCV(pipeline(), {f"model__{k}": v for k, v in GRID.items()}, scoring=SCORING,
                          cv=t["folds"], n_jobs=n_jobs, refit=False).fit(t["X"], t["y"])
    res = search.cv_results_
    params = [{k.removeprefix("model__"): v for k, v in p.items()} for p in res["params"]]
    # scikit-learn's own mean and rank: the engines that score folds themselves (search_table)
    # are checked against GridSearchCV, not against a copy of their own arithmetic.
    return pd.DataFrame(params).assign(mean_test_score=res["mean_test_score"],
                                       rank_test_score=res["rank_test_score"].astype("int64"))


SEARCH_RULES = Rules(note="same folds and seeds: every parameter set's mean score equal, so the same best parameters")

gridsearch = suite.add("gridsearch", "cross-validated grid search of a random-forest pipeline (ROC AUC)",
                       tables=(), inputs=_search_inputs, rules=SEARCH_RULES)


@gridsearch.reference
def serial_search(t):
    """The reference: scikit-learn's GridSearchCV, one fit after another."""
    return _grid_search(t, n_jobs=None)


@gridsearch.on("dask")
def _(t):
    import joblib

    # joblib's Dask backend sends each fit to the cluster's workers through the client.
    with joblib.parallel_backend("dask"):
        return _grid_search(t, n_jobs=-1)


@gridsearch.on("ray")
def _(t):
    import joblib
    from ray.util.joblib import register_ray

    register_ray()
    with joblib.parallel_backend("ray"):
        return _grid_search(t, n_jobs=-1)


@gridsearch.on("spark")
def _(t):
    from pyspark.sql import SparkSession

    spark = SparkSession.getActiveSession()
    params = grid()
    units = [(p, f) for p in range(len(params)) for f in range(len(t["folds"]))]
    # The training sample goes to each executor once, as a broadcast; each task fits one
    # (parameter set, fold) and returns its score.
    shared = spark.sparkContext.broadcast((t["X"], t["y"], t["folds"], params))

    def fit(batches):
        X, y, folds, params = shared.value
        for b in batches:
            yield b.assign(score=[_fold_score(X, y, folds, params[p], f) for p, f in zip(b["param"], b["fold"], strict=True)])

    tasks = spark.createDataFrame(pd.DataFrame(units, columns=["param", "fold"])).repartition(len(units))
    scores = tasks.mapInPandas(fit, "param long, fold long, score double").toPandas()
    shared.unpersist()
    matrix = scores.pivot(index="param", columns="fold", values="score").sort_index().to_numpy()
    return search_table(params, matrix)


for _engine in ("duckdb", "polars"):
    gridsearch.cannot(_engine, MODEL_NOT_ENGINE.format(engine=PROPER[_engine]))


# -- Ray Tune ------------------------------------------------------------------------------------
tune = suite.add("tune", "the same grid search with Ray Tune, one trial per parameter set",
                 tables=(), inputs=_search_inputs, rules=SEARCH_RULES)


tune.reference(serial_search)


@tune.on("ray")
def _(t):
    def trial(config, X, y, folds):
        scores = [_fold_score(X, y, folds, config, f) for f in range(len(folds))]
        return {"score": float(np.mean(scores)), "fold_scores": scores}

    rows = ray_grid(trial, GRID, "score", X=t["X"], y=t["y"], folds=t["folds"])
    return search_table([{k: c[k] for k in GRID} for c, _ in rows], np.array([m["fold_scores"] for _, m in rows]))


for _engine in ("dask", "spark", "duckdb", "polars"):
    tune.cannot(_engine, "Ray Tune is Ray's own tuner; the same search on the other engines is ml.gridsearch")


# -- a model trained where the data lives: scikit-learn versus Spark MLlib ----------------------


logreg = suite.add(
    "logreg", "logistic regression (impute, scale, one-hot) trained on the training rows, scored on the held-out",
    rules=Rules(rtol=0, atol=0.01, note="two solvers of one model: metrics within 0.01 of scikit-learn's"))


@logreg.reference
def _(t):
    data = t["data"]
    held_out = data["id"] % HOLDOUT == 0
    model = logistic_pipeline().fit(data[~held_out], data.loc[~held_out, "churn"])
    test = data[held_out]
    return metrics_row(test["churn"].to_numpy(), model.predict_proba(test)[:, 1])


@logreg.on("spark")
def _(t):
    from pyspark.ml import Pipeline
    from pyspark.ml.classification import LogisticRegression
    from pyspark.ml.evaluation import BinaryClassificationEvaluator, MulticlassClassificationEvaluator
    from pyspark.ml.feature import Imputer, OneHotEncoder, StandardScaler, StringIndexer, VectorAssembler
    from pyspark.sql import functions as F

    data = t["data"].select("id", *(F.col(c).cast("double") for c in NUMERIC), *CATEGORICAL,
                            F.col("churn").cast("double").alias("label"))
    train, test = data.filter(F.col("id") % HOLDOUT != 0), data.filter(F.col("id") % HOLDOUT == 0)
    imputed = [f"{c}_imputed" for c in NUMERIC]
    stages = [
        Imputer(inputCols=list(NUMERIC), outputCols=imputed, strategy="mean"),
        VectorAssembler(inputCols=imputed, outputCol="numeric"),
        StandardScaler(inputCol="numeric", outputCol="scaled", withMean=True, withStd=True),
        # handleInvalid="keep" gives missing (and unseen) categories a level of their own, as "missing" above.
        StringIndexer(inputCols=list(CATEGORICAL), outputCols=[f"{c}_ix" for c in CATEGORICAL],
                      handleInvalid="keep", stringOrderType="alphabetAsc"),
        OneHotEncoder(inputCols=[f"{c}_ix" for c in CATEGORICAL], outputCols=[f"{c}_hot" for c in CATEGORICAL],
                      dropLast=False),
        VectorAssembler(inputCols=["scaled", *(f"{c}_hot" for c in CATEGORICAL)], outputCol="features"),
        # scikit-learn minimises C * sum(loss) + |w|^2 / 2; MLlib mean(loss) + regParam * |w|^2 / 2:
        # the same optimum when regParam = 1 / (C * n). The features are scaled already.
        LogisticRegression(regParam=1.0 / (C * train.count()), elasticNetParam=0.0, standardization=False,
                           maxIter=200, tol=1e-6),
    ]
    scored = Pipeline(stages=stages).fit(train).transform(test).cache()
    p_churn = F.udf(lambda v: float(v[1]), "double")("probability")
    row = scored.agg(F.count("*").alias("rows"),
                     F.avg((F.col("prediction") == F.col("label")).cast("double")).alias("accuracy")).first()
    auc = BinaryClassificationEvaluator(metricName="areaUnderROC", numBins=0).evaluate(scored)
    loss = MulticlassClassificationEvaluator(metricName="logLoss").evaluate(scored)
    scored.unpersist()
    del p_churn
    return pd.DataFrame({"rows": [row["rows"]], "accuracy": [row["accuracy"]], "roc_auc": [auc], "log_loss": [loss]})


logreg.cannot("dask", "Dask's distributed estimators (dask-ml) are not in this lab's lock; Dask scales "
                      "scikit-learn through joblib (ml.gridsearch) and map_partitions (ml.inference)")
logreg.cannot("ray", "Ray has no model library of its own: Ray Train runs another framework's training loop; "
                     "Ray's routes here are ml.gridsearch, ml.tune and ml.inference")
for _engine in ("duckdb", "polars"):
    logreg.cannot(_engine, MODEL_NOT_ENGINE.format(engine=PROPER[_engine]))


# -- batch inference: one fitted model, every row, batch by batch ---------------------------------
def _inference_inputs(ds) -> dict[str, Any]:
    train = _train_sample(ds)
    return {"model": pipeline(**INFERENCE_PARAMS).fit(train, train["churn"])}


inference = suite.add("inference", "the probability of churn for every customer, from one fitted model",
                      inputs=_inference_inputs,
                      rules=Rules(rtol=0, atol=0, note="one model, row by row: identical predictions"))


@inference.reference
def _(t):
    return predict(t["data"], t["model"])


@inference.on("dask")
def _(t):
    data = t["data"]
    return data.map_partitions(predict, t["model"], meta=predict(data._meta, t["model"]))


@inference.on("ray")
def _(t):
    return t["data"].map_batches(predict, fn_args=(t["model"],), batch_format="pandas")


@inference.on("spark")
def _(t):
    from pyspark.sql import functions as F
    from pyspark.sql.functions import pandas_udf

    model = t["model"]
    columns = [*NUMERIC, *CATEGORICAL]

    # A scalar-iterator pandas UDF: the model is unpickled once per task, not once per batch.
    @pandas_udf("double")
    def p_churn(batches: Iterator[tuple[pd.Series, ...]]) -> Iterator[pd.Series]:
        for cols in batches:
            yield pd.Series(probability(model, pd.DataFrame(dict(zip(columns, cols, strict=True)))))

    return t["data"].select("id", p_churn(*(F.col(c) for c in columns)).alias("p_churn"))


@inference.on("polars")
def _(t):
    import polars as pl

    model = t["model"]
    # Polars hands each batch over as a DataFrame; the schema of the output is stated up front.
    return t["data"].map_batches(lambda df: pl.from_pandas(predict(df.to_pandas(), model)),
                                 schema={"id": pl.Int64, "p_churn": pl.Float64})


@inference.on("duckdb")
def _(t):
    # DuckDB streams the scan as Arrow record batches; the model scores each as it arrives.
    reader = t["data"].fetch_record_batch(100_000)
    return pd.concat([predict(batch.to_pandas(), t["model"]) for batch in reader], ignore_index=True)
