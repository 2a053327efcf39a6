"""The bars under a cell for Spark's jobs (scalelab.cluster.spark_jobs), driven by a scripted
status tracker with pyspark's own record types. tests/stack/test_spark.py runs them in a kernel
against the cluster's status tracker."""

from __future__ import annotations

from types import SimpleNamespace

from pyspark.status import SparkJobInfo, SparkStageInfo

from scalelab.cluster import spark_jobs


class Tracker:
    """What the driver's StatusTracker answers, set by the test between polls."""

    def __init__(self):
        self.jobs: dict[int, SparkJobInfo] = {}
        self.stages: dict[int, SparkStageInfo] = {}

    def getActiveJobsIds(self):
        return [j for j, info in self.jobs.items() if info.status == "RUNNING"]

    def getJobInfo(self, job_id):
        return self.jobs.get(job_id)

    def getStageInfo(self, stage_id):
        return self.stages.get(stage_id)

    def stage(self, stage_id, tasks, active=0, done=0):
        self.stages[stage_id] = SparkStageInfo(stage_id, 0, f"stage {stage_id}", tasks, active, done, 0)


class Bar:
    """tqdm's interface, as much as JobBars uses of it."""

    def __init__(self, label, total):
        self.desc, self.total, self.n, self.closed, self.start_t = label, total, 0, False, 0.0

    def reset(self, total=None):
        self.total, self.n = total, 0

    def set_description(self, desc, refresh=True):
        self.desc = desc

    def refresh(self):
        pass

    def close(self):
        self.closed = True


def _bars(tracker, clock):
    made = {}

    def bar_for(label, total):
        made[label.split(",")[0]] = bar = Bar(label, total)
        return bar

    return spark_jobs.JobBars(tracker, bar_for, show_after=1.0, clock=lambda: clock[0]), made


def test_a_job_gets_a_bar_once_it_has_run_a_second_and_the_bar_ends_full():
    tracker, clock = Tracker(), [0.0]
    bars, made = _bars(tracker, clock)
    tracker.jobs[0] = SparkJobInfo(0, [1], "RUNNING")
    tracker.stage(1, tasks=8, active=2)
    bars.poll()
    assert made == {}                       # too young: a quick job never gets a bar
    clock[0] = 1.5
    tracker.stage(1, tasks=8, active=2, done=3)
    bars.poll()
    bar = made["Spark job 0"]
    assert (bar.n, bar.total, bar.desc) == (3, 8, "Spark job 0, stages 0/1")
    tracker.stage(1, tasks=8, done=8)
    tracker.jobs[0] = SparkJobInfo(0, [1], "SUCCEEDED")
    bars.poll()
    assert (bar.n, bar.total, bar.closed, bar.desc) == (8, 8, True, "Spark job 0, stages 1/1")


def test_a_quick_job_gets_no_bar():
    tracker, clock = Tracker(), [0.0]
    bars, made = _bars(tracker, clock)
    tracker.jobs[3] = SparkJobInfo(3, [4], "RUNNING")
    tracker.stage(4, tasks=1, active=1)
    bars.poll()
    tracker.jobs[3] = SparkJobInfo(3, [4], "SUCCEEDED")
    clock[0] = 5.0
    bars.poll()
    bars.close()
    assert made == {} and bars.shown == []


def test_a_skipped_stage_is_not_counted_so_a_finished_job_is_not_short():
    # Stage 1's shuffle output exists from an earlier job: Spark skips it and it never runs a task.
    tracker, clock = Tracker(), [0.0]
    bars, made = _bars(tracker, clock)
    tracker.jobs[1] = SparkJobInfo(1, [1, 2], "RUNNING")
    tracker.stage(1, tasks=200)
    tracker.stage(2, tasks=4, active=4)
    bars.poll()
    clock[0] = 1.5
    bars.poll()
    assert made["Spark job 1"].total == 4
    tracker.stage(2, tasks=4, done=4)
    tracker.jobs[1] = SparkJobInfo(1, [1, 2], "SUCCEEDED")
    bars.poll()
    bar = made["Spark job 1"]
    assert (bar.n, bar.total, bar.desc) == (4, 4, "Spark job 1, stages 1/1")


def test_a_next_stage_that_starts_joins_the_total():
    tracker, clock = Tracker(), [0.0]
    bars, made = _bars(tracker, clock)
    tracker.jobs[2] = SparkJobInfo(2, [5, 6], "RUNNING")
    tracker.stage(5, tasks=6, active=2)
    tracker.stage(6, tasks=2)
    bars.poll()
    clock[0] = 1.0
    bars.poll()
    bar = made["Spark job 2"]
    assert (bar.n, bar.total) == (0, 6)
    tracker.stage(5, tasks=6, done=6)
    tracker.stage(6, tasks=2, active=1, done=1)
    bars.poll()
    assert (bar.n, bar.total, bar.desc) == (7, 8, "Spark job 2, stages 1/2")


def test_a_cell_that_ends_with_a_job_still_running_closes_its_bar():
    # An interrupted cell: the job may run on (or be cancelled); its bar stops where it stands.
    tracker, clock = Tracker(), [0.0]
    bars, made = _bars(tracker, clock)
    tracker.jobs[7] = SparkJobInfo(7, [9], "RUNNING")
    tracker.stage(9, tasks=10, active=2, done=1)
    bars.poll()
    clock[0] = 3.0
    bars.close()
    bar = made["Spark job 7"]
    assert bar.closed and bar.n == 1


def test_outside_a_notebook_nothing_is_hooked():
    context = SimpleNamespace(_jsc=object())
    assert spark_jobs.watch_cells(context) is False


def test_the_ui_path_is_the_proxys_path_for_the_drivers_port():
    assert spark_jobs.ui_path(SimpleNamespace(uiWebUrl="http://127.0.0.1:4041")) == "/proxy/4041/jobs/"
    assert spark_jobs.ui_path(SimpleNamespace(uiWebUrl=None)) is None
