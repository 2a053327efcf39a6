"""The stack's footprint and the suite's time, recorded by the runs themselves.

`make test` records how long `up` took, the idle stack's memory right after it, each test tier's
time and its own; `.ci/run` and `make test-compose` record theirs. Each row goes to
results/budget/measurements.csv. `scalelab budget` shows the last value of each against its
budget, and `scalelab budget --readme` writes that table into README.md between its markers,
so the figures there come from a run, never from typing. Timings are reported, never asserted.
"""

from __future__ import annotations

import csv
import datetime
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from scalelab.config import Config

FIELDS = ("when", "commit", "measurement", "value", "unit", "detail")
README_START = "<!-- budget:start (scalelab budget --readme writes this table) -->"
README_END = "<!-- budget:end -->"


@dataclass(frozen=True)
class Budget:
    measurement: str
    limit: float | None        # None: recorded and shown, no budget of its own
    unit: str
    what: str


# The budgets of the footprint issue (24), on a 2-core machine of CI's kind.
BUDGETS = (
    Budget("make up", 30, "s", "the default profile until every service is healthy, venv present"),
    Budget("idle PSS", 1.5, "GiB", "the default profile's processes right after it is up, summed"),
    Budget("make test", 20 * 60, "s", "start the stack, the whole suite, stop it"),
    Budget("make test-compose", None, "s", "build the image, compose up, its tests, down"),
    Budget(".ci/run", 35 * 60, "s", "make test, then make test-compose, from a fresh clone"),
)


def path(cfg: Config) -> Path:
    return cfg.results_dir / "budget" / "measurements.csv"


def _commit(cfg: Config) -> str:
    try:
        out = subprocess.run(["git", "-C", str(cfg.root), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=5)
        return out.stdout.strip() or "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def record(cfg: Config, measurement: str, value: float, unit: str, detail: str = "") -> None:
    """Append one measurement (a row with the time and the commit it was made at)."""
    if not measurement or unit not in ("s", "GiB", "tests"):
        raise ValueError(f"a measurement needs a name and a unit of s, GiB or tests (got {measurement!r}, {unit!r})")
    out = path(cfg)
    out.parent.mkdir(parents=True, exist_ok=True)
    new = not out.exists()
    with out.open("a", newline="") as fh:
        writer = csv.writer(fh)
        if new:
            writer.writerow(FIELDS)
        writer.writerow([datetime.datetime.now().isoformat(timespec="seconds"), _commit(cfg), measurement,
                         f"{value:.3f}", unit, detail])


def last(cfg: Config) -> dict[str, dict]:
    """The last row of each measurement."""
    try:
        with path(cfg).open(newline="") as fh:
            rows = list(csv.DictReader(fh))
    except FileNotFoundError:
        return {}
    out = {}
    for row in rows:
        if row.get("measurement") and row.get("value"):
            out[row["measurement"]] = row
    return out


def _shown(value: float, unit: str) -> str:
    if unit == "s" and value >= 120:
        return f"{int(value // 60)}:{int(value % 60):02d} min"
    if unit == "s":
        return f"{value:.1f} s"
    if unit == "GiB":
        return f"{value:.2f} GiB"
    return f"{value:.0f}"


def table(cfg: Config) -> str:
    """A Markdown table: each budget, then each test tier, with its last recorded value."""
    rows = last(cfg)
    lines = ["| measurement | last run | budget | commit, when |", "|---|---|---|---|"]
    for b in BUDGETS:
        row = rows.get(b.measurement)
        if row is None:
            got, within, when = "not recorded yet", "", ""
        else:
            value = float(row["value"])
            got = _shown(value, row["unit"])
            within = "" if b.limit is None else (" (within)" if value <= b.limit else " (**over**)")
            when = f"{row['commit']}, {row['when']}"
        limit = "—" if b.limit is None else _shown(b.limit, b.unit)
        lines.append(f"| {b.measurement}: {b.what} | {got}{within} | {limit} | {when} |")
    # Each test tier's summed test time (pytest's durations; the tiers of make test-compose apart).
    for name in sorted(n for n in rows if n.startswith("tier ")):
        row = rows[name]
        lines.append(f"| tests/{name[len('tier '):]}: {row['detail']} | {_shown(float(row['value']), 's')} | — | "
                     f"{row['commit']}, {row['when']} |")
    return "\n".join(lines)


def write_readme(cfg: Config, readme: Path | None = None) -> Path:
    """Replace the table between the README's budget markers with the recorded one."""
    readme = readme or cfg.root / "README.md"
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        raise ValueError(f"{readme} has no budget markers ({README_START!r} ... {README_END!r})")
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    tmp = readme.with_name(readme.name + ".tmp")
    tmp.write_text(f"{head}{README_START}\n{table(cfg)}\n{README_END}{tail}")
    os.replace(tmp, readme)
    return readme
