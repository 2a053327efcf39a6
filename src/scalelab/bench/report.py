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
from scalelab.bench.harness import FAIRNESS, MODES

SCALE_ORDER = ("tiny", "small", "medium", "large")


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
    df = with_mode(pd.concat([pd.read_parquet(f) for f in files], ignore_index=True))
    if all_runs:
        return df
    run_id = run_id or df["run_id"].max()
    if run_id not in set(df["run_id"]):
        raise FileNotFoundError(f"no run {run_id!r} in {results_dir}; runs: {', '.join(sorted(set(df['run_id'])))}")
    return df[df["run_id"] == run_id].reset_index(drop=True)


def with_mode(df: pd.DataFrame) -> pd.DataFrame:
    """Rows from before the modes were named timed what scan mode times."""
    if "mode" in df and df["mode"].notna().all():
        return df
    return df.assign(mode=df["mode"].fillna("scan") if "mode" in df else "scan")


def _cell(row) -> str:
    if row["status"] != "ok":
        return row["status"]
    return f"{row['warm_median_s']:.3f}"


def sections(df: pd.DataFrame) -> list[tuple[str, str]]:
    """The (scale, mode) pairs of a run, in order: each is one table of the report."""
    df = with_mode(df)
    present = set(zip(df["scale"], df["mode"]))
    return [(s, m) for s in SCALE_ORDER for m in MODES if (s, m) in present]


def time_table(df: pd.DataFrame, scale: str, mode: str = "scan") -> pd.DataFrame:
    """Workload x engine: the warm median in seconds, or the status, for one scale and mode."""
    df = with_mode(df)
    sub = df[(df["scale"] == scale) & (df["mode"] == mode)]
    columns = engine_order(sub["engine"])
    return (sub.assign(cell=sub.apply(_cell, axis=1))
            .pivot_table(index="workload", columns="engine", values="cell", aggfunc="first", sort=False)
            .reindex(columns=columns).fillna("-"))


def ratios(df: pd.DataFrame) -> pd.DataFrame:
    """For every ok row: time over the floor, over pandas, and over the fastest ok engine."""
    ok = with_mode(df[df["status"] == "ok"]).copy()
    key = ["workload", "scale", "mode"]
    pandas_t = ok[ok["engine"] == engines.REFERENCE].set_index(key)["warm_median_s"]
    fastest = ok.groupby(key)["warm_median_s"].min()
    ok["x_floor"] = ok["warm_median_s"] / ok["floor_s"].where(ok["floor_s"] > 0)
    ok["x_pandas"] = ok["warm_median_s"] / ok.set_index(key).index.map(pandas_t).to_numpy(dtype=float)
    ok["x_fastest"] = ok["warm_median_s"] / ok.set_index(key).index.map(fastest).to_numpy(dtype=float)
    ok["speedup_vs_pandas"] = 1 / ok["x_pandas"]
    return ok


def crossover(df: pd.DataFrame) -> list[str]:
    """Per workload and mode: the first scale where a cluster engine beats every single-node engine, or that none does."""
    ok = with_mode(df[df["status"] == "ok"])
    scales = [s for s in SCALE_ORDER if s in set(ok["scale"])]
    single_node, cluster_engines = _of_kind(ok["engine"], "single-node"), _of_kind(ok["engine"], "cluster")
    if not single_node or not cluster_engines:
        return ["(needs both a single-node and a cluster engine in the run)"]
    lines = []
    for (w, mode), g in ok.groupby(["workload", "mode"], sort=False):
        found = None
        for s in scales:
            at = g[g["scale"] == s]
            single = at[at["engine"].isin(single_node)]["warm_median_s"].min()
            cluster = at[at["engine"].isin(cluster_engines)]
            if cluster.empty or pd.isna(single):
                continue
            best = cluster.loc[cluster["warm_median_s"].idxmin()]
            if best["warm_median_s"] < single:
                found = f"{w} ({mode}): {best['engine']} beats every single-node engine from {s} on"
                break
        lines.append(found or f"{w} ({mode}): on this machine no cluster engine beats the best single-node "
                               f"engine at {', '.join(scales)}")
    return lines


def _heading(df: pd.DataFrame) -> str:
    first = df.iloc[0]
    m = json.loads(first["machine"])
    return (f"Commit {first['git_commit']} on {m['cores']} cores, {m['memory_gib']} GiB, {m['os']} ({m['cpu']}); "
            f"Python {m['python']}. Times are the median of the warm runs, in seconds.")


def _summary(df: pd.DataFrame) -> pd.DataFrame:
    """Per mode and engine: the median over the questions of each ratio."""
    r = ratios(df)
    return r.groupby(["mode", "engine"])[["x_floor", "x_pandas", "x_fastest"]].median().round(2)


def _problems(df: pd.DataFrame) -> list[str]:
    bad = df[~df["status"].isin(["ok", "not supported"])]
    return [f"{p.workload} on {p.engine} ({p.scale}, {p.mode}): {p.status}: {str(p.detail).splitlines()[0][:200]}"
            for p in bad.itertuples()]


PEER_NOTE = ("Seconds summed over the questions both timed; ratio = scalelab / peer (at most 1.0: as fast or "
             "faster), on our warm median and on our cold run. db-benchmark's time is its second run in one "
             "process; polars-benchmark's, its only run, each query in a fresh process.")


def _peer_heading(summary: pd.DataFrame) -> str:
    return f"Against the peers' own code: {', '.join(dict.fromkeys(summary['peer']))} (same data, same machine)"


def _peer_tables(df: pd.DataFrame, peer_rows: list[dict] | None):
    if not peer_rows:
        return None, None
    from scalelab.bench import peer

    return peer.compare_rows(df, peer_rows)


def markdown(df: pd.DataFrame, peer_rows: list[dict] | None = None) -> str:
    df = with_mode(df)
    out = [f"# scalelab benchmark {df.iloc[0]['run_id']}", "", _heading(df), "", "## What the modes time", ""]
    out += [f"- **{m}**: {text}" for m, text in MODES.items() if m in set(df["mode"])] + [""]
    for scale, mode in sections(df):
        table = time_table(df, scale, mode)
        out += [f"## {scale}, {mode} mode", "", "| workload | " + " | ".join(table.columns) + " |",
                "|---|" + "---|" * len(table.columns)]
        out += ["| " + w + " | " + " | ".join(table.loc[w]) + " |" for w in table.index]
        out.append("")
    summary = _summary(df)
    if not summary.empty:
        out += ["## Ratios (median over the questions)", "", "| mode | engine | x floor | x pandas | x fastest |",
                "|---|---|---|---|---|"]
        out += [f"| {m} | {e} | {v.x_floor} | {v.x_pandas} | {v.x_fastest} |" for (m, e), v in summary.iterrows()]
        out.append("")
    summary, _ = _peer_tables(df, peer_rows)
    if summary is not None:
        out += [f"## {_peer_heading(summary)}", "", PEER_NOTE, "",
                "| suite | peer | data | mode | engine | questions | scalelab warm | scalelab cold | peer | ratio "
                "| ratio cold |", "|---|---|---|---|---|---|---|---|---|---|---|"]
        out += [f"| {r.suite} | {r.peer} | {r.dataset} | {r.mode} | {r.engine} | {r.questions} | {r.scalelab_s:.3f} | "
                f"{r.scalelab_cold_s:.3f} | {r.peer_s:.3f} | {r.ratio:.2f} | {r.ratio_cold:.2f} |"
                for r in summary.itertuples()] + [""]
    problems = _problems(df)
    if problems:
        out += ["## Not ok", ""] + [f"- {line}" for line in problems] + [""]
    out += ["## Crossover", ""] + [f"- {line}" for line in crossover(df)] + [""]
    out += ["## Fairness rules", ""] + [f"- {rule}" for rule in FAIRNESS] + [""]
    return "\n".join(out)


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return '<img src="data:image/png;base64,' + base64.b64encode(buf.getvalue()).decode() + '">'


def _legend_outside(ax) -> None:
    # Beside the axes, never over the bars.
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)


def plots(df: pd.DataFrame) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = ratios(df)
    out = []
    if ok.empty:
        return out
    largest = [s for s in reversed(SCALE_ORDER) if s in set(ok["scale"])][0]
    for mode in [m for m in MODES if m in set(ok["mode"])]:
        at = ok[(ok["scale"] == largest) & (ok["mode"] == mode)]
        for title, column, log in ((f"Time per question at {largest}, {mode} mode (s, warm median; log scale)",
                                    "warm_median_s", True),
                                   (f"Speed-up versus pandas at {largest}, {mode} mode", "speedup_vs_pandas", True),
                                   (f"Peak memory of driver and cluster at {largest}, {mode} mode (MiB)",
                                    "peak_rss_mib", False)):
            table = at.pivot_table(index="workload", columns="engine", values=column, sort=False)
            if table.empty:
                continue
            table = table.reindex(columns=engine_order(table.columns))
            fig, ax = plt.subplots(figsize=(max(7, 0.7 * len(table)), 4))
            table.plot.bar(ax=ax, logy=log, width=0.8)
            ax.set_xlabel("")
            ax.set_title(title)
            _legend_outside(ax)
            out.append((title, _png(fig)))
    scales = [s for s in SCALE_ORDER if s in set(ok["scale"])]
    if len(scales) > 1:
        for mode in [m for m in MODES if m in set(ok["mode"])]:
            sub = ok[ok["mode"] == mode]
            curve = sub.groupby(["engine", "scale"])["warm_median_s"].sum().unstack("engine").reindex(scales)
            rows = sub.groupby("scale")["input_rows"].median().reindex(scales)
            fig, ax = plt.subplots(figsize=(7, 4))
            for engine in engine_order(curve.columns):
                ax.plot(rows.to_numpy(), curve[engine].to_numpy(), marker="o", label=engine)
            ax.set(xscale="log", yscale="log", xlabel="input rows", ylabel="total warm time over the questions (s)",
                   title=f"Scaling, {mode} mode: how time grows with rows")
            _legend_outside(ax)
            out.append((f"Scaling curve, {mode} mode", _png(fig)))
    return out


def _list(items) -> str:
    return "<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in items) + "</ul>"


def html_page(df: pd.DataFrame, peer_rows: list[dict] | None = None) -> str:
    """The report as HTML proper: headings, lists and tables, the plots inline (one file, no assets)."""
    e = html.escape
    df = with_mode(df)
    body = [f"<h1>scalelab benchmark {e(df.iloc[0]['run_id'])}</h1>", f"<p>{e(_heading(df))}</p>",
            "<h2>What the modes time</h2>",
            "<dl>" + "".join(f"<dt>{e(m)}</dt><dd>{e(t)}</dd>" for m, t in MODES.items() if m in set(df["mode"]))
            + "</dl>", "<h2>Fairness rules</h2>", _list(FAIRNESS)]
    for scale, mode in sections(df):
        body.append(f"<h2>{e(scale)}, {e(mode)} mode: warm median (s) or status</h2>"
                    + time_table(df, scale, mode).to_html(classes="times"))
    summary = _summary(df)
    if not summary.empty:
        body.append("<h2>Ratios (median over the questions)</h2>" + summary.reset_index().to_html(index=False))
    summary, detail = _peer_tables(df, peer_rows)
    if summary is not None:
        body += [f"<h2>{e(_peer_heading(summary))}</h2>", f"<p>{e(PEER_NOTE)}</p>",
                 summary.to_html(index=False, float_format=lambda v: f"{v:.3f}"),
                 "<h3>Per question</h3>", detail.to_html(index=False, float_format=lambda v: f"{v:.3f}")]
    problems = _problems(df)
    if problems:
        body += ["<h2>Not ok</h2>", _list(problems)]
    body += ["<h2>Crossover</h2>", _list(crossover(df))]
    body += [f"<h2>{e(title)}</h2>{img}" for title, img in plots(df)]
    detail = df[["workload", "engine", "scale", "mode", "status", "cores", "connect_s", "load_s", "cold_s",
                 "warm_median_s", "floor_s", "rows", "checked", "peak_rss_mib"]]
    body.append("<h2>Every row</h2>" + detail.to_html(index=False, float_format=lambda v: f"{v:.4g}"))
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse;"
             "margin:0.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}img{max-width:100%}")
    return ("<!doctype html><html><head><meta charset='utf-8'><title>scalelab benchmark</title>"
            f"<style>{style}</style></head><body>" + "".join(body) + "</body></html>")


def write(df: pd.DataFrame, out_dir: Path, peer_rows: list[dict] | None = None) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    run = df["run_id"].iloc[0] if df["run_id"].nunique() == 1 else "all"
    md_path, html_path = out_dir / f"report-{run}.md", out_dir / f"report-{run}.html"
    md_path.write_text(markdown(df, peer_rows))
    html_path.write_text(html_page(df, peer_rows))
    return md_path, html_path
