"""Each in-process engine's memory mode: the tables held in the engine, no file read again, the answer
kept in the engine's own form, freed on release, and still the reference's answer."""

import shutil

import pandas as pd
import pytest

from scalelab import datasets, engines, workloads
from scalelab.workloads import compare, runner


@pytest.fixture(autouse=True)
def data(tmp_path, monkeypatch):
    monkeypatch.setenv("SCALELAB_DATA_DIR", str(tmp_path / "data"))


@pytest.mark.parametrize("engine_name", ["pandas", "duckdb", "polars"])
def test_held_tables_answer_without_the_files_and_the_kept_answer_is_the_reference(engine_name, tmp_path):
    w = workloads.get("groupby.q2")
    ds = runner.prepare(w, "tiny")
    reference = runner.load_reference(w, ds)
    engine = engines.get(engine_name).start()
    held = engine.hold(engine.load(runner.tables_of(w, ds)), datasets.generator("groupby").labels)
    moved = tmp_path / "moved"
    shutil.move(str(ds.path), moved)                 # no query may read the Parquet files again
    try:
        kept = engine.keep(w.implementation(engine)(runner.handles(w, engine, ds, held)))
        assert engines.ENGINES[engine_name].owns(kept) or isinstance(kept, pd.DataFrame)
        compare.compare(engine.collect(kept), reference, w.rules)
        engine.release(kept)
    finally:
        shutil.move(str(moved), ds.path)
    engine.stop()


def test_pandas_and_polars_hold_the_label_columns_as_categoricals():
    import polars as pl

    w = workloads.get("groupby.q1")
    ds = runner.prepare(w, "tiny")
    labels = datasets.generator("groupby").labels
    pandas = engines.get("pandas")
    x = pandas.hold(pandas.load(runner.tables_of(w, ds)), labels)["x"]
    assert {c for c in x.columns if isinstance(x[c].dtype, pd.CategoricalDtype)} == set(labels)
    polars = engines.get("polars")
    lf = polars.hold(polars.load(runner.tables_of(w, ds)), labels)["x"]
    assert {c for c, t in lf.collect_schema().items() if t == pl.Categorical} == set(labels)
    # Integer keys in 32 bits, as db-benchmark's Polars script reads them (join's are 64-bit on disk).
    join = workloads.get("join.q5")
    gen = datasets.generator("join")
    tables = runner.tables_of(join, runner.prepare(join, "tiny"))
    assert pl.read_parquet(f"{tables['x']}/*.parquet").schema["id3"] == pl.Int64
    schema = polars.hold(polars.load(tables), gen.labels, gen.int_keys)["x"].collect_schema()
    assert {c for c, t in schema.items() if t == pl.Int32} == set(gen.int_keys) == {"id1", "id2", "id3"}
    # A key past 32 bits is left as it is rather than wrapped.
    wide = polars.hold({"t": pl.LazyFrame({"id4": [1, 2**40]})}, (), ("id4",))["t"]
    assert wide.collect_schema()["id4"] == pl.Int64 and wide.collect()["id4"].to_list() == [1, 2**40]


def test_duckdb_keeps_an_answer_as_a_table_and_release_drops_it():
    w = workloads.get("groupby.q1")
    ds = runner.prepare(w, "tiny")
    engine = engines.get("duckdb").start()
    held = engine.hold(engine.load(runner.tables_of(w, ds)))
    tables = lambda: {r[0] for r in engine.con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}  # noqa: E731
    assert "x" in tables()
    kept = engine.keep(w.implementation(engine)(held))
    assert kept.alias in tables()
    engine.release(kept)
    assert kept.alias not in tables()
    engine.release(held["x"])                        # and the next load makes its view again
    engine.load(runner.tables_of(w, ds))
    assert "x" not in tables()
    engine.stop()


def test_the_pandas_engine_may_run_faster_code_than_the_reference_it_is_checked_against():
    q9 = workloads.get("groupby.q9")
    assert q9.impls["pandas"] is not q9.ref and q9.impls["dask"] is q9.impls["pandas"]
    assert "(the pandas reference, run as is)" not in q9.where()["pandas"]
    q1 = workloads.get("groupby.q1")
    assert q1.impls["pandas"] is q1.ref             # where the plainest code is the fastest, it is both
    assert workloads.run(q9, "pandas", scale="tiny", nas=5).checked == "pandas reference"


def test_duckdb_holds_label_columns_of_few_values_as_one_enum_type_per_column_across_tables():
    w = workloads.get("join.q4")                     # x and medium both carry id5
    ds = runner.prepare(w, "tiny")
    engine = engines.get("duckdb").start()
    held = engine.hold(engine.load(runner.tables_of(w, ds)), datasets.generator("join").labels)
    types = {name: dict(zip(rel.columns, map(str, rel.types))) for name, rel in held.items()}
    assert types["x"]["id5"].startswith("ENUM") and types["x"]["id5"] == types["medium"]["id5"]
    assert not types["x"]["id1"].startswith("ENUM")  # an integer key stays as it is
    assert types["x"]["id6"] == "VARCHAR"            # a label of as many values as rows is no ENUM
    compare.compare(engine.collect(engine.keep(w.implementation(engine)(held))), runner.load_reference(w, ds), w.rules)
    engine.stop()


def test_a_held_cache_holds_a_data_set_once_and_a_table_of_the_same_name_replaces_it(monkeypatch):
    engine = engines.get("duckdb").start()
    holds = []
    real = runner.hold

    def counted(w, e, ds, *tables):
        holds.append((w.name, ds.name))
        return real(w, e, ds, *tables)

    monkeypatch.setattr(runner, "hold", counted)
    cache: dict = {}
    for name in ("groupby.q1", "groupby.q2", "groupby.q3"):
        outcome = workloads.run(workloads.get(name), engine, scale="tiny", mode="memory", held_cache=cache)
        assert outcome.checked == "pandas reference", name
    assert holds == [("groupby.q1", "G1_1e4_1e2_0_0")]          # once for the three questions
    assert engine.con.sql("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'x'").fetchall() == [(1,)]
    # join.q1 holds its own x: groupby's goes first, so the join reads its own rows.
    assert workloads.run(workloads.get("join.q1"), engine, scale="tiny", mode="memory",
                         held_cache=cache).checked == "pandas reference"
    assert [k[1].rsplit("/", 1)[-1] for k in cache] == ["J1_1e4_NA_0_0"]
    runner.release_held(engine, cache)
    assert cache == {}
    assert engine.con.sql("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchall() == [(0,)]
    engine.stop()
