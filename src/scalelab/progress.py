"""Progress bars for the labs' long steps (producing a topic, `streaming.produce`; Spark's jobs, spark_jobs).

In a notebook the bar is a widget under the cell (tqdm.auto on ipywidgets); in a terminal, a
script or a test it is off, so no log fills with bars. `enabled` overrides either way.
"""

from __future__ import annotations


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
