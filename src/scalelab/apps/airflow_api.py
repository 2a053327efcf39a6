"""Airflow's REST API (v2) from a notebook or a test: log in, trigger, backfill, wait, inspect.

    af = airflow_api.Airflow()                        # the stack's API server, the admin's password
    run = af.trigger("trips_daily", "2025-03-01", conf={"rows": 5000})
    af.wait("trips_daily", run)                       # -> "success" (raises RunFailed otherwise)
    af.task_instances("trips_daily", run)             # state and try number of each task

Airflow 3's API takes a JWT: POST /auth/token with the user's name and password returns one, and
every call carries it as a bearer token. Nothing here imports Airflow: it runs in the lab's venv.
"""

from __future__ import annotations

import datetime as dt
import time

import requests

from scalelab.config import Config


class AirflowError(RuntimeError):
    """The API refused a call or cannot be reached; the message says which and why. `status` is
    the refusal's HTTP status (None when nothing answered)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class RunFailed(AirflowError):
    def __init__(self, message: str, tasks: list[dict]):
        super().__init__(message)
        self.tasks = tasks


FINISHED = ("success", "failed")


def _iso(day: str | dt.date) -> str:
    """A logical date as the API wants it: midnight UTC of the day."""
    day = dt.date.fromisoformat(day) if isinstance(day, str) else day
    return f"{day.isoformat()}T00:00:00Z"


class Airflow:
    def __init__(self, cfg: Config | None = None, user: str | None = None, password: str | None = None,
                 base_url: str | None = None):
        cfg = cfg or Config.load()
        self.base_url = (base_url or cfg.url("AIRFLOW_PORT", "", host=cfg.airflow_api_host)).rstrip("/")
        self._user = user or cfg.get("AIRFLOW_ADMIN_USER")
        self._password = password if password is not None else cfg.airflow_admin_password
        self._session = requests.Session()
        self._token: str | None = None

    # -- plumbing -------------------------------------------------------------------------
    def login(self) -> str:
        try:
            resp = self._session.post(f"{self.base_url}/auth/token",
                                      json={"username": self._user, "password": self._password}, timeout=15)
        except requests.ConnectionError:
            raise AirflowError(f"Airflow's API server does not answer at {self.base_url}: start the platform "
                               "profile with `make up PROFILE=platform`") from None
        if resp.status_code != 201:
            raise AirflowError(f"Airflow refused the login of {self._user!r} (HTTP {resp.status_code}): "
                               f"{resp.text[:200]}", resp.status_code)
        self._token = resp.json()["access_token"]
        return self._token

    def call(self, method: str, path: str, **kwargs) -> dict:
        if self._token is None:
            self.login()
        resp = self._request(method, path, **kwargs)
        if resp.status_code == 401:
            # 401 is "Token Expired" (24 h by default: a notebook left open overnight): log in
            # again, once. A token the server did not sign is 403, reported as it is.
            self.login()
            resp = self._request(method, path, **kwargs)
        if resp.status_code >= 400:
            raise AirflowError(f"{method} /api/v2{path}: HTTP {resp.status_code}: {resp.text[:500]}",
                               resp.status_code)
        return resp.json() if resp.content else {}

    def _request(self, method: str, path: str, **kwargs) -> requests.Response:
        try:
            return self._session.request(method, f"{self.base_url}/api/v2{path}", timeout=30,
                                         headers={"Authorization": f"Bearer {self._token}"}, **kwargs)
        except requests.ConnectionError:
            raise AirflowError(f"Airflow's API server does not answer at {self.base_url}") from None

    # -- DAGs and runs ----------------------------------------------------------------------
    def dag(self, dag_id: str) -> dict:
        return self.call("GET", f"/dags/{dag_id}")

    def wait_for_dag(self, dag_id: str, timeout: float = 90.0) -> dict:
        """A new DAG file is parsed within the DAG processor's refresh interval: wait for it."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.dag(dag_id)
            except AirflowError as exc:
                if exc.status != 404 or time.monotonic() > deadline:
                    raise
            time.sleep(2.0)

    def unpause(self, dag_id: str) -> None:
        """A paused DAG's runs are created but never started."""
        self.call("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str, day: str | dt.date, conf: dict | None = None, replace: bool = False) -> str:
        """Start a run for the logical date `day`; returns its run id. A DAG has one run per logical
        date: `replace` deletes an earlier one first (its record, not its data), else it is an error."""
        if replace:
            self.delete_runs(dag_id, day, day)
        try:
            return self.call("POST", f"/dags/{dag_id}/dagRuns",
                             json={"logical_date": _iso(day), "conf": conf or {}})["dag_run_id"]
        except AirflowError as exc:
            if exc.status == 409:
                raise AirflowError(f"{dag_id} already has a run for {day}: rerun it with clear(dag_id, run_id), "
                                   "or trigger(..., replace=True) to start a new one") from None
            raise

    def delete_runs(self, dag_id: str, first: str | dt.date, last: str | dt.date) -> int:
        """Forget the runs of those days (their records and task tries; the data they loaded stays)."""
        runs = self.runs(dag_id, first, last)
        for run in runs:
            self.call("DELETE", f"/dags/{dag_id}/dagRuns/{run['dag_run_id']}")
        return len(runs)

    def clear(self, dag_id: str, run_id: str) -> None:
        """Run a finished run again, every task of it (Airflow's "clear"): the rerun of a day."""
        self.call("POST", f"/dags/{dag_id}/dagRuns/{run_id}/clear", json={"dry_run": False})

    def backfill(self, dag_id: str, start: str | dt.date, end: str | dt.date, reprocess: str = "completed",
                 max_active_runs: int = 2, conf: dict | None = None) -> dict:
        """One run per schedule interval from `start` to `end` (both included), each with `conf`.
        `reprocess`: "none" skips days that already ran, "failed" reruns failed ones, "completed" all."""
        return self.call("POST", "/backfills", json={
            "dag_id": dag_id, "from_date": _iso(start), "to_date": _iso(end), "dag_run_conf": conf or {},
            "reprocess_behavior": reprocess, "max_active_runs": max_active_runs})

    def wait_backfill(self, dag_id: str, backfill_id: int, timeout: float = 600.0, poll: float = 3.0) -> list[dict]:
        """Wait until the backfill completes; returns its runs (one per logical date in its range,
        a day that had run before included: the backfill reran it). Raises RunFailed if any failed."""
        deadline = time.monotonic() + timeout
        while (backfill := self.call("GET", f"/backfills/{backfill_id}"))["completed_at"] is None:
            if time.monotonic() > deadline:
                raise AirflowError(f"backfill {backfill_id} of {dag_id} still running after {timeout:.0f} s")
            time.sleep(poll)
        runs = self.runs(dag_id, backfill["from_date"][:10], backfill["to_date"][:10])
        failed = [r["dag_run_id"] for r in runs if r["state"] != "success"]
        if failed:
            raise RunFailed(f"backfill {backfill_id} of {dag_id}: {', '.join(failed)} did not succeed",
                            [t for run in failed for t in self.task_instances(dag_id, run)])
        return runs

    def runs(self, dag_id: str, first: str | dt.date | None = None, last: str | dt.date | None = None) -> list[dict]:
        """The DAG's runs, oldest logical date first; only those from `first` to `last` when given."""
        params = {"limit": 100, "order_by": "logical_date"}
        if first:
            params["logical_date_gte"] = _iso(first)
        if last:
            params["logical_date_lte"] = _iso(last)
        return self.call("GET", f"/dags/{dag_id}/dagRuns", params=params)["dag_runs"]

    def run(self, dag_id: str, run_id: str) -> dict:
        return self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        found = self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]
        return [{"task": t["task_id"], "state": t["state"], "try_number": t["try_number"],
                 "seconds": t.get("duration")} for t in found]

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> str:
        """What one try of a task printed (its command's output included)."""
        body = self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}",
                         params={"full_content": "true"})
        content = body.get("content", "")
        if isinstance(content, list):   # structured log lines
            return "\n".join(str(line.get("event", line)) if isinstance(line, dict) else str(line)
                             for line in content)
        return str(content)

    def wait(self, dag_id: str, run_id: str, timeout: float = 300.0, poll: float = 2.0) -> str:
        """Wait until the run finishes. Returns "success"; raises RunFailed (with each task's state)
        when it failed, and AirflowError when it is still running after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.run(dag_id, run_id)["state"]
            if state in FINISHED:
                break
            if time.monotonic() > deadline:
                raise AirflowError(f"{dag_id} {run_id} still {state} after {timeout:.0f} s: "
                                   f"{self.task_instances(dag_id, run_id)}")
            time.sleep(poll)
        if state != "success":
            tasks = self.task_instances(dag_id, run_id)
            failed = [t["task"] for t in tasks if t["state"] == "failed"]
            raise RunFailed(f"{dag_id} {run_id} failed at {', '.join(failed) or '?'}", tasks)
        return state
