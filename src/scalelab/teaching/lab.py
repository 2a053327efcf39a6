"""What a lab notebook needs besides the engines: its scale, its data, the stack's state, timings.

    from scalelab.teaching import lab
    SCALE = lab.scale()                    # "small" unless SCALELAB_LAB_SCALE says otherwise
    groupby = lab.dataset("groupby")       # made on first use, reused after
    lab.tour()                             # every service, its URL and its health

Kept here, tested, so that a notebook reads like a lesson and not like a library.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import pandas as pd

from scalelab import datasets
from scalelab.config import Config
from scalelab.datasets.base import SCALES, Dataset, DatasetError

SCALE_ENV = "SCALELAB_LAB_SCALE"
DEFAULT_SCALE = "small"


def scale(default: str = DEFAULT_SCALE) -> str:
    """The scale the labs run at: SCALELAB_LAB_SCALE (the tests set `tiny`), else `small`."""
    chosen = os.environ.get(SCALE_ENV, "").strip() or default
    if chosen not in SCALES:
        raise DatasetError(f"{SCALE_ENV}={chosen!r} is not a scale; choose one of: {', '.join(SCALES)}")
    return chosen


def dataset(generator: str, at: str | None = None, **params) -> Dataset:
    """A data set at the lab's scale: generated when missing (or half-written), reused when present.

    In a notebook, generating draws a bar under the cell counting the rows written (`small` makes
    millions; a reused set draws nothing).
    """
    bar = GenerationBar(generator)
    try:
        return datasets.generate(generator, scale=at or scale(), progress=bar.progress, **params)
    finally:
        bar.close()


class GenerationBar:
    """A datasets.Progress that keeps a tqdm bar of the rows written (shown only in a notebook)."""

    def __init__(self, name: str, enabled: bool | None = None):
        from scalelab.datasets.base import Progress

        self._name, self._enabled, self.bar = name, enabled, None
        self.progress = Progress(on_start=self._start, on_rows=self._rows)

    def _start(self, total_rows: int) -> None:
        from scalelab import progress

        self.bar = progress.bar(total_rows, f"generating {self._name}", unit="row", enabled=self._enabled)

    def _rows(self, rows: int, nbytes: int) -> None:
        if self.bar is not None:
            self.bar.update(rows)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def tour(cfg: Config | None = None) -> pd.DataFrame:
    """Every service of the stack: what it is, where its UI is, and whether it answers its health probe."""
    from scalelab.cluster import local, network

    cfg = cfg or Config.load()
    # In a container of compose (RUNTIME=docker) there are no pid files: services are probed by name.
    states = network.status(cfg) if cfg.runtime == "docker" else local.status(cfg)
    rows = []
    for st in states:
        rows.append({"service": st.service.name, "what": st.service.description,
                     "healthy": bool(st.healthy), "url": st.service.url(cfg) or "",
                     "detail": st.detail})
    return pd.DataFrame(rows)


def require_healthy(table: pd.DataFrame) -> None:
    """Stop the lab early, naming what is down, rather than fail later with a stranger error."""
    down = table.loc[~table["healthy"], "service"].tolist()
    if down:
        raise RuntimeError(f"not healthy: {', '.join(down)}. Start the stack with `make up` and "
                           "check it with `make status`.")


@dataclass
class Stopwatch:
    """Wall-clock timings of a lab's steps, to show side by side."""
    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def __call__(self, label: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[label] = time.perf_counter() - start

    def table(self) -> pd.DataFrame:
        out = pd.DataFrame({"step": list(self.seconds), "seconds": list(self.seconds.values())})
        fastest = out["seconds"].min() if len(out) else 1.0
        out["× fastest"] = (out["seconds"] / fastest).round(1)
        return out

    def plot(self, title: str = "wall-clock seconds (lower is better)"):
        ax = self.table().plot.barh(x="step", y="seconds", legend=False, title=title, figsize=(7, 0.4 * len(self.seconds) + 1))
        ax.invert_yaxis()
        return ax


def spark_master() -> dict:
    """The Spark master's status (its /json page): workers, cores, memory, running applications."""
    from scalelab.cluster import health

    return health.spark_master_state(Config.load())
