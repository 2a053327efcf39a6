"""Reliability behind labs 8 and 9: work survives a lost worker, messages survive a broker restart.

Each drill adds a worker of its own and kills it (SIGKILL) mid-job, so the shared stack
is left as it was; the Kafka drill restarts the stack's broker and waits until it is
healthy again.
"""

import json
import subprocess
import sys

import pytest

from scalelab.apps import streaming
from scalelab.config import Config
from scalelab.teaching import drills

pytestmark = [pytest.mark.stack, pytest.mark.faults, pytest.mark.local_runtime]


def _drill(engine: str) -> dict:
    state = Config.load().state_dir
    before = set(state.glob("scalelab-drill-*"))
    proc = subprocess.run([sys.executable, "-m", "scalelab.teaching.drills", engine], capture_output=True, text=True,
                          timeout=600)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("DRILL ")]
    assert proc.returncode == 0 and lines, f"the {engine} drill failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    left = set(state.glob("scalelab-drill-*")) - before
    assert not left, f"the {engine} drill left its worker's folder behind: {sorted(left)}"
    return json.loads(lines[-1][len("DRILL "):])


@pytest.mark.dask
def test_a_dask_job_survives_the_loss_of_a_worker(client_environment, require):
    require("dask-scheduler", "dask-worker-1")
    report = _drill("dask")
    assert report["killed_at"] > 0 and report["result"] == report["expected"] == drills.expected_sum(40), report


@pytest.mark.spark
def test_a_spark_job_survives_the_loss_of_a_worker(client_environment, require):
    require("spark-master", "spark-worker")
    report = _drill("spark")
    assert report["killed_at"] > 0 and report["result"] == report["expected"], report


@pytest.mark.ray
def test_a_ray_job_survives_the_loss_of_a_worker_process(client_environment, require):
    require("ray-head")
    report = _drill("ray")
    assert report["killed_at"] > 0 and report["result"] == report["expected"], report


@pytest.mark.kafka
def test_a_hundred_thousand_messages_survive_a_broker_restart_exactly_once(client_environment, require):
    require("kafka")
    report = drills.kafka_job(streaming.new_topic("test-broker-restart", partitions=3), messages=100_000)
    assert report.restart_seconds > 0, "the broker was not restarted during the run"
    assert report.sent == report.acknowledged == 100_000, report
    assert report.read_back == report.distinct == 100_000, report            # none lost, none twice
    assert report.read_checksum == report.produced_checksum, report
    require("kafka")                                                         # healthy again for the rest
