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


# -- hostile input (issue 25): refused cheaply and plainly, nothing counted that did not happen -----
def _one(customers) -> dict:
    return load.customers_payload(customers.head(1))["customers"][0]


def test_a_body_over_the_limit_is_refused_with_413_before_it_is_read(client):
    from scalelab.ml.serving.app import MAX_BODY

    got = client.post("/predict", content=b"x" * (MAX_BODY + 1), headers={"content-type": "application/json"})
    assert got.status_code == 413 and "larger than" in got.json()["detail"] and len(got.content) < 300


def test_a_batch_over_the_limit_is_refused_before_any_customer_is_validated(client):
    from scalelab.ml.serving.app import MAX_BATCH

    got = client.post("/predict", json={"customers": [{}] * (MAX_BATCH + 1)})
    assert got.status_code == 422
    errors = got.json()["detail"]
    # One error about the length; the 1,001 invalid customers were never looked at.
    assert len(errors) == 1 and errors[0]["type"] == "too_long" and errors[0]["loc"] == ["body", "customers"]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_nan_and_infinity_are_refused_with_422_naming_the_field(client, customers, literal):
    row = json.dumps({"customers": [_one(customers) | {"balance": 0.0}]}).replace('"balance": 0.0',
                                                                                    f'"balance": {literal}')
    got = client.post("/predict", content=row, headers={"content-type": "application/json"})
    assert got.status_code == 422, got.text
    (error,) = got.json()["detail"]
    assert error["loc"][-1] == "balance" and "finite number" in error["msg"]


@pytest.mark.parametrize("field, value", [("balance", 1e308), ("balance", -1e12), ("income", 1e12)])
def test_every_number_is_bounded(client, customers, field, value):
    got = client.post("/predict", json={"customers": [_one(customers) | {field: value}]})
    assert got.status_code == 422 and got.json()["detail"][0]["loc"][-1] == field


def test_a_refusal_never_echoes_the_input_and_lists_a_bounded_number_of_errors(client, customers):
    from scalelab.ml.serving.app import MAX_ERRORS

    bad = [_one(customers) | {"plan": "p" * 150} for _ in range(1_000)]
    got = client.post("/predict", json={"customers": bad})
    assert got.status_code == 422
    errors = got.json()["detail"]
    assert len(errors) == MAX_ERRORS + 1 and "980 more errors" in errors[-1]["msg"]
    assert "ppppp" not in got.text and all("input" not in e for e in errors)


def test_a_failed_prediction_is_a_counted_500_and_its_rows_stay_out_of_the_drift_window(cfg, customers,
                                                                                          monkeypatch):
    from sklearn.pipeline import Pipeline

    with TestClient(create_app(cfg), raise_server_exceptions=False) as fresh:
        def broken(self, X):
            raise ValueError("the model failed")

        monkeypatch.setattr(Pipeline, "predict_proba", broken)
        got = fresh.post("/predict", json=load.customers_payload(customers.head(3)))
        assert got.status_code == 500
        assert fresh.get("/drift").json()["rows_seen"] == 0
        assert 'scalelab_requests_total{path="/predict",status="500"} 1' in fresh.get("/metrics").text


def test_the_model_is_unpickled_from_the_bytes_that_were_hashed(cfg, monkeypatch):
    import hashlib
    import io

    import joblib

    model.train(cfg)
    seen = []
    real = joblib.load
    monkeypatch.setattr(joblib, "load", lambda source: seen.append(source) or real(source))
    _, card, _ = model.load(cfg)
    (source,) = seen
    assert isinstance(source, io.BytesIO) and hashlib.sha256(source.getvalue()).hexdigest() == card.sha256


@pytest.mark.parametrize("prefix, openapi", [("/model-api", "/model-api/openapi.json"),
                                             ("", "/openapi.json"),
                                             # anything but a plain path is ignored: it reaches the page's script
                                             ("/x';alert(1)//", "/openapi.json"),
                                             ("/a/b", "/openapi.json")])
def test_the_docs_page_names_its_schema_under_the_proxys_prefix_and_only_a_plain_one(client, prefix, openapi):
    page = client.get("/docs", headers={"X-Forwarded-Prefix": prefix} if prefix else {})
    assert page.status_code == 200
    assert f"url: '{openapi}'" in page.text
    assert "alert(1)" not in page.text
