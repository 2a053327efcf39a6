"""The foundations track (labs/foundations/): measuring helpers and the exercises' right answers.

The notebooks teach single-machine craft (Python, NumPy, pandas) on the same data sets as
the big-data labs. What they measure (memory of a list against an array, of a list
pipeline against a generator one) is measured here, once, so that a notebook stays a
lesson; the exercises are registered with the pandas or NumPy code that answers them.
"""

from __future__ import annotations

import re
import sys
import timeit
import tracemalloc
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from scalelab.teaching.grading import Exercise, register
from scalelab.workloads.compare import Rules

MIB = 2**20


# -- measuring ---------------------------------------------------------------------
def peak_mib(fn: Callable[[], Any]) -> tuple[Any, float]:
    """Call fn and return (its result, the peak of Python memory allocated meanwhile, in MiB)."""
    tracemalloc.start()
    try:
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak / MIB


def seconds(fn: Callable[[], Any], repeat: int = 5) -> float:
    """The best of `repeat` timings of fn (the best is the least disturbed by other work)."""
    return min(timeit.repeat(fn, number=1, repeat=repeat))


def list_vs_array(n: int) -> pd.DataFrame:
    """Memory and the time of a sum of squares, for n floats as a list and as a NumPy array."""
    values = np.random.default_rng(0).random(n)
    as_list = values.tolist()
    # A list holds pointers (8 bytes each) to float objects (24 bytes each); an array holds the 8-byte values.
    list_bytes = sys.getsizeof(as_list) + sum(sys.getsizeof(v) for v in as_list)
    rows = [("list", list_bytes, seconds(lambda: sum(v * v for v in as_list))),
            ("numpy array", values.nbytes, seconds(lambda: float(np.dot(values, values))))]
    out = pd.DataFrame(rows, columns=["container", "bytes", "sum_of_squares_s"])
    out["bytes_per_value"] = out["bytes"] / n
    return out


def compare_imputations(values: pd.Series, missing: pd.Series, groups: pd.Series) -> pd.DataFrame:
    """Each way of handling `values[missing]`, judged against the values themselves (known here).

    `mean_error` is the bias of the column's mean after the strategy; `rmse_filled` how far the filled
    values are from the hidden ones; `std` shows how filling with one value shrinks the spread.
    """
    seen = values.mask(missing)
    fills = {"drop the rows": None,
             "fill with the mean": seen.fillna(seen.mean()),
             "fill with the median": seen.fillna(seen.median()),
             "fill with the group's median": seen.fillna(seen.groupby(groups).transform("median"))}
    rows = []
    for name, filled in fills.items():
        kept = seen.dropna() if filled is None else filled
        rmse = np.nan if filled is None else float(np.sqrt(((filled[missing] - values[missing]) ** 2).mean()))
        rows.append({"strategy": name, "rows": len(kept), "mean_error": kept.mean() - values.mean(),
                     "std": kept.std(), "rmse_filled": rmse})
    return pd.DataFrame(rows).set_index("strategy")


# -- the lock file -------------------------------------------------------------------
_PIN = re.compile(r"^([A-Za-z0-9_.\-\[\]]+)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")


def lock_pins(lock: Path) -> pd.DataFrame:
    """Each pin of a `uv pip compile --universal --generate-hashes` lock, and what is installed here.

    A universal lock may pin one package twice, for different Pythons or platforms (its
    environment marker says which): `applies` says whether the pin is this interpreter's.
    """
    from packaging.markers import Marker

    rows, current = [], None
    for line in lock.read_text().splitlines():
        if m := _PIN.match(line):
            marker = m.group(3) or ""
            current = {"package": m.group(1), "locked": m.group(2), "marker": marker,
                       "applies": Marker(marker).evaluate() if marker else True, "hashes": 0}
            rows.append(current)
        elif current is not None and line.strip().startswith("--hash="):
            current["hashes"] += 1
    out = pd.DataFrame(rows)
    out["installed"] = [_installed(p) if applies else None for p, applies in zip(out["package"], out["applies"],
                                                                                 strict=True)]
    return out


def _installed(package: str) -> str | None:
    try:
        return metadata.version(package.split("[")[0])
    except metadata.PackageNotFoundError:
        return None            # pinned for another platform or Python (a universal lock)


# -- exercises of 01_python_for_data_science -------------------------------------------------------
def _normalised(dirty: pd.DataFrame) -> pd.DataFrame:
    from scalelab.datasets import tabular

    return tabular.normalise(dirty)


register(Exercise(
    "f01.income", "Income from text to numbers with a regular expression",
    lambda dirty: _normalised(dirty)[["id", "income"]],
    rules=Rules(rtol=0),
    hint="strip spaces, treat the null tokens (lab text) as missing, remove '$' and ',' with "
         "str.replace(r'[$,]', '', regex=True), then pd.to_numeric(..., errors='coerce'). One row per dirty row."))

register(Exercise(
    "f01.signup_dates", "Dates in three formats, and impossible ones, to one date column",
    lambda dirty: _normalised(dirty)[["id", "signup_date"]],
    hint="parse each format with pd.to_datetime(text, format=..., errors='coerce') and combine them with "
         "fillna: '%Y-%m-%d', '%d/%m/%Y' (day first) and '%Y%m%d'. An impossible date stays missing."))


# -- exercises of 02_numpy -------------------------------------------------------------------------
def _numeric(data: pd.DataFrame) -> np.ndarray:
    return data[["balance", "tenure_months", "num_products"]].to_numpy(dtype=float)


def _zscores(data: pd.DataFrame) -> np.ndarray:
    x = _numeric(data)
    return (x - x.mean(axis=0)) / x.std(axis=0)


def _least_squares(data: pd.DataFrame) -> np.ndarray:
    x = _numeric(data)
    design = np.column_stack([np.ones(len(x)), x[:, 1], x[:, 2]])
    return np.linalg.lstsq(design, x[:, 0], rcond=None)[0]


register(Exercise(
    "f02.zscore", "Standardise every column at once, by broadcasting", _zscores, kind="array",
    rules=Rules(rtol=1e-9, atol=1e-12),
    hint="x.mean(axis=0) and x.std(axis=0) have shape (3,); (x - mean) / std broadcasts them over the rows. "
         "ddof=0 (NumPy's default)."))

register(Exercise(
    "f02.least_squares", "balance ~ 1 + tenure_months + num_products by least squares", _least_squares,
    kind="array", rules=Rules(rtol=1e-6),
    hint="a design matrix with a column of ones first (np.column_stack), then np.linalg.lstsq(A, y, rcond=None)[0]: "
         "the intercept, then one coefficient per column."))


# -- exercises of 03_pandas ------------------------------------------------------------------------
def _join_counts(trips: pd.DataFrame, promos: pd.DataFrame) -> dict:
    return {how: len(trips.merge(promos, left_on="dropoff_zone", right_on="zone_id", how=how))
            for how in ("inner", "left", "right", "outer")}


def _daily(trips: pd.DataFrame) -> pd.DataFrame:
    by_day = trips.set_index("pickup_at").resample("D")
    return pd.DataFrame({"trips": by_day.size(), "median_fare": by_day["fare"].median()}) \
        .rename_axis("day").reset_index()


register(Exercise(
    "f03.join_counts", "Rows after each kind of join", _join_counts, kind="mapping",
    hint="len(trips.merge(promos, left_on='dropoff_zone', right_on='zone_id', how=how)) for each how: "
         "a trip matching two promotions is two rows, and a promotion matching no trip is one row in a right "
         "or outer join."))

register(Exercise(
    "f03.daily", "Trips and median fare per day", _daily, keys=("day",), rules=Rules(rtol=1e-12),
    hint="trips.set_index('pickup_at').resample('D'): .size() for trips, ['fare'].median() for the fare; "
         "a day without trips is a row with 0 trips and a missing median."))


# -- exercises of 04_visualisation -----------------------------------------------------------------
def _boroughs(trips: pd.DataFrame, zones: pd.DataFrame) -> pd.Series:
    from scalelab.apps import dashboard

    return dashboard.select(trips, zones, dashboard.ALL)["borough"].value_counts().rename_axis("borough")


def _busiest_hour(trips: pd.DataFrame) -> dict:
    from scalelab.apps.dashboard import DAYS

    day, hour = trips.groupby([trips["pickup_at"].dt.day_of_week, trips["pickup_at"].dt.hour]).size().idxmax()
    return {"day": DAYS[day], "hour": int(hour)}


register(Exercise(
    "f04.boroughs", "Pickups per borough, as a sorted bar chart", _boroughs, kind="bars",
    hint="rides['borough'].value_counts() is already sorted from most to fewest; .plot.bar(title=..., ylabel=...)."))

register(Exercise(
    "f04.busiest_hour", "The busiest hour of the week", _busiest_hour, kind="mapping",
    hint="group by (pickup_at.dt.day_of_week, pickup_at.dt.hour), .size().idxmax() gives (day number, hour); "
         "dashboard.DAYS[day] names the day."))


# -- exercises of 05_ml_fundamentals ---------------------------------------------------------------
def _confusion(y_true, p, threshold: float) -> dict:
    decide, y_true = np.asarray(p) >= threshold, np.asarray(y_true)
    return {"tp": int((decide & (y_true == 1)).sum()), "fp": int((decide & (y_true == 0)).sum()),
            "fn": int((~decide & (y_true == 1)).sum()), "tn": int((~decide & (y_true == 0)).sum())}


def _best_depth(X: pd.DataFrame, y) -> int:
    from sklearn.model_selection import validation_curve
    from sklearn.tree import DecisionTreeClassifier

    cols = ["age", "income", "balance", "tenure_months", "num_products"]
    depths = list(range(1, 13))
    _, valid = validation_curve(DecisionTreeClassifier(random_state=0), X[cols].fillna(-1), y,
                                param_name="max_depth", param_range=depths, cv=5, scoring="roc_auc")
    return depths[int(valid.mean(axis=1).argmax())]


register(Exercise(
    "f05.confusion", "The confusion matrix at a threshold of 0.3", _confusion, kind="mapping",
    hint="decide = p >= 0.3; tp counts decide & (y_test == 1), fp decide & (y_test == 0), and so on."))

register(Exercise(
    "f05.best_depth", "The depth that validates best", _best_depth, kind="value",
    hint="validation_curve(DecisionTreeClassifier(random_state=0), X_train[cols].fillna(-1), y_train, "
         "param_name='max_depth', param_range=range(1, 13), cv=5, scoring='roc_auc'); the argmax of the mean."))


# -- exercises of 06_scikit_learn ------------------------------------------------------------------
def tree_models() -> dict:
    """The two tree ensembles the scikit-learn lab compares (and its grader refits), as pipelines."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    from scalelab.ml import models

    def prepare():      # trees need no scaling, and take missing numbers as they are
        return ColumnTransformer([("numeric", "passthrough", list(models.NUMERIC)),
                                  ("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                                   list(models.CATEGORICAL))])
    return {"random forest": Pipeline([("prepare", prepare()), ("model", RandomForestClassifier(
                n_estimators=200, min_samples_leaf=5, random_state=0, n_jobs=2))]),
            "gradient boosting": Pipeline([("prepare", prepare()),
                                           ("model", HistGradientBoostingClassifier(random_state=0))])}


def _best_c(pipe, X, y) -> float:
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    search = GridSearchCV(clone(pipe), {"model__C": [0.01, 0.1, 1.0, 10.0]}, scoring="roc_auc",
                          cv=StratifiedKFold(5, shuffle=True, random_state=0)).fit(X, y)
    return float(search.best_params_["model__C"])


def _ensembles(X_train, y_train, X_test, y_test) -> dict:
    from sklearn.metrics import roc_auc_score

    return {key: float(roc_auc_score(y_test, model.fit(X_train, y_train).predict_proba(X_test)[:, 1]))
            for key, model in zip(("random_forest", "gradient_boosting"), tree_models().values(), strict=True)}


register(Exercise(
    "f06.best_c", "The penalty chosen by cross-validation", _best_c, kind="value",
    hint="GridSearchCV(pipe, {'model__C': [...]}, scoring='roc_auc', cv=StratifiedKFold(5, shuffle=True, "
         "random_state=0)).fit(X_train, y_train).best_params_['model__C']"))

register(Exercise(
    "f06.ensembles", "Held-out ROC AUC of the two ensembles", _ensembles, kind="mapping", rules=Rules(rtol=1e-12),
    hint="roc_auc_score(y_test, models[name].predict_proba(X_test)[:, 1]) for each of the two fitted models."))


# -- exercises of 07_neural_networks ---------------------------------------------------------------
def _output_gradient(net, X, y) -> float:
    return float(net.gradients(X, y)["b2"][0])


def _most_important(model, X, y) -> str:
    from sklearn.inspection import permutation_importance

    from scalelab.ml.nn import FEATURES

    imp = permutation_importance(model, X, y, scoring="roc_auc", n_repeats=5, random_state=0)
    return FEATURES[int(imp.importances_mean.argmax())]


register(Exercise(
    "f07.output_gradient", "d loss / d b2, by hand", _output_gradient, kind="value", rules=Rules(rtol=1e-9),
    hint="b2 is added to every row's output before the sigmoid, so its gradient is the mean of dz2 * n / n: "
         "(net.predict_proba(X) - y).mean()."))

register(Exercise(
    "f07.most_important", "The feature the network relies on most", _most_important, kind="value",
    hint="permutation_importance(...).importances_mean has one value per feature, in nn.FEATURES order."))


# -- exercises of 08_model_deployment --------------------------------------------------------------
def _scored(batch: pd.DataFrame) -> pd.DataFrame:
    from scalelab.ml import models
    from scalelab.ml.serving import model

    fitted, _, _ = model.load()
    return pd.DataFrame({"id": batch["id"].to_numpy(), "p_churn": fitted.predict_proba(models.model_frame(batch))[:, 1]})


def _drifted(reference: pd.DataFrame, shifted: pd.DataFrame) -> list[str]:
    from scalelab.ml.serving import drift

    report = drift.report(reference, shifted)
    return sorted(report.loc[report["drifted"], "feature"])


register(Exercise(
    "f08.scored", "Customers scored through the model-api", _scored, keys=("id",), rules=Rules(rtol=0),
    hint="requests.post(f'{API}/predict', json=load.customers_payload(to_score)).json()['p_churn'] is in the "
         "order of the rows you sent."))

register(Exercise(
    "f08.drifted", "The features that drifted", _drifted, kind="value",
    hint="report['drifted'] is a boolean column; sorted(report.loc[report['drifted'], 'feature'])."))
