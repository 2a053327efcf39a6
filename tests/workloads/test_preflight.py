"""The pre-flight check: a client whose versions differ from the cluster's is stopped with a clear message.

The cluster is real; only the client's own version string is changed for the test,
which is exactly what a notebook in another environment would report.
"""

import pytest

from scalelab import engines


def _fake_dask(monkeypatch):
    import distributed.versions

    real = distributed.versions._version_cached      # Dask reads versions from package metadata
    monkeypatch.setattr(distributed.versions, "_version_cached", lambda pkg: "0.0.0" if pkg == "dask" else real(pkg))


def _fake_attribute(module, value):
    def fake(monkeypatch):
        import importlib

        monkeypatch.setattr(importlib.import_module(module), "__version__", value)
    return fake


CASES = [
    pytest.param("dask", _fake_dask, "dask on the scheduler: this client 0.0.0", marks=pytest.mark.dask),
    pytest.param("spark", _fake_attribute("pyspark", "0.0.0"), "Spark (the cluster's JVM): this client 0.0.0",
                 marks=pytest.mark.spark),
    # A newer pyarrow than the cluster's (Ray Data refuses to import with an old one).
    pytest.param("ray", _fake_attribute("pyarrow", "99.0.0"), "pyarrow on the workers: this client 99.0.0",
                 marks=pytest.mark.ray),
]


@pytest.mark.parametrize("name, fake, words", CASES)
def test_a_version_mismatch_stops_the_engine_before_it_runs(name, fake, words, engine_needs, monkeypatch):
    engine_needs(name)
    fake(monkeypatch)
    engine = engines.get(name)
    try:
        with pytest.raises(engines.VersionMismatch) as err:
            engine.start()
        assert words in str(err.value) and "make setup" in str(err.value)
        assert not engine.started
    finally:
        engine.stop()


@pytest.mark.parametrize("name", [pytest.param(n, marks=getattr(pytest.mark, n)) for n in ("dask", "spark", "ray")])
def test_matching_versions_pass(name, engine_needs):
    engine_needs(name)
    engine = engines.get(name)
    try:
        engine.start()
        assert engine.started and engine.versions()["python"]
    finally:
        engine.stop()


@pytest.mark.dask
def test_dask_refuses_a_cluster_that_loaded_other_scalelab_code(engine_needs, monkeypatch):
    # Dask sends the workloads' functions by name: a worker holding an older copy of the
    # package would run other code. The digest of the code each side loaded must agree.
    from scalelab.engines import base as engine_base

    engine_needs("dask")
    engine = engines.get("dask").start()
    try:
        def load_scalelab():
            import scalelab.workloads  # noqa: F401
        engine.client.run(load_scalelab)
        engine.client.run_on_scheduler(load_scalelab)
        engine.stop()
        monkeypatch.setattr(engine_base, "CODE_DIGEST", "0" * 16)   # this client's code changed since
        with pytest.raises(engines.VersionMismatch, match="scalelab code loaded on the scheduler: this client 0{16}"):
            engine.start()
    finally:
        engine.stop()
