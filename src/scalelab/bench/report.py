"""The benchmark report: a Markdown summary and a self-contained HTML page with tables and plots.

    scalelab bench report [--run RUN_ID | --all]

Times shown are the median of the warm runs. A row that is not "ok" shows its
status instead of a time: a wrong answer is never shown as a time. Ratios: to the
memory-bandwidth floor (how far from scanning the bytes once), to pandas (the
single-threaded baseline) and to the fastest engine on that question.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

import pandas as pd

from scalelab import engines
from scalelab.bench.harness import FAIRNESS


def engine_order(names) -> list[str]:
    """The engines of a run in registry order; a row of an engine that is not registered is an error,
    never a row that silently drops out of the tables."""
    names = set(names)
    unknown = sorted(names - set(engines.ENGINES))
    if unknown:
        raise engines.EngineError(f"the results hold engine(s) {', '.join(map(repr, unknown))} that are not "
                                  f"registered (registered: {', '.join(engines.ENGINES)}); register them to report them")
    return [e for e in engines.ENGINES if e in names]


def _of_kind(names, kind: str) -> list[str]:
    return [e for e in engine_order(names) if engines.ENGINES[e].kind() == kind]


def load(results_dir: Path, run_id: str | None = None, all_runs: bool = False) -> pd.DataFrame:
    files = sorted(results_dir.glob("*.parquet"))
    if not files:
        raise FileNotFoundError(f"no benchmark results in {results_dir}; run `scalelab bench` (or `make bench`) first")
    df = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    if all_runs:
        return df
    run_id = run_id or df["run_id"].max()
    if run_id not in set(df["run_id"]):
        raise FileNotFoundError(f"no run {run_id!r} in {results_dir}; runs: {', '.join(sorted(set(df['run_id'])))}")
    return df[df["run_id"] == run_id].reset_index(drop=True)


def _cell(row) -> str:
    if row["status"] != "ok":
        return row["status"]
    return f"{row['warm_median_s']:.3f}"


def time_table(df: pd.DataFrame, scale: str) -> pd.DataFrame:
    """Workload x engine: the warm median in seconds, or the status."""
    sub = df[df["scale"] == scale]
    columns = engine_order(sub["engine"])
    return (sub.assign(cell=sub.apply(_cell, axis=1))
            .pivot_table(index="workload", columns="engine", values="cell", aggfunc="first", sort=False)
            .reindex(columns=columns).fillna("-"))


def ratios(df: pd.DataFrame) -> pd.DataFrame:
    """For every ok row: time over the floor, over pandas, and over the fastest ok engine."""
    ok = df[df["status"] == "ok"].copy()
    key = ["workload", "scale"]
    pandas_t = ok[ok["engine"] == engines.REFERENCE].set_index(key)["warm_median_s"]
    fastest = ok.groupby(key)["warm_median_s"].min()
    ok["x_floor"] = ok["warm_median_s"] / ok["floor_s"].where(ok["floor_s"] > 0)
    ok["x_pandas"] = ok["warm_median_s"] / ok.set_index(key).index.map(pandas_t).to_numpy(dtype=float)
    ok["x_fastest"] = ok["warm_median_s"] / ok.set_index(key).index.map(fastest).to_numpy(dtype=float)
    ok["speedup_vs_pandas"] = 1 / ok["x_pandas"]
    return ok


def crossover(df: pd.DataFrame) -> list[str]:
    """Per workload: the first scale where a cluster engine beats every single-node engine, or that none does."""
    ok = df[df["status"] == "ok"]
    scales = [s for s in ("tiny", "small", "medium", "large") if s in set(ok["scale"])]
    single_node, cluster_engines = _of_kind(ok["engine"], "single-node"), _of_kind(ok["engine"], "cluster")
    if not single_node or not cluster_engines:
        return ["(needs both a single-node and a cluster engine in the run)"]
    lines = []
    for w, g in ok.groupby("workload", sort=False):
        found = None
        for s in scales:
            at = g[g["scale"] == s]
            single = at[at["engine"].isin(single_node)]["warm_median_s"].min()
            cluster = at[at["engine"].isin(cluster_engines)]
            if cluster.empty or pd.isna(single):
                continue
            best = cluster.loc[cluster["warm_median_s"].idxmin()]
            if best["warm_median_s"] < single:
                found = f"{w}: {best['engine']} beats every single-node engine from {s} on"
                break
        lines.append(found or f"{w}: on this machine no cluster engine beats the best single-node engine "
                               f"at {', '.join(scales)}")
    return lines


def markdown(df: pd.DataFrame) -> str:
    first = df.iloc[0]
    m = json.loads(first["machine"])
    out = [f"# scalelab benchmark {first['run_id']}", "",
           f"Commit {first['git_commit']} on {m['cores']} cores, {m['memory_gib']} GiB, {m['os']} ({m['cpu']}); "
           f"Python {m['python']}. Times are the median of the warm runs, in seconds.", ""]
    for scale in [s for s in ("tiny", "small", "medium", "large") if s in set(df["scale"])]:
        table = time_table(df, scale)
        out += [f"## {scale}", "", "| workload | " + " | ".join(table.columns) + " |",
                "|---|" + "---|" * len(table.columns)]
        out += ["| " + w + " | " + " | ".join(table.loc[w]) + " |" for w in table.index]
        out.append("")
    r = ratios(df)
    if not r.empty:
        summary = r.groupby("engine")[["x_floor", "x_pandas", "x_fastest"]].median().round(2)
        out += ["## Ratios (median over the questions)", "", "| engine | x floor | x pandas | x fastest |",
                "|---|---|---|---|"]
        out += [f"| {e} | {v.x_floor} | {v.x_pandas} | {v.x_fastest} |" for e, v in summary.iterrows()]
        out.append("")
    problems = df[~df["status"].isin(["ok", "not supported"])]
    if not problems.empty:
        out += ["## Not ok", ""]
        out += [f"- {p.workload} on {p.engine} ({p.scale}): **{p.status}**: {str(p.detail).splitlines()[0][:200]}"
                for p in problems.itertuples()]
        out.append("")
    out += ["## Crossover", ""] + [f"- {line}" for line in crossover(df)] + [""]
    out += ["## Fairness rules", ""] + [f"- {rule}" for rule in FAIRNESS] + [""]
    return "\n".join(out)


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return '<img src="data:image/png;base64,' + base64.b64encode(buf.getvalue()).decode() + '">'


def plots(df: pd.DataFrame) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = ratios(df)
    out = []
    if ok.empty:
        return out
    largest = [s for s in ("large", "medium", "small", "tiny") if s in set(ok["scale"])][0]
    at = ok[ok["scale"] == largest]
    for title, column, log in ((f"Time per question at {largest} (s, warm median; log scale)", "warm_median_s", True),
                               (f"Speed-up versus pandas at {largest}", "speedup_vs_pandas", True),
                               (f"Peak memory of driver and cluster at {largest} (MiB)", "peak_rss_mib", False)):
        table = at.pivot_table(index="workload", columns="engine", values=column, sort=False)
        if table.empty:
            continue
        fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(table)), 4))
        table.plot.bar(ax=ax, logy=log, width=0.8)
        ax.set_xlabel("")
        ax.set_title(title)
        out.append((title, _png(fig)))
    scales = [s for s in ("tiny", "small", "medium", "large") if s in set(ok["scale"])]
    if len(scales) > 1:
        curve = ok.groupby(["engine", "scale"])["warm_median_s"].sum().unstack("engine").reindex(scales)
        rows = ok.groupby("scale")["input_rows"].median().reindex(scales)
        fig, ax = plt.subplots(figsize=(6, 4))
        for engine in curve.columns:
            ax.plot(rows.to_numpy(), curve[engine].to_numpy(), marker="o", label=engine)
        ax.set(xscale="log", yscale="log", xlabel="input rows", ylabel="total warm time over the questions (s)",
               title="Scaling: how time grows with rows")
        ax.legend()
        out.append(("Scaling curve", _png(fig)))
    return out


def html_page(df: pd.DataFrame) -> str:
    md = markdown(df)
    body = []
    for title, img in plots(df):
        body.append(f"<h2>{html.escape(title)}</h2>{img}")
    tables = []
    for scale in [s for s in ("tiny", "small", "medium", "large") if s in set(df["scale"])]:
        tables.append(f"<h2>{scale}: warm median (s) or status</h2>" + time_table(df, scale).to_html())
    detail = df[["workload", "engine", "scale", "status", "cores", "connect_s", "load_s", "cold_s", "warm_median_s",
                 "floor_s", "rows", "checked", "peak_rss_mib"]]
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}pre{white-space:pre-wrap}")
    return ("<!doctype html><html><head><meta charset='utf-8'><title>scalelab benchmark</title>"
            f"<style>{style}</style></head><body>"
            f"<pre>{html.escape(md)}</pre>" + "".join(tables) + "".join(body)
            + "<h2>Every row</h2>" + detail.to_html(index=False, float_format=lambda v: f"{v:.4g}")
            + "</body></html>")


def write(df: pd.DataFrame, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    run = df["run_id"].iloc[0] if df["run_id"].nunique() == 1 else "all"
    md_path, html_path = out_dir / f"report-{run}.md", out_dir / f"report-{run}.html"
    md_path.write_text(markdown(df))
    html_path.write_text(html_page(df))
    return md_path, html_path
