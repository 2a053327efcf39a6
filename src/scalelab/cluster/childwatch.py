"""Watch a service's child processes and stop them together: the foreground process of a
service whose real work is done by the children it started (Ray's head).

Standard library only, run as a script (`python -I childwatch.py NAME PID...`), after the
starter has exec'd into it: the children stay this process's own, and the tens of MiB the
starter's imports held are returned. What it does is what `ray start --block` does, in
~10 MiB instead of ~150:
- a child exits on its own: log which and how, stop the others, exit 1 (the runtime and the
  container engine then see the service fail, rather than half of it running on);
- SIGTERM or SIGINT: pass it to every child, wait for them, exit 0;
- as a container's PID 1 it also reaps orphans reparented to it.
"""

from __future__ import annotations

import os
import signal
import sys
import time

_GRACE = 10.0  # seconds between SIGTERM to the children and SIGKILL to those left


def _send(pids, sig) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def _reap(watched: dict[int, str], deadline: float) -> None:
    while watched and time.monotonic() < deadline:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.1)
        else:
            watched.pop(pid, None)


def _stop(watched: dict[int, str]) -> None:
    _send(list(watched), signal.SIGTERM)
    _reap(watched, time.monotonic() + _GRACE)
    _send(list(watched), signal.SIGKILL)
    _reap(watched, time.monotonic() + 5)


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"was killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exited with code {os.WEXITSTATUS(status)}"


def main(argv: list[str]) -> int:
    service, watched = argv[0], {int(a.split(":", 1)[0]): a.split(":", 1)[1] for a in argv[1:]}

    def on_signal(signum, _frame):
        # Raised, not recorded: a blocking waitpid is retried after a handler that returns.
        raise _Stop(signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        # Inside the try: a stop that lands while this line is written (the runtime may send it
        # as soon as it reads the line) is still a clean stop, not a traceback and exit 1.
        print(f"{service}: watching {len(watched)} processes ("
              + ", ".join(f"{name} {pid}" for pid, name in watched.items()) + ")", flush=True)
        while True:
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                print(f"{service}: every process has gone", flush=True)
                return 1
            if pid in watched:
                name = watched.pop(pid)
                print(f"{service}: {name} (pid {pid}) {_describe(status)}; stopping the rest", flush=True)
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                _stop(watched)
                return 1
    except _Stop as stop:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        print(f"{service}: {signal.Signals(stop.args[0]).name}, stopping {len(watched)} processes", flush=True)
        _stop(watched)
        return 0


class _Stop(Exception):
    pass


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
