"""The benchmark report as a reader sees it: a real bench run's HTML page, opened in headless Chromium.

A small run (two groupby questions at `tiny`, pandas, DuckDB and Dask, both modes) on the stack, its
report written with a peer's time.csv beside it, then the page in a browser: headings and tables are
HTML (no Markdown source in a `<pre>`), every table the report promises is there with its engines,
and every plot is an image the browser decoded. Timings are never asserted: only what is shown.
"""

import csv

import pytest

from scalelab import bench, workloads
from scalelab.bench import peer, report

pytestmark = [pytest.mark.stack, pytest.mark.dask]

ENGINES = ["pandas", "duckdb", "dask"]


def _peer_file(rows: list[dict], path):
    """A time.csv in db-benchmark's format for the run's questions. Its times are made up (twice ours): the
    test checks how the report shows a peer, the peer's own runs are `scalelab bench peer`'s."""
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["task", "data", "question", "solution", "run", "time_sec"])
        w.writeheader()
        for r in rows:
            for run in (1, 2):
                w.writerow({"task": "groupby", "data": r["dataset"], "question": workloads.get(r["workload"]).question,
                            "solution": r["engine"], "run": run, "time_sec": 2 * r["warm_median_s"]})
    return path


def test_the_bench_report_renders_its_tables_and_plots_in_a_browser(require, tmp_path, monkeypatch, browser, shots):
    require("dask-scheduler")
    monkeypatch.setenv("SCALELAB_RESULTS_DIR", str(tmp_path))
    _, _, rows = bench.run(bench.Plan(["groupby.q1", "groupby.q2"], ENGINES, ["tiny"], modes=["scan", "memory"],
                                      repeat=1), tmp_path / "bench")
    assert {r["status"] for r in rows} == {"ok"}, [(r["engine"], r["mode"], r["detail"]) for r in rows]
    df = report.load(tmp_path / "bench")
    peer_rows = peer.read_times(_peer_file([r for r in rows if r["mode"] == "memory"], tmp_path / "time.csv"))
    _, page = report.write(df, tmp_path, peer_rows)

    browser.goto(page.as_uri())
    browser.wait_for("document.readyState === 'complete' && document.images.length > 0", "the report to load")
    browser.screenshot(shots / "bench-report.png")
    assert browser.js("document.querySelectorAll('pre').length") == 0
    headings = browser.js("Array.from(document.querySelectorAll('h2')).map(h => h.innerText)")
    for wanted in ("What the modes time", "Fairness rules", "tiny, scan mode: warm median (s) or status",
                   "tiny, memory mode: warm median (s) or status", "Ratios (median over the questions)",
                   "Against the peers' own code: db-benchmark (same data, same machine)", "Crossover", "Every row"):
        assert wanted in headings, (wanted, headings)
    # The two time tables: a column per engine, a row per question, a time in every cell (all ok).
    times = browser.js("Array.from(document.querySelectorAll('table.times')).map(t => ({"
                       "head: Array.from(t.querySelectorAll('thead th')).map(c => c.innerText.trim()),"
                       "cells: Array.from(t.querySelectorAll('tbody td')).map(c => c.innerText.trim())}))")
    assert len(times) == 2
    for table in times:
        assert set(ENGINES) <= set(table["head"]), table["head"]
        assert len(table["cells"]) == 2 * len(ENGINES) and all(float(c) >= 0 for c in table["cells"]), table
    # The peer table: a db-benchmark row has no mode, so it stands beside both of ours; the ratio is
    # ours / theirs, exactly a half in memory mode, whose times the peer file doubled.
    peer_table = browser.js("(() => { const h = Array.from(document.querySelectorAll('h2'))"
                            ".find(h => h.innerText.startsWith('Against the peers')); const t = h.nextElementSibling"
                            ".nextElementSibling; return Array.from(t.querySelectorAll('tbody tr'))"
                            ".map(r => Array.from(r.cells).map(c => c.innerText.trim())); })()")
    assert sorted((r[4], r[3]) for r in peer_table) == sorted((e, m) for e in ENGINES for m in ("scan", "memory"))
    assert all(float(r[9]) == pytest.approx(0.5, abs=0.001) for r in peer_table if r[3] == "memory"), peer_table
    # Only the list under the Crossover heading (the fairness rules are an h2 + ul too).
    crossover = browser.js("Array.from(document.querySelectorAll('h2')).filter(h => h.innerText === 'Crossover')"
                           ".map(h => h.nextElementSibling.innerText).join('\\n')")
    assert "groupby.q1 (scan)" in crossover and "groupby.q2 (memory)" in crossover, crossover
    # Every plot decoded by the browser: time, speed-up and memory, for each mode.
    images = browser.js("Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight])")
    assert len(images) == 6 and all(done and w > 300 and h > 200 for done, w, h in images), images
