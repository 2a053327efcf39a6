"""childwatch: the foreground process a service execs into once its children run (Ray's head).

Each test starts a small parent that forks two children and then execs into childwatch, which
is exactly how scalelab.cluster.ray_head hands over: the children stay childwatch's own.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

import scalelab.cluster.childwatch as childwatch

_PARENT = """
import os, subprocess, sys
kids = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"]) for _ in range(2)]
print(" ".join(str(k.pid) for k in kids), flush=True)
os.execv(sys.executable, [sys.executable, "-I", sys.argv[1], "demo", f"{kids[0].pid}:first", f"{kids[1].pid}:second"])
"""


def _start():
    proc = subprocess.Popen([sys.executable, "-c", _PARENT, childwatch.__file__], stdout=subprocess.PIPE, text=True)
    first, second = (int(p) for p in proc.stdout.readline().split())
    assert proc.stdout.readline().startswith("demo: watching 2 processes (first")   # the exec happened
    return proc, first, second


def _gone(pid, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            return True
        time.sleep(0.05)
    return False


def test_a_child_that_dies_stops_the_others_and_the_watcher_fails_naming_it():
    proc, first, second = _start()
    os.kill(second, signal.SIGKILL)
    assert proc.wait(timeout=20) == 1
    rest = proc.stdout.read()
    assert f"second (pid {second}) was killed by SIGKILL; stopping the rest" in rest
    assert _gone(first), "the surviving child was left running"


def test_sigterm_stops_every_child_and_the_watcher_exits_cleanly():
    proc, first, second = _start()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0
    assert "demo: SIGTERM, stopping 2 processes" in proc.stdout.read()
    assert _gone(first) and _gone(second)


def test_the_watcher_imports_nothing_beyond_the_standard_library():
    # It runs with `python -I` (no site-packages); an import of ours or a library's would fail there.
    source = Path(childwatch.__file__).read_text()
    imports = {line.split()[1].split(".")[0] for line in source.splitlines() if line.startswith(("import ", "from "))}
    assert imports <= {"__future__", "os", "signal", "sys", "time"}, imports


_STOPPED_WHILE_ANNOUNCING = """
import builtins, os, signal, subprocess, sys
sys.path.insert(0, os.path.dirname(sys.argv[1]))
import childwatch
kid = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
real_print = builtins.print
def print_then_stop(*args, **kwargs):
    real_print(*args, **kwargs)
    if "watching" in args[0]:
        os.kill(os.getpid(), signal.SIGTERM)   # the stop lands before print has returned
builtins.print = print_then_stop
sys.exit(childwatch.main(["demo", f"{kid.pid}:only"]))
"""


def test_a_stop_that_lands_while_the_first_line_is_written_is_still_a_clean_stop():
    # The runtime may send SIGTERM the moment it reads "watching ..."; CI once caught it inside
    # that print, outside the try, and the watcher died with a traceback and exit code 1.
    proc = subprocess.run([sys.executable, "-c", _STOPPED_WHILE_ANNOUNCING, childwatch.__file__],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert "demo: SIGTERM, stopping 1 processes" in proc.stdout
