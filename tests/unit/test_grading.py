"""The grader's verdicts, on small frames: precise about what is wrong, strict only when asked."""

import numpy as np
import pandas as pd
import pytest

from scalelab.teaching import grading
from scalelab.teaching.grading import Exercise

TRUTH = pd.DataFrame({"k": [1, 2, 3], "total": [10.0, 20.0, 30.0]})
BARS = pd.Series([30, 20, 10], index=pd.Index(["c", "b", "a"], name="letter"))


@pytest.fixture(autouse=True)
def _exercises():
    added = [grading.register(Exercise("99.frame", "a frame", lambda: TRUTH, keys=("k",))),
             grading.register(Exercise("99.polars", "in polars", lambda: TRUTH, keys=("k",), engines=("polars",))),
             grading.register(Exercise("99.value", "a number", lambda: 42, kind="value")),
             grading.register(Exercise("99.mapping", "a dict", lambda: {"a": 1, "b": "x"}, kind="mapping")),
             grading.register(Exercise("99.array", "an array", lambda: np.arange(6.0).reshape(2, 3), kind="array")),
             grading.register(Exercise("99.bars", "a chart", lambda: BARS, kind="bars"))]
    yield
    for ex in added:
        grading.EXERCISES.pop(ex.id)


def test_a_right_answer_is_congratulated_in_any_row_order_and_integer_width():
    answer = TRUTH.iloc[::-1].astype({"k": "int32"})
    verdict = grading.grade("99.frame", answer)
    assert verdict.ok and "well done" in verdict.message


def test_an_unanswered_exercise_says_so_with_the_hint():
    for blank in (None, ...):
        verdict = grading.grade("99.frame", blank)
        assert not verdict.ok and "not answered yet" in verdict.message


def test_a_missing_row_names_the_row_count_and_the_key():
    verdict = grading.grade("99.frame", TRUTH.head(2))
    assert not verdict.ok
    assert "wrong row count: 2 rows, expected 3" in verdict.message and "missing 1 key(s), e.g. (k=3)" in verdict.message


def test_a_wrong_value_names_its_key_column_and_both_values():
    wrong = TRUTH.assign(total=[10.0, 21.0, 30.0])
    verdict = grading.grade("99.frame", wrong)
    assert "wrong value for k=2: total is 21, expected 20" in verdict.message


def test_columns_and_repeated_keys_are_reported():
    assert "missing ['total']" in grading.grade("99.frame", TRUTH[["k"]]).message
    repeated = pd.concat([TRUTH.head(2), TRUTH.head(1)])
    assert "more than once" in grading.grade("99.frame", repeated).message


def test_an_answer_from_the_wrong_engine_is_refused_with_the_reason():
    verdict = grading.grade("99.polars", TRUTH)
    assert not verdict.ok and "on the notebook's kernel, not with polars" in verdict.message
    import polars as pl

    assert grading.grade("99.polars", pl.from_pandas(TRUTH).lazy()).ok


def test_values_and_mappings():
    assert grading.grade("99.value", 42).ok
    assert "not it" in grading.grade("99.value", 41).message
    assert "expected a number" in grading.grade("99.value", "42").message
    assert grading.grade("99.mapping", {"a": 1, "b": "x"}).ok
    assert "b is 'y', expected 'x'" in grading.grade("99.mapping", {"a": 1, "b": "y"}).message
    assert "missing key(s) ['b']" in grading.grade("99.mapping", {"a": 1}).message


def test_arrays_are_checked_for_type_shape_and_the_first_wrong_value():
    right = np.arange(6.0).reshape(2, 3)
    assert grading.grade("99.array", right + 1e-12).ok
    assert "expected a NumPy array, got list" in grading.grade("99.array", right.tolist()).message
    assert "wrong shape: (3, 2), expected (2, 3)" in grading.grade("99.array", right.T).message
    wrong = right.copy()
    wrong[1, 2] = 9
    assert "wrong value at index (1, 2): 9, expected 5 (1 wrong value(s) of 6)" in grading.grade("99.array", wrong).message
    assert "expected numbers" in grading.grade("99.array", np.array([["a"] * 3] * 2)).message


def test_a_bar_chart_is_checked_for_order_heights_and_labels():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def chart(series, **labels):
        return series.plot.bar(ax=plt.subplots()[1], **labels)     # a new figure each: pandas draws on the current one

    assert grading.grade("99.bars", chart(BARS, title="per letter", ylabel="count")).ok
    assert "expected the Matplotlib Axes" in grading.grade("99.bars", BARS).message
    unsorted = chart(BARS.sort_index(), title="t", ylabel="count")
    assert "expected ['c', 'b', 'a'] in this order" in grading.grade("99.bars", unsorted).message
    wrong = chart(BARS.mul([1, 1, 2]), title="t", ylabel="count")
    assert "the bar for a is 20 high, expected 10" in grading.grade("99.bars", wrong).message
    assert "needs a title and a y-axis label" in grading.grade("99.bars", chart(BARS)).message
    plt.close("all")


def test_strict_mode_raises_and_lenient_mode_shows(monkeypatch):
    monkeypatch.delenv(grading.STRICT_ENV, raising=False)
    verdict = grading.check("99.value", 41)
    assert not verdict and "Not yet" in verdict._repr_html_()
    monkeypatch.setenv(grading.STRICT_ENV, "strict")
    with pytest.raises(grading.WrongAnswer, match="not it"):
        grading.check("99.value", 41)
    assert grading.check("99.value", 42)


def test_a_lazy_answer_that_fails_is_reported_not_raised():
    import duckdb

    con = duckdb.connect()
    rel = con.sql("SELECT 1 AS k, 1 / 0 AS total")      # DuckDB: NULL, not an error
    assert not grading.grade("99.frame", rel).ok
    assert "no exercise named 'nope'" in str(pytest.raises(grading.UnknownExercise, grading.get, "nope").value)
