"""trips_daily: a day of trips -> validated -> zone totals on Spark and on DuckDB -> agreed -> PostgreSQL.

Each task is one `scalelab pipeline STEP --day {{ ds }}` in the lab's own venv (SCALELAB_CLI): the
logic lives in scalelab.apps.pipeline, tested without Airflow, and this file is only the wiring.

The schedule is daily over 2025 and ends there (end_date), so the scheduler never starts a run by
itself: every run in the lab is one you trigger or backfill. Remove end_date and it runs each night.
"""

import os
from datetime import datetime, timedelta

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, Param

CLI = os.environ.get("SCALELAB_CLI", "scalelab")


def step(name: str, extra: str = "") -> str:
    return f"{CLI} pipeline {name} --day {{{{ ds }}}} {extra}".strip()


with DAG(
    dag_id="trips_daily",
    description="A day of trips into PostgreSQL's zone_daily, computed on Spark and DuckDB and checked",
    schedule="@daily",
    start_date=datetime(2025, 1, 1),
    end_date=datetime(2025, 12, 31),
    catchup=False,
    max_active_runs=2,
    params={"rows": Param(2000, type="integer", minimum=10),
            "fail_attempts": Param(0, type="integer", minimum=0, description="generate fails this many times"),
            "dirty": Param(False, type="boolean", description="generate data that validation must stop")},
    default_args={"retries": 2, "retry_delay": timedelta(seconds=3)},
    tags=["scalelab"],
) as dag:
    generate = BashOperator(
        task_id="generate",
        bash_command=step("generate", "--rows {{ params.rows }} --attempt {{ ti.try_number }} "
                                      "--fail-attempts {{ params.fail_attempts }} "
                                      "{{ '--dirty' if params.dirty else '' }}"))
    # Bad data is not a flaky upstream: retrying cannot fix it, so validation fails at once.
    validate = BashOperator(task_id="validate", bash_command=step("validate"), retries=0)
    on_spark = BashOperator(task_id="transform_spark", bash_command=step("transform", "--engine spark"))
    on_duckdb = BashOperator(task_id="transform_duckdb", bash_command=step("transform", "--engine duckdb"))
    agree = BashOperator(task_id="agree", bash_command=step("agree"), retries=0)
    load = BashOperator(task_id="load", bash_command=step("load", "--engine duckdb"))

    generate >> validate >> [on_spark, on_duckdb] >> agree >> load
