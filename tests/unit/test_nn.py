"""The NumPy network: its gradients are the loss's, its forward pass is scikit-learn's, and it learns."""

import numpy as np
import pytest
from sklearn.neural_network import MLPClassifier

from scalelab.ml import nn


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    y = ((X[:, 0] ** 2 + X[:, 1] - 1 + rng.normal(scale=0.3, size=400)) > 0).astype(float)   # not linear
    return X, y


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_backpropagation_matches_finite_differences(data, activation):
    X, y = data
    net = nn.Network.init(3, 5, seed=1, activation=activation)
    grads = net.gradients(X[:50], y[:50])
    for name in ("W1", "b1", "W2", "b2"):
        assert nn.relative_error(grads[name], nn.numeric_gradient(net, X[:50], y[:50], name)) < 1e-5, name


def test_a_wrong_gradient_would_be_caught(data):
    X, y = data
    net = nn.Network.init(3, 5, seed=1)
    wrong = net.gradients(X[:50], y[:50])["W1"] * 1.01
    assert nn.relative_error(wrong, nn.numeric_gradient(net, X[:50], y[:50], "W1")) > 1e-3


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")   # any weights will do here
def test_the_forward_pass_is_scikit_learns_given_its_weights(data):
    X, y = data
    mlp = MLPClassifier(hidden_layer_sizes=(6,), activation="tanh", max_iter=50, random_state=0).fit(X, y)
    np.testing.assert_allclose(nn.from_sklearn(mlp).predict_proba(X), mlp.predict_proba(X)[:, 1], rtol=0, atol=1e-12)


def test_training_lowers_the_loss_and_bends_where_a_line_cannot(data):
    X, y = data
    net = nn.Network.init(3, 8, seed=0).fit(X, y, epochs=150, lr=0.5, batch=64)
    assert net.history[-1] < 0.5 * net.history[0]
    accuracy = ((net.predict_proba(X) >= 0.5) == y).mean()
    assert accuracy > 0.85
