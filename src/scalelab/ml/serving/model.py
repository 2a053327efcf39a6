"""The served model: trained once on `tabular`, persisted with what it was made with, refused if that differs.

A pickled scikit-learn model is only safe to load with the versions that pickled it (a
new version may unpickle it into something subtly different, or fail). So the model is
saved beside a JSON card: the library versions, the data set it was trained on, its
held-out metrics, the file's sha256, and a sample of the training inputs (the reference
the drift monitor compares live inputs with). `load` checks all of it.
"""

from __future__ import annotations

import hashlib
import io
import json
import platform
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from scalelab.config import Config

REFERENCE_ROWS = 5_000          # training inputs kept for the drift monitor


class ModelError(RuntimeError):
    """The persisted model cannot be used as it is; the message says why and what to run."""


@dataclass
class Card:
    model_id: str
    dataset: str
    trained_rows: int
    holdout_roc_auc: float
    holdout_accuracy: float
    sklearn: str
    numpy: str
    python: str
    sha256: str


def _versions() -> dict[str, str]:
    import sklearn

    return {"sklearn": sklearn.__version__, "numpy": np.__version__, "python": platform.python_version()}


def model_dir(cfg: Config | None = None) -> Path:
    return (cfg or Config.load()).state_dir / "models"


def paths(cfg: Config | None = None) -> tuple[Path, Path, Path]:
    d = model_dir(cfg)
    return d / "churn.joblib", d / "churn.json", d / "churn-reference.parquet"


def train(cfg: Config | None = None, scale: str | None = None) -> Card:
    """Fit the churn pipeline on the training rows of `tabular`, score it on the held-out ones, persist it."""
    import joblib
    from sklearn.metrics import accuracy_score, roc_auc_score

    from scalelab import datasets
    from scalelab.ml import models

    cfg = cfg or Config.load()
    ds = datasets.generate("tabular", scale=scale or cfg.get("MODEL_API_TRAIN_SCALE"))
    data = pd.read_parquet(ds.table_path("data"))
    X_train, X_test, y_train, y_test = models.holdout_split(data)
    model = models.logistic_pipeline().fit(X_train, y_train)
    p = model.predict_proba(X_test)[:, 1]
    model_file, card_file, reference_file = paths(cfg)
    model_file.parent.mkdir(parents=True, exist_ok=True)
    # Written beside, then renamed: a crash mid-write never leaves a half model under the real name.
    tmp = model_file.with_suffix(".joblib.tmp")
    joblib.dump(model, tmp)
    digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
    card = Card(model_id=f"churn-logreg-{digest[:12]}", dataset=ds.name, trained_rows=len(X_train),
                holdout_roc_auc=float(roc_auc_score(y_test, p)), holdout_accuracy=float(accuracy_score(y_test, p >= 0.5)),
                sha256=digest, **_versions())
    X_train.sample(min(REFERENCE_ROWS, len(X_train)), random_state=0).to_parquet(reference_file)
    tmp.replace(model_file)
    card_file.write_text(json.dumps(asdict(card), indent=2))
    return card


def load(cfg: Config | None = None):
    """(model, card, training reference), after checking the file and the versions it was made with."""
    import joblib

    model_file, card_file, reference_file = paths(cfg)
    if not (model_file.exists() and card_file.exists() and reference_file.exists()):
        raise ModelError(f"no trained model in {model_file.parent}: run `scalelab model train` "
                         "(the model-api service trains one when it starts)")
    card = Card(**json.loads(card_file.read_text()))
    # One read: the bytes that are hashed are the bytes that are unpickled, so a file replaced
    # between the check and the load cannot slip through.
    blob = model_file.read_bytes()
    if hashlib.sha256(blob).hexdigest() != card.sha256:
        raise ModelError(f"{model_file} does not match its card's sha256 (changed or half-written): "
                         "run `scalelab model train`")
    now = _versions()
    differ = {k: (getattr(card, k), v) for k, v in now.items() if k != "python" and getattr(card, k) != v}
    if differ:
        raise ModelError("the model was saved with other library versions than these: "
                         + ", ".join(f"{k} {was} (saved) vs {v} (here)" for k, (was, v) in differ.items())
                         + "; unpickling across versions is unsafe: run `scalelab model train`")
    return joblib.load(io.BytesIO(blob)), card, pd.read_parquet(reference_file)


def load_or_train(cfg: Config | None = None):
    """What the service does at start: the persisted model, or a new one when there is none."""
    import sys

    try:
        return load(cfg)
    except ModelError as exc:
        # The model is derived data: rebuilding it is always safe, and the reason goes to the log.
        print(f"model-api: training a new model ({exc})", file=sys.stderr, flush=True)
        train(cfg)
        return load(cfg)
