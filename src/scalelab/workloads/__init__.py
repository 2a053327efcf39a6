"""The workload registry: every question, its pandas reference and each engine's implementation.

    from scalelab import workloads
    w = workloads.get("groupby.q3")
    result = workloads.run(w, "spark", scale="tiny")     # answer, time, checksum, checked
"""

from __future__ import annotations

import re

from scalelab.workloads import cleaning, features, groupby, join, ml, timeseries, tpch
from scalelab.workloads.base import Data, Suite, Workload, WorkloadError
from scalelab.workloads.runner import Outcome, load_reference, prepare, run

SUITES: dict[str, Suite] = {s.name: s for s in (groupby.suite, join.suite, timeseries.suite, cleaning.suite, features.suite, ml.suite, tpch.suite)}


def _in_order(suite: Suite) -> list[Workload]:
    """Numbered questions by number (q2 before q10), the others as defined."""
    def key(item):
        index, w = item
        numbered = re.fullmatch(r"q(\d+)", w.short)
        return int(numbered.group(1)) if numbered else index
    return [w for _, w in sorted(enumerate(suite.workloads.values()), key=key)]


WORKLOADS: dict[str, Workload] = {w.name: w for s in SUITES.values() for w in _in_order(s)}


__all__ = ["SUITES", "WORKLOADS", "Data", "Outcome", "Suite", "Workload", "WorkloadError", "get", "select",
           "run", "prepare", "load_reference"]


def get(name: str) -> Workload:
    try:
        return WORKLOADS[name]
    except KeyError:
        raise WorkloadError(f"unknown workload {name!r}; choose one of: {', '.join(WORKLOADS)}") from None


def select(pattern: str) -> list[Workload]:
    """`groupby.q3`, a suite (`groupby`) or `all`."""
    if pattern == "all":
        return list(WORKLOADS.values())
    if pattern in SUITES:
        return [w for w in WORKLOADS.values() if w.suite == pattern]
    return [get(pattern)]
