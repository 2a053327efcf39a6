"""Spark job progress under the notebook cell that runs the job, and the application UI's link.

Spark's own console bar writes to the driver JVM's stderr, which a notebook never shows (it
lands in JupyterLab's terminal or log). sparkmonitor, the JupyterLab extension for this, needs a
kernel extension loaded at every kernel's start, a `conf` it injects that the notebook must pass
to its session builder, a listener jar on the driver's class path and a front-end of its own, and
what it draws lives only in a live JupyterLab, never in a saved or executed notebook. Here the bar
is drawn from Python instead: while a cell runs, a thread asks the driver's status tracker (py4j,
no jar) twice a second which jobs run and how many of their stages' tasks are done, and keeps one
tqdm bar (an ipywidgets view, saved with the notebook) per job under that cell.

Like Spark's console bar, a job gets a bar only once it has run SHOW_AFTER_S: the many quick
jobs of a lab (a schema read, a count) leave no clutter. The thread starts in IPython's
pre_run_cell hook, so the kernel routes its output to the cell being run, and stops at
post_run_cell.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

POLL_S = 0.5
SHOW_AFTER_S = 1.0


@dataclass
class _Job:
    job_id: int
    first_seen: float
    bar: object = None
    stages_counted: set[int] = field(default_factory=set)


class JobBars:
    """Bars for the jobs a status tracker reports, advanced by `poll()`.

    A job's total counts only the tasks of stages that ran or run: a stage Spark skips (its
    shuffle output already exists) never runs a task, and counting it would leave a finished
    job's bar short of its end. `bar_for(label, total)` makes a bar (tqdm's interface).
    """

    def __init__(self, tracker, bar_for, show_after: float = SHOW_AFTER_S, clock=time.monotonic):
        self._tracker = tracker
        self._bar_for = bar_for
        self._show_after = show_after
        self._clock = clock
        self._jobs: dict[int, _Job] = {}
        self.shown: list[int] = []          # job ids that got a bar, in order

    def poll(self) -> None:
        now = self._clock()
        active = set(self._tracker.getActiveJobsIds())
        for job_id in active:
            self._jobs.setdefault(job_id, _Job(job_id, now))
        for job_id, job in list(self._jobs.items()):
            info = self._tracker.getJobInfo(job_id)
            done = job_id not in active or info is None or info.status in ("SUCCEEDED", "FAILED")
            if info is not None and (job.bar is not None or (not done and now - job.first_seen >= self._show_after)):
                self._draw(job, info)
            if done:
                if job.bar is not None:
                    job.bar.close()
                del self._jobs[job_id]

    def close(self) -> None:
        """The cell ended: one last look, then every bar still open is closed where it stands."""
        self.poll()
        for job in self._jobs.values():
            if job.bar is not None:
                job.bar.close()
        self._jobs.clear()

    def _draw(self, job: _Job, info) -> None:
        stages = [s for s in (self._tracker.getStageInfo(i) for i in info.stageIds) if s is not None]
        for s in stages:
            if s.numActiveTasks or s.numCompletedTasks or s.numFailedTasks:
                job.stages_counted.add(s.stageId)
        counted = [s for s in stages if s.stageId in job.stages_counted]
        total = max(1, sum(s.numTasks for s in counted))
        completed = sum(min(s.numCompletedTasks, s.numTasks) for s in counted)
        finished = sum(s.numCompletedTasks >= s.numTasks for s in counted)
        label = f"Spark job {job.job_id}, stages {finished}/{len(counted)}"
        bar = job.bar
        if bar is None:
            bar = job.bar = self._bar_for(label, total)
            self.shown.append(job.job_id)
        elif bar.total != total:        # a next stage started: its tasks join the total
            started = bar.start_t
            bar.reset(total=total)
            bar.start_t = started
        bar.n = completed
        bar.set_description(label, refresh=False)
        bar.refresh()


def _bar(label: str, total: int):
    from scalelab import progress

    return progress.bar(total, label, unit="task", enabled=True, scale=False)


class CellWatcher:
    """IPython's pre_run_cell and post_run_cell hooks: a JobBars thread for each cell."""

    def __init__(self, context, poll_s: float = POLL_S, show_after: float = SHOW_AFTER_S):
        self._context = context
        self._poll_s = poll_s
        self._show_after = show_after
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.bars: JobBars | None = None

    def pre_run_cell(self, info=None) -> None:
        self.post_run_cell()
        if self._context._jsc is None:        # the session was stopped: nothing to watch
            return
        self.bars = JobBars(self._context.statusTracker(), _bar, self._show_after)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(self.bars, self._stop), daemon=True,
                                        name="scalelab-spark-jobs")
        self._thread.start()

    def post_run_cell(self, result=None) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self, bars: JobBars, stop: threading.Event) -> None:
        try:
            while not stop.wait(self._poll_s):
                bars.poll()
            bars.close()
        except Exception:      # the session stopped under us (py4j gone): the cell's own error says so
            pass


_WATCHERS: dict[int, CellWatcher] = {}


def watch_cells(context) -> bool:
    """Show job progress under each cell of this notebook (once per SparkContext; False outside one)."""
    from scalelab.progress import in_notebook

    if not in_notebook():
        return False
    from IPython import get_ipython

    shell = get_ipython()
    for key, old in list(_WATCHERS.items()):     # a session stopped and made anew: its watcher goes
        if old._context is not context:
            shell.events.unregister("pre_run_cell", old.pre_run_cell)
            shell.events.unregister("post_run_cell", old.post_run_cell)
            old.post_run_cell()
            del _WATCHERS[key]
    if id(context) not in _WATCHERS:
        watcher = _WATCHERS[id(context)] = CellWatcher(context)
        shell.events.register("pre_run_cell", watcher.pre_run_cell)
        shell.events.register("post_run_cell", watcher.post_run_cell)
    return True


def ui_path(context) -> str | None:
    """The application UI's path under JupyterLab's proxy (`/proxy/PORT/jobs/`), None with no UI.

    The UI listens where the driver runs, which is where the kernel runs: JupyterLab's machine or
    container, so jupyter-server-proxy reaches it on localhost, behind JupyterLab's token.
    """
    from urllib.parse import urlparse

    url = context.uiWebUrl
    if not url:
        return None
    return f"/proxy/{urlparse(url).port}/jobs/"


def show_link(context) -> None:
    """A link under the cell to this application's UI through JupyterLab's proxy."""
    from IPython.display import HTML, display

    path = ui_path(context)
    if path:
        display(HTML(f'Spark application UI (jobs, stages, SQL plans): <a href="{path}" target="_blank">{path}</a>'))
