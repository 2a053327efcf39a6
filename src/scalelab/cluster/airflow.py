"""Apache Airflow for the platform profile: API server, scheduler and DAG processor.

Airflow lives in a virtual environment of its own (`docker/airflow/requirements.lock`, installed by
`make up PROFILE=platform` into `.state/airflow/venv`; `/opt/airflow-venv` in the image) because its
pins would fight the lab's. Its tasks run the lab's code as `scalelab pipeline STEP` in the lab's
venv, so the two never import each other.

All of it is configured through `AIRFLOW__SECTION__KEY` variables computed here from the one
configuration: no airflow.cfg to keep in step. The metadata database is a database `airflow` on the
platform profile's PostgreSQL, the executor is LocalExecutor (tasks are the scheduler's child
processes), and the users are SimpleAuthManager's: one admin whose password comes from
AIRFLOW_ADMIN_PASSWORD or is generated once into the state folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from scalelab.cluster.platform import PlatformSetupError
from scalelab.config import Config, write_private


class AirflowSetupError(PlatformSetupError):
    pass


def venv(cfg: Config) -> Path:
    return Path(cfg.get("AIRFLOW_VENV")) if cfg.get("AIRFLOW_VENV") else cfg.state_dir / "airflow" / "venv"


def airflow_bin(cfg: Config) -> str:
    exe = venv(cfg) / "bin" / "airflow"
    if not exe.exists():
        raise AirflowSetupError(f"Airflow is not installed in {venv(cfg)}. `make up PROFILE=platform` "
                                "installs it (make airflow-venv alone).")
    return str(exe)


def home(cfg: Config) -> Path:
    return cfg.state_dir / "airflow" / "home"


def dags_folder(cfg: Config) -> Path:
    return cfg.root / "labs" / "pipelines" / "dags"


def _lab_cli() -> str:
    """The lab's own `scalelab` command, which the DAG's tasks run (the venv scalelab runs in)."""
    candidate = Path(sys.executable).parent / "scalelab"
    return str(candidate) if candidate.exists() else "scalelab"


def metadata_uri(cfg: Config, scheme: str) -> str:
    """The metadata database: `airflow` on the platform PostgreSQL, as the lab user."""
    return cfg.postgres_uri(scheme, dbname="airflow")


def env(cfg: Config) -> dict[str, str]:
    """Every Airflow setting, for all three roles (they must agree on the database and secrets)."""
    folder = home(cfg)
    folder.mkdir(parents=True, exist_ok=True)
    port = cfg.port("AIRFLOW_PORT")
    out = {
        "AIRFLOW_HOME": str(folder),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder(cfg)),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        # Two task processes at most: four (a backfill's two days, each with its Spark and DuckDB
        # transforms side by side) measured slower on two cores, 103 s against 83 s for two days.
        "AIRFLOW__CORE__PARALLELISM": "2",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_uri(cfg, "postgresql+psycopg2"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": metadata_uri(cfg, "postgresql+asyncpg"),
        "AIRFLOW__API__HOST": cfg.bind_host,
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__WORKERS": "1",
        # Tasks report to the API server's execution API; in a container it is another machine.
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": cfg.url("AIRFLOW_PORT", "/execution/", host=cfg.airflow_api_host),
        "AIRFLOW__API_AUTH__JWT_SECRET": cfg.kept_secret("airflow-jwt-secret"),
        "AIRFLOW__API__SECRET_KEY": cfg.kept_secret("airflow-secret-key"),
        "AIRFLOW__CORE__FERNET_KEY": fernet_key(cfg),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{cfg.get('AIRFLOW_ADMIN_USER')}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(write_passwords(cfg)),
        # Task logs go to files every role reads (one folder; a shared volume in compose), so the
        # scheduler need not serve them over HTTP on a port of its own.
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(cfg.state_dir / "airflow" / "logs"),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",   # a task log holds its command's output at INFO
        # The lab's DAGs are few: look for new files every 30 s, not every 5 min.
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
        "AIRFLOW__SCHEDULER__STANDALONE_DAG_PROCESSOR": "True",
        # What the tasks need: the lab's CLI and where the stack is.
        "SCALELAB_CLI": _lab_cli(),
        **cfg.client_env(),
    }
    return out


def fernet_key(cfg: Config) -> str:
    """A Fernet key (32 url-safe base64 bytes) generated once: it encrypts connections' passwords."""
    import base64
    import hashlib

    raw = cfg.kept_secret("airflow-fernet-seed")
    return base64.urlsafe_b64encode(hashlib.sha256(raw.encode()).digest()).decode()


def write_passwords(cfg: Config) -> Path:
    """SimpleAuthManager's passwords file ({"user": "password"}), written from the configuration
    at each start so that a changed AIRFLOW_ADMIN_PASSWORD takes effect. Mode 600, in Airflow's home
    (the secrets folder is read-only in a container)."""
    return write_private(home(cfg) / "passwords.json",
                         json.dumps({cfg.get("AIRFLOW_ADMIN_USER"): cfg.airflow_admin_password}))


# -- the metadata database --------------------------------------------------------------
def wait_for_postgres(cfg: Config) -> None:
    """The roles start alongside PostgreSQL: wait for it (as long as a service may take to start)."""
    from scalelab.cluster import health

    timeout = float(cfg.int("SCALELAB_START_TIMEOUT"))
    deadline = time.monotonic() + timeout
    while True:
        try:
            health.postgres(cfg)
            return
        except health.NotHealthy as exc:
            if time.monotonic() > deadline:
                raise AirflowSetupError(f"Airflow needs PostgreSQL, which did not answer in {timeout:.0f} s: {exc}. "
                                        "Start the platform profile: make up PROFILE=platform") from None
            time.sleep(1.0)


def ensure_database(cfg: Config) -> None:
    import psycopg

    with psycopg.connect(**cfg.postgres_params, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = 'airflow'").fetchone() is None:
            conn.execute('CREATE DATABASE airflow')


def _airflow(cfg: Config, *args: str, what: str) -> None:
    proc = subprocess.run([airflow_bin(cfg), *args], env={**os.environ, **env(cfg)}, capture_output=True, text=True)
    if proc.returncode != 0:
        raise AirflowSetupError(f"`airflow {' '.join(args)}` ({what}) failed:\n" + (proc.stdout + proc.stderr)[-3000:])


def migrate(cfg: Config) -> None:
    """Create or upgrade the metadata schema (idempotent: 5 s when it is up to date)."""
    _airflow(cfg, "db", "migrate", what="creating or upgrading the metadata database")


def wait_for_schema(cfg: Config) -> None:
    """The scheduler and DAG processor wait for the API server's role to migrate the schema."""
    _airflow(cfg, "db", "check-migrations", "--migration-wait-timeout", str(cfg.int("SCALELAB_START_TIMEOUT")),
             what="waiting for the metadata schema")


def api_server_argv(cfg: Config) -> list[str]:
    wait_for_postgres(cfg)
    ensure_database(cfg)
    migrate(cfg)
    return [airflow_bin(cfg), "api-server", "--host", cfg.bind_host, "--port", str(cfg.port("AIRFLOW_PORT")),
            "--workers", "1"]


def scheduler_argv(cfg: Config) -> list[str]:
    wait_for_postgres(cfg)
    wait_for_schema(cfg)
    return [airflow_bin(cfg), "scheduler", "--skip-serve-logs"]


def dag_processor_argv(cfg: Config) -> list[str]:
    wait_for_postgres(cfg)
    wait_for_schema(cfg)
    return [airflow_bin(cfg), "dag-processor"]

