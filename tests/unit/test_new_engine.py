"""Adding an engine is one class plus its implementations: a throw-away engine, registered
here, reaches the bench child, the report, grading and the test fixtures without any
other edit (each of them asks the engine class, none lists engine names)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from scalelab import engines, workloads
from scalelab.bench import child, report
from scalelab.engines import Engine, EngineError
from scalelab.teaching import grading

ROOT = Path(__file__).resolve().parents[2]

PLUGIN = '''
import pandas as pd
from scalelab import engines
from scalelab.engines import Engine


class Boxed:
    def __init__(self, frame):
        self.frame = frame


@engines.register
class ThrowAway(Engine):
    name = "throwaway"
    description = "a test's engine: pandas frames in a box"
    distributed = True                 # a "cluster" engine, so that the report's crossover sees one

    def load(self, tables):
        return {n: Boxed(pd.read_parquet(p)) for n, p in tables.items()}

    @classmethod
    def collect(cls, result):
        return result.frame if isinstance(result, Boxed) else result

    @classmethod
    def owns(cls, result):
        return isinstance(result, Boxed)

    @classmethod
    def services(cls, cfg):
        return ("kafka",)

    @classmethod
    def bench_environment(cls, cores):
        return {"THROWAWAY_THREADS": str(cores)}

    def cores(self):
        return int(__import__("os").environ.get("THROWAWAY_THREADS", "0"))


q1 = __import__("scalelab.workloads", fromlist=["get"]).get("groupby.q1")


@q1.on("throwaway")
def _(t):
    x = t["x"].frame
    return Boxed(x.groupby("id1", dropna=False, observed=True).agg(v1=("v1", "sum")).reset_index())
'''


@pytest.fixture
def throwaway(tmp_path, monkeypatch):
    """The plugin imported in this process (as `-p throwaway_engine` does in a pytest run), then removed."""
    (tmp_path / "throwaway_engine.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    q1 = workloads.get("groupby.q1")
    monkeypatch.setattr(q1, "impls", dict(q1.impls))          # the registration is undone after the test
    import importlib

    module = importlib.import_module("throwaway_engine")
    yield module
    engines.unregister("throwaway")
    sys.modules.pop("throwaway_engine", None)


def test_the_throwaway_engine_runs_a_workload_and_is_checked_in_the_bench_child(throwaway, tmp_path, monkeypatch,
                                                                                   capsys):
    monkeypatch.setenv("SCALELAB_DATA_DIR", str(tmp_path / "data"))
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"engine": "throwaway", "scale": "tiny", "workloads": ["groupby.q1", "groupby.q4"],
                                "repeat": 1, "cores": 3}))
    child.main(str(spec))
    rows = [json.loads(line)["row"] for line in capsys.readouterr().out.splitlines() if '"row"' in line]
    by = {r["workload"]: r for r in rows}
    assert by["groupby.q1"]["status"] == "ok" and by["groupby.q1"]["checked"] == "pandas reference"
    assert by["groupby.q1"]["cores"] == 3                   # asked of the engine, set by its own environment
    # No implementation and no declared reason: an error row, never a silent pandas fallback.
    assert by["groupby.q4"]["status"] == "error" and "no implementation for throwaway" in by["groupby.q4"]["detail"]
    os.environ.pop("THROWAWAY_THREADS", None)


def test_the_throwaway_engine_reaches_the_report_as_a_cluster_engine(throwaway):
    rows = pd.DataFrame([
        {"workload": "groupby.q1", "engine": e, "scale": s, "status": "ok", "warm_median_s": t, "floor_s": 0.01,
         "input_rows": n}
        for e, s, t, n in (("pandas", "tiny", 0.1, 10), ("throwaway", "tiny", 0.5, 10),
                           ("pandas", "small", 2.0, 1000), ("throwaway", "small", 1.0, 1000))])
    assert list(report.time_table(rows, "tiny").columns) == ["pandas", "throwaway"]
    assert report.crossover(rows) == ["groupby.q1 (scan): throwaway beats every single-node engine from small on"]


def test_an_engine_the_registry_does_not_know_is_an_error_in_the_report():
    rows = pd.DataFrame([{"workload": "groupby.q1", "engine": "nosuch", "scale": "tiny", "status": "ok",
                          "warm_median_s": 0.1}])
    with pytest.raises(EngineError, match="'nosuch' that are not registered"):
        report.time_table(rows, "tiny")
    with pytest.raises(EngineError, match="unknown engine 'nosuch'"):
        engines.engine_class("nosuch")


def test_grading_knows_the_throwaway_engines_answers(throwaway, monkeypatch):
    frame = pd.DataFrame({"k": [1, 2], "n": [3, 4]})
    monkeypatch.setitem(grading.EXERCISES, "99.throwaway", grading.Exercise(
        "99.throwaway", "the frame, from the throw-away engine", lambda: frame, engines=("throwaway",), keys=("k",)))
    assert grading.engine_of(throwaway.Boxed(frame)) == "throwaway"
    assert grading.grade("99.throwaway", throwaway.Boxed(frame)).ok
    refused = grading.grade("99.throwaway", frame)
    assert not refused.ok and "not with throwaway" in refused.message


def test_the_throwaway_engine_reaches_the_test_fixtures_with_its_mark(tmp_path):
    (tmp_path / "throwaway_engine.py").write_text(PLUGIN)
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    out = subprocess.run([sys.executable, "-m", "pytest", "-p", "throwaway_engine", "-p", "no:cacheprovider",
                          "--collect-only", "-q", "-m", "throwaway", "tests/workloads/test_matrix.py"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    ids = [line for line in out.stdout.splitlines() if "::" in line]
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert ids and all("throwaway" in i for i in ids)
    assert any("groupby.q1" in i for i in ids)


def test_an_engine_must_report_its_cores_and_convert_its_answers():
    class Half(Engine):
        name = "half"
        description = "declares nothing"

        def load(self, tables):
            return {}

    with pytest.raises(TypeError, match="abstract"):
        Half()
