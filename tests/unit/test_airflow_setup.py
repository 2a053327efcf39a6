"""Airflow's roles: one set of settings for all three, secrets kept private, a clear error without its venv."""

import json
import os
import stat

import pytest

from scalelab.cluster import airflow
from scalelab.cluster.services import by_name
from scalelab.config import Config


@pytest.fixture
def cfg(tmp_path) -> Config:
    return Config.load(root=tmp_path, environ={"SCALELAB_STATE_DIR": str(tmp_path / "state"),
                                               "AIRFLOW_VENV": str(tmp_path / "no-venv"),
                                               "POSTGRES_PASSWORD": "p@ss/word:1"})


def test_every_role_gets_the_same_database_secrets_and_dags(cfg):
    env = airflow.env(cfg)
    assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == str(cfg.root / "labs" / "pipelines" / "dags")
    # The password is percent-encoded in the URL (it holds '@', '/' and ':'), and the database is `airflow`.
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == "postgresql+psycopg2://lab:p%40ss%2Fword%3A1@127.0.0.1:5432/airflow"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"].startswith("postgresql+asyncpg://")
    assert env["AIRFLOW__API__HOST"] == "127.0.0.1" and env["AIRFLOW__API__PORT"] == "8090"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:8090/execution/"
    assert env == airflow.env(cfg)            # secrets are generated once, then kept
    assert env["SCALELAB_CLI"].endswith("scalelab") and env["SPARK_MASTER_URL"] == "spark://127.0.0.1:7077"


def test_the_admin_password_file_is_private_and_follows_the_configuration(tmp_path):
    environ = {"SCALELAB_STATE_DIR": str(tmp_path / "state"), "AIRFLOW_ADMIN_PASSWORD": "first"}
    path = airflow.write_passwords(Config.load(root=tmp_path, environ=environ))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert json.loads(path.read_text()) == {"admin": "first"}
    airflow.write_passwords(Config.load(root=tmp_path, environ={**environ, "AIRFLOW_ADMIN_PASSWORD": "second"}))
    assert json.loads(path.read_text()) == {"admin": "second"}


def test_the_fernet_key_is_a_valid_key_and_stable(cfg):
    import base64

    key = airflow.fernet_key(cfg)
    assert len(base64.urlsafe_b64decode(key)) == 32 and key == airflow.fernet_key(cfg)


def test_inside_compose_tasks_and_probes_reach_the_api_by_service_name(tmp_path):
    cfg = Config.load(root=tmp_path, environ={"SCALELAB_STATE_DIR": str(tmp_path / "s"), "SCALELAB_BIND_HOST": "0.0.0.0",
                                              "AIRFLOW_API_HOST": "airflow-api", "POSTGRES_HOST": "postgres"})
    env = airflow.env(cfg)
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-api:8090/execution/"
    assert "@postgres:5432/airflow" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert env["AIRFLOW__API__HOST"] == "0.0.0.0"


def test_without_its_venv_the_error_says_how_to_install_it(cfg):
    with pytest.raises(airflow.AirflowSetupError, match="make up PROFILE=platform"):
        airflow.airflow_bin(cfg)


def test_the_roles_are_in_the_platform_profile_only(cfg):
    for name in ("airflow-api", "airflow-scheduler", "airflow-dag-processor"):
        assert by_name(cfg, name).profile == "platform"
    assert by_name(cfg, "airflow-api").ports == ("AIRFLOW_PORT",)
