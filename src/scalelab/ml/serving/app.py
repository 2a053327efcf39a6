"""The model-api service: the churn model behind FastAPI, with validation, health, metrics and drift.

    POST /predict   {"customers": [{...}, ...]} -> {"model_id": ..., "p_churn": [...]}
    GET  /health    the model's card (what it is, what it was made with, how well it scored)
    GET  /metrics   Prometheus text: requests by path and status, latency, predictions, drift
    GET  /drift     per feature, the PSI of the inputs seen so far against the training data

Run by `scalelab serve model-api` (uvicorn with `create_app` as its factory).
"""

from __future__ import annotations

import time
from collections import Counter, deque
from contextlib import asynccontextmanager
from dataclasses import asdict
from typing import Literal, Optional

import pandas as pd
from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from scalelab.config import Config
from scalelab.datasets import tabular
from scalelab.ml import models
from scalelab.ml.serving import drift, model

LIVE_ROWS = 10_000                 # inputs kept for the drift monitor (the most recent)
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
ROUTES = ("/predict", "/health", "/metrics", "/drift")


class Customer(BaseModel):
    """One customer as the model takes them; None where the data may be missing."""
    model_config = ConfigDict(extra="forbid")        # a misspelt field is an error, not silently ignored

    age: Optional[int] = Field(None, ge=18, le=120)
    income: Optional[float] = Field(None, ge=0)
    balance: float
    tenure_months: int = Field(ge=0, le=1_200)
    num_products: int = Field(ge=1, le=10)
    region: Optional[Literal[tuple(tabular.REGIONS)]] = None     # type: ignore[valid-type]
    plan: Literal[tuple(tabular.PLANS)]                            # type: ignore[valid-type]
    channel: Optional[Literal[tuple(tabular.CHANNELS)]] = None   # type: ignore[valid-type]


class Batch(BaseModel):
    customers: list[Customer] = Field(min_length=1, max_length=1_000)


class Prediction(BaseModel):
    model_id: str
    p_churn: list[float]


class _Metrics:
    def __init__(self):
        self.requests: Counter = Counter()
        self.buckets = [0] * len(BUCKETS)
        self.seconds = 0.0
        self.count = 0
        self.predictions = 0

    def observe(self, path: str, status: int, seconds: float) -> None:
        self.requests[(path if path in ROUTES else "other", status)] += 1
        self.seconds += seconds
        self.count += 1
        for i, le in enumerate(BUCKETS):
            if seconds <= le:
                self.buckets[i] += 1

    def text(self, psi: pd.DataFrame) -> str:
        out = ["# HELP scalelab_requests_total Requests by path and status.",
               "# TYPE scalelab_requests_total counter"]
        out += [f'scalelab_requests_total{{path="{p}",status="{s}"}} {n}' for (p, s), n in sorted(self.requests.items())]
        out += ["# HELP scalelab_request_seconds Request latency.", "# TYPE scalelab_request_seconds histogram"]
        out += [f'scalelab_request_seconds_bucket{{le="{le}"}} {n}' for le, n in zip(BUCKETS, self.buckets, strict=True)]
        out += [f'scalelab_request_seconds_bucket{{le="+Inf"}} {self.count}',
                f"scalelab_request_seconds_sum {self.seconds:.6f}", f"scalelab_request_seconds_count {self.count}",
                "# HELP scalelab_predictions_total Customers scored.", "# TYPE scalelab_predictions_total counter",
                f"scalelab_predictions_total {self.predictions}",
                "# HELP scalelab_feature_psi Population stability index of each input against the training data.",
                "# TYPE scalelab_feature_psi gauge"]
        out += [f'scalelab_feature_psi{{feature="{r.feature}"}} {r.psi:.6f}' for r in psi.itertuples() if r.psi == r.psi]
        return "\n".join(out) + "\n"


def create_app(cfg: Config | None = None) -> FastAPI:
    state: dict = {}

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        state["model"], state["card"], state["reference"] = model.load_or_train(cfg)
        state["live"] = deque(maxlen=LIVE_ROWS)
        state["metrics"] = _Metrics()
        yield

    app = FastAPI(title="scalelab model-api", description="The churn model of the tabular data set.", lifespan=lifespan)

    @app.middleware("http")
    async def count(request: Request, call_next):
        start = time.perf_counter()
        response = await call_next(request)
        if "metrics" in state:
            state["metrics"].observe(request.url.path, response.status_code, time.perf_counter() - start)
        return response

    def live_frame() -> pd.DataFrame:
        return models.model_frame(pd.DataFrame(list(state["live"]), columns=[*models.NUMERIC, *models.CATEGORICAL]))

    @app.post("/predict", response_model=Prediction)
    def predict(batch: Batch) -> Prediction:
        rows = [c.model_dump() for c in batch.customers]
        state["live"].extend(rows)
        p = state["model"].predict_proba(pd.DataFrame(rows))[:, 1]
        state["metrics"].predictions += len(rows)
        return Prediction(model_id=state["card"].model_id, p_churn=p.tolist())

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok", **asdict(state["card"])}

    @app.get("/drift")
    def drift_report() -> dict:
        table = drift.report(state["reference"], live_frame())
        return {"rows_seen": len(state["live"]), "enough_rows": len(state["live"]) >= drift.MIN_ROWS,
                "threshold": drift.DRIFTED,
                "features": table.astype(object).where(table.notna(), None).to_dict(orient="records")}

    @app.get("/metrics", response_class=PlainTextResponse)
    def metrics() -> str:
        return state["metrics"].text(drift.report(state["reference"], live_frame()))

    return app
