import pytest

pytestmark = [pytest.mark.stack, pytest.mark.dask]


def _expected_names(cfg, client) -> set[str]:
    """dask-worker-1..N locally; in compose the replicas are named after their containers."""
    if cfg.runtime == "docker":
        names = {w["name"] for w in client.scheduler_info(n_workers=-1)["workers"].values()}
        assert len(names) == cfg.int("DASK_WORKERS") and all(n.startswith("dask-worker-") for n in names), names
        return names
    return {f"dask-worker-{i}" for i in range(1, cfg.int("DASK_WORKERS") + 1)}


def test_both_workers_are_connected(dask_client, cfg):
    names = {w["name"] for w in dask_client.scheduler_info(n_workers=-1)["workers"].values()}
    assert names == _expected_names(cfg, dask_client)


def test_a_computation_is_spread_over_both_workers(dask_client, cfg):
    # Defined here, not at module level: cloudpickle then ships it by value, and the
    # workers need not import this test module.
    def _where(x):
        import time

        from distributed import get_worker

        time.sleep(0.05)  # long enough that one worker cannot take every task
        return x * x, get_worker().name

    futures = dask_client.map(_where, range(40), pure=False)
    results = dask_client.gather(futures)
    assert sum(v for v, _ in results) == sum(i * i for i in range(40))
    used = {w for _, w in results}
    assert used == _expected_names(cfg, dask_client), used


def test_a_dataframe_groupby_matches_pandas(dask_client):
    import dask.dataframe as dd
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(7)
    pdf = pd.DataFrame({"k": rng.integers(0, 50, 20_000), "v": rng.random(20_000)})
    got = dd.from_pandas(pdf, npartitions=8).groupby("k").v.sum().compute().sort_index()
    want = pdf.groupby("k").v.sum().sort_index()
    pd.testing.assert_series_equal(got, want, check_exact=False, rtol=1e-12)


def _stored(client) -> set:
    """Every key the workers hold."""
    return {k for keys in client.has_what().values() for k in keys}


def _held(name: str, scale: str):
    """The workload, the Dask engine and the workload's tables held on the workers. The data set lives in
    the shared data folder: under compose the workers are containers, and a test's own tmp folder is not
    theirs to read."""
    from scalelab import engines, workloads
    from scalelab.workloads import runner

    w = workloads.get(name)
    ds = runner.prepare(w, scale)
    engine = engines.get("dask").start()
    return w, ds, engine, engine.hold(engine.load(runner.tables_of(w, ds)))


def test_memory_mode_keeps_the_answer_on_the_workers_and_release_frees_it(dask_client):
    # As Spark's and Ray's answers stay on their clusters: compute() would also time the answer's
    # trip to the driver, which db-benchmark's Dask (threads in its own process) never pays.
    from scalelab.workloads import compare, runner

    w, ds, engine, held = _held("join.q1", "tiny")
    before = _stored(dask_client)
    kept = engine.keep(w.implementation(engine)(held))
    on_workers = _stored(dask_client) - before
    assert hasattr(kept, "dask") and on_workers, on_workers        # a collection, its partitions held
    compare.compare(engine.collect(kept), runner.load_reference(w, ds), w.rules)
    engine.release(kept)
    del kept
    # release() returns once the scheduler has forgotten the answer (a CI run found a key still there
    # right after cancel()).
    assert _stored(dask_client) - before == set()
    # A task that fails fails keep() itself, not the check after a timing of nothing.
    with pytest.raises(ZeroDivisionError):
        engine.keep(held["x"].map_partitions(lambda part: part.assign(v1=1 // 0), meta=held["x"]._meta))
    for table in held.values():
        engine.release(table)


def test_the_same_question_kept_again_right_after_release_is_a_new_answer(dask_client):
    # The bench's repeats: the same graph, so the same keys, persisted again at once. Before release()
    # waited for the scheduler, its pending cancel took the next answer with it (FuturesCancelledError
    # on join at small, never at tiny, where each answer is done before the cancel is sent).
    w, _, engine, held = _held("join.q2", "small")
    before = _stored(dask_client)
    try:
        for _ in range(5):         # nothing between release and the next keep, as in the bench
            kept = engine.keep(w.implementation(engine)(held))
            engine.release(kept)
        assert _stored(dask_client) - before == set()
    finally:
        for table in held.values():
            engine.release(table)
