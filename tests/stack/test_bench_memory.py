"""The benchmark harness on a real cluster: the memory it reports is the cluster's, not only the driver's."""

import pytest

from scalelab import bench


@pytest.mark.spark
@pytest.mark.local_runtime  # reads the executors' memory from this machine's processes
def test_a_cluster_engine_row_counts_the_executors_memory(require, tmp_path, monkeypatch):
    require("spark-master", "spark-worker")
    monkeypatch.setenv("SCALELAB_RESULTS_DIR", str(tmp_path))
    _, _, rows = bench.run(bench.Plan(["groupby.q1"], ["spark", "pandas"], ["tiny"], repeat=1), tmp_path / "bench")
    spark, pandas = rows
    assert spark["status"] == pandas["status"] == "ok" and spark["checked"] == "pandas reference"
    assert spark["connect_s"] > 0 and spark["cores"] >= 1 and len(spark["warm_s"]) == 1
    # The master's and worker's JVMs and the executor count: far more than a Python driver alone.
    assert spark["base_rss_mib"] > pandas["base_rss_mib"] + 300, (spark["base_rss_mib"], pandas["base_rss_mib"])
    assert '"pyspark"' in spark["versions"]
