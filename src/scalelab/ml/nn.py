"""A neural network written out in NumPy: one hidden layer, a sigmoid output, log loss, backpropagation.

Small on purpose: each line is one step of the maths, so a learner can follow how a
network learns. The foundations lab checks it three ways: its gradients against finite
differences, its forward pass against scikit-learn's MLPClassifier given the same
weights, and its held-out score against an MLPClassifier trained on the same data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

ACTIVATIONS = {
    "tanh": (np.tanh, lambda z, a: 1.0 - a ** 2),
    "relu": (lambda z: np.maximum(z, 0.0), lambda z, a: (z > 0).astype(float)),
}


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))        # the same function, without overflow for large |z|


@dataclass
class Network:
    W1: np.ndarray          # (features, hidden)
    b1: np.ndarray          # (hidden,)
    W2: np.ndarray          # (hidden, 1)
    b2: np.ndarray          # (1,)
    activation: str = "tanh"
    history: list[float] = field(default_factory=list)

    @classmethod
    def init(cls, features: int, hidden: int, seed: int = 0, activation: str = "tanh") -> "Network":
        """Glorot-uniform weights (as scikit-learn uses): activations neither vanish nor explode at the start."""
        rng = np.random.default_rng(seed)

        def glorot(n_in, n_out):
            bound = np.sqrt(6.0 / (n_in + n_out))
            return rng.uniform(-bound, bound, (n_in, n_out)), rng.uniform(-bound, bound, n_out)
        W1, b1 = glorot(features, hidden)
        W2, b2 = glorot(hidden, 1)
        return cls(W1, b1, W2, b2, activation)

    # -- forward -------------------------------------------------------------------------
    def forward(self, X: np.ndarray) -> dict[str, np.ndarray]:
        act, _ = ACTIVATIONS[self.activation]
        z1 = X @ self.W1 + self.b1           # (n, hidden)
        a1 = act(z1)
        z2 = a1 @ self.W2 + self.b2          # (n, 1)
        return {"z1": z1, "a1": a1, "p": sigmoid(z2)[:, 0]}

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.forward(X)["p"]

    @staticmethod
    def loss(p: np.ndarray, y: np.ndarray) -> float:
        p = np.clip(p, 1e-12, 1 - 1e-12)
        return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))

    # -- backward ------------------------------------------------------------------------
    def gradients(self, X: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
        """d loss / d each parameter, by the chain rule from the output back."""
        _, dact = ACTIVATIONS[self.activation]
        f = self.forward(X)
        n = len(y)
        dz2 = (f["p"] - y)[:, None] / n       # sigmoid + log loss: the derivative is p - y
        dW2 = f["a1"].T @ dz2
        db2 = dz2.sum(axis=0)
        da1 = dz2 @ self.W2.T
        dz1 = da1 * dact(f["z1"], f["a1"])
        dW1 = X.T @ dz1
        db1 = dz1.sum(axis=0)
        return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}

    def fit(self, X: np.ndarray, y: np.ndarray, epochs: int = 200, lr: float = 0.5, batch: int = 256,
            seed: int = 0) -> "Network":
        """Mini-batch gradient descent; the loss on all of X after each epoch goes to `history`."""
        rng = np.random.default_rng(seed)
        for _ in range(epochs):
            order = rng.permutation(len(y))
            for start in range(0, len(y), batch):
                idx = order[start:start + batch]
                for name, g in self.gradients(X[idx], y[idx]).items():
                    setattr(self, name, getattr(self, name) - lr * g)
            self.history.append(self.loss(self.predict_proba(X), y))
        return self


FEATURES = ("age", "log_income", "balance", "tenure_months", "num_products")


def churn_matrix(data: "pd.DataFrame") -> tuple[np.ndarray, np.ndarray]:
    """The tabular customers as a network takes them: numeric features, log income, medians for missing
    values, each standardised (mean 0, sd 1: gradient descent needs features on one scale); the label."""
    from scalelab.ml import models

    f = models.model_frame(data)
    f = f.assign(log_income=np.log(f["income"]))[list(FEATURES)]
    f = f.fillna(f.median())
    X = ((f - f.mean()) / f.std(ddof=0)).to_numpy()
    return X, data["churn"].to_numpy().astype(float)


def numeric_gradient(net: Network, X: np.ndarray, y: np.ndarray, name: str, eps: float = 1e-6) -> np.ndarray:
    """Central finite differences of the loss for every entry of one parameter (slow: for checking)."""
    param = getattr(net, name)
    grad = np.zeros_like(param)
    for i in np.ndindex(param.shape):
        keep = param[i]
        param[i] = keep + eps
        up = net.loss(net.predict_proba(X), y)
        param[i] = keep - eps
        down = net.loss(net.predict_proba(X), y)
        param[i] = keep
        grad[i] = (up - down) / (2 * eps)
    return grad


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b) / np.maximum(1e-12, np.abs(a) + np.abs(b))))


def from_sklearn(mlp, activation: str = "tanh") -> Network:
    """The weights of a fitted one-hidden-layer MLPClassifier (binary) in a Network."""
    (W1, W2), (b1, b2) = mlp.coefs_, mlp.intercepts_
    return Network(W1.copy(), b1.copy(), W2.copy(), b2.copy(), activation)


def tune(X: np.ndarray, y: np.ndarray, hidden: list[int], lrs: list[float], epochs: int = 30,
         folds: int = 3) -> "pd.DataFrame":
    """A grid over hidden sizes and learning rates, one Ray Tune trial each, scored by cross-validated ROC AUC.

    Runs on the Ray cluster the caller joined (connect.ray()), through the ML workloads' `ray_grid`.
    """
    import pandas as pd
    from sklearn.model_selection import StratifiedKFold

    from scalelab.ml.models import ray_grid

    def trial(config, X, y, splits):
        from sklearn.metrics import roc_auc_score

        scores = [roc_auc_score(y[test], Network.init(X.shape[1], config["hidden"], seed=0)
                                .fit(X[train], y[train], epochs=epochs, lr=config["lr"]).predict_proba(X[test]))
                  for train, test in splits]
        return {"roc_auc": float(np.mean(scores))}

    splits = list(StratifiedKFold(folds, shuffle=True, random_state=0).split(X, y))
    rows = ray_grid(trial, {"hidden": hidden, "lr": lrs}, "roc_auc", X=X, y=y, splits=splits)
    return pd.DataFrame([{**c, "roc_auc": m["roc_auc"]} for c, m in rows]).sort_values(
        "roc_auc", ascending=False, ignore_index=True)
