import json
import urllib.request

import pytest

pytestmark = [pytest.mark.stack, pytest.mark.spark]


def test_session_is_on_the_standalone_cluster(spark, cfg):
    assert spark.sparkContext.master == cfg.spark_master_url
    assert not spark.sparkContext.master.startswith("local")


def test_tasks_run_in_executors_on_the_worker_not_in_the_driver(spark, cfg):
    # Defined in the test so that cloudpickle ships it by value to the executors.
    def _executor_jvm(_):
        """Runs inside a Spark task: find the JVM that launched this Python worker."""
        import os

        import psutil

        proc = psutil.Process(os.getpid())
        for parent in proc.parents():
            cmd = " ".join(parent.cmdline())
            if "java" in parent.name() or "java" in cmd.split(" ")[0]:
                return [(parent.pid, "CoarseGrainedExecutorBackend" in cmd)]
        return [(None, False)]

    sc = spark.sparkContext
    driver_jvm_pid = sc._jvm.java.lang.ProcessHandle.current().pid()
    placements = sc.parallelize(range(8), 8).mapPartitions(_executor_jvm).collect()
    assert len(placements) == 8
    for pid, is_executor in placements:
        assert is_executor, "a task ran outside a CoarseGrainedExecutorBackend JVM"
        assert pid != driver_jvm_pid, "a task ran in the driver's JVM"

    # The master agrees: this application holds cores on the worker.
    with urllib.request.urlopen(cfg.url("SPARK_MASTER_WEBUI_PORT", "/json/"), timeout=10) as resp:
        state = json.load(resp)
    apps = [a for a in state["activeapps"] if a["id"] == sc.applicationId]
    assert apps and apps[0]["cores"] > 0, f"the master does not list {sc.applicationId} with cores: {apps}"


def test_a_dataframe_job_gives_the_right_answer(spark):
    n = 200_000
    row = spark.range(n).selectExpr("sum(id) AS s", "count(*) AS c", "sum(id % 7) AS m").collect()[0]
    assert (row.s, row.c, row.m) == (n * (n - 1) // 2, n, sum(i % 7 for i in range(n)))


def test_driver_and_executors_run_with_the_configured_jvm_options(spark, cfg):
    wanted = cfg.get("SPARK_APP_JAVA_OPTIONS").split()
    assert wanted, "SPARK_APP_JAVA_OPTIONS is empty: nothing to check"
    driver = list(spark._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments())
    assert set(wanted) <= set(driver), driver

    def executor_jvm_args(_):
        import os

        # A Python worker runs under the executor's JVM (via pyspark's daemon): walk up to it.
        pid = os.getppid()
        for _level in range(4):
            args = open(f"/proc/{pid}/cmdline").read().split("\0")
            if any("CoarseGrainedExecutorBackend" in a for a in args):
                return [" ".join(args)]
            pid = int(open(f"/proc/{pid}/stat").read().split(") ")[1].split()[1])
        return ["no executor JVM above this Python worker"]

    executor = spark.sparkContext.parallelize([0], 1).mapPartitions(executor_jvm_args).collect()[0]
    assert all(flag in executor for flag in wanted), executor
