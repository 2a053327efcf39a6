"""Drift: do the inputs the service sees still look like the data the model was trained on?

Per numeric feature, the Population Stability Index over ten bins cut at the training
data's deciles (a missing value is a bin of its own); per categorical feature, the same
index over its levels. The usual reading: below 0.1 stable, 0.1-0.2 worth a look, above
0.2 drifted (the model is seeing a population it was not trained on).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DRIFTED = 0.2
MIN_ROWS = 500                    # fewer live inputs than this say nothing about a population
EPS = 1e-4                        # an empty bin would make the index infinite


def _shares(values: np.ndarray, bins: int) -> np.ndarray:
    counts = np.bincount(values, minlength=bins).astype(float)
    return np.maximum(counts / max(counts.sum(), 1.0), EPS)


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def _numeric_bins(reference: pd.Series, live: pd.Series) -> tuple[np.ndarray, np.ndarray, int]:
    edges = np.unique(np.nanquantile(reference.to_numpy(dtype=float), np.linspace(0.1, 0.9, 9)))

    def codes(s: pd.Series) -> np.ndarray:
        v = s.to_numpy(dtype=float)
        return np.where(np.isnan(v), len(edges) + 1, np.searchsorted(edges, v, side="right"))
    return codes(reference), codes(live), len(edges) + 2


def _categorical_bins(reference: pd.Series, live: pd.Series) -> tuple[np.ndarray, np.ndarray, int]:
    levels = {v: i for i, v in enumerate(sorted(set(reference.astype(str)) | set(live.astype(str))))}
    return (reference.astype(str).map(levels).to_numpy(), live.astype(str).map(levels).to_numpy(), len(levels))


def report(reference: pd.DataFrame, live: pd.DataFrame) -> pd.DataFrame:
    """One row per feature: its PSI between the training reference and the live inputs, and whether it drifted.

    Below MIN_ROWS live inputs the PSI is NaN and nothing is called drifted.
    """
    rows = []
    for col in reference.columns:
        if len(live) < MIN_ROWS:
            rows.append({"feature": col, "psi": float("nan"), "drifted": False})
            continue
        numeric = pd.api.types.is_numeric_dtype(reference[col])
        ref, cur, bins = (_numeric_bins if numeric else _categorical_bins)(reference[col], live[col])
        value = psi(_shares(ref, bins), _shares(cur, bins))
        rows.append({"feature": col, "psi": value, "drifted": value > DRIFTED})
    return pd.DataFrame(rows)
