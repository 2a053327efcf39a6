"""Is an engine's answer the reference's answer? The rules, in one place.

Strict about what matters:
  * the same column names (in any order);
  * the same rows: none missing, none extra, none repeated a different number of times;
  * nulls exactly where the reference has them. NaN counts as null, as pandas
    treats it (pandas marks a missing float with NaN; Spark and DuckDB with NULL);
  * equal values: exact for integers, strings, booleans, dates and times; floats
    within a relative tolerance (default RTOL, a workload may state another) plus a
    tiny absolute one for values near zero.
Explicit about what does not matter:
  * row order, unless the workload says its order is part of the answer;
  * integer width (int32 versus int64), signedness of non-negative values, nullable
    or not, and string representation (object, pyarrow strings, categoricals):
    all are normalised before comparing;
  * timestamp units and a UTC zone (compared as UTC instants);
  * float round-off from a different summation order (the tolerance above).

`checksum` is db-benchmark's cheap fingerprint of a result: its row count and the
sum of each numeric column. It is recorded with every run and is how a result too
big for a pandas reference is checked against a stored one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

RTOL = 1e-9
ATOL = 1e-12
SHOW = 5            # rows shown per kind of difference


class Mismatch(AssertionError):
    """The answer differs from the reference; the message says how."""


@dataclass
class Rules:
    rtol: float = RTOL
    atol: float = ATOL
    ordered: bool = False              # does row order belong to the answer?
    note: str = ""                     # where this workload's semantics need saying


@dataclass
class Report:
    rows: int
    checksum: dict = field(repr=False)


def normalise(df: pd.DataFrame) -> pd.DataFrame:
    """One representation per kind of value, so that only values are compared."""
    out = {}
    for name in df.columns:
        s = df[name]
        if isinstance(s.dtype, pd.CategoricalDtype):
            s = s.astype(s.cat.categories.dtype).astype(object).where(s.notna(), None)
        kind = _kind(s)
        if kind == "int":
            s = s.astype("Int64")
        elif kind == "float":
            s = pd.to_numeric(s, errors="raise").astype("float64")      # NaN marks null
        elif kind == "bool":
            s = s.astype("boolean")
        elif kind == "time":
            s = pd.to_datetime(s, utc=True).dt.tz_localize(None).astype("datetime64[ns]")
        elif kind == "date":
            s = pd.to_datetime(s).astype("datetime64[ns]")
        else:
            s = s.astype(object).where(s.notna(), None)
            if pd.api.types.infer_dtype(s, skipna=True) not in ("string", "empty"):   # (a C scan: cheap)
                s = s.map(lambda v: v if v is None or isinstance(v, str) else str(v))
        out[str(name)] = s.reset_index(drop=True)
    return pd.DataFrame(out)


def _kind(s: pd.Series) -> str:
    dtype = s.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "time"
    sample = s.dropna()
    if sample.empty:
        return "object"
    first = sample.iloc[0]
    import datetime as dt
    import decimal

    if isinstance(first, (bool, np.bool_)):
        return "bool"
    if isinstance(first, (int, np.integer)):
        return "int"
    if isinstance(first, (float, np.floating, decimal.Decimal)):
        return "float"
    if isinstance(first, dt.datetime):
        return "time"
    if isinstance(first, dt.date):
        return "date"
    return "object"


def _sort(df: pd.DataFrame, rules: Rules) -> pd.DataFrame:
    """Rows in one canonical order: exact columns first, then floats rounded well inside
    the tolerance, so that round-off cannot swap two rows."""
    if rules.ordered or df.empty:
        return df.reset_index(drop=True)
    digits = max(1, int(-np.log10(max(rules.rtol, 1e-15))) - 3)
    keys = pd.DataFrame(index=df.index)
    exact = [c for c in df.columns if df[c].dtype != "float64"]
    for c in exact + [c for c in df.columns if c not in exact]:
        keys[c] = _significant(df[c].to_numpy(), digits) if df[c].dtype == "float64" else df[c]
    order = keys.sort_values(list(keys.columns), na_position="first", kind="stable").index
    return df.loc[order].reset_index(drop=True)


def _significant(a: np.ndarray, digits: int) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = 10.0 ** (digits - 1 - np.floor(np.log10(np.abs(a))))
        out = np.round(a * scale) / scale
    return np.where((a == 0) | ~np.isfinite(scale), a, out)


def checksum(df: pd.DataFrame) -> dict:
    """db-benchmark's fingerprint: the row count and the sum of every numeric column."""
    norm = normalise(df)
    sums = {}
    for c in norm.columns:
        if norm[c].dtype == "float64" or str(norm[c].dtype) == "Int64":
            sums[c] = float(norm[c].astype("float64").sum(skipna=True))
    return {"rows": len(norm), "sums": sums}


def checksums_match(got: dict, want: dict, rules: Rules | None = None) -> bool:
    rules = rules or Rules()
    if got["rows"] != want["rows"] or set(got["sums"]) != set(want["sums"]):
        return False
    return all(np.isclose(got["sums"][c], want["sums"][c], rtol=max(rules.rtol, 1e-9), atol=1e-6)
               for c in want["sums"])


def compare(result: pd.DataFrame, reference: pd.DataFrame, rules: Rules | None = None) -> Report:
    """Return a Report when `result` is the reference's answer; raise Mismatch saying how it is not."""
    rules = rules or Rules()
    got, want = normalise(result), normalise(reference)
    if set(got.columns) != set(want.columns):
        raise Mismatch(f"columns differ: missing {sorted(set(want.columns) - set(got.columns))}, "
                       f"extra {sorted(set(got.columns) - set(want.columns))}")
    got = got[list(want.columns)]
    got, want = _same_numeric_kind(got, want)
    for c in want.columns:
        if _family(got[c]) != _family(want[c]) and not (got[c].isna().all() or want[c].isna().all()):
            raise Mismatch(f"column {c!r} holds {_family(got[c])} values, the reference {_family(want[c])}")
    _check_row_sets(got, want, rules)
    got, want = _sort(got, rules), _sort(want, rules)
    problems = []
    for c in want.columns:
        g, w = got[c], want[c]
        null_g, null_w = g.isna().to_numpy(), w.isna().to_numpy()
        if (null_g != null_w).any():
            rows = np.flatnonzero(null_g != null_w)[:SHOW]
            problems.append(f"column {c!r}: nulls differ in {int((null_g != null_w).sum())} row(s), e.g.\n"
                            + _show(got, want, rows))
            continue
        both = ~null_w
        if w.dtype == "float64":
            a, b = g.to_numpy()[both], w.to_numpy()[both]
            bad = ~np.isclose(a, b, rtol=rules.rtol, atol=rules.atol)
            if bad.any():
                worst = np.max(np.abs(a[bad] - b[bad]) / np.maximum(np.abs(b[bad]), rules.atol))
                rows = np.flatnonzero(both)[np.flatnonzero(bad)[:SHOW]]
                problems.append(f"column {c!r}: {int(bad.sum())} value(s) beyond rtol={rules.rtol:g} "
                                f"(worst relative error {worst:.3g}), e.g.\n" + _show(got, want, rows))
        else:
            bad = np.asarray(g[both].to_numpy() != w[both].to_numpy(), dtype=bool)
            if bad.any():
                rows = np.flatnonzero(both)[np.flatnonzero(bad)[:SHOW]]
                problems.append(f"column {c!r}: {int(bad.sum())} value(s) differ, e.g.\n" + _show(got, want, rows))
    if problems:
        raise Mismatch("\n".join(problems))
    return Report(len(got), checksum(result))


def _same_numeric_kind(got: pd.DataFrame, want: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """An integer column with nulls is float in pandas and a nullable integer elsewhere:
    where one side is integer and the other float, both become integers if every value
    is whole, else both floats."""
    got, want = got.copy(), want.copy()
    for c in want.columns:
        kinds = {str(got[c].dtype), str(want[c].dtype)}
        if kinds == {"Int64", "float64"}:
            floats = [s for s in (got[c], want[c]) if str(s.dtype) == "float64"][0]
            whole = floats.dropna()
            if np.isfinite(whole).all() and (whole == np.round(whole)).all() and (whole.abs() < 2**53).all():
                got[c], want[c] = got[c].astype("Int64"), want[c].astype("Int64")
            else:
                got[c], want[c] = got[c].astype("float64"), want[c].astype("float64")
    return got, want


def _family(s: pd.Series) -> str:
    if s.dtype == "float64" or str(s.dtype) == "Int64":
        return "numeric"
    if str(s.dtype) == "boolean":
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return "datetime"
    return "text"


def _check_row_sets(got: pd.DataFrame, want: pd.DataFrame, rules: Rules) -> None:
    """Missing and extra rows, found on the exact (non-float) columns, with examples.

    Rows are compared as multisets of per-row hashes (linear in the rows, where
    counting tuples of Python objects took minutes at a million rows); the
    examples in a failure message are looked up by the hashes on one side only.
    """
    exact = [c for c in want.columns if want[c].dtype != "float64"]
    if len(got) == len(want) and not exact:
        return
    if exact:
        g, w = _exact_columns(got, want, exact)
        gh = pd.util.hash_pandas_object(g, index=False).to_numpy()
        wh = pd.util.hash_pandas_object(w, index=False).to_numpy()
        if len(gh) == len(wh) and np.array_equal(np.sort(gh), np.sort(wh)):
            return
        gu, gc = np.unique(gh, return_counts=True)
        wu, wc = np.unique(wh, return_counts=True)
        counts = pd.DataFrame({"got": pd.Series(gc, gu), "want": pd.Series(wc, wu)}).fillna(0)
        missing = counts.index[counts.got < counts.want]
        extra = counts.index[counts.got > counts.want]
        parts = [f"{len(got)} rows, the reference has {len(want)}"]
        if len(missing):
            parts.append(f"missing (by {', '.join(exact)}): " + _examples(w, np.isin(wh, missing[:SHOW])))
        if len(extra):
            parts.append(f"extra (by {', '.join(exact)}): " + _examples(g, np.isin(gh, extra[:SHOW])))
        raise Mismatch("\n".join(parts))
    if len(got) != len(want):
        raise Mismatch(f"{len(got)} rows, the reference has {len(want)}")


def _examples(df: pd.DataFrame, mask: np.ndarray) -> str:
    rows = df[mask].drop_duplicates().head(SHOW).astype(object).to_numpy().tolist()
    return "; ".join(_key(tuple(r)) for r in rows)


def _exact_columns(got: pd.DataFrame, want: pd.DataFrame, exact: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The exact columns of both, each in one representation (as is when the dtypes agree)."""
    g, w = {}, {}
    for c in exact:
        if got[c].dtype == want[c].dtype:
            g[c], w[c] = got[c], want[c]
        else:
            g[c], w[c] = (df[c].astype(object).where(df[c].notna(), None) for df in (got, want))
    return pd.DataFrame(g).reset_index(drop=True), pd.DataFrame(w).reset_index(drop=True)


def _key(k) -> str:
    parts = k if isinstance(k, tuple) else (k,)
    return "(" + ", ".join("null" if v is None or (not isinstance(v, str) and pd.isna(v)) else repr(v)
                           for v in parts) + ")"


def _show(got: pd.DataFrame, want: pd.DataFrame, rows) -> str:
    side = pd.concat({"got": got.iloc[rows], "reference": want.iloc[rows]}, axis=1)
    return side.to_string(max_colwidth=30)
