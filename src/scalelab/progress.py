"""Progress bars for the labs' long steps (producing a topic, `streaming.produce`; Spark's jobs, spark_jobs).

In a notebook the bar is a widget under the cell (tqdm.auto on ipywidgets); in a terminal, a
script or a test it is off, so no log fills with bars. `enabled` overrides either way.
"""

from __future__ import annotations

from contextlib import contextmanager


def in_notebook() -> bool:
    """Whether this code runs in a Jupyter kernel (JupyterLab's, or nbclient's when labs are tested)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def bar(total: int | None, desc: str, unit: str = "msg", enabled: bool | None = None, scale: bool = True):
    from tqdm.auto import tqdm

    on = in_notebook() if enabled is None else enabled
    # mininterval: a bar redrawn at most twice a second costs nothing beside 8,000 messages a second
    return tqdm(total=total, desc=desc, unit=unit, unit_scale=scale, mininterval=0.5, disable=not on)


@contextmanager
def joblib_bar(desc: str, total: int | None = None, unit: str = "fit", enabled: bool | None = None):
    """A bar of the tasks joblib runs inside the block: scikit-learn's searches (GridSearchCV's
    fits, one per parameter set and fold) and cross_val_score run through joblib.Parallel.

    scikit-learn has no progress callback, and GridSearchCV's `verbose` prints lines a notebook
    cannot redraw. joblib calls `Parallel.print_progress` after every finished batch on every
    backend (sequential, loky, Dask's, Ray's); inside the block that call also advances the bar.
    `total`: the tasks to expect (joblib knows them only once it has dispatched them all).
    """
    import joblib

    shown = bar(total, desc, unit=unit, enabled=enabled, scale=False)
    original = joblib.Parallel.print_progress

    def advance(parallel):
        seen = parallel.n_tasks or parallel.n_dispatched_tasks
        if seen and (shown.total or 0) < seen:
            shown.total = seen
        shown.n = parallel.n_completed_tasks
        shown.refresh()
        return original(parallel)

    joblib.Parallel.print_progress = advance
    try:
        yield shown
    finally:
        joblib.Parallel.print_progress = original
        shown.close()
