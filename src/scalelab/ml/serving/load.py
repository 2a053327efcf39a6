"""A small load test of the model-api from the client side: many requests from a few threads.

The numbers are for looking at (latency percentiles, throughput on this machine); what a
test may assert is that every request was answered correctly.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import requests


@dataclass
class LoadResult:
    requests: int
    ok: int
    seconds: float
    latency_ms: dict[str, float]        # p50, p95, p99, max

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds


def customers_payload(frame: pd.DataFrame) -> dict:
    """Rows of the tabular data (or model_frame) as the JSON /predict takes: None for missing values."""
    from scalelab.ml import models

    cols = [*models.NUMERIC, *models.CATEGORICAL]
    rows = frame[cols].astype(object).where(frame[cols].notna(), None).to_dict(orient="records")
    for row in rows:
        for c in ("age", "tenure_months", "num_products"):
            if row[c] is not None:
                row[c] = int(row[c])
        for c in models.CATEGORICAL:
            if row[c] == models.MISSING:
                row[c] = None
    return {"customers": rows}


def run(url: str, payloads: list[dict], concurrency: int = 4, timeout: float = 30.0) -> LoadResult:
    """POST each payload to url from `concurrency` threads (one HTTP session each)."""
    sessions = [requests.Session() for _ in range(concurrency)]

    def one(i: int) -> tuple[bool, float]:
        start = time.perf_counter()
        resp = sessions[i % concurrency].post(url, json=payloads[i], timeout=timeout)
        return resp.status_code == 200, time.perf_counter() - start

    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(one, range(len(payloads))))
    seconds = time.perf_counter() - start
    lat = np.array([s for _, s in results]) * 1e3
    return LoadResult(len(results), sum(ok for ok, _ in results), seconds,
                      {"p50": float(np.percentile(lat, 50)), "p95": float(np.percentile(lat, 95)),
                       "p99": float(np.percentile(lat, 99)), "max": float(lat.max())})
