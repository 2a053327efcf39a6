"""The lab notebooks as the tests (and `scalelab labs`) see them: find, fill, execute, check.

A lab's exercise cells are tagged `exercise` and carry `metadata.scalelab.exercise`;
the solution is `labs/solutions/<exercise>.py`, one `%load` away for the learner.
`filled` swaps each exercise cell for its solution, so that an executed notebook proves
both that the lesson runs and that its solutions pass their checks.
"""

from __future__ import annotations

import os
import time
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


@dataclass
class Run:
    path: Path
    seconds: float
    cells: int
    slowest: list[tuple[int, float]]     # (cell index, seconds), slowest first


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
    saved = {k: os.environ.get(k) for k in (SCALE_ENV, STRICT_ENV, "PYTHONWARNINGS")}
    os.environ.update({SCALE_ENV: scale, STRICT_ENV: "strict"})
    start = time.perf_counter()
    try:
        NotebookClient(nb, timeout=cell_timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return Run(path, time.perf_counter() - start, len(nb.cells), _cell_seconds(nb)[:5])
