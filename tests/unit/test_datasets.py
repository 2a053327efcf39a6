"""Data set generators: reproducible, true to their parameters, safe against interruption."""

import json
import os
import signal
import subprocess
import sys

import pandas as pd
import pytest
from typer.testing import CliRunner

from scalelab import datasets
from scalelab.cli import app
from scalelab.datasets.base import BLOCK_ROWS

ROWS = 5 * BLOCK_ROWS - 123   # several blocks and a ragged last one


@pytest.fixture
def root(tmp_path):
    return tmp_path / "data"


def hashes(ds):
    return {f["path"]: f["sha256"] for t in ds.manifest["tables"].values() for f in t["files"]}


@pytest.mark.parametrize("name, params", [("groupby", {"K": 10, "nas": 5}), ("join", {"nas": 5})])
def test_same_parameters_give_identical_bytes_across_runs_and_chunk_sizes(root, tmp_path, name, params):
    one = datasets.generate(name, rows=ROWS, chunk_rows=BLOCK_ROWS, root=root, **params)
    two = datasets.generate(name, rows=ROWS, chunk_rows=4 * BLOCK_ROWS, root=tmp_path / "other", **params)
    assert hashes(one) == hashes(two) and hashes(one)


def test_groupby_matches_its_parameters(root):
    ds = datasets.generate("groupby", rows=ROWS, K=10, nas=5, root=root)
    assert ds.name == f"G1_{ROWS}_1e1_5_0"
    df = pd.read_parquet(ds.table_path())
    assert len(df) == ds.rows() == ROWS
    assert list(df.columns) == ["id1", "id2", "id3", "id4", "id5", "id6", "v1", "v2", "v3"]
    na = df.isna().mean()
    assert ((na > 0.045) & (na < 0.055)).all(), na
    assert df.id1.nunique() == df.id2.nunique() == 10 and set(df.id4.dropna()) == set(range(1, 11))
    # N/K small groups drawn ~10 times each: all but a handful appear (e^-10 of them miss).
    assert 0.99 * (ROWS // 10) < df.id3.nunique() <= ROWS // 10
    assert df.id6.max() <= ROWS // 10 and df.id6.min() >= 1
    assert set(df.v1.dropna()) == {1, 2, 3, 4, 5}
    assert df.v3.min() >= 0 and df.v3.max() < 100
    assert (df.v3.dropna() * 10**4 - (df.v3.dropna() * 10**4).round()).abs().max() < 1e-6  # 4 decimals
    assert df.id1.dropna().str.fullmatch(r"id\d{3}").all() and df.id3.dropna().str.fullmatch(r"id\d{10}").all()


def test_sorted_groupby_is_sorted(root):
    ds = datasets.generate("groupby", rows=20_000, K=10, sort=1, root=root)
    df = pd.read_parquet(ds.table_path())
    keys = ["id1", "id2", "id3", "id4", "id5", "id6"]
    assert df[keys].equals(df[keys].sort_values(keys, ignore_index=True))


def test_join_tables_have_db_benchmarks_key_overlap(root):
    ds = datasets.generate("join", rows=100_000, root=root)
    t = {name: pd.read_parquet(ds.table_path(name)) for name in ("x", "small", "medium", "big")}
    assert {k: len(v) for k, v in t.items()} == {"x": 100_000, "small": 10, "medium": 100, "big": 100_000}
    x_keys, big_keys = set(t["x"].id3), set(t["big"].id3)
    assert len(x_keys) == len(big_keys) == 100_000           # every key once: each side is a permutation
    assert len(x_keys & big_keys) == 90_000                  # 0.9 common, 0.1 on each side alone
    assert len(set(t["x"].id1) & set(t["small"].id1)) == 9
    assert (t["x"].id4 == "id" + t["x"].id1.astype(str)).all()
    assert len(t["x"].merge(t["big"], on="id3")) == 90_000


def test_join_nas_blank_whole_keys(root):
    ds = datasets.generate("join", rows=100_000, nas=10, root=root)
    x = pd.read_parquet(ds.table_path("x"))
    assert abs(x.id3.isna().mean() - 0.10) < 0.01
    assert (x.id3.isna() == x.id6.isna()).all()
    assert abs(x.v1.isna().mean() - 0.10) < 0.01


def test_a_complete_data_set_is_reused_and_a_damaged_one_rebuilt(root):
    first = datasets.generate("groupby", scale="tiny", root=root)
    assert first.generated
    again = datasets.generate("groupby", scale="tiny", root=root)
    assert not again.generated and hashes(again) == hashes(first)
    part = first.path / next(iter(hashes(first)))
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0xFF                       # same size, one byte flipped
    part.write_bytes(bytes(data))
    assert datasets.verify(first) == [f"{part.relative_to(first.path)}: sha256 differs from the manifest"]
    rebuilt = datasets.generate("groupby", scale="tiny", root=root)
    assert rebuilt.generated and hashes(rebuilt) == hashes(first) and datasets.verify(rebuilt) == []


_KILLED = """
import os, signal, sys
from scalelab import datasets
from scalelab.datasets.base import Progress
def die(rows, nbytes):
    os.kill(os.getpid(), signal.SIGKILL)    # killed mid-write, nothing gets to clean up
datasets.generate("groupby", rows=int(sys.argv[2]), root=__import__("pathlib").Path(sys.argv[1]),
                  chunk_rows=65536, progress=Progress(on_rows=die))
"""


def test_a_killed_generation_never_looks_complete_and_is_redone(root):
    proc = subprocess.run([sys.executable, "-c", _KILLED, str(root), str(ROWS)], capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    leftovers = list((root / "groupby").iterdir())
    assert [p.name.split(".partial-")[0] for p in leftovers] == [f"G1_{ROWS}_1e2_0_0"]
    assert datasets.list_datasets(root) == []
    ds = datasets.generate("groupby", rows=ROWS, root=root)
    assert ds.generated and [p.name for p in (root / "groupby").iterdir()] == [ds.name]


def test_the_manifest_describes_the_files(root):
    ds = datasets.generate("join", scale="tiny", root=root)
    m = json.loads((ds.path / "manifest.json").read_text())
    assert m["generator"] == "join" and m["seed"] == 108 and m["params"] == {"N": 10_000, "nas": 0, "sort": 0}
    assert m["tables"]["x"]["schema"][0] == ["id1", "int64"]
    for table in m["tables"].values():
        assert sum(f["rows"] for f in table["files"]) == table["rows"]
        for f in table["files"]:
            assert (ds.path / f["path"]).stat().st_size == f["bytes"]


@pytest.mark.parametrize("kwargs, words", [
    ({"scale": "huge"}, "unknown scale 'huge'"),
    ({"scale": "tiny", "rows": 10}, "not both"),
    ({"scale": "tiny", "K": 0}, "K=0"),
    ({"scale": "tiny", "nas": 101}, "percentage"),
    ({"scale": "tiny", "sort": 2}, "sort=2"),
    ({"scale": "tiny", "colour": 1}, "not ['colour']"),
    # Every parameter names a folder: anything but a whole number is refused before it can (issue 25).
    ({"scale": "tiny", "K": "../1"}, "K='../1' must be a whole number"),
    ({"scale": "tiny", "K": [1]}, "K=[1] must be a whole number"),
    ({"scale": "tiny", "nas": None}, "nas=None must be a whole number"),
    ({"scale": "tiny", "K": 1.5}, "K=1.5 must be a whole number"),
    ({"scale": "tiny", "K": True}, "K=True must be a whole number"),
])
def test_bad_scales_and_parameters_get_clear_errors(root, kwargs, words):
    with pytest.raises(datasets.DatasetError) as err:
        datasets.generate("groupby", root=root, **kwargs)
    assert words in str(err.value)
    assert not root.exists() or not any(root.rglob("*.parquet"))


def test_not_enough_disk_is_refused_before_writing(root, monkeypatch):
    import shutil

    monkeypatch.setattr(shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(10**12, 10**12 - 1000, 1000))
    with pytest.raises(datasets.DatasetError, match="needs about .* of disk"):
        datasets.generate("groupby", scale="small", root=root)
    assert not root.exists() or not any(root.rglob("*.parquet"))


def test_cli_generate_list_verify(tmp_path, monkeypatch):
    monkeypatch.setenv("SCALELAB_DATA_DIR", str(tmp_path / "d"))
    runner = CliRunner()
    out = runner.invoke(app, ["data", "generate", "groupby", "--scale", "tiny", "-p", "K=10"])
    assert out.exit_code == 0 and "G1_1e4_1e1_0_0: generated" in out.output, out.output
    assert "reused" in runner.invoke(app, ["data", "generate", "groupby", "--scale", "tiny", "-p", "K=10"]).output
    listed = runner.invoke(app, ["data", "list"])
    assert "G1_1e4_1e1_0_0" in listed.output and "x (10,000)" in listed.output
    assert runner.invoke(app, ["data", "verify"]).exit_code == 0
    bad = runner.invoke(app, ["data", "generate", "groupby", "--scale", "gigantic"])
    assert bad.exit_code == 2 and "unknown scale" in bad.output
    bad = runner.invoke(app, ["data", "generate", "groupby", "-p", "K"])
    assert bad.exit_code == 2 and "NAME=VALUE" in bad.output


@pytest.mark.parametrize("name, params", [("trips", {}), ("events", {}), ("tabular", {"dirty": 1}),
                                          ("join", {"sort": 1})])
def test_other_generators_are_reproducible_across_chunk_sizes(root, tmp_path, name, params):
    one = datasets.generate(name, rows=ROWS, chunk_rows=BLOCK_ROWS, root=root, **params)
    two = datasets.generate(name, rows=ROWS, chunk_rows=4 * BLOCK_ROWS, root=tmp_path / "other", **params)
    assert hashes(one) == hashes(two)


def test_trips_have_seasonality_zones_and_the_documented_dirt(root):
    ds = datasets.generate("trips", rows=200_000, days=28, root=root)
    assert ds.name == "T1_2e5_28"
    trips, zones = pd.read_parquet(ds.table_path("trips")), pd.read_parquet(ds.table_path("zones"))
    assert len(zones) == 263 and zones.zone_id.is_unique
    assert set(trips.pickup_zone) <= set(zones.zone_id) and set(trips.dropoff_zone) <= set(zones.zone_id)
    assert zones.lat.between(40.3, 41.2).all() and zones.lon.between(-74.5, -73.4).all()
    assert trips.pickup_at.min() >= pd.Timestamp("2024-01-01") and trips.pickup_at.max() < pd.Timestamp("2024-01-29")
    by_hour = trips.pickup_at.dt.hour.value_counts()
    assert by_hour[18] > 3 * by_hour[4]                         # evening rush versus the small hours
    weekday = trips.pickup_at.dt.day_of_week
    weekend_4am = ((weekday >= 5) & (trips.pickup_at.dt.hour == 4)).sum() / 2
    weekday_4am = ((weekday < 5) & (trips.pickup_at.dt.hour == 4)).sum() / 5
    assert weekend_4am > 1.5 * weekday_4am                     # late nights at weekends
    assert abs(trips.passenger_count.isna().mean() - 0.01) < 0.003
    assert abs((trips.dropoff_at < trips.pickup_at).mean() - 0.001) < 0.0005
    assert (trips.tip[trips.payment_type == "cash"] == 0).all() and (trips.fare > 0).all()


def test_events_are_mostly_in_order_with_the_requested_late_share(root):
    ds = datasets.generate("events", rows=200_000, users=500, late=5, root=root)
    assert ds.name == "E1_2e5_5e2_5"
    ev = pd.read_parquet(ds.table_path())
    assert abs(ev.is_late.mean() - 0.05) < 0.005
    arrival_ms = 30 * 60 * 1000 + ev.event_id * 10             # 100 events a second from 00:30
    age = arrival_ms - (ev.event_time - pd.Timestamp("2024-01-01")).dt.total_seconds() * 1000
    assert (age[ev.is_late] >= 60_000).all() and (age[~ev.is_late] < 2_000).all()
    inversions = (ev.event_time.diff().dt.total_seconds() < 0).mean()
    assert 0.05 < inversions < 0.25                              # out of order, but mostly not
    assert ev.user_id.between(1, 500).all() and ev.user_id.nunique() == 500
    search = ev.event_type == "search"
    assert ev.item_id[search].isna().all() and ev.item_id[~search].notna().all()
    assert ev.price[~search].gt(0).all()
    assert (ev.session_id // 10**7 == ev.user_id).all()


def test_every_parameter_that_changes_the_data_is_in_its_name():
    from scalelab.datasets import events

    gen = events.Events()
    assert gen.spec(10_000).name == "E1_1e4_1e2_5"              # the default rate stays out of the name
    assert gen.spec(10_000, rate=1).name == "E1_1e4_1e2_5_r1"   # (it once overwrote the default's folder)


def test_sorted_join_tables_are_sorted_on_their_keys(root):
    ds = datasets.generate("join", rows=20_000, sort=1, root=root)
    for table, keys in (("x", ["id1", "id2", "id3"]), ("medium", ["id1", "id2"]), ("big", ["id1", "id2", "id3"])):
        df = pd.read_parquet(ds.table_path(table))
        assert df[keys].equals(df[keys].sort_values(keys, ignore_index=True)), table


def test_tabular_follows_its_known_model(root):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import train_test_split

    from scalelab.datasets.tabular import bayes_accuracy

    ds = datasets.generate("tabular", rows=60_000, pos=10, nas=8, root=root)
    assert ds.name == "C1_6e4_10_8" and set(ds.manifest["tables"]) == {"data", "truth"}
    data, truth = pd.read_parquet(ds.table_path("data")), pd.read_parquet(ds.table_path("truth"))
    assert (data.id == truth.id).all() and data.id.is_unique
    assert abs(data.churn.mean() - 0.10) < 0.01                           # the requested imbalance
    assert abs(truth.p_churn.mean() - 0.10) < 0.01
    for col in ("age", "income", "region", "channel", "signup_date"):
        assert abs(data[col].isna().mean() - 0.08) < 0.01, col
    for col in ("balance", "tenure_months", "num_products", "plan", "churn"):
        assert data[col].notna().all(), col
    assert data.age.dropna().between(18, 85).all() and data.income.dropna().gt(0).all()
    assert set(data.region.dropna()) == {"north", "south", "east", "west", "central"}
    assert set(data.plan) == {"basic", "plus", "premium"} and set(data.num_products) == {1, 2, 3, 4}
    # A good classifier gets close to the Bayes accuracy the known model gives, and
    # well above always saying "no churn".
    bayes = bayes_accuracy(ds)
    features = data.drop(columns=["id", "churn", "signup_date"]).astype(
        {"region": "category", "plan": "category", "channel": "category"})
    x_train, x_test, y_train, y_test = train_test_split(features, data.churn, random_state=0)
    model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0).fit(x_train, y_train)
    accuracy = model.score(x_test, y_test)
    assert 0.93 < bayes < 0.97 and bayes - 0.025 < accuracy < bayes + 0.01, (bayes, accuracy)


def test_the_dirty_variant_cleans_back_to_the_clean_data(root):
    from scalelab.datasets.tabular import clean, dirty_rows

    ds = datasets.generate("tabular", rows=ROWS, dirty=1, root=root)
    assert ds.name == f"C1_{ROWS}_20_5_dirty"
    data = pd.read_parquet(ds.table_path("data"), dtype_backend="numpy_nullable")
    dirty = pd.read_parquet(ds.table_path("dirty"))
    assert len(dirty) == dirty_rows(ROWS) > ROWS and dirty.id.nunique() == ROWS
    # The dirt the module promises is there...
    assert dirty.income.str.startswith("$").any() and dirty.signup_date.str.contains("/").any()
    assert dirty.signup_date.str.fullmatch(r"\d{8}").any() and dirty.region.str.isupper().any()
    assert dirty.age.str.endswith(".0").any() and dirty.churn.str.lower().isin(["yes", "no"]).any()
    assert dirty.signup_date.isin(["2023-02-30", "31/31/2023"]).any()
    # ...duplicates differ in writing, so dropping them before cleaning leaves most...
    assert len(dirty.drop_duplicates()) > ROWS + (len(dirty) - ROWS) // 2
    # ...and the documented cleaning gives the clean table back exactly.
    cleaned = clean(dirty)
    data["signup_date"] = pd.to_datetime(data.signup_date)
    cleaned["signup_date"] = pd.to_datetime(cleaned.signup_date)
    pd.testing.assert_frame_equal(cleaned, data, check_dtype=False)


def test_csv_on_request_is_in_the_manifest_and_verified(root):
    plain = datasets.generate("events", scale="tiny", root=root)
    with pytest.raises(datasets.DatasetError, match="without CSV"):
        plain.csv_path()
    ds = datasets.generate("events", scale="tiny", csv=True, root=root)
    assert ds.generated and ds.manifest["formats"] == ["parquet", "csv"]     # asked for CSV: made again
    assert datasets.generate("events", scale="tiny", root=root).generated is False   # CSV too is fine
    from_csv = pd.read_csv(ds.csv_path() / "part-00000.csv", parse_dates=["event_time"])
    from_parquet = pd.read_parquet(ds.table_path())
    assert len(from_csv) == len(from_parquet) == 10_000
    assert (from_csv.event_id == from_parquet.event_id).all() and (from_csv.price.isna() == from_parquet.price.isna()).all()
    listed = [f["path"] for f in ds.manifest["tables"]["events"]["files"]]
    assert listed == ["events/part-00000.parquet", "csv/events/part-00000.csv"]
    assert ds.manifest["tables"]["events"]["rows"] == 10_000                  # not counted twice
    with open(ds.csv_path() / "part-00000.csv", "r+b") as fh:
        fh.seek(100)
        fh.write(b"#")
    assert datasets.verify(ds) == ["csv/events/part-00000.csv: sha256 differs from the manifest"]


def test_a_labs_generation_bar_counts_every_row_written_and_a_reused_set_draws_none(root):
    from scalelab.teaching.lab import GenerationBar

    bar = GenerationBar("groupby", enabled=True)
    ds = datasets.generate("groupby", rows=ROWS, root=root, progress=bar.progress)
    bar.close()
    assert bar.bar is not None and bar.bar.total == ROWS and bar.bar.n == ROWS
    assert sum(t["rows"] for t in ds.manifest["tables"].values()) == ROWS
    again = GenerationBar("groupby", enabled=True)
    datasets.generate("groupby", rows=ROWS, root=root, progress=again.progress)
    assert again.bar is None


def test_in_a_notebook_generating_a_labs_data_set_draws_a_bar_under_the_cell(tmp_path):
    import nbformat
    from nbclient import NotebookClient

    from scalelab.teaching.notebooks import WIDGET_VIEW

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("from scalelab.teaching import lab\nds = lab.dataset('groupby', at='tiny')"),
                nbformat.v4.new_code_cell("ds = lab.dataset('groupby', at='tiny')")]
    env = {**os.environ, "SCALELAB_DATA_DIR": str(tmp_path / "data")}
    NotebookClient(nb, timeout=120, kernel_name="python3").execute(env=env)
    assert [sum(WIDGET_VIEW in o.get("data", {}) for o in c.outputs) for c in nb.cells] == [1, 0]
