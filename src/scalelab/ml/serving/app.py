"""The model-api service: the churn model behind FastAPI, with validation, health, metrics and drift.

    POST /predict   {"customers": [{...}, ...]} -> {"model_id": ..., "p_churn": [...]}
    GET  /health    the model's card (what it is, what it was made with, how well it scored)
    GET  /metrics   Prometheus text: requests by path and status, latency, predictions, drift
    GET  /drift     per feature, the PSI of the inputs seen so far against the training data

Run by `scalelab serve model-api` (uvicorn with `create_app` as its factory).

Hostile input costs the service little and is refused plainly: a body over MAX_BODY
bytes is refused with 413 before it is read whole; a batch of more than MAX_BATCH
customers with 422 before any customer is validated; NaN, Infinity and numbers out of
range with 422 naming the field, and an error never echoes the input back. Validation
and prediction run off the event loop, so /health answers while a batch is scored.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter, deque
from contextlib import asynccontextmanager
from dataclasses import asdict
from typing import Literal, Optional

import pandas as pd
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from scalelab.config import Config
from scalelab.datasets import tabular
from scalelab.ml import models
from scalelab.ml.serving import drift, model

LIVE_ROWS = 10_000                 # inputs kept for the drift monitor (the most recent)
MAX_BATCH = 1_000                  # customers a request
MAX_BODY = 512 * 1024              # bytes a request: 1,000 customers are about 200 KB of JSON
MAX_ERRORS = 20                    # validation errors listed in a 422 (the count says how many there were)
MONEY = 1e8                        # the bound of income and of |balance|: far past any customer of the data
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
ROUTES = ("/predict", "/health", "/metrics", "/drift")


class Customer(BaseModel):
    """One customer as the model takes them; None where the data may be missing."""
    # A misspelt field is an error, not silently ignored; NaN and Infinity are not numbers a customer has.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    age: Optional[int] = Field(None, ge=18, le=120)
    income: Optional[float] = Field(None, ge=0, le=MONEY)
    balance: float = Field(ge=-MONEY, le=MONEY)
    tenure_months: int = Field(ge=0, le=1_200)
    num_products: int = Field(ge=1, le=10)
    region: Optional[Literal[tuple(tabular.REGIONS)]] = None     # type: ignore[valid-type]
    plan: Literal[tuple(tabular.PLANS)]                            # type: ignore[valid-type]
    channel: Optional[Literal[tuple(tabular.CHANNELS)]] = None   # type: ignore[valid-type]


class Batch(BaseModel):
    customers: list[Customer] = Field(min_length=1, max_length=MAX_BATCH)


class _Refused(Exception):
    def __init__(self, status: int, detail):
        self.status, self.detail = status, detail


def _errors(exc: ValidationError) -> list[dict]:
    """Pydantic's errors without the input they quote (which may be huge, or NaN that JSON cannot carry)."""
    errors = exc.errors(include_input=False, include_url=False, include_context=False)
    shown = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in errors[:MAX_ERRORS]]
    if len(errors) > MAX_ERRORS:
        shown.append({"loc": [], "msg": f"... and {len(errors) - MAX_ERRORS} more errors", "type": "too_many_errors"})
    return shown


async def _body(request: Request) -> bytes:
    """The request's body, refused as soon as it passes MAX_BODY (declared or streamed)."""
    declared = request.headers.get("content-length", "")
    too_large = _Refused(413, f"the body is larger than {MAX_BODY:,} bytes; send at most {MAX_BATCH:,} customers "
                              "a request")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _batch(body: bytes) -> Batch:
    """Parse and validate a /predict body; the batch's length is checked before any customer."""
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise _Refused(422, [{"loc": ["body"], "msg": f"not JSON: {exc}", "type": "json_invalid"}]) from None
    customers = payload.get("customers") if isinstance(payload, dict) else None
    if not isinstance(customers, list):
        raise _Refused(422, [{"loc": ["body", "customers"], "msg": 'the body must be {"customers": [...]}',
                              "type": "missing"}])
    if not 1 <= len(customers) <= MAX_BATCH:
        raise _Refused(422, [{"loc": ["body", "customers"], "type": "too_short" if not customers else "too_long",
                              "msg": f"List should have at least 1 item and at most {MAX_BATCH:,} items, "
                                     f"not {len(customers):,}"}])
    try:
        return Batch.model_validate(payload)
    except ValidationError as exc:
        raise _Refused(422, [{**e, "loc": ["body", *e["loc"]]} for e in _errors(exc)]) from None


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


_PLAIN_PREFIX = re.compile(r"/[A-Za-z0-9_-]{1,64}")


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
    async def behind_a_proxy(request: Request, call_next):
        # Behind JupyterLab's proxy (at /model-api/) the interactive docs must fetch
        # /model-api/openapi.json: the proxy names its prefix in X-Forwarded-Prefix. Only a plain
        # path is taken (the value reaches the docs page's script), anything else is ignored.
        prefix = request.headers.get("x-forwarded-prefix", "")
        if _PLAIN_PREFIX.fullmatch(prefix):
            request.scope["root_path"] = prefix
        return await call_next(request)

    @app.middleware("http")
    async def count(request: Request, call_next):
        start = time.perf_counter()
        try:
            response = await call_next(request)
        except Exception:
            # A handler that raises still answers (500, from Starlette's error middleware): count it too.
            if "metrics" in state:
                state["metrics"].observe(request.url.path, 500, time.perf_counter() - start)
            raise
        if "metrics" in state:
            state["metrics"].observe(request.url.path, response.status_code, time.perf_counter() - start)
        return response

    @app.exception_handler(_Refused)
    async def refused(_request: Request, exc: _Refused):
        return JSONResponse({"detail": exc.detail}, status_code=exc.status)

    def live_frame() -> pd.DataFrame:
        return models.model_frame(pd.DataFrame(list(state["live"]), columns=[*models.NUMERIC, *models.CATEGORICAL]))

    def score(body: bytes) -> Prediction:
        rows = [c.model_dump() for c in _batch(body).customers]
        p = state["model"].predict_proba(pd.DataFrame(rows))[:, 1]
        state["live"].extend(rows)             # only rows that were predicted enter the drift window
        state["metrics"].predictions += len(rows)
        return Prediction(model_id=state["card"].model_id, p_churn=p.tolist())

    # The body is read here (bounded) and validated and scored in a worker thread: a large or
    # hostile batch never holds the event loop that answers /health.
    batch_schema = Batch.model_json_schema(ref_template="#/components/schemas/{model}")
    customer_schemas = batch_schema.pop("$defs", {})

    @app.post("/predict", response_model=Prediction, openapi_extra={"requestBody": {
        "required": True, "content": {"application/json": {"schema": batch_schema}}}})
    async def predict(request: Request) -> Prediction:
        return await run_in_threadpool(score, await _body(request))

    default_openapi = app.openapi

    def openapi() -> dict:
        # The body is read by hand (bounded), so /docs is told its schema here.
        schema = default_openapi()
        schema.setdefault("components", {}).setdefault("schemas", {}).update(customer_schemas)
        return schema

    app.openapi = openapi

    # On the event loop itself: a sync endpoint would wait for a thread of the pool that scores
    # the batches (measured under the hostile load test: p50 30 ms, p99 119-172 ms that way).
    @app.get("/health")
    async def health() -> dict:
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
