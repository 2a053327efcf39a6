"""Peak memory of the processes that do the work: the driver and the engine's cluster services.

A notebook's own memory says little about Spark or Dask: the work happens in
executors and workers. A sampler thread sums the resident memory of this process
tree and of the engine's services (their whole process sessions: executors, worker
processes, raylets) every SAMPLE_S seconds and keeps the peak.
"""

from __future__ import annotations

import os
import threading

import psutil

from scalelab.engines.base import Engine

SAMPLE_S = 0.05


def cluster_sessions(engine: type[Engine]) -> list[int]:
    """Session ids of the local runtime's services the engine needs (none for an in-process one)."""
    from scalelab.cluster.local import running_sessions
    from scalelab.config import Config

    cfg = Config.load()
    names = tuple(engine.services(cfg))
    return running_sessions(cfg, names) if names else []


class PeakMemory:
    """`with PeakMemory(engine_class) as m: ...` then m.peak_mib and m.base_mib."""

    def __init__(self, engine: type[Engine]):
        self.sessions = cluster_sessions(engine)
        self.base_mib = self.peak_mib = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _processes(self) -> list[psutil.Process]:
        me = psutil.Process(os.getpid())
        procs = [me, *me.children(recursive=True)]
        if self.sessions:
            from scalelab.cluster.local import session_processes

            for sid in self.sessions:
                procs += session_processes(sid)
        return procs

    def _rss_mib(self) -> float:
        total = 0
        for proc in self._processes():
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                continue
        return total / 2**20

    def _sample(self) -> None:
        while not self._stop.wait(SAMPLE_S):
            self.peak_mib = max(self.peak_mib, self._rss_mib())

    def __enter__(self) -> PeakMemory:
        self.base_mib = self.peak_mib = self._rss_mib()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mib = max(self.peak_mib, self._rss_mib())
