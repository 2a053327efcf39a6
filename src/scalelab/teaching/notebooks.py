"""The lab notebooks as the tests (and `scalelab labs`) see them: find, fill, execute, check.

A lab's exercise cells are tagged `exercise` and carry `metadata.scalelab.exercise`;
the solution is `labs/solutions/<exercise>.py`, one `%load` away for the learner.
`filled` swaps each exercise cell for its solution, so that an executed notebook proves
both that the lesson runs and that its solutions pass their checks.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import nbformat

from scalelab.config import Config
from scalelab.teaching.grading import STRICT_ENV
from scalelab.teaching.lab import SCALE_ENV

CELL_TIMEOUT_S = 300


def labs_dir(cfg: Config | None = None) -> Path:
    return (cfg or Config.load()).root / "labs"


def notebooks(root: Path | None = None) -> list[Path]:
    """The numbered labs (NN_topic.ipynb) and any under labs/*/ (foundations, platform), in order."""
    root = root or labs_dir()
    return sorted(p for p in root.rglob("[0-9][0-9]_*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


# A track's folder under labs/ -> the letter its exercise ids start with ("f02.zscore" is in
# labs/foundations/02_numpy.ipynb); the big-data labs at the top have none ("02.top_id6").
TRACKS = {"foundations": "f"}


def exercise_prefix(path: Path) -> str:
    return TRACKS.get(path.parent.name, "") + path.stem[:2]


def exercise_of(cell) -> str | None:
    return cell.get("metadata", {}).get("scalelab", {}).get("exercise")


def exercises(nb) -> list[str]:
    return [ex for c in nb.cells if (ex := exercise_of(c))]


def solution_path(path: Path, exercise: str) -> Path:
    return path.parent / "solutions" / f"{exercise}.py"


def filled(path: Path) -> nbformat.NotebookNode:
    """The notebook with every exercise cell replaced by its solution."""
    nb = read(path)
    for cell in nb.cells:
        if ex := exercise_of(cell):
            cell.source = solution_path(path, ex).read_text()
    return nb


def has_outputs(nb) -> list[int]:
    return [i for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count") is not None)]


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"     # an ipywidgets output's MIME type


@dataclass
class Run:
    path: Path
    seconds: float
    cells: int
    slowest: list[tuple[int, float]]     # (cell index, seconds), slowest first
    widgets: int = 0                     # outputs that are ipywidgets views (a progress bar is one)


def _cell_seconds(nb) -> list[tuple[int, float]]:
    from datetime import datetime

    out = []
    for i, c in enumerate(nb.cells):
        t = c.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" in t and "shell.execute_reply" in t:
            a, b = (datetime.fromisoformat(t[k].replace("Z", "+00:00")) for k in ("iopub.execute_input",
                                                                                  "shell.execute_reply"))
            out.append((i, (b - a).total_seconds()))
    return sorted(out, key=lambda x: -x[1])


def execute(path: Path, scale: str = "tiny", cell_timeout: int = CELL_TIMEOUT_S, solutions: bool = True) -> Run:
    """Execute a lab top to bottom in a fresh kernel (cwd: the lab's folder), with strict checks.

    Raises nbclient's CellExecutionError naming the failing cell.
    """
    from nbclient import NotebookClient

    nb = filled(path) if solutions else read(path)
    # The kernel's own environment, not this process's: labs run side by side in threads (run_all).
    env = {**os.environ, SCALE_ENV: scale, STRICT_ENV: "strict"}
    start = time.perf_counter()
    NotebookClient(nb, timeout=cell_timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute(env=env)
    widgets = sum(WIDGET_VIEW in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    return Run(path, time.perf_counter() - start, len(nb.cells), _cell_seconds(nb)[:5], widgets)


def exclusive(path: Path) -> str | None:
    """Why a lab must run with no other lab beside it (`metadata.scalelab.exclusive`), or None."""
    return read(path).metadata.get("scalelab", {}).get("exclusive")


# What an exclusive lab disrupts (lab 09 restarts the broker and adds and kills Spark and Dask
# workers): a lab that calls none of these may run beside it. The track labs call none
# (tests/unit/test_lab_notebooks.py checks), so they fill the other lanes meanwhile.
DISRUPTED_CALLS = ("connect.spark", "connect.dask", "connect.kafka", "streaming.", "drills.")


def single_machine(path: Path) -> bool:
    """A lab of a track (labs/foundations/): pandas, NumPy, scikit-learn on this machine."""
    return path.parent.name in TRACKS


def run_all(paths: list[Path], scale: str = "tiny", lanes: int = 2,
            expected: dict[str, float] | None = None) -> dict[Path, Future]:
    """Execute labs `lanes` at a time, each in its own kernel; a Future per lab, its Run or its error.

    The exclusive labs (a fault drill restarts the broker other labs stream through) run first,
    one at a time, with only single-machine labs beside them; then the rest, longest first by
    `expected` (seconds by lab stem, from earlier runs), so that no long lab starts last and
    runs on alone.
    """
    futures = {path: Future() for path in paths}
    alone = [p for p in paths if exclusive(p)]
    rest = sorted((p for p in paths if p not in alone), key=lambda p: -(expected or {}).get(p.stem, float("inf")))
    beside = [p for p in rest if single_machine(p)] if alone and lanes > 1 else []
    rest = [p for p in rest if p not in beside]

    def one(path: Path) -> None:
        if futures[path].set_running_or_notify_cancel():
            try:
                futures[path].set_result(execute(path, scale=scale))
            except BaseException as exc:  # noqa: BLE001 - handed to the test that waits for this lab
                futures[path].set_exception(exc)

    def conduct() -> None:
        # Phase 1: the exclusive labs in one lane, single-machine labs in the others; phase 2: the rest.
        with ThreadPoolExecutor(max_workers=max(1, lanes - 1), thread_name_prefix="lab") as pool:
            done_beside = pool.map(one, beside)
            for path in alone:
                one(path)
            list(done_beside)
        with ThreadPoolExecutor(max_workers=max(1, lanes), thread_name_prefix="lab") as pool:
            list(pool.map(one, rest))

    threading.Thread(target=conduct, name="labs", daemon=True).start()
    return futures
