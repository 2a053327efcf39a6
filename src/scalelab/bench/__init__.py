"""Benchmarks: every engine side by side, the answer checked, the numbers explained.

    from scalelab import bench
    plan = bench.Plan(workloads=bench.select_workloads(["groupby"]), engines=["duckdb", "spark"], scales=["small"])
    run_id, path, rows = bench.run(plan, Path("results/bench"))
    bench.report.write(bench.report.load(Path("results/bench"), run_id), Path("results"))
"""

from scalelab.bench import report
from scalelab.bench.harness import FAIRNESS, MODES, Plan, default_engines, parse_list, run, select_workloads

__all__ = ["FAIRNESS", "MODES", "Plan", "default_engines", "parse_list", "report", "run", "select_workloads"]
