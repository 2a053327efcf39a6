"""db-benchmark's own solution scripts, run beside `scalelab bench` on the same rows and machine.

    scalelab bench peer --checkout PATH --suite groupby --scale small
    scalelab bench report --peer results/peer/db-benchmark-time.csv

db-benchmark (duckdblabs/db-benchmark) is the peer each engine's implementation must
match: its scripts are what those engines' own users wrote. This module does not copy
them; it runs them, from a checkout of that repository, as its launcher would: in a
work folder holding `data/<name>.csv` (our generated data set, written as CSV, one
file per table) and the checkout's `_helpers`, with the environment its scripts read,
and the project's Python (the same library versions as `scalelab bench`). Each script
appends its timings to one `time.csv` in db-benchmark's own format, which
`bench report --peer` reads.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from scalelab import datasets
from scalelab.datasets.base import pretty_sci

# db-benchmark's task per suite, and its data set naming (the same as ours, db-benchmark's own).
TASKS = {"groupby": "groupby", "join": "join"}
# Each solution's script inside the checkout, per task (the repository names them unevenly).
SCRIPTS = {
    "pandas": "pandas/{task}-pandas.py",
    "polars": "polars/{task}-polars.py",
    "duckdb": "duckdb/{task}-duckdb.py",
    "dask": "dask/{task}_dask.py",
    "spark": "spark/{task}-spark.py",
}
TIME_FILE = "db-benchmark-time.csv"
# Whose code each of our suites is compared with (the report names it over its ratios).
PEERS = {"groupby": "db-benchmark", "join": "db-benchmark", "tpch": "polars-benchmark"}
# The only edits made to a peer's script (by its path in the checkout), each because the library
# version this project runs removed an API the script calls, each doing what the original call
# did; every run says which it applied. (old text, new text, why)
_RECHUNK = (", rechunk=True)", ").rechunk()",
            "Polars 2 removed read_csv(rechunk=); .rechunk() on the frame it read makes it one chunk, as before")
ADAPTATIONS = {
    "polars/groupby-polars.py": [
        _RECHUNK,
        (", memory_map=True)", ")",
         "Polars 2 removed read_ipc(memory_map=), which was already its default; it reads the file as it sees fit")],
    "polars/join-polars.py": [_RECHUNK],
}


class PeerError(RuntimeError):
    """The checkout is not db-benchmark's, a script is missing, or a script failed."""


@dataclass
class PeerRun:
    solution: str
    seconds: float
    returncode: int
    log: Path
    adapted: tuple[str, ...] = ()     # the ADAPTATIONS applied to its script
    failed: tuple[str, ...] = ()      # the questions it answered wrongly or not at all, and why


def check_checkout(checkout: Path) -> Path:
    checkout = Path(checkout).expanduser().resolve()
    missing = [p for p in ("_helpers/helpers.py", "_control/questions.csv") if not (checkout / p).is_file()]
    if missing:
        raise PeerError(f"{checkout} is not a db-benchmark checkout (no {', '.join(missing)}); clone "
                        "duckdblabs/db-benchmark and give its folder as --checkout")
    return checkout


def table_names(suite: str, name: str) -> dict[str, str]:
    """Our tables -> db-benchmark's file names: `J1_1e6_NA_0_0` has `J1_1e6_1e0_0_0` (small),
    `..._1e3_...` (medium) and `..._1e6_...` (big) beside it, as its `join_to_tbls` names them."""
    if suite == "groupby":
        return {"x": name}
    n = int(float(name.split("_")[1]))
    sizes = {"small": n // 10**6, "medium": n // 10**3, "big": n}
    return {"x": name, **{table: name.replace("NA", pretty_sci(max(rows, 1))) for table, rows in sizes.items()}}


def write_csv_files(ds, suite: str, data_dir: Path) -> dict[str, Path]:
    """Each table of the data set as one CSV file (our CSV copy is in parts; the scripts read one file)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    out = {}
    for table, file_name in table_names(suite, ds.name).items():
        parts = sorted((ds.path / datasets.CSV_DIR / table).glob("*.csv"))
        if not parts:
            raise PeerError(f"{ds.path} has no CSV copy of {table}; generate it with --csv")
        target = data_dir / f"{file_name}.csv"
        tmp = target.with_suffix(".csv.tmp")
        with open(tmp, "wb") as dst:
            for i, part in enumerate(parts):
                with open(part, "rb") as src:
                    header = src.readline()
                    if i == 0:
                        dst.write(header)
                    shutil.copyfileobj(src, dst, 1 << 20)
        os.replace(tmp, target)
        out[table] = target
    return out


def apply_adaptations(text: str, changes: list[tuple[str, str, str]], where: str) -> str:
    """`text` with each (old, new, why) applied. An adaptation that no longer matches is an error:
    the peer changed, look again."""
    for old, new, why in changes:
        if old not in text:
            raise PeerError(f"{where}: the adaptation ({why}) no longer applies: {old!r} is not in it")
        text = text.replace(old, new)
    return text


def adapted_script(rel: str, script: Path, work: Path) -> tuple[Path, tuple[str, ...]]:
    """The script to run (`rel` its path in the checkout): the checkout's own, or a copy with its
    ADAPTATIONS applied. An adaptation that no longer matches the script is an error: the peer
    changed, look again."""
    changes = ADAPTATIONS.get(rel, [])
    if not changes:
        return script, ()
    text = apply_adaptations(script.read_text(), changes, str(script))
    out = work / "adapted" / rel
    out.parent.mkdir(parents=True, exist_ok=True)
    header = "".join(f"# scalelab adapted this copy of {script.name}: {why}\n" for _o, _n, why in changes)
    out.write_text(header + text)
    return out, tuple(why for _o, _n, why in changes)


def run(checkout: Path, suite: str, scale: str, solutions: list[str], out_dir: Path, timeout_s: float = 3600,
        runs: int = 1, **params) -> tuple[Path, list[PeerRun]]:
    """Run each solution's script `runs` times on the suite's data set at `scale`; returns the time.csv and
    the runs. A solution's earlier rows for this data set are dropped first: the file holds one session's
    runs, whose second-run times the report takes the median of."""
    checkout = check_checkout(checkout)
    if suite not in TASKS:
        raise PeerError(f"db-benchmark has no {suite!r} task here; choose from: {', '.join(TASKS)}")
    unknown = [s for s in solutions if s not in SCRIPTS]
    if unknown:
        raise PeerError(f"no db-benchmark script known for {', '.join(unknown)}; choose from: {', '.join(SCRIPTS)}")
    from scalelab import workloads

    data = next(iter(workloads.select(suite))).data
    ds = datasets.generate(data.generator, scale=scale, csv=True, **{**data.params, **params})
    work = out_dir / "work"
    write_csv_files(ds, suite, work / "data")
    shutil.copytree(checkout / "_helpers", work / "_helpers", dirs_exist_ok=True)
    time_file = out_dir / TIME_FILE
    env = {**os.environ, "SRC_DATANAME": ds.name, "MACHINE_TYPE": f"scalelab-{os.cpu_count()}-cores",
           "CSV_TIME_FILE": str(time_file), "SPILL_DIR": str(work / "spill"), "PYTHONUNBUFFERED": "1"}
    (work / "spill").mkdir(exist_ok=True)
    if runs < 1:
        raise PeerError(f"--runs must be at least 1, not {runs}")
    done = []
    for solution in solutions:
        rel = SCRIPTS[solution].format(task=TASKS[suite])
        script = checkout / rel
        if not script.is_file():
            raise PeerError(f"{script} is missing from the checkout")
        script, adapted = adapted_script(rel, script, work)
        # Its scripts append to the time file: a rerun replaces its own timings, never piles onto them.
        replace_rows(time_file, lambda r, s=solution: (r.get("solution"), r.get("data")) == (s, ds.name))
        for i in range(runs):
            log = out_dir / f"{solution}-{suite}-{ds.name}{f'-{i + 1}' if runs > 1 else ''}.log"
            t0 = time.perf_counter()
            with open(log, "w") as f:
                try:
                    proc = subprocess.run([sys.executable, str(script)], cwd=work, env=env, stdout=f,
                                          stderr=subprocess.STDOUT, timeout=timeout_s)
                    code = proc.returncode
                except subprocess.TimeoutExpired:
                    code = -1
            done.append(PeerRun(solution, time.perf_counter() - t0, code, log, adapted))
            if code != 0:
                break
    return time_file, done


def replace_rows(path: Path, drop, rows: list[dict] = (), fields: list[str] | None = None) -> None:
    """A peer's time file rewritten: its rows for which `drop(row)` is false, then `rows`, under `fields`
    (default: the file's own columns). Written to a temporary file and renamed, so an interrupted run
    leaves the old file whole. Nothing is written where there is neither a file nor columns to give."""
    kept = []
    if path.exists():
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            kept = [r for r in reader if not drop(r)]
            fields = fields or reader.fieldnames
    if not fields:
        return
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        w.writerows([*kept, *rows])
    os.replace(tmp, path)


def read_times(path: Path) -> list[dict]:
    """db-benchmark's time.csv: one row per (solution, data, question, run)."""
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except FileNotFoundError:
        raise PeerError(f"no peer timings at {path}; run `scalelab bench peer` first") from None
    need = {"solution", "data", "question", "run", "time_sec", "task"}
    if rows and not need <= set(rows[0]):
        raise PeerError(f"{path} is not db-benchmark's time.csv format (columns {', '.join(sorted(need))} needed)")
    return rows


def peer_seconds(rows: list[dict]) -> dict[tuple[str, str, str, str | None], float]:
    """(solution, data, question, mode) -> the peer's warm time: its second run (db-benchmark runs each
    twice; the first is its cold run, as ours is), the first when there is only one; the median of those
    over the script's runs (`bench peer --runs N`), as our warm time is a median. The mode is None
    for db-benchmark, whose one way (the table in memory) stands beside both of ours; polars-benchmark's
    rows name the mode their IO type matches (peer_tpch)."""
    import statistics

    runs: dict[tuple[str, str, str, str | None], dict[int, list[float]]] = {}
    for r in rows:
        if r["time_sec"] in ("", None):
            continue
        key = (r["solution"], r["data"], r["question"], r.get("mode") or None)
        runs.setdefault(key, {}).setdefault(int(r["run"]), []).append(float(r["time_sec"]))
    return {key: statistics.median(by_run.get(2, by_run[min(by_run)])) for key, by_run in runs.items()}


def compare_rows(df, rows: list[dict]):
    """Per (engine, mode, data set, suite): our warm medians and the peer's, summed over the questions both
    timed, and their ratio (ours / the peer's: at most 1.0 is as fast or faster). Our cold runs are summed
    beside them: polars-benchmark times each query once in a fresh process, which is neither our cold run
    (the first after the connection and the load) nor our warm one, so a reader sees both."""
    import pandas as pd

    from scalelab import workloads

    peer = peer_seconds(rows)
    ok = df[df["status"] == "ok"].copy()
    ok["question"] = ok["workload"].map(lambda name: workloads.get(name).question)
    ok["peer_s"] = [peer.get((e, d, q, m), peer.get((e, d, q, None)))
                    for e, d, q, m in zip(ok["engine"], ok["dataset"], ok["question"], ok["mode"])]
    both = ok[ok["peer_s"].notna()]
    columns = ["suite", "peer", "dataset", "mode", "engine", "questions", "scalelab_s", "scalelab_cold_s", "peer_s",
               "ratio", "ratio_cold"]
    if both.empty:
        return pd.DataFrame(columns=columns), both
    summary = (both.groupby(["suite", "dataset", "mode", "engine"], sort=False)
               .agg(questions=("workload", "size"), scalelab_s=("warm_median_s", "sum"),
                    scalelab_cold_s=("cold_s", "sum"), peer_s=("peer_s", "sum"))
               .reset_index())
    summary["peer"] = summary["suite"].map(PEERS).fillna("peer")
    summary["ratio"] = summary["scalelab_s"] / summary["peer_s"]
    summary["ratio_cold"] = summary["scalelab_cold_s"] / summary["peer_s"]
    detail = both[["workload", "question", "dataset", "mode", "engine", "warm_median_s", "cold_s", "peer_s"]].assign(
        ratio=both["warm_median_s"] / both["peer_s"])
    return summary[columns], detail
