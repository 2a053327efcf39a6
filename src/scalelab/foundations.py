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

from .compare import Rules
from .grading import Exercise, register

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


# -- exercises -----------------------------------------------------------------------
def _normalised(dirty: pd.DataFrame) -> pd.DataFrame:
    from .datasets import tabular

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
