"""Every workload on every engine, at `tiny`, checked against the pandas reference.

A pair the registry declares unsupported must raise the declared error (ibis'
`notimpl`), so a declaration that has become untrue fails too. db-benchmark's
questions and TPC-H's run again in the bench's memory mode (tables held in the engine, the answer
kept in its own form), on the data with nulls in keys and values.
"""

from __future__ import annotations

import re

import pytest

from scalelab import workloads
from scalelab.workloads import runner

# Data each suite runs on in the tests. K=10 gives the groupby questions groups of
# several rows at 1e4 rows (q9's correlations need them); nas=5 puts nulls in keys
# and values, where the engines' null rules differ.
# Keyed by data generator.
VARIANTS = {"groupby": [{"K": 10}, {"K": 10, "nas": 5}], "join": [{}, {"nas": 5}], "trips": [{"days": 14}],
            "events": [{}], "tabular": [{}], "tpch": [{}]}

CASES = [pytest.param(w, params, id=f"{w.name}-" + ("-".join(f"{k}{v}" for k, v in params.items()) or "default"))
         for w in workloads.WORKLOADS.values() for params in VARIANTS[w.data.generator]]


@pytest.mark.parametrize("workload, params", CASES)
def test_workload_gives_the_reference_answer(engine, workload, params):
    if engine.name in workload.unsupported:
        reason, raises = workload.unsupported[engine.name]
        with pytest.raises(raises, match=re.escape(reason)):
            workloads.run(workload, engine, scale="tiny", **params)
        return
    outcome = workloads.run(workload, engine, scale="tiny", **params)
    assert outcome.checked == "pandas reference"
    assert outcome.rows == outcome.checksum["rows"] > 0


MEMORY_PARAMS = {"groupby": {"K": 10, "nas": 5}, "join": {"nas": 5}, "tpch": {}}
MEMORY_CASES = [pytest.param(w, MEMORY_PARAMS[w.suite], id=f"{w.name}-memory")
                for w in workloads.WORKLOADS.values() if w.suite in MEMORY_PARAMS]


_HELD: dict = {}


@pytest.fixture
def held_once(request, engine):
    """The tables an engine holds, once per data set, as the bench's child holds them: the next
    question on the same data reuses them. Released after the last such test of this engine, before
    any other test uses it (a held DuckDB table would shadow the next test's view of the same name)."""
    yield _HELD
    items = request.session.items
    i = items.index(request.node)
    following = items[i + 1] if i + 1 < len(items) else None
    same = (following is not None and following.originalname == request.node.originalname
            and following.callspec.params.get("engine") == request.node.callspec.params.get("engine"))
    if not same:
        runner.release_held(engine, _HELD)


@pytest.mark.parametrize("workload, params", MEMORY_CASES)
def test_workload_held_in_memory_gives_the_reference_answer(engine, workload, params, held_once):
    outcome = workloads.run(workload, engine, scale="tiny", mode="memory", held_cache=held_once, **params)
    assert outcome.checked == "pandas reference"
    assert outcome.rows == outcome.checksum["rows"] > 0
