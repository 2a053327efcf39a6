"""Airflow on the running stack: its three roles, its login, and trips_daily end to end for two
logical dates (a backfill, with a retried task), a rerun that leaves PostgreSQL unchanged, and a bad
day stopped by validation before anything is loaded. Each run's rows are checked against pandas."""

import base64
import datetime as dt
import hashlib
import hmac
import json
import time
import uuid

import pandas as pd
import pytest
import requests

from scalelab.apps import pipeline
from scalelab.apps.airflow_api import Airflow, AirflowError, RunFailed
from scalelab.workloads import compare

pytestmark = [pytest.mark.stack, pytest.mark.platform]

DAG = "trips_daily"
DAYS = (dt.date(2025, 6, 1), dt.date(2025, 6, 2))
BAD_DAY = dt.date(2025, 6, 9)


@pytest.fixture(scope="module")
def af(cfg, require):
    require("postgres", "airflow-api", "airflow-scheduler", "airflow-dag-processor", "spark-master", "spark-worker")
    client = Airflow(cfg)
    client.wait_for_dag(DAG)
    client.unpause(DAG)
    return client


def _state(cfg) -> pd.DataFrame:
    state = pipeline.table_state(cfg)
    return state[state["day"].isin(list(DAYS) + [BAD_DAY])].reset_index(drop=True)


def _loaded(cfg, day) -> pd.DataFrame:
    import psycopg

    with psycopg.connect(**cfg.postgres_params) as conn:
        rows = conn.execute("SELECT zone, trips, passengers, revenue, avg_km FROM zone_daily WHERE day = %s",
                            (day,)).fetchall()
    return pd.DataFrame(rows, columns=["zone", "trips", "passengers", "revenue", "avg_km"])


def test_the_dag_is_parsed_without_errors_and_wired_as_designed(af):
    errors = af.call("GET", "/importErrors")
    assert errors["total_entries"] == 0, errors
    tasks = {t["task_id"]: set(t["downstream_task_ids"]) for t in af.call("GET", f"/dags/{DAG}/tasks")["tasks"]}
    assert tasks == {"generate": {"validate"}, "validate": {"transform_spark", "transform_duckdb"},
                     "transform_spark": {"agree"}, "transform_duckdb": {"agree"}, "agree": {"load"}, "load": set()}


def test_a_wrong_password_is_refused(cfg, af):
    with pytest.raises(AirflowError, match="refused the login"):
        Airflow(cfg, password="not-the-password").login()


def _expired_token(cfg) -> str:
    """A token as the API server signs them (HS512 with the kept JWT secret), expired an hour ago:
    what a notebook left open past the token's lifetime (24 h) holds."""
    def part(obj) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    now = int(time.time())
    head = part({"alg": "HS512", "kid": "not-used", "typ": "JWT"}) + "." + part({
        "sub": cfg.get("AIRFLOW_ADMIN_USER"), "role": "admin", "teams": [], "jti": uuid.uuid4().hex,
        "aud": "apache-airflow", "iat": now - 7200, "nbf": now - 7200, "exp": now - 3600})
    sig = hmac.new(cfg.kept_secret("airflow-jwt-secret").encode(), head.encode(), hashlib.sha512).digest()
    return head + "." + base64.urlsafe_b64encode(sig).rstrip(b"=").decode()


def test_an_expired_token_is_renewed_and_a_forged_one_is_refused(cfg, af):
    expired = _expired_token(cfg)
    raw = requests.get(f"{af.base_url}/api/v2/dags/{DAG}", headers={"Authorization": f"Bearer {expired}"}, timeout=15)
    assert (raw.status_code, raw.json()["detail"]) == (401, "Token Expired")
    client = Airflow(cfg)
    client._token = expired
    assert client.dag(DAG)["dag_id"] == DAG and client._token != expired
    # A token the server did not sign is refused (403), not papered over by a new login.
    client._token = expired.rsplit(".", 1)[0] + ".Zm9yZ2Vk"
    with pytest.raises(AirflowError) as err:
        client.dag(DAG)
    assert err.value.status == 403


def test_a_backfill_of_two_days_retries_a_flaky_step_and_loads_what_pandas_computes(cfg, af):
    # The first attempt of each day's generate fails (a flaky upstream): its retry must succeed.
    af.delete_runs(DAG, DAYS[0], DAYS[-1])          # try numbers count from 1 again (a rerun adds to them)
    backfill = af.backfill(DAG, DAYS[0], DAYS[-1], reprocess="completed", conf={"fail_attempts": 1})
    runs = af.wait_backfill(DAG, backfill["id"], timeout=420)
    assert sorted(r["logical_date"][:10] for r in runs) == [d.isoformat() for d in DAYS]
    for run in runs:
        tasks = {t["task"]: t for t in af.task_instances(DAG, run["dag_run_id"])}
        assert all(t["state"] == "success" for t in tasks.values()), tasks
        assert tasks["generate"]["try_number"] == 2 and tasks["validate"]["try_number"] == 1
        assert "simulated upstream outage" in af.task_log(DAG, run["dag_run_id"], "generate", 1)
    for day in DAYS:
        want = pipeline.reference(pipeline.day_trips(day, 2000))
        compare.compare(_loaded(cfg, day), want)


def test_rerunning_a_day_leaves_the_table_unchanged(cfg, af):
    before = _state(cfg)
    assert set(before["day"]) >= set(DAYS)
    run = next(r for r in af.runs(DAG) if r["logical_date"].startswith(DAYS[1].isoformat()))
    af.clear(DAG, run["dag_run_id"])
    assert af.wait(DAG, run["dag_run_id"], timeout=300) == "success"
    pd.testing.assert_frame_equal(_state(cfg), before)


def test_a_bad_day_stops_at_validation_and_loads_nothing(cfg, af):
    before = _state(cfg)
    run = af.trigger(DAG, BAD_DAY, conf={"dirty": True}, replace=True)
    with pytest.raises(RunFailed, match="failed at validate") as failed:
        af.wait(DAG, run, timeout=180)
    states = {t["task"]: t["state"] for t in failed.value.tasks}
    assert states["validate"] == "failed" and states["load"] == "upstream_failed"
    assert "repeated" in af.task_log(DAG, run, "validate", 1)
    pd.testing.assert_frame_equal(_state(cfg), before)
