"""Fault drills: an extra worker joins the stack, takes work, and is killed (SIGKILL) mid-job.

    from scalelab.teaching import drills
    with drills.DaskWorker() as doomed:                # joins the stack's scheduler
        report = drills.dask_job(client, doomed, tasks=40)
    report.result == report.expected, report.killed_at

The stack's own workers are never touched: a drill adds a worker of its own, so a
lesson (or a test) leaves the shared stack as it found it. The extra worker runs the
same binaries as the stack's (`dask worker`, Spark's Worker class, `ray start`), in
its own session, so a kill takes its children (executors, Ray's raylet) with it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from scalelab.cluster import health
from scalelab.cluster.services import _spark_env, _spark_home, by_role
from scalelab.config import Config


class DrillError(RuntimeError):
    pass


def square_slowly(i: int, seconds: float = 0.2) -> int:
    time.sleep(seconds)
    return i * i


def expected_sum(tasks: int) -> int:
    return sum(i * i for i in range(tasks))


@dataclass
class Report:
    engine: str
    tasks: int
    result: int
    expected: int
    killed_at: float = 0.0           # seconds into the job
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def correct(self) -> bool:
        return self.result == self.expected

    def __str__(self) -> str:
        verdict = "the right answer" if self.correct else f"a WRONG answer (expected {self.expected})"
        return (f"{self.engine}: worker killed {self.killed_at:.1f} s into a {self.tasks}-task job; "
                f"the job finished in {self.seconds:.1f} s with {verdict}. " + " ".join(self.notes))


class _Worker:
    """An extra worker process in its own session; killed with its children on exit."""
    name = "drill"

    def __init__(self, cfg: Config | None = None, start_timeout: float = 90.0):
        self.cfg = cfg or Config.load()
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen | None = None
        self.dir = Path(tempfile.mkdtemp(prefix=f"scalelab-drill-{self.name}-", dir=self.cfg.state_dir))
        self.log = self.dir / "worker.log"

    def argv(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return {}

    def joined(self) -> bool:
        raise NotImplementedError

    def __enter__(self):
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(self.argv(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         env={**os.environ, **self.env()}, start_new_session=True)
        deadline = time.monotonic() + self.start_timeout
        while not self.joined():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                tail = self.log.read_text(errors="replace")[-1500:]
                self.kill()
                self._clean()
                raise DrillError(f"the drill's extra {self.name} worker did not join the stack. Its log:\n{tail}")
            time.sleep(0.5)
        return self

    def kill(self) -> None:
        """SIGKILL the worker and everything it started (no clean shutdown: that is the drill)."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=30)
        # Children that left the process group (none expected) go too.
        for p in psutil.process_iter(["environ"]):
            try:
                if (p.info["environ"] or {}).get("SCALELAB_DRILL") == str(self.dir):
                    p.kill()
            except psutil.Error:
                pass

    def _clean(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    def __exit__(self, exc_type, *_) -> None:
        self.kill()
        # The worker's log stays only when the job inside the drill failed: it may say why.
        if exc_type is None:
            self._clean()


class DaskWorker(_Worker):
    """One more `dask-worker` of the stack's own role, launched exactly as the stack launches its workers."""
    name = "dask"
    instance = 99                    # a worker number the stack's DASK_WORKERS never reaches

    def argv(self) -> list[str]:
        return by_role(self.cfg, "dask-worker", self.instance).launch(self.cfg, self.instance).argv

    def env(self) -> dict[str, str]:
        return {"SCALELAB_DRILL": str(self.dir)}

    def joined(self) -> bool:
        try:
            return self.address() is not None
        except health.NotHealthy:
            return False

    def address(self) -> str | None:
        for addr, info in health._dask_workers(self.cfg).items():
            if info.get("name") == f"dask-worker-{self.instance}":
                return addr
        return None


class SparkWorker(_Worker):
    name = "spark"

    def argv(self) -> list[str]:
        return [str(_spark_home() / "bin" / "spark-class"), "org.apache.spark.deploy.worker.Worker",
                self.cfg.spark_master_url, "--host", self.cfg.bind_host, "--cores", "1", "--memory", "1g",
                "--webui-port", "0", "--work-dir", str(self.dir)]

    def env(self) -> dict[str, str]:
        env = _spark_env(self.cfg)
        env.update(SPARK_WORKER_DIR=str(self.dir), SCALELAB_DRILL=str(self.dir),
                   SPARK_WORKER_OPTS=f"-Dscalelab.drill={self.dir}")
        return env

    def worker(self) -> dict | None:
        """Our worker as the master lists it: the ALIVE one whose RPC port our process holds."""
        try:
            procs = [psutil.Process(self.proc.pid), *psutil.Process(self.proc.pid).children(recursive=True)]
            ports = {str(c.laddr.port) for p in procs for c in p.net_connections() if c.status == psutil.CONN_LISTEN}
        except psutil.Error:
            return None
        for w in health.spark_master_state(self.cfg).get("workers", []):
            if w.get("state") == "ALIVE" and str(w.get("id", "")).rsplit("-", 1)[-1] in ports:
                return w
        return None

    def joined(self) -> bool:
        try:
            return self.worker() is not None
        except Exception:
            return False


# -- the jobs ------------------------------------------------------------------------
def _kill_when(worker: _Worker, started: float, condition, report: Report, timeout: float = 60.0) -> threading.Thread:
    def watch():
        deadline = time.monotonic() + timeout
        while not condition() and time.monotonic() < deadline:
            time.sleep(0.1)
        report.killed_at = time.perf_counter() - started
        worker.kill()

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    return t


def dask_job(client, worker: DaskWorker, tasks: int = 40, seconds: float = 0.2) -> Report:
    """Tasks placed on the doomed worker first (others may take them); it dies once it holds results."""
    doomed = worker.address()
    report = Report("dask", tasks, 0, expected_sum(tasks))
    start = time.perf_counter()
    futures = client.map(square_slowly, range(tasks), seconds=seconds, workers=[doomed], allow_other_workers=True,
                         pure=False)

    def holds_results() -> bool:
        return sum(f.status == "finished" for f in futures) >= 3

    watcher = _kill_when(worker, start, holds_results, report)
    report.result = int(sum(client.gather(futures)))
    watcher.join()
    report.seconds = time.perf_counter() - start
    alive = [i.get("name") for i in client.scheduler_info(n_workers=-1)["workers"].values()]
    report.notes.append(f"Workers now: {sorted(map(str, alive))} (results held by the dead one were recomputed).")
    return report


def spark_job(spark, worker: SparkWorker, tasks: int = 40, seconds: float = 0.2) -> Report:
    """A job over `tasks` partitions while an executor on the doomed worker runs some of them."""
    report = Report("spark", tasks, 0, expected_sum(tasks))
    sc = spark.sparkContext
    start = time.perf_counter()
    tracker = sc.statusTracker()

    def running() -> bool:
        ids = tracker.getActiveStageIds()
        return bool(ids) and any((tracker.getStageInfo(s) or _none).numCompletedTasks >= 2 for s in ids)

    on_doomed = worker.worker() or {}
    if not on_doomed.get("coresused"):
        raise DrillError("no executor of this application runs on the drill's worker, so killing it would prove "
                         "nothing: start the drill worker before the Spark session, with 1-core executors "
                         "(spark.executor.cores=1, spark.cores.max=2)")
    watcher = _kill_when(worker, start, running, report)
    report.result = int(sc.parallelize(range(tasks), tasks).map(lambda i: square_slowly(i, seconds)).sum())
    watcher.join()
    report.seconds = time.perf_counter() - start
    report.notes.append("Tasks of the lost executor were resubmitted to the executor that was left.")
    return report


class _none:
    numCompletedTasks = 0


def ray_job(tasks: int = 40, seconds: float = 0.2) -> Report:
    """Kill (SIGKILL) a Ray worker process while it runs one of the tasks; Ray retries it.

    The stack's Ray is one node on loopback, so the drill kills a worker process, not a
    node: the same failure to Ray's scheduler (a task's process died; retry it up to
    max_retries times), without a second node that a loopback-only head cannot take.
    """
    import ray

    report = Report("ray", tasks, 0, expected_sum(tasks))
    task = ray.remote(square_slowly).options(num_cpus=1, max_retries=3)
    start = time.perf_counter()
    refs = [task.remote(i, seconds) for i in range(tasks)]
    victims: list[int] = []

    def kill_one() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not victims:
            ready, _ = ray.wait(refs, num_returns=min(3, len(refs)), timeout=0)
            if len(ready) >= 3:
                for p in psutil.process_iter(["cmdline"]):
                    if (p.info["cmdline"] or [""])[0].startswith("ray::square_slowly"):
                        p.kill()
                        victims.append(p.pid)
                        report.killed_at = time.perf_counter() - start
                        break
            time.sleep(0.05)

    watcher = threading.Thread(target=kill_one, daemon=True)
    watcher.start()
    report.result = int(sum(ray.get(refs)))
    watcher.join()
    report.seconds = time.perf_counter() - start
    if not victims:
        raise DrillError("no Ray worker was running square_slowly to kill; the drill proved nothing")
    report.notes.append(f"Killed worker pid {victims[0]}; Ray retried its task (max_retries=3) in a new worker.")
    return report


# -- Kafka: the broker restarts while a producer sends ---------------------------------
@dataclass
class KafkaReport:
    topic: str
    sent: int
    acknowledged: int
    read_back: int
    distinct: int
    produced_checksum: int
    read_checksum: int
    restart_seconds: float
    seconds: float

    @property
    def exactly_once(self) -> bool:
        return (self.acknowledged == self.sent == self.read_back == self.distinct
                and self.produced_checksum == self.read_checksum)

    def __str__(self) -> str:
        verdict = "every acknowledged message read back exactly once" if self.exactly_once else "MESSAGES LOST OR REPEATED"
        return (f"kafka: {self.sent:,} sent, {self.acknowledged:,} acknowledged, {self.read_back:,} read back "
                f"({self.distinct:,} distinct) across a broker restart of {self.restart_seconds:.1f} s: {verdict}.")


def restart_broker(cfg: Config | None = None) -> float:
    """Stop the stack's broker (SIGTERM: a controlled shutdown) and start it again; seconds until healthy."""
    from scalelab.cluster import local
    from scalelab.cluster.services import by_name

    cfg = cfg or Config.load()
    svc = by_name(cfg, "kafka")
    start = time.perf_counter()
    local.stop(cfg, svc)
    local.start(cfg, svc)
    local.wait_healthy(cfg, svc, float(cfg.int("SCALELAB_START_TIMEOUT")))
    return time.perf_counter() - start


def kafka_job(topic: str, messages: int = 100_000, restart_after: float = 0.2, cfg: Config | None = None) -> KafkaReport:
    """Produce `messages` keyed messages (acks=all, idempotent) and restart the broker part-way."""
    from scalelab.apps import streaming

    restart: dict[str, float] = {}
    threads: list[threading.Thread] = []

    def do_restart():
        restart["seconds"] = restart_broker(cfg)

    def pairs():
        for i in range(messages):
            if i == int(messages * restart_after):
                threads.append(threading.Thread(target=do_restart, daemon=True))
                threads[0].start()
            yield str(i % 97).encode(), f"message-{i}".encode()

    start = time.perf_counter()
    # The producer waits out the broker's absence: sends block while its buffer is full and
    # retries until delivery_timeout_ms; idempotence keeps a retried batch from landing twice.
    produced = streaming.produce_messages(topic, pairs(), max_block_ms=180_000)
    for t in threads:
        t.join()
    back = streaming.read_topic(topic, timeout_s=120)
    return KafkaReport(topic, produced.sent, produced.acknowledged, len(back),
                       len(set(zip(back["key"], back["value"], strict=True))), produced.checksum,
                       streaming.checksum(back), restart.get("seconds", float("nan")), time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    """`python -m scalelab.teaching.drills dask|spark|ray`: run one drill in a fresh process, print its report as JSON.

    A fresh process, because a Spark drill needs an application whose executors are placed after
    the extra worker joined (a process that already has a session would reuse it).
    """
    import json
    import sys
    from dataclasses import asdict

    from scalelab.cluster import connect

    which = (argv if argv is not None else sys.argv[1:])[0]
    if which == "dask":
        client = connect.dask()
        with DaskWorker() as doomed:
            report = dask_job(client, doomed)
    elif which == "spark":
        with SparkWorker() as doomed:
            spark = connect.spark("scalelab-drill", spark__executor__cores="1", spark__cores__max="2")
            try:
                report = spark_job(spark, doomed)
            finally:
                spark.stop()
    elif which == "ray":
        connect.ray()
        report = ray_job()
    else:
        raise SystemExit(f"unknown drill {which!r}: dask, spark or ray")
    print("DRILL " + json.dumps({**asdict(report), "correct": report.correct}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
