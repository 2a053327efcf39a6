"""TPC-H's answer sets, as DuckDB's tpch extension ships them (SF 0.01, 0.1 and 1), to check the reference.

The extension is on PyPI (`duckdb-extension-tpch`) but built for DuckDB 1.5, not the
DuckDB this project runs, so it is loaded in a throw-away environment of its own
(`uv run --with`, both versions pinned here) that prints the answers as JSON; they are
cached under `.state/tpch-answers/`. The answers are pipe-separated text with a header
(TPC-H's `answers/qN.out`, as DuckDB keeps them); `parsed()` reads one with the column
types of the reference's answer, so that only values are compared.
"""

from __future__ import annotations

import functools
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from scalelab.config import Config

DUCKDB = "duckdb==1.5.5"
EXTENSION = "duckdb-extension-tpch==1.5.5"
SCALE_FACTORS = (0.01, 0.1, 1)

_DUMP = r"""
import glob, json, sys
import duckdb, duckdb_extension_tpch
binary = glob.glob(duckdb_extension_tpch.__path__[0] + "/extensions/*/tpch.duckdb_extension")[0]
con = duckdb.connect()
con.load_extension(binary)
rows = con.execute("SELECT query_nr, answer FROM tpch_answers() WHERE scale_factor = ?", [float(sys.argv[1])]).fetchall()
print(json.dumps({int(n): text for n, text in rows}))
"""


class AnswersUnavailable(RuntimeError):
    """The answer sets cannot be had here (no uv, or PyPI not reachable); the message says which."""


def _uv() -> str:
    found = Config.load().uv
    if found is None:
        raise AnswersUnavailable("uv is needed to load DuckDB's tpch extension in its own environment: "
                                 "`make setup` installs it under .state/bootstrap")
    return str(found)


@functools.lru_cache(maxsize=None)
def official(sf: float) -> dict[int, str]:
    """Query number -> TPC-H's answer text at scale factor `sf` (0.01, 0.1 or 1); read once per process."""
    if sf not in SCALE_FACTORS:
        raise ValueError(f"DuckDB's tpch extension has answers for SF {', '.join(map(str, SCALE_FACTORS))}; "
                         f"not {sf}")
    cache = Config.load().state_dir / "tpch-answers" / f"sf{sf:g}.json"
    if cache.exists():
        return {int(k): v for k, v in json.loads(cache.read_text()).items()}
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    command = [_uv(), "run", "--no-project", "--quiet", "--python", python, "--with", DUCKDB, "--with", EXTENSION,
               "python", "-I", "-c", _DUMP, f"{sf:g}"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise AnswersUnavailable(f"could not load {EXTENSION} with {DUCKDB} ({' '.join(command[:10])} ...):\n"
                                 + done.stderr.strip()[-1500:])
    answers = {int(k): v for k, v in json.loads(done.stdout).items()}
    if sorted(answers) != list(range(1, 23)):
        raise AnswersUnavailable(f"{EXTENSION} gave answers for queries {sorted(answers)} at SF {sf:g}, not 1-22")
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp")
    tmp.write_text(json.dumps(answers))
    os.replace(tmp, cache)
    return answers


def parsed(text: str, like: pd.DataFrame) -> pd.DataFrame:
    """One answer as a frame with `like`'s column names and kinds (its columns are TPC-H's, in order).

    The text is untyped: numbers, dates and strings are told apart by the reference's column of the
    same position. An empty field is NULL (q17's sum over no rows at SF 0.01)."""
    raw = pd.read_csv(io.StringIO(text), sep="|", dtype=str, keep_default_na=False)
    raw = raw.loc[:, [c for c in raw.columns if not str(c).startswith("Unnamed")]]    # a trailing "|"
    if raw.shape[1] != like.shape[1]:
        raise ValueError(f"the answer has {raw.shape[1]} columns ({list(raw.columns)}), the reference "
                         f"{like.shape[1]} ({list(like.columns)})")
    if raw.empty and len(text.strip("\n").splitlines()) < len(text.splitlines()):
        raw = pd.DataFrame([[""] * raw.shape[1]], columns=raw.columns)   # a header and an empty line: one NULL row
    out = {}
    for (name, column), (_, text_column) in zip(like.items(), raw.items()):
        if pd.api.types.is_datetime64_any_dtype(column):
            out[name] = pd.to_datetime(text_column.replace("", None))
        elif pd.api.types.is_numeric_dtype(column):
            out[name] = pd.to_numeric(text_column.replace("", None))
        else:
            out[name] = text_column
    return pd.DataFrame(out).reset_index(drop=True)


# Free text DuckDB's generator (which made its answer sets) writes otherwise than tpchgen-cli: the same
# keys, numbers, dates, names and flags, other addresses and comments. Left out of the comparison.
TEXT = ("s_address", "s_comment", "c_address", "c_comment")
# Queries whose numbers depend on that text, so no answer set here can check them.
UNCHECKABLE = {13: "counts each customer's orders whose o_comment has no 'special...requests', and the "
                   "comments DuckDB's generator wrote for its answers are not tpchgen-cli's"}


def check(n: int, reference: pd.DataFrame, sf: float, rules) -> None:
    """Raise compare.Mismatch unless query n's reference answer is TPC-H's at `sf` (free text aside)."""
    from scalelab.workloads import compare

    if n in UNCHECKABLE:
        raise ValueError(f"q{n} cannot be checked against the answer sets: {UNCHECKABLE[n]}")
    want = parsed(official(sf)[n], reference)
    keep = [c for c in reference.columns if c not in TEXT]
    compare.compare(want[keep], reference[keep].reset_index(drop=True), rules)


# TPC's own answer checker's column classes (dbgen's check_answers/colprecision.txt), one line per query:
# str and int and cnt exact, num exact to the cent, sum within 100, avg and rat within 1% at the cent.
KIT_PRECISION = {
    1: "str str sum sum sum sum avg avg avg cnt", 2: "num str str int str str str str", 3: "int sum str int",
    4: "str cnt", 5: "str sum", 6: "sum", 7: "str str int sum", 8: "int rat", 9: "str int sum",
    10: "int str sum num str str str str", 11: "int sum", 12: "str sum sum", 13: "cnt cnt", 14: "rat",
    15: "int str str str sum", 16: "str str num cnt", 17: "avg", 18: "str int int str num sum", 19: "sum",
    20: "str str", 21: "str cnt", 22: "num cnt sum",
}


def check_kit(n: int, reference: pd.DataFrame, kit_answers: Path) -> list[str]:
    """Query n's reference answer against TPC's own answer file `kit_answers/qN.out` (SF 1, from dbgen's
    kit: fields padded and separated by "|"), row by row, each column by the kit checker's rule for it
    (KIT_PRECISION), free text included. Returns the differences; empty when the answer is TPC-H's."""
    import numpy as np

    lines = [ln for ln in (kit_answers / f"q{n}.out").read_text().splitlines() if ln.strip()]
    rows = [[field.strip() for field in ln.split("|")] for ln in lines[1:]]
    got = reference.reset_index(drop=True)
    kinds = KIT_PRECISION[n].split()
    if len(rows) != len(got):
        return [f"q{n}: {len(got)} rows, TPC's answer has {len(rows)}"]
    problems = []
    for i, (name, kind) in enumerate(zip(got.columns, kinds)):
        want = [row[i] if i < len(row) else "" for row in rows]
        column = got[name]
        if kind == "str":
            bad = [j for j, (g, w) in enumerate(zip(column.astype(str).str.strip(), want)) if g != w]
        else:
            g = pd.to_numeric(column).astype("float64").to_numpy()
            w = pd.to_numeric(pd.Series(want).replace("", None)).astype("float64").to_numpy()
            if kind in ("int", "cnt"):
                close = g == w
            elif kind == "num":
                close = np.abs(np.round(g, 2) - w) < 0.005
            elif kind == "sum":
                close = np.abs(g - w) <= 100
            else:                                   # avg, rat: within 1% when reported to the cent
                close = np.abs(np.round(g, 2) - w) <= 0.01 * np.abs(w) + 0.005
            close |= np.isnan(g) & np.isnan(w)
            bad = list(np.flatnonzero(~close))
        if bad:
            j = bad[0]
            problems.append(f"q{n} column {name} ({kind}): {len(bad)} row(s) differ, e.g. row {j}: "
                            f"{column.iloc[j]!r} against TPC's {want[j]!r}")
    return problems


def main(argv: list[str] | None = None) -> int:
    """`python -m scalelab.workloads.tpch.answers KIT_DIR [SCALE]`: the pandas reference at SF 1 (scale
    medium) against the kit's answers/qN.out, every query; exit 1 when any differs."""
    from scalelab import workloads

    args = sys.argv[1:] if argv is None else argv
    if not args:
        print("usage: python -m scalelab.workloads.tpch.answers KIT_ANSWERS_DIR  (TPC's dbgen kit, answers/)")
        return 2
    kit, failures = Path(args[0]), 0
    for n in sorted(KIT_PRECISION):
        w = workloads.get(f"tpch.q{n}")
        reference = workloads.run(w, "pandas", scale="medium", check=False, keep_result=True).result
        problems = check_kit(n, reference, kit)
        failures += bool(problems)
        print(f"q{n}: " + ("; ".join(problems) if problems else f"TPC's answer ({len(reference)} rows)"))
    print(f"{22 - failures} of 22 queries give TPC's answers at SF 1")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
