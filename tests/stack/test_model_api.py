"""The model-api service that `make up` started: a real uvicorn process on its port.

Its predictions are the persisted model's own, bad input gets a 422 with the reason, and a
small load test from several threads is answered in full (its timings are printed, not asserted).
"""

import numpy as np
import pandas as pd
import pytest
import requests

from scalelab import datasets
from scalelab.ml import models
from scalelab.ml.serving import load, model

pytestmark = [pytest.mark.stack]


@pytest.fixture(scope="module")
def api(cfg, require) -> str:
    require("model-api")
    return cfg.url("MODEL_API_PORT", "").rstrip("/")


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    return pd.read_parquet(datasets.generate("tabular", scale="tiny").table_path("data"))


def test_the_service_serves_the_persisted_model_exactly(api, cfg, customers):
    fitted, card, _ = model.load(cfg)
    assert requests.get(f"{api}/health", timeout=10).json()["model_id"] == card.model_id
    batch = customers.sample(300, random_state=3)
    got = requests.post(f"{api}/predict", json=load.customers_payload(batch), timeout=30)
    assert got.status_code == 200, got.text
    np.testing.assert_array_equal(got.json()["p_churn"], fitted.predict_proba(models.model_frame(batch))[:, 1])


def test_bad_input_gets_422_with_the_reason(api, customers):
    row = load.customers_payload(customers.head(1))["customers"][0] | {"num_products": 0}
    got = requests.post(f"{api}/predict", json={"customers": [row]}, timeout=10)
    assert got.status_code == 422
    assert got.json()["detail"][0]["loc"][-1] == "num_products"
    assert "greater than or equal to 1" in got.json()["detail"][0]["msg"]


def test_a_load_test_is_answered_in_full_and_counted(api, customers):
    before = requests.get(f"{api}/metrics", timeout=10).text
    payloads = [load.customers_payload(customers.iloc[i:i + 10]) for i in range(0, 2_000, 10)]
    result = load.run(f"{api}/predict", payloads, concurrency=4)
    print(f"{result.requests} requests of 10 customers: {result.per_second:.0f}/s, latency ms {result.latency_ms}")
    assert result.ok == result.requests == 200
    after = requests.get(f"{api}/metrics", timeout=10).text

    def predictions(text: str) -> int:
        return int(next(line for line in text.splitlines() if line.startswith("scalelab_predictions_total")).split()[1])
    assert predictions(after) - predictions(before) == 2_000
