"""Peak memory of the processes that do the work: the driver and the engine's cluster services.

A notebook's own memory says little about Spark or Dask: the work happens in
executors and workers. The peak is read from the kernel, not sampled: on entry each
process's resident high-water mark (VmHWM in /proc/PID/status) is reset (writing 5 to
/proc/PID/clear_refs), on exit it is read. Nothing runs while the engine is timed. A
sampler thread did before, every 50 ms, and finding a cluster's processes meant a full
scan of /proc per service: 6.5 ms of this process's CPU (and its GIL) per sample for
Dask's three services, 12 ms for Ray's, taken from the 2 cores the engine was timed on.

The figure is the sum of each process's own peak, so an upper bound of the moment the
processes together held the most: two workers that peak at different times are added
as if at once. A process whose mark cannot be reset (another user's) counts its peak
since it started; one that started and ended inside the block is not seen.
"""

from __future__ import annotations

import os

import psutil

from scalelab.engines.base import Engine


def cluster_sessions(engine: type[Engine]) -> list[int]:
    """Session ids of the local runtime's services the engine needs (none for an in-process one)."""
    from scalelab.cluster.local import running_sessions
    from scalelab.config import Config

    cfg = Config.load()
    names = tuple(engine.services(cfg))
    return running_sessions(cfg, names) if names else []


def reset_peak(pid: int) -> bool:
    """Start the process's resident high-water mark again from its current size."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_bytes(proc: psutil.Process) -> int:
    """The process's resident high-water mark (its current size where the kernel gives none)."""
    try:
        with open(f"/proc/{proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        return proc.memory_info().rss
    except (OSError, psutil.Error):
        return 0


class PeakMemory:
    """`with PeakMemory(engine_class) as m: ...` then m.peak_mib and m.base_mib."""

    def __init__(self, engine: type[Engine]):
        self.sessions = cluster_sessions(engine)
        self.base_mib = self.peak_mib = 0.0
        self._seen: dict[int, psutil.Process] = {}

    def _processes(self) -> list[psutil.Process]:
        me = psutil.Process(os.getpid())
        procs = [me, *me.children(recursive=True)]
        if self.sessions:
            from scalelab.cluster.local import session_processes

            for sid in self.sessions:
                procs += session_processes(sid)
        return procs

    def __enter__(self) -> PeakMemory:
        total = 0
        for proc in self._processes():
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                continue
            reset_peak(proc.pid)
            self._seen[proc.pid] = proc
        self.base_mib = total / 2**20
        return self

    def __exit__(self, *exc) -> None:
        # Those there at the start and still running, and those started since (a Ray worker, say).
        procs = {p.pid: p for p in self._processes()}
        for pid, proc in self._seen.items():
            if pid not in procs and proc.is_running():
                procs[pid] = proc
        self.peak_mib = max(self.base_mib, sum(peak_bytes(p) for p in procs.values()) / 2**20)
