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
