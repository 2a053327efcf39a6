"""The comparison helper: it rejects every kind of wrong answer and forgives only what it says it forgives."""

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from scalelab.workloads.compare import Mismatch, Rules, checksum, checksums_match, compare


@pytest.fixture
def reference():
    return pd.DataFrame({"key": ["a", "b", "c", None], "n": [1, 2, 3, 4], "x": [0.5, np.nan, 2.0, 1e-3]})


def test_the_same_answer_in_another_shape_matches(reference):
    # Rows shuffled, columns reordered, int32 and nullable ints, Arrow strings, NULL instead of NaN,
    # and round-off far inside the tolerance: all forgiven, as the module says.
    other = pd.DataFrame({
        "x": pd.array([1e-3 * (1 + 1e-12), 2.0, None, 0.5], dtype="Float64"),
        "n": pd.array([4, 3, 2, 1], dtype="Int32"),
        "key": pd.array([None, "c", "b", "a"], dtype="string[pyarrow]"),
    })
    report = compare(other, reference)
    assert report.rows == 4 and report.checksum["rows"] == 4


def test_a_missing_row_is_rejected(reference):
    with pytest.raises(Mismatch, match=r"3 rows, the reference has 4\nmissing .*'b'"):
        compare(reference.iloc[[0, 2, 3]], reference)


def test_an_extra_row_is_rejected(reference):
    extra = pd.concat([reference, reference.iloc[[1]]])
    with pytest.raises(Mismatch, match=r"5 rows, the reference has 4\nextra .*'b'"):
        compare(extra, reference)


def test_a_repeated_row_instead_of_another_is_rejected(reference):
    wrong = reference.copy()
    wrong.loc[3, "key"] = "a"          # same row count, but 'a' twice and the null key gone
    with pytest.raises(Mismatch, match=r"missing \(by key, n\): \(null, 4\)\nextra \(by key, n\): \('a', 4\)"):
        compare(wrong, reference)


def test_a_wrong_null_is_rejected(reference):
    wrong = reference.copy()
    wrong.loc[1, "x"] = 0.0            # a value where the reference has a null
    with pytest.raises(Mismatch, match="column 'x': nulls differ in 1 row"):
        compare(wrong, reference)
    wrong = reference.copy()
    wrong.loc[0, "x"] = None           # a null where the reference has a value
    with pytest.raises(Mismatch, match="column 'x': nulls differ"):
        compare(wrong, reference)


def test_a_null_key_is_not_the_string_none(reference):
    wrong = reference.copy()
    wrong.loc[3, "key"] = "None"
    with pytest.raises(Mismatch, match="missing"):
        compare(wrong, reference)


def test_a_value_beyond_the_tolerance_is_rejected(reference):
    wrong = reference.copy()
    wrong.loc[2, "x"] = 2.0 * (1 + 1e-6)
    with pytest.raises(Mismatch, match=r"column 'x': 1 value\(s\) beyond rtol=1e-09"):
        compare(wrong, reference)
    compare(wrong, reference, Rules(rtol=1e-5))        # a workload that states a looser tolerance accepts it


def test_a_wrong_integer_or_string_is_rejected(reference):
    wrong = reference.copy()
    wrong.loc[0, "n"] = 10
    with pytest.raises(Mismatch, match="missing"):
        compare(wrong, reference)
    only_values = pd.DataFrame({"v": [1.0, 2.0]})
    with pytest.raises(Mismatch, match="beyond rtol"):
        compare(pd.DataFrame({"v": [1.0, 2.5]}), only_values)


def test_columns_must_match_by_name(reference):
    with pytest.raises(Mismatch, match=r"missing \['x'\], extra \['y'\]"):
        compare(reference.rename(columns={"x": "y"}), reference)


def test_text_is_not_a_number(reference):
    wrong = reference.assign(n=reference.n.astype(str))
    with pytest.raises(Mismatch, match="column 'n' holds text values, the reference numeric"):
        compare(wrong, reference)


def test_order_counts_only_when_the_workload_says_so():
    ref = pd.DataFrame({"t": [1, 2, 3], "v": [1.0, 2.0, 3.0]})
    flipped = ref.iloc[::-1]
    compare(flipped, ref)
    with pytest.raises(Mismatch):
        compare(flipped, ref, Rules(ordered=True))


def test_round_off_cannot_reorder_rows_with_equal_keys():
    # Two rows share every exact column; only the floats tell them apart, and they differ by round-off.
    ref = pd.DataFrame({"k": ["a", "a"], "v": [0.30000000000000004, 0.7]})
    got = pd.DataFrame({"k": ["a", "a"], "v": [0.7, 0.3]})
    compare(got, ref)


def test_timestamps_compare_as_instants_and_dates_as_dates():
    ref = pd.DataFrame({"t": pd.to_datetime(["2024-01-01 10:00"]), "d": [dt.date(2024, 1, 1)]})
    got = pd.DataFrame({"t": pd.to_datetime(["2024-01-01 10:00"]).tz_localize("UTC").as_unit("us"),
                        "d": pd.to_datetime(["2024-01-01"])})
    compare(got, ref)
    with pytest.raises(Mismatch):
        compare(got.assign(t=got.t + pd.Timedelta("1ms")), ref)


def test_arrow_backed_frames_compare_like_numpy_ones(reference):
    arrow = pa.Table.from_pandas(reference).to_pandas(types_mapper=pd.ArrowDtype)
    compare(arrow, reference)


def test_checksum_is_row_count_and_sums():
    df = pd.DataFrame({"k": ["a", "b"], "n": pd.array([1, None], dtype="Int64"), "x": [0.25, 0.5]})
    assert checksum(df) == {"rows": 2, "sums": {"n": 1.0, "x": 0.75}}
    assert checksums_match(checksum(df), checksum(df.iloc[::-1]))
    assert not checksums_match(checksum(df), checksum(df.iloc[:1]))
    assert not checksums_match(checksum(df), checksum(df.assign(x=[0.25, 0.6])))


def test_an_integer_column_with_nulls_is_the_same_as_pandas_float_version():
    # pandas turns an integer column with a null into float64; Spark and DuckDB keep
    # nullable integers. Row order must not depend on which one a side used.
    ref = pd.DataFrame({"k": [3.0, np.nan, 1.0], "v": ["c", "n", "a"]})
    got = pd.DataFrame({"k": pd.array([1, 3, None], dtype="Int64"), "v": ["a", "c", "n"]})
    compare(got, ref)
    with pytest.raises(Mismatch):
        compare(got.assign(k=pd.array([1, 4, None], dtype="Int64")), ref)
    compare(pd.DataFrame({"k": [1.5, 3.0, np.nan], "v": ["a", "c", "n"]}),
            pd.DataFrame({"k": pd.array([None, 3, None], dtype="Int64"), "v": ["n", "c", "a"]}).assign(
                k=[np.nan, 3.0, 1.5]))
