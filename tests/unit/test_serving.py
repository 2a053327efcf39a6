"""The model-api app in-process (FastAPI's TestClient), on an isolated state folder.

tests/stack/test_model_api.py checks the same service started for real by `make up`.
"""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from scalelab import datasets
from scalelab.cli import app as cli
from scalelab.config import Config
from scalelab.ml import models
from scalelab.ml.serving import drift, load, model

with warnings.catch_warnings():
    warnings.simplefilter("ignore")     # starlette's note that its test client moves to httpx2
    from fastapi.testclient import TestClient

from scalelab.ml.serving.app import create_app  # noqa: E402


@pytest.fixture(scope="module")
def cfg(tmp_path_factory):
    state = tmp_path_factory.mktemp("state")
    return Config.load(environ={"SCALELAB_STATE_DIR": str(state), "MODEL_API_TRAIN_SCALE": "tiny"})


@pytest.fixture(scope="module")
def client(cfg):
    with TestClient(create_app(cfg)) as c:
        yield c


@pytest.fixture(scope="module")
def customers():
    return pd.read_parquet(datasets.generate("tabular", scale="tiny").table_path("data"))


def test_predictions_over_http_equal_the_models_own(client, cfg, customers):
    batch = customers.head(200)
    got = client.post("/predict", json=load.customers_payload(batch))
    assert got.status_code == 200, got.text
    fitted, card, _ = model.load(cfg)
    assert got.json()["model_id"] == card.model_id
    np.testing.assert_array_equal(np.array(got.json()["p_churn"]), fitted.predict_proba(models.model_frame(batch))[:, 1])


@pytest.mark.parametrize("change, field, says", [
    ({"age": 4}, "age", "greater than or equal to 18"),
    ({"plan": "gold"}, "plan", "'basic', 'plus' or 'premium'"),
    ({"balanse": 1.0}, "balanse", "Extra inputs are not permitted"),
    ({"tenure_months": "long"}, "tenure_months", "valid integer"),
])
def test_a_bad_request_gets_422_naming_the_field_and_the_reason(client, customers, change, field, says):
    row = load.customers_payload(customers.head(1))["customers"][0] | change
    got = client.post("/predict", json={"customers": [row]})
    assert got.status_code == 422
    errors = got.json()["detail"]
    assert any(e["loc"][-1] == field and says in e["msg"] for e in errors), errors


def test_an_empty_batch_is_refused(client):
    got = client.post("/predict", json={"customers": []})
    assert got.status_code == 422 and "at least 1 item" in got.text


def test_health_shows_the_card(client):
    card = client.get("/health").json()
    assert card["status"] == "ok" and card["model_id"].startswith("churn-logreg-")
    assert card["sklearn"] and card["holdout_roc_auc"] > 0.8


def test_drift_is_silent_on_training_like_inputs_and_names_a_shifted_feature(cfg, customers):
    with TestClient(create_app(cfg)) as fresh:
        assert fresh.get("/drift").json()["enough_rows"] is False
        like_training = customers.sample(drift.MIN_ROWS, random_state=1)
        fresh.post("/predict", json=load.customers_payload(like_training))
        report = fresh.get("/drift").json()
        assert report["enough_rows"] and not any(f["drifted"] for f in report["features"]), report
    with TestClient(create_app(cfg)) as shifted:
        richer = customers.sample(drift.MIN_ROWS, random_state=2).assign(income=lambda d: d["income"] * 3)
        shifted.post("/predict", json=load.customers_payload(richer))
        drifted = {f["feature"] for f in shifted.get("/drift").json()["features"] if f["drifted"]}
        assert drifted == {"income"}
        metrics = shifted.get("/metrics").text
        assert 'scalelab_requests_total{path="/predict",status="200"} 1' in metrics
        assert f"scalelab_predictions_total {drift.MIN_ROWS}" in metrics
        assert 'scalelab_feature_psi{feature="income"}' in metrics


def test_a_changed_model_file_or_other_versions_are_refused_and_the_service_retrains(tmp_path):
    cfg = Config.load(environ={"SCALELAB_STATE_DIR": str(tmp_path), "MODEL_API_TRAIN_SCALE": "tiny"})
    card = model.train(cfg)
    model_file, card_file, _ = model.paths(cfg)
    model_file.write_bytes(model_file.read_bytes() + b"x")
    with pytest.raises(model.ModelError, match="does not match its card's sha256"):
        model.load(cfg)
    model.train(cfg)
    saved = json.loads(card_file.read_text())
    card_file.write_text(json.dumps(saved | {"sklearn": "0.1"}))
    with pytest.raises(model.ModelError, match=r"sklearn 0.1 \(saved\) vs .* \(here\)"):
        model.load(cfg)
    _, again, _ = model.load_or_train(cfg)
    assert again.sklearn != "0.1" and again.model_id == card.model_id    # same data, same model, same bytes


def test_model_train_on_the_command_line(tmp_path, monkeypatch):
    monkeypatch.setenv("SCALELAB_STATE_DIR", str(tmp_path))
    result = CliRunner().invoke(cli, ["model", "train", "--scale", "tiny"])
    assert result.exit_code == 0, result.output
    assert "held-out ROC AUC" in result.output and (tmp_path / "models" / "churn.joblib").exists()
