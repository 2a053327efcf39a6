"""TPC-H: the pandas reference gives TPC-H's own answers, and the data set refuses what it cannot be.

The matrix (test_matrix.py) checks every engine against the reference; this checks the
reference against the answer sets DuckDB's tpch extension ships (SF 0.01 here), so that a
wrong reference cannot make every engine agree on a wrong answer.
"""

from __future__ import annotations

import pytest

from scalelab import workloads
from scalelab.workloads.tpch import TABLES, answers

QUERIES = [n for n in TABLES if n not in answers.UNCHECKABLE]


@pytest.mark.parametrize("n", QUERIES, ids=[f"q{n}" for n in QUERIES])
def test_reference_gives_tpch_answer_set(n):
    w = workloads.get(f"tpch.q{n}")
    outcome = workloads.run(w, "pandas", scale="tiny", check=False, keep_result=True)
    answers.check(n, outcome.result, 0.01, w.rules)


def test_a_wrong_answer_is_refused():
    from scalelab.workloads.compare import Mismatch

    w = workloads.get("tpch.q1")
    wrong = workloads.run(w, "pandas", scale="tiny", check=False, keep_result=True).result.copy()
    wrong.loc[wrong.index[0], "sum_qty"] += 1
    with pytest.raises(Mismatch, match="sum_qty"):
        answers.check(1, wrong, 0.01, w.rules)


def test_a_query_the_answer_sets_cannot_check_says_why():
    with pytest.raises(ValueError, match="o_comment"):
        answers.check(13, None, 0.01, None)


def test_the_kit_check_applies_tpc_rules_and_finds_a_difference(tmp_path):
    import pandas as pd

    (tmp_path / "q6.out").write_text("revenue              \n        123141078.23\n")
    assert answers.check_kit(6, pd.DataFrame({"revenue": [123141078.2283]}), tmp_path) == []
    assert answers.check_kit(6, pd.DataFrame({"revenue": [123141178.24]}), tmp_path) != []     # a sum: within 100
    (tmp_path / "q4.out").write_text("o_orderpriority|order_count\n1-URGENT       |10594\n2-HIGH |10476\n")
    assert answers.check_kit(4, pd.DataFrame({"o_orderpriority": ["1-URGENT", "2-HIGH"],
                                              "order_count": [10594, 10476]}), tmp_path) == []
    wrong = answers.check_kit(4, pd.DataFrame({"o_orderpriority": ["1-URGENT", "2-HIGH"],
                                               "order_count": [10594, 10477]}), tmp_path)
    assert wrong and "order_count" in wrong[0]
    assert "rows" in answers.check_kit(4, pd.DataFrame({"o_orderpriority": ["1-URGENT"], "order_count": [1]}),
                                       tmp_path)[0]
