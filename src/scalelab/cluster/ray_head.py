"""Start Ray's head node, then hand the foreground to childwatch.

`ray start --head --block` would do both, at a cost an idle laptop pays all day:
- the `ray start` process itself stays in the foreground with all of ray imported, ~150 MiB
  PSS, only to watch its children; here the starter execs into childwatch (~10 MiB), which
  keeps them as its own children and stops them together as `--block` would;
- the dashboard starts one process per module, ten of them; the labs and tests use the
  cluster, jobs, state and logs views (and /api/jobs/), not Serve, Train, Data, the events
  feed or the Prometheus/Grafana plumbing, so only the modules behind those views start.
`ray start` takes no list of dashboard modules (its `--include-dashboard=false` drops them
all), so the one call that builds the dashboard's command line gets the list appended; the
dashboard itself takes `--modules-to-load`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# The dashboard's modules that run: each a view or API the labs and tests use.
DASHBOARD_MODULES = (
    "NodeHead",        # the Cluster view: nodes, their workers and resources
    "ReportHead",      # cluster status, stack traces and logs of a worker
    "StateHead",       # actors, tasks, objects, placement groups (ray.util.state, the Jobs' detail)
    "JobHead",         # /api/jobs/: job submission and the Jobs view
    "UsageStatsHead",  # reports nothing (--disable-usage-stats)
)
# Modules that run inside the dashboard's own process (DashboardHeadModule); the rest get one each.
_IN_DASHBOARD_PROCESS = ("UsageStatsHead",)
DASHBOARD_MODULE_PROCESSES = tuple(m for m in DASHBOARD_MODULES if m not in _IN_DASHBOARD_PROCESS)


def _name(proc) -> str:
    """What a child is: gcs_server, raylet, dashboard.py, ray.util.client.server, ..."""
    try:
        argv = proc.cmdline()
    except Exception:  # noqa: BLE001 - it may have gone; childwatch reports that itself
        return "process"
    if not argv:
        return "process"
    if "python" not in Path(argv[0]).name:
        return Path(argv[0]).name
    rest = [a for a in argv[1:] if not a.startswith("-")]
    return Path(rest[0]).name if rest else "python"


def main(argv: list[str]) -> None:
    import psutil
    from ray._private import ray_constants, services

    original = services.start_ray_process

    def start_ray_process(command, process_type, *args, **kwargs):
        if process_type == ray_constants.PROCESS_TYPE_DASHBOARD:
            # The last --modules-to-load wins, should Ray add its own.
            command = [*command, "--modules-to-load=" + ",".join(DASHBOARD_MODULES)]
        return original(command, process_type, *args, **kwargs)

    services.start_ray_process = start_ray_process
    from ray.scripts.scripts import start

    # Without --block `ray start` returns once the head is up; its processes are this one's children.
    start.main(["--head", *argv], prog_name="ray start", standalone_mode=False)
    children = [f"{child.pid}:{_name(child)}" for child in psutil.Process().children()]
    sys.stdout.flush()
    sys.stderr.flush()
    watcher = Path(__file__).with_name("childwatch.py")
    os.execv(sys.executable, [sys.executable, "-I", str(watcher), "ray-head", *children])


if __name__ == "__main__":
    main(sys.argv[1:])
