"""Beyond one machine's defaults: added replicas register with their masters (`--scale`, tested with 2).

Runs last among the image tests (it changes the stack, then puts it back)."""

import subprocess
import time

import pytest

pytestmark = [pytest.mark.images, pytest.mark.stack]


def _scale(cfg, service: str, n: int) -> None:
    proc = subprocess.run(["bash", str(cfg.root / "scripts" / "compose.sh"), "scale", service, str(n)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-1000:] + proc.stderr[-2000:]


def _until(what: str, check, timeout: float = 240):
    deadline, last = time.time() + timeout, None
    while time.time() < deadline:
        ok, last = check()
        if ok:
            return last
        time.sleep(3)
    pytest.fail(f"{what} within {timeout:.0f} s; last seen: {last}", pytrace=False)


def test_added_spark_and_dask_workers_register_with_their_masters(cfg, containers, require, client_environment):
    from scalelab.cluster import connect, health

    require("spark-master", "dask-scheduler")
    dask_workers = cfg.int("DASK_WORKERS")

    def spark_alive():
        alive = [w["host"] for w in health.spark_master_state(cfg)["workers"] if w["state"] == "ALIVE"]
        return len(set(alive)) == 2, alive

    def dask_names():
        with connect.dask(timeout="10s", set_as_default=False) as client:     # its credentials, if on
            names = sorted(w["name"] for w in client.scheduler_info(n_workers=-1)["workers"].values())
        return len(names) == dask_workers + 1, names

    try:
        _scale(cfg, "spark-worker", 2)
        _scale(cfg, "dask-worker", dask_workers + 1)
        assert len(containers("spark-worker")) == 2
        _until("two Spark workers did not register, each at its own address", spark_alive)
        names = _until(f"{dask_workers + 1} Dask workers did not connect", dask_names)
        assert len(set(names)) == len(names)   # each replica under a name of its own
    finally:
        _scale(cfg, "spark-worker", 1)
        _scale(cfg, "dask-worker", dask_workers)
    assert len(containers("spark-worker")) == 1 and len(containers("dask-worker")) == dask_workers
