"""Auto-checks for the labs' exercises: `check("02.mean_by_id4", answer, data=ds)`.

An exercise is registered once (in `scalelab.teaching.exercises`) with the pandas code that
computes its right answer on the same data, the engines an answer may come from, and
what identifies a row. `check` grades the learner's answer against it and says
precisely what is wrong: not answered yet, computed on the kernel instead of the
cluster, a missing or extra column, the row count, the first keys missing or extra,
the first wrong value for a key. A right answer is congratulated.

In a notebook a wrong answer is shown, not raised, so that the lesson goes on. When
SCALELAB_GRADING=strict (the test suite sets it) a wrong answer raises WrongAnswer,
so an executed notebook whose solutions stop being right fails its test.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd

from scalelab import engines
from scalelab.workloads import compare

STRICT_ENV = "SCALELAB_GRADING"
SHOW = 3                       # keys shown per kind of difference


class WrongAnswer(AssertionError):
    """Raised by `check` in strict mode; the message is the grader's verdict."""


class UnknownExercise(KeyError):
    def __str__(self) -> str:
        return f"no exercise named {self.args[0]!r}; known: {', '.join(sorted(EXERCISES))}"


@dataclass
class Verdict:
    exercise: str
    ok: bool
    message: str

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        return f"{'✔ Right' if self.ok else '✘ Not yet'} ({self.exercise}): {self.message}"

    __repr__ = __str__

    def _repr_html_(self) -> str:
        import html
        colour, mark = ("#1b7f3b", "✔ Right") if self.ok else ("#b3261e", "✘ Not yet")
        body = html.escape(self.message).replace("\n", "<br>")
        return (f'<div style="border-left:4px solid {colour};padding:4px 10px">'
                f'<b style="color:{colour}">{mark}</b> <code>{self.exercise}</code><br>{body}</div>')


@dataclass
class Exercise:
    id: str                               # "NN.name": the lab's number, then a short name
    title: str
    expected: Callable[..., Any]          # pandas: the right answer from the check's context
    kind: str = "frame"                   # "frame", "value", "mapping" (a dict), "array", "bars" (a chart)
    engines: tuple[str, ...] = ()         # engines an answer must come from; () accepts any
    keys: tuple[str, ...] = ()            # columns that identify a row, for precise messages
    rules: compare.Rules = field(default_factory=compare.Rules)
    hint: str = ""
    workload: str | None = None           # the registered workload whose question this is, if any


def workload_exercise(exercise_id: str, workload: str, *, engines: tuple[str, ...] = (),
                      keys: tuple[str, ...] = (), hint: str = "") -> Exercise:
    """An exercise that asks a registered workload's question: a workload plus teaching.

    Its right answer is the workload's pandas reference on the learner's data set and its
    comparison rules are the workload's, so the lab and the engine matrix can never
    disagree on what the answer is.
    """
    from scalelab import workloads
    from scalelab.workloads import runner

    w = workloads.get(workload)

    def expected(data):
        return runner.load_reference(w, data)

    return Exercise(exercise_id, f"{w.name} ({w.question})", expected, engines=engines, keys=keys,
                    rules=w.rules, hint=hint, workload=w.name)


EXERCISES: dict[str, Exercise] = {}


def register(ex: Exercise) -> Exercise:
    if ex.id in EXERCISES:
        raise ValueError(f"exercise {ex.id} is registered twice")
    EXERCISES[ex.id] = ex
    return ex


def get(exercise_id: str) -> Exercise:
    try:
        return EXERCISES[exercise_id]
    except KeyError:
        raise UnknownExercise(exercise_id) from None


# -- what an answer is -------------------------------------------------------------
def engine_of(answer: Any) -> str:
    """Which engine produced this object (asked of each engine class), or "python"."""
    return engines.of(answer) or "python"


def to_pandas(answer: Any) -> pd.DataFrame:
    """The whole of an engine's result as a pandas DataFrame (computing it if it is lazy)."""
    engine = engines.of(answer)
    if engine is not None:
        answer = engines.ENGINES[engine].collect(answer)
    if isinstance(answer, pd.Series):
        answer = answer.reset_index()
    if not isinstance(answer, pd.DataFrame):
        raise TypeError(f"expected a table (a DataFrame of any engine), got {type(answer).__name__}")
    return answer


# -- grading -----------------------------------------------------------------------
def grade(exercise_id: str, answer: Any, **context: Any) -> Verdict:
    """The verdict on `answer`; never raises for a wrong answer."""
    ex = get(exercise_id)
    if answer is None or answer is Ellipsis:
        return Verdict(ex.id, False, "not answered yet: write your answer in the exercise cell above and run it."
                       + (f"\nHint: {ex.hint}" if ex.hint else ""))
    if ex.engines and engine_of(answer) not in ex.engines:
        got = engine_of(answer)
        where = "on the notebook's kernel" if got in (engines.REFERENCE, "python") else f"with {got}"
        return Verdict(ex.id, False, f"this answer was computed {where}, not with {' or '.join(ex.engines)}: "
                       f"the exercise is to run it there. Return the {' or '.join(ex.engines)} object "
                       "itself (do not call .compute(), .toPandas() or .to_pandas() on it).")
    expected = ex.expected(**context)
    try:
        problem = {"frame": _frame, "value": _value, "mapping": _mapping, "array": _array,
                   "bars": _bars}[ex.kind](ex, answer, expected)
    except Exception as exc:  # the learner's lazy code fails only when the grader computes it
        problem = f"computing your answer failed: {type(exc).__name__}: {exc}"
    if problem:
        return Verdict(ex.id, False, problem + (f"\nHint: {ex.hint}" if ex.hint else ""))
    return Verdict(ex.id, True, f"{ex.title}: well done.")


def check(exercise_id: str, answer: Any, **context: Any) -> Verdict:
    """Grade and show the verdict; in strict mode (tests) a wrong answer raises WrongAnswer."""
    verdict = grade(exercise_id, answer, **context)
    if not verdict.ok and os.environ.get(STRICT_ENV, "").lower() == "strict":
        raise WrongAnswer(str(verdict))
    return verdict


def _frame(ex: Exercise, answer: Any, expected: pd.DataFrame) -> str:
    got = to_pandas(answer)
    if isinstance(got.index, pd.MultiIndex) or got.index.name is not None:
        got = got.reset_index()   # a groupby's keys in the index count as columns
    missing = [c for c in expected.columns if c not in got.columns]
    extra = [c for c in got.columns if c not in expected.columns]
    if missing or extra:
        return (f"the columns differ: missing {missing}, extra {extra} "
                f"(expected exactly {list(expected.columns)}).")
    got = got[list(expected.columns)]
    if len(got) != len(expected):
        msg = f"wrong row count: {len(got):,} rows, expected {len(expected):,}."
        return msg + _key_differences(ex, got, expected)
    keyed = _key_differences(ex, got, expected)
    if keyed:
        return keyed.strip()
    try:
        compare.compare(got, expected, ex.rules)
    except compare.Mismatch as exc:
        return f"some values are wrong:\n{exc}"
    return ""


def _key_tuples(df: pd.DataFrame, keys: tuple[str, ...]) -> pd.Index:
    return pd.MultiIndex.from_frame(compare.normalise(df[list(keys)])) if len(keys) > 1 \
        else pd.Index(compare.normalise(df[list(keys)])[keys[0]])


def _key_differences(ex: Exercise, got: pd.DataFrame, expected: pd.DataFrame) -> str:
    """Keys missing or extra, else the first wrong value for a key ("" when none)."""
    if not ex.keys:
        return ""
    g, w = _key_tuples(got, ex.keys), _key_tuples(expected, ex.keys)
    if g.has_duplicates:
        return f" Some keys appear more than once, e.g. {_keys_text(ex.keys, g[g.duplicated()])}."
    parts = []
    if len(lost := w.difference(g)):
        parts.append(f"missing {len(lost)} key(s), e.g. {_keys_text(ex.keys, lost)}")
    if len(more := g.difference(w)):
        parts.append(f"{len(more)} unexpected key(s), e.g. {_keys_text(ex.keys, more)}")
    if parts:
        return " " + "; ".join(parts) + "."
    got_by = compare.normalise(got).set_axis(g).loc[w]
    want_by = compare.normalise(expected).set_axis(w)
    for col in [c for c in expected.columns if c not in ex.keys]:
        a, b = got_by[col].to_numpy(), want_by[col].to_numpy()
        bad = [i for i in range(len(b)) if not _same(a[i], b[i], ex.rules)]
        if bad:
            i = bad[0]
            return (f" wrong value for {_key_text(ex.keys, w[i])}: {col} is {_fmt(a[i])}, expected {_fmt(b[i])} "
                    f"({len(bad)} wrong value(s) in {col}).")
    return ""


def _keys_text(keys: tuple[str, ...], index: pd.Index) -> str:
    return "; ".join(f"({_key_text(keys, k)})" for k in list(index[:SHOW]))


def _key_text(keys: tuple[str, ...], key: Any) -> str:
    values = key if isinstance(key, tuple) else (key,)
    return ", ".join(f"{k}={_fmt(v)}" for k, v in zip(keys, values, strict=True))


def _fmt(v: Any) -> str:
    return f"{v:.6g}" if isinstance(v, (float, np.floating)) else repr(v.item() if hasattr(v, "item") else v)


def _is_null(v: Any) -> bool:
    return v is None or v is pd.NA or (isinstance(v, (float, np.floating)) and math.isnan(v))


def _same(a: Any, b: Any, rules: compare.Rules) -> bool:
    if _is_null(a) or _is_null(b):
        return _is_null(a) and _is_null(b)
    if isinstance(b, (float, np.floating)) or isinstance(a, (float, np.floating)):
        try:
            return bool(np.isclose(float(a), float(b), rtol=rules.rtol, atol=rules.atol))
        except (TypeError, ValueError):
            return False
    return a == b


def _value(ex: Exercise, answer: Any, expected: Any) -> str:
    if hasattr(answer, "item") and not isinstance(answer, str):
        answer = answer.item()
    if isinstance(expected, (int, float)) and not isinstance(expected, bool):
        if not isinstance(answer, (int, float)) or isinstance(answer, bool):
            return f"expected a number, got {type(answer).__name__} {answer!r}."
    return "" if _same(answer, expected, ex.rules) else f"your answer is {_fmt(answer)}; that is not it."


def _mapping(ex: Exercise, answer: Any, expected: dict) -> str:
    if not isinstance(answer, dict):
        return f"expected a dict with keys {sorted(expected)}, got {type(answer).__name__}."
    if missing := sorted(set(expected) - set(answer)):
        return f"missing key(s) {missing} (expected keys {sorted(expected)})."
    for key, want in expected.items():
        got = answer[key]
        if hasattr(got, "item") and not isinstance(got, str):
            got = got.item()
        if not _same(got, want, ex.rules):
            return f"{key} is {_fmt(got)}, expected {_fmt(want)}."
    return ""


def _array(ex: Exercise, answer: Any, expected: np.ndarray) -> str:
    """A NumPy answer: the same shape, then every value (within the exercise's tolerance)."""
    if not isinstance(answer, np.ndarray):
        return (f"expected a NumPy array, got {type(answer).__name__}: the exercise is to stay in NumPy "
                "(np.asarray(...) if you built a list).")
    if answer.shape != expected.shape:
        return f"wrong shape: {answer.shape}, expected {expected.shape}."
    try:
        close = np.isclose(answer, expected, rtol=ex.rules.rtol, atol=ex.rules.atol, equal_nan=True)
    except TypeError:
        return f"expected numbers, got an array of {answer.dtype}."
    if close.all():
        return ""
    bad = np.argwhere(~close)
    at = tuple(int(i) for i in bad[0])
    return (f"wrong value at index {at if len(at) > 1 else at[0]}: {_fmt(answer[at])}, expected "
            f"{_fmt(expected[at])} ({len(bad):,} wrong value(s) of {expected.size:,}).")


def _bars(ex: Exercise, answer: Any, expected: pd.Series) -> str:
    """A vertical bar chart (Matplotlib Axes): the bars in the expected order and heights, with a title and labels."""
    if not hasattr(answer, "patches") or not hasattr(answer, "get_xticklabels"):
        return f"expected the Matplotlib Axes of your bar chart (what .plot.bar(...) returns), got {type(answer).__name__}."
    heights = [p.get_height() for p in answer.patches]
    labels = [t.get_text() for t in answer.get_xticklabels()]
    want = [str(k) for k in expected.index]
    if len(heights) != len(expected):
        return f"the chart has {len(heights)} bars, expected {len(expected)} (one per {expected.index.name or 'category'})."
    if labels != want:
        return f"the bars are labelled {labels}, expected {want} in this order."
    for label, got, value in zip(want, heights, expected.to_numpy(), strict=True):
        if not _same(float(got), float(value), ex.rules):
            return f"the bar for {label} is {_fmt(float(got))} high, expected {_fmt(float(value))}."
    missing = [what for what, text in (("a title", answer.get_title()), ("a y-axis label", answer.get_ylabel()))
               if not text.strip()]
    return f"the chart needs {' and '.join(missing)}: a reader must know what the bars measure." if missing else ""
