"""`scalelab`: start, inspect and stop the lab's stack.

    scalelab up | down | status | logs SERVICE | doctor
    scalelab serve ROLE     # what a container (and the local runtime) runs for one role
    scalelab quiz [N]       # the interview question bank, with the numbers behind each answer
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from scalelab import warm
from scalelab.cluster import local
from scalelab.cluster.health import NotHealthy
from scalelab.cluster.java import JavaError
from scalelab.cluster.credentials import CredentialsError
from scalelab.cluster.kafka import KafkaSetupError
from scalelab.cluster.platform import PlatformSetupError
from scalelab.cluster.services import PROFILES, ROLES, UnknownService, by_name, by_role, serving_launch
from scalelab.config import KAFKA_CLIENTS, SETTINGS, Config, ConfigError

app = typer.Typer(help="scalelab: a big-data lab on Spark, Dask, Ray, Kafka and JupyterLab.",
                  no_args_is_help=True, add_completion=False)
# soft_wrap: never break a line inside a URL, a token or a command the user may copy.
console = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

_USER_ERRORS = (local.StackError, JavaError, KafkaSetupError, ConfigError, UnknownService, PlatformSetupError,
                CredentialsError)


def _config() -> Config:
    try:
        return Config.load()
    except ConfigError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None


def _fail(exc: Exception, code: int = 1) -> typer.Exit:
    err.print(f"[red]error:[/] {exc}")
    return typer.Exit(code)


def _table(states: list[local.ServiceState], cfg: Config) -> Table:
    table = Table(title="scalelab stack (runtime: local)")
    urls = [st.service.url(cfg) for st in states]
    table.add_column("service", no_wrap=True)
    table.add_column("state", no_wrap=True)
    table.add_column("url", no_wrap=True, min_width=max(map(len, urls), default=3))
    table.add_column("detail")
    for st in states:
        if st.healthy:
            state = "[green]healthy[/]"
        elif st.running:
            state = "[yellow]unhealthy[/]" if st.healthy is False else "running"
        else:
            state = "[red]down[/]"
        table.add_row(st.service.name, state, st.service.url(cfg), st.detail)
    return table


@app.command()
def up(only: Optional[list[str]] = typer.Option(None, "--only", help="Start only these services."),
       profile: Optional[list[str]] = typer.Option(None, "--profile", help="Also start a profile's services: "
                                                   "platform (PostgreSQL, Redis). Kept until `down`.")) -> None:
    """Start every service (those already running are left alone) and wait until all are healthy."""
    cfg = _config()
    try:
        for name in only or []:
            by_name(cfg, name)
        for name in profile or []:
            if name not in PROFILES:
                raise UnknownService(name, list(PROFILES), "profile")
    except UnknownService as exc:
        raise _fail(exc, 2) from None
    try:
        console.print("runtime: [bold]local[/] (services as processes on this machine)")
        t0 = time.monotonic()

        def event(svc, what: str) -> None:
            console.print(f"  {time.monotonic() - t0:5.1f} s  {svc.name}: {what}")

        states = local.up(cfg, only, on_event=event, profiles=profile)
    except _USER_ERRORS as exc:
        raise _fail(exc) from None
    console.print(_table(states, cfg))
    console.print(f"all {len(states)} services healthy in {time.monotonic() - t0:.1f} s")
    if any(st.service.role == "jupyterlab" for st in states):
        console.print(f"\nJupyterLab: [bold]{cfg.jupyter_login_url}[/]")


@app.command()
def down() -> None:
    """Stop every service this checkout started; no process or listening port is left."""
    cfg = _config()
    # The warm runners' sessions belong to the stack that goes.
    warm.stop_all(cfg)
    stopped = local.down(cfg)
    console.print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
    left = local.listeners_left(cfg)
    if left:
        raise _fail(local.StackError(f"ports still listening after down: {', '.join(left)} "
                                     "(held by processes this checkout did not start?)"))


@app.command()
def status(memory: bool = typer.Option(False, "--memory", help="Also each service's RSS and PSS, and their sums."),
           record: bool = typer.Option(False, "--record", help="With --memory: record the core services' PSS "
                                       "as the idle footprint (results/budget).")) -> None:
    """Say which services are up and healthy; exit 1 unless all are."""
    cfg = _config()
    states = local.status(cfg)
    console.print(_table(states, cfg))
    if memory:
        by_service = local.memory_by_service(cfg)
        mem = Table("service", "processes", "RSS MiB", "PSS MiB")
        for name, (count, rss, pss) in sorted(by_service.items(), key=lambda kv: -kv[1][2]):
            mem.add_row(name, str(count), f"{rss / 2**20:.0f}", f"{pss / 2**20:.0f}")
        console.print(mem)
        count, rss, pss = (sum(v[i] for v in by_service.values()) for i in range(3))
        console.print(f"memory: {count} processes, RSS {rss / 2**30:.2f} GiB, PSS {pss / 2**30:.2f} GiB "
                      "(PSS shares pages fairly between processes; RSS counts shared pages in each)")
        if record:
            from scalelab.bench import budget
            from scalelab.cluster.services import services as services_of

            # The budget is the default profile's: the platform's services, if up, are left out.
            core = {s.name for s in services_of(cfg) if s.profile == "core"} & set(by_service)
            budget.record(cfg, "idle PSS", sum(by_service[n][2] for n in core) / 2**30, "GiB",
                          f"{len(core)} core services, {sum(by_service[n][0] for n in core)} processes")
    if not all(st.healthy for st in states):
        raise typer.Exit(1)


@app.command()
def logs(service: str = typer.Argument(..., help="A service name, e.g. kafka or dask-worker-1."),
         lines: int = typer.Option(50, "--lines", "-n", help="How many lines from the end."),
         follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing as the log grows.")) -> None:
    """Print the end of one service's log."""
    cfg = _config()
    try:
        svc = by_name(cfg, service)
    except UnknownService as exc:
        raise _fail(exc, 2) from None
    path = local.log_path(cfg, svc)
    if not path.exists():
        raise _fail(local.StackError(f"{svc.name} has no log yet ({path}); start it with `make up`."))
    print(local.tail(path, lines))
    if follow:
        with open(path, errors="replace") as fh:
            fh.seek(0, os.SEEK_END)
            while True:
                line = fh.readline()
                if line:
                    print(line, end="")
                else:
                    time.sleep(0.5)


@app.command()
def doctor() -> None:
    """Check Java, Maven, ports, disk, memory, the venv and the Kafka jars; say how to fix each problem."""
    from scalelab.cluster import doctor as doc

    cfg = _config()
    results = doc.run_checks(cfg)
    table = Table(title="scalelab doctor")
    for col in ("check", "result", "what to do"):
        table.add_column(col)
    for r in results:
        table.add_row(r.name, ("[green]ok[/] " if r.ok else "[red]problem[/] ") + r.detail, r.fix)
    console.print(table)
    if not all(r.ok for r in results):
        raise typer.Exit(1)


@app.command()
def setup(tokens: bool = typer.Option(True, "--tokens/--no-tokens",
                                     help="Also make the tokens (an image build must not bake them in).")) -> None:
    """Fetch what the stack needs beyond the venv (Kafka's jars, Spark's Kafka connector, the JDBC
    driver) and make the tokens."""
    cfg = _config()
    from scalelab.cluster import kafka

    try:
        path = kafka.ensure_jars(cfg, quiet=False)
    except KafkaSetupError as exc:
        raise _fail(exc) from None
    console.print(f"Kafka jars: {path}")
    from scalelab.apps import streaming
    from scalelab.cluster.maven import MavenError

    try:
        jars = streaming.connector_jars(cfg, quiet=False)
    except MavenError as exc:
        raise _fail(exc) from None
    console.print(f"Spark's Kafka connector: {jars[0].parent} ({len(jars)} jars)")
    from scalelab.apps import stores

    try:
        jdbc = stores.jdbc_jars(cfg)
    except MavenError as exc:
        raise _fail(exc) from None
    console.print(f"PostgreSQL's JDBC driver: {jdbc[0].parent}")
    if not tokens:
        return
    # Both tokens are generated on first use and kept (mode 600) in the state folder.
    console.print(f"tokens: {cfg.state_dir / 'secrets'} (JupyterLab {len(cfg.jupyter_token)} chars, "
                  f"Ray {cfg.ray_token_path.name})")


@app.command()
def env() -> None:
    """Print the client variables (export lines) that point a shell at the stack."""
    cfg = _config()
    for key, value in cfg.client_env().items():
        print(f"export {key}={value}")


@app.command("credentials")
def credentials_cmd() -> None:
    """Make the engine ports' credentials now (SCALELAB_AUTH=on): the secrets and the stack's TLS
    certificate. `serve` makes them on first use; scripts/compose.sh runs this before containers start."""
    from scalelab.cluster import credentials

    cfg = _config()
    try:
        if not cfg.auth:
            raise ConfigError("SCALELAB_AUTH is off: the engine ports ask for no credentials (set SCALELAB_AUTH=on)")
        made = credentials.tls(cfg)
        for name in ("spark-secret", "kafka-password"):
            cfg.kept_secret(name)
    except _USER_ERRORS as exc:
        raise _fail(exc, 2) from None
    console.print(f"credentials: {cfg.secrets_dir} (TLS for {', '.join(made.names)})")


@app.command()
def serve(role: str = typer.Argument(..., help="One of: " + ", ".join(ROLES)),
          instance: int = typer.Option(0, "--instance", help="Which Dask worker: N in the local runtime; "
                                       "0 (a compose replica) names it after its container.")) -> None:
    """Run one service in the foreground. Containers run this; so does the local runtime."""
    cfg = _config()
    try:
        svc = by_role(cfg, role, instance)
        launch = serving_launch(cfg, svc)
    except _USER_ERRORS as exc:
        raise _fail(exc, 2) from None
    env = {k: v for k, v in {**os.environ, **launch.env}.items() if k not in launch.drop}
    if launch.cwd:
        os.chdir(launch.cwd)
    print(f"scalelab serve {role}: {' '.join(launch.argv)}", flush=True)
    os.execvpe(launch.argv[0], launch.argv, env)


@app.command()
def probe(role: str = typer.Argument(..., help="One of: " + ", ".join(ROLES)),
          instance: int = typer.Option(0, "--instance", help="As for serve.")) -> None:
    """Run one service's health probe once (exit 0 if healthy): compose healthchecks use it."""
    cfg = _config()
    try:
        svc = by_role(cfg, role, instance)
        console.print(f"{svc.name}: healthy ({svc.probe(cfg, svc.instance)})")
    except NotHealthy as exc:
        raise _fail(exc) from None
    except UnknownService as exc:
        raise _fail(exc, 2) from None


data_app = typer.Typer(help="Generate, list and verify the lab's data sets.", no_args_is_help=True)
app.add_typer(data_app, name="data")


def _params(values: list[str]) -> dict[str, str]:
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{item!r}: write parameters as NAME=VALUE, e.g. K=100")
        out[key] = value
    return out


@data_app.command("generate")
def data_generate(name: str = typer.Argument(..., help="groupby, join, trips, events, tabular or tpch (`scalelab data list` describes them)"),
                  scale: Optional[str] = typer.Option(None, help="tiny (1e4 rows), small (1e6, the default), "
                                                                 "medium (1e7), large (1e8, opt-in)"),
                  rows: Optional[int] = typer.Option(None, help="An exact row count instead of a scale."),
                  param: list[str] = typer.Option([], "--param", "-p", help="Generator parameter, NAME=VALUE."),
                  force: bool = typer.Option(False, help="Generate again even if a complete copy exists."),
                  csv: bool = typer.Option(False, "--csv", help="Also write a CSV copy of every table (csv/<table>/).")
                  ) -> None:
    """Generate a data set (reused when a complete copy with the same parameters exists)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from scalelab import datasets
    from scalelab.datasets.base import Progress as Hook

    try:
        gen = datasets.generator(name)
        given = gen.parse_params(_params(param))
        spec = datasets.resolve(name, scale if scale or rows else "small", rows, **given)
    except datasets.DatasetError as exc:
        raise _fail(exc, 2) from None
    t0 = time.perf_counter()
    with Progress(TextColumn(f"{spec.name}"), BarColumn(), TextColumn("{task.completed:,.0f} rows"),
                  TextColumn("{task.fields[mb]:,.0f} MB in memory"), TimeElapsedColumn(), console=console,
                  transient=True) as bar:
        task = bar.add_task("rows", total=None, mb=0.0)
        hook = Hook(on_start=lambda total: bar.update(task, total=total),
                    on_rows=lambda n, nbytes: bar.update(task, advance=n,
                                                         mb=bar.tasks[task].fields["mb"] + nbytes / 1e6))
        try:
            ds = datasets.generate(name, rows=spec.params["N"], force=force, progress=hook, csv=csv, **given)
        except datasets.DatasetError as exc:
            raise _fail(exc) from None
    seconds = time.perf_counter() - t0
    size = sum(f["bytes"] for t in ds.manifest["tables"].values() for f in t["files"])
    total = sum(t["rows"] for t in ds.manifest["tables"].values())
    console.print(f"{ds.name}: {'generated' if ds.generated else 'reused'} at {ds.path} "
                  f"({total:,} rows, {size / 1e6:.1f} MB on disk, {seconds:.1f} s)")


@data_app.command("list")
def data_list() -> None:
    """List the generated data sets with their tables and sizes."""
    from scalelab import datasets

    table = Table(title="data sets under datasets/")
    for col in ("generator", "name", "tables (rows)", "MB"):
        table.add_column(col)
    for ds in datasets.list_datasets():
        tables = ds.manifest["tables"]
        mb = sum(f["bytes"] for t in tables.values() for f in t["files"]) / 1e6
        table.add_row(ds.manifest["generator"], ds.name, ", ".join(f"{k} ({v['rows']:,})" for k, v in tables.items()),
                      f"{mb:.1f}")
    console.print(table)
    console.print("generators: " + ", ".join(f"{g.name} ({g.description})" for g in datasets.GENERATORS.values()))


@data_app.command("verify")
def data_verify() -> None:
    """Check every data set's files against its manifest (sizes and sha256); exit 1 on any problem."""
    from scalelab import datasets

    bad = 0
    for ds in datasets.list_datasets():
        problems = datasets.verify(ds)
        bad += bool(problems)
        console.print(f"{ds.name}: " + ("[green]ok[/]" if not problems else "[red]" + "; ".join(problems) + "[/]"))
    if bad:
        err.print(f"{bad} data set(s) damaged: `scalelab data generate NAME ... --force` makes them again")
        raise typer.Exit(1)


@app.command(name="config")
def show_config() -> None:
    """List every setting with its value and what it is for."""
    cfg = _config()
    table = Table(title="settings (environment > .env > default)")
    for col in ("name", "value", "meaning"):
        table.add_column(col)
    for s in SETTINGS:
        table.add_row(s.name, cfg.get(s.name), s.help)
    console.print(table)


def _print_where(w) -> None:
    from scalelab.engines import REFERENCE

    console.print(f"[bold]{w.name}[/bold]: {w.question}")
    console.print(f"  defined at   {w.defined_at}   (data: {w.data.generator} {w.data.params or ''}, "
                  f"tables: {', '.join(w.tables) or 'none'})")
    if w.sql:
        console.print(f"  shared SQL   {' '.join(w.sql.split())}")
    rules = w.rules
    console.print(f"  rules        rtol={rules.rtol:g} atol={rules.atol:g} ordered={rules.ordered}"
                  + (f": {rules.note}" if rules.note else ""))
    where = w.where()
    console.print(f"  reference    {REFERENCE}: {where[REFERENCE]}")
    for engine, place in where.items():
        if engine != REFERENCE:
            console.print(f"  {engine:<12} {place}")
    from rich.markup import escape

    console.print(f"  tests        pytest tests/workloads/test_matrix.py -k '{w.name}-'   (ids: "
                  + escape(f"test_workload_gives_the_reference_answer[ENGINE-{w.name}-VARIANT]") + "; "
                  "one engine: -m ENGINE or make test/ENGINE)")


@app.command(name="workloads")
def list_workloads(
        where: str = typer.Option(None, "--where", metavar="WORKLOAD",
                                  help="Say where each engine's code for one workload is (file:line), its "
                                       "reference, its comparison rules and its tests."),
) -> None:
    """List every workload and the engines that run it (and why the others do not)."""
    from scalelab import workloads
    from scalelab.engines import ENGINES

    if where is not None:
        try:
            w = workloads.get(where)
        except workloads.WorkloadError as exc:
            raise typer.BadParameter(str(exc), param_hint="--where") from None
        _print_where(w)
        return

    table = Table(title="workloads (yes: runs and is checked against pandas; no: declared, with the reason)")
    table.add_column("workload", no_wrap=True)
    for name in ENGINES:
        table.add_column(name, no_wrap=True, min_width=max(len(name), 6))
    table.add_column("question", no_wrap=True, overflow="ellipsis")
    reasons: dict[str, list[str]] = {}          # one note per distinct reason, naming its pairs
    for w in workloads.WORKLOADS.values():
        cells = []
        for engine in ENGINES:
            status = w.status(engine)
            if status.startswith("no: "):
                pairs = reasons.setdefault(status[4:], [])
                pairs.append(f"{w.name} on {engine}")
                status = f"no ({list(reasons).index(status[4:]) + 1})"
            cells.append(status)
        table.add_row(w.name, *cells, w.question)
    console.print(table)
    for i, (reason, pairs) in enumerate(reasons.items(), 1):
        console.print(f"({i}) {', '.join(pairs)}: {reason}")


@app.command(name="run")
def run_workload(
        workload: str = typer.Argument(..., help="A workload such as groupby.q3 or join.q2 (`scalelab workloads`)."),
        engine: str = typer.Option(..., "--engine", "-e", help="pandas, duckdb, polars, dask, spark or ray."),
        scale: Optional[str] = typer.Option(None, help="tiny, small, medium or large (default tiny)."),
        data: Optional[Path] = typer.Option(None, help="A generated data set folder instead of a scale."),
        param: list[str] = typer.Option([], "--param", "-p", help="Data set parameter, NAME=VALUE."),
        out: Optional[Path] = typer.Option(None, help="Write the result to this Parquet file."),
        check: bool = typer.Option(True, help="Check the answer against the pandas reference."),
        warm_runner: bool = typer.Option(True, "--warm/--no-warm", help="On a cluster engine, ask its warm runner, "
                                         "which keeps the session between commands (started on first use)."),
) -> None:
    """Run one workload on one engine, check the answer, print time, rows and checksum."""
    from scalelab import datasets, engines, workloads
    from scalelab.cluster.connect import StackNotUp
    from scalelab.workloads import compare

    if scale and data:
        raise _fail(ValueError("give --scale or --data, not both"), 2)
    try:
        w = workloads.get(workload)
        eng = engines.get(engine)
        params = datasets.generator(w.data.generator).parse_params(_params(param))
        if warm_runner and eng.distributed:
            w.implementation(eng)             # an engine that declares it cannot: said here, no runner started
            if _run_warm(engine, warm.request_of(workload, scale, data, params, check, out)):
                return
        outcome = workloads.run(w, eng, scale=scale, data=data, check=check, keep_result=out is not None,
                                **params)
    except (workloads.WorkloadError, engines.EngineError, datasets.DatasetError) as exc:
        raise _fail(exc, 2) from None
    except engines.NotSupported as exc:
        raise _fail(exc, 3) from None
    except StackNotUp as exc:
        raise _fail(exc) from None
    except compare.Mismatch as exc:
        err.print(f"[red]{workload} on {engine}: WRONG ANSWER[/]\n{exc}")
        raise typer.Exit(4) from None
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        outcome.result.to_parquet(out)
    console.print(outcome.summary())
    console.print(f"checksum: {outcome.checksum}")


_WARM_EXIT = {warm.USAGE: 2, warm.NOT_SUPPORTED: 3, warm.STACK: 1, warm.MISMATCH: 4, warm.ERROR: 1}


def _run_warm(engine: str, request: dict) -> bool:
    """Print the warm runner's answer (True), or say why there is none (False: run it here)."""
    try:
        reply = warm.ask(_config(), engine, request)
    except warm.Unavailable as exc:
        err.print(f"[dim]no warm runner ({exc}); running in this process[/]")
        return False
    if reply["ok"]:
        console.print(reply["summary"])
        console.print(f"checksum: {reply['checksum']}")
        return True
    if reply["kind"] == warm.MISMATCH:
        err.print(f"[red]{request['workload']} on {engine}: WRONG ANSWER[/]\n{reply['message']}")
    else:
        err.print(f"[red]error:[/] {reply['message']}")
    raise typer.Exit(_WARM_EXIT[reply["kind"]])


bench_app = typer.Typer(help="Run the engines side by side (`scalelab bench --suite groupby`); `bench report` "
                             "renders the results.")
app.add_typer(bench_app, name="bench")


def _results_dir(cfg: Config) -> Path:
    return cfg.results_dir


@bench_app.callback(invoke_without_command=True)
def bench_run(
        ctx: typer.Context,
        suite: str = typer.Option("groupby", help="groupby, join, timeseries, cleaning, features, ml, a list or all."),
        engines_: str = typer.Option("all", "--engines", help="all, or a list such as duckdb,spark."),
        scale: str = typer.Option("small", help="A scale or a list (tiny,small,medium) for a scaling study."),
        mode: str = typer.Option("scan,memory", help="scan (from the Parquet files to pandas), memory "
                                                     "(db-benchmark's: tables held in the engine), or both."),
        repeat: int = typer.Option(3, min=0, help="Warm runs after the cold one."),
        timeout: float = typer.Option(600.0, min=1, help="Seconds one workload may run on one engine."),
        cores: int = typer.Option(0, min=0, help="Cores for every engine (default: all of this machine's)."),
        report: bool = typer.Option(True, help="Write the Markdown and HTML report at the end."),
) -> None:
    """Run the chosen workloads on every chosen engine; one row per (workload, engine, scale)."""
    if ctx.invoked_subcommand is not None:
        return
    import os

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from scalelab import bench, engines, workloads
    from scalelab.bench import report as bench_report
    from scalelab.datasets.base import SCALES

    cfg = _config()
    try:
        suites = bench.parse_list(suite, list(workloads.SUITES), "suite")
        chosen = bench.parse_list(engines_, list(engines.ENGINES), "engine")
        scales = bench.parse_list(scale, list(SCALES), "scale")
        modes = bench.parse_list(mode, list(bench.MODES), "mode")
    except ValueError as exc:
        raise _fail(exc, 2) from None
    plan = bench.Plan(bench.select_workloads(suites), chosen, scales, modes, repeat, timeout,
                      cores or os.cpu_count() or 1)
    console.print(f"bench: {len(plan.workloads)} workload(s) x {len(chosen)} engine(s) x {len(scales)} scale(s) "
                  f"x {len(modes)} mode(s) ({', '.join(modes)}), {repeat} warm run(s) each, {plan.cores} core(s), "
                  f"timeout {timeout:.0f} s")
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("data sets and the memory floor", total=plan.units())

        def advance(row: dict) -> None:
            progress.update(task, advance=1, description=f"{row['workload']} on {row['engine']} ({row['scale']}, "
                                                          f"{row['mode']}): {row['status']}")
        try:
            run_id, path, rows = bench.run(plan, _results_dir(cfg) / "bench", advance)
        except (ValueError, workloads.WorkloadError) as exc:
            raise _fail(exc, 2) from None
    df = bench_report.load(_results_dir(cfg) / "bench", run_id)
    for scale_, mode_ in bench_report.sections(df):
        table = Table(title=f"{scale_}, {mode_} mode: warm median (s), or why there is no time")
        frame = bench_report.time_table(df, scale_, mode_)
        table.add_column("workload", no_wrap=True)
        for e in frame.columns:
            table.add_column(e, justify="right")
        for w in frame.index:
            table.add_row(w, *frame.loc[w])
        console.print(table)
    console.print(f"results: {path}")
    if report:
        md, page = bench_report.write(df, _results_dir(cfg))
        console.print(f"report: {md}\n        {page}")
    bad = df[df["status"].isin(["wrong", "crashed", "error"])]
    if not bad.empty:
        err.print(f"[red]{len(bad)} run(s) wrong, crashed or failed[/]: see the report")
        raise typer.Exit(1)


def _check_scale(scale: str) -> None:
    from scalelab.datasets.base import SCALES

    if scale not in SCALES:
        raise _fail(ValueError(f"unknown scale {scale!r}: choose from {', '.join(SCALES)}"), 2)


def _names(text: str) -> list[str]:
    """A comma-separated option as its names."""
    return [x.strip() for x in text.split(",") if x.strip()]


@bench_app.command(name="kafka")
def bench_kafka(
        clients: str = typer.Option(",".join(KAFKA_CLIENTS), "--clients", help="kafka-python, confluent, or both."),
        scale: str = typer.Option("small", help="Scale of the events data set (small: 1,000,000 events)."),
        repeat: int = typer.Option(1, min=1, help="Runs per client, interleaved."),
) -> None:
    """Produce the events data set into Kafka and read it back with each client; messages per second."""
    from scalelab.apps import kafka_rate
    from scalelab.cluster.connect import StackNotUp

    cfg = _config()
    _check_scale(scale)
    try:
        path, rows = kafka_rate.run(_names(clients), scale, repeat,
                                    _results_dir(cfg) / "kafka")
    except ValueError as exc:
        raise _fail(exc, 2) from None
    except StackNotUp as exc:
        raise _fail(exc) from None
    table = Table(title=f"the events data set at {scale} ({rows[0]['rows']:,} events), acks=all, idempotent")
    for column in ("client", "run", "status", "produce (s)", "produce msg/s", "read (s)", "read msg/s"):
        table.add_column(column, justify="left" if column in ("client", "status") else "right", no_wrap=True)
    for r in rows:
        table.add_row(r["client"], str(r["run"]), r["status"], f"{r['produce_s']:.1f}",
                      f"{r['produce_msg_s']:,}" if r["produce_msg_s"] else "-", f"{r['read_s']:.1f}",
                      f"{r['read_msg_s']:,}" if r["read_msg_s"] else "-")
    console.print(table)
    console.print(f"results: {path}")
    if any(r["status"] != "ok" for r in rows):
        raise typer.Exit(1)


@bench_app.command(name="report")
def bench_report_cmd(
        run: Optional[str] = typer.Option(None, help="A run id (default: the latest run)."),
        all_runs: bool = typer.Option(False, "--all", help="Every run in results/bench (a scaling study over runs)."),
        peer: Optional[list[Path]] = typer.Option(None, help="A peer's timings in db-benchmark's time.csv format "
                                                             "(`scalelab bench peer` writes one): adds the ratio "
                                                             "table. Repeat it for both peers."),
) -> None:
    """Render the Markdown summary and the HTML report of a benchmark run."""
    from scalelab.bench import peer as bench_peer
    from scalelab.bench import report as bench_report

    cfg = _config()
    try:
        df = bench_report.load(_results_dir(cfg) / "bench", run, all_runs)
        peer_rows = [row for path in peer for row in bench_peer.read_times(path)] if peer else None
    except (FileNotFoundError, bench_peer.PeerError) as exc:
        raise _fail(exc, 2) from None
    md, page = bench_report.write(df, _results_dir(cfg), peer_rows)
    console.print(md.read_text())
    console.print(f"report: {md}\n        {page}")


@bench_app.command(name="peer")
def bench_peer_cmd(
        checkout: Path = typer.Option(..., help="A checkout of duckdblabs/db-benchmark (groupby, join) or of "
                                                "pola-rs/polars-benchmark (tpch)."),
        suite: str = typer.Option("groupby", help="groupby or join (db-benchmark), tpch (polars-benchmark)."),
        scale: str = typer.Option("small", help="The scale of the data set (the same rows `scalelab bench` reads)."),
        solutions: str = typer.Option("pandas,polars,duckdb,dask,spark", help="The peer's solutions to run."),
        modes: str = typer.Option("scan,memory", help="tpch: polars-benchmark's IO types to run, as our modes "
                                                      "(scan: reading timed, memory: read before)."),
        timeout: float = typer.Option(3600.0, min=1, help="Seconds one script may run."),
        runs: int = typer.Option(1, min=1, help="groupby, join: run each script this many times; the report "
                                                "takes the median of its second runs (3 smooths the noise "
                                                "of sub-second questions)."),
) -> None:
    """Run the peer's own code on our data set, here, into results/peer/: db-benchmark's scripts for
    groupby and join, polars-benchmark's queries for TPC-H."""
    from scalelab.bench import peer as bench_peer
    from scalelab.bench import peer_tpch

    cfg = _config()
    _check_scale(scale)
    out = _results_dir(cfg) / "peer"
    try:
        if suite == "tpch":
            time_file, done = peer_tpch.run(checkout, scale, _names(solutions), out, _names(modes), timeout)
        else:
            time_file, done = bench_peer.run(checkout, suite, scale, _names(solutions), out, timeout, runs)
    except bench_peer.PeerError as exc:
        raise _fail(exc, 2) from None
    for r in done:
        console.print(f"{r.solution}: {'ok' if r.returncode == 0 else f'failed ({r.returncode})'} in "
                      f"{r.seconds:.0f} s; log {r.log}")
        for why in r.adapted:
            console.print(f"  {r.solution}'s script adapted: {why}")
        for what in r.failed:
            console.print(f"  {r.solution} failed (no timing kept): {what}")
    console.print(f"timings: {time_file}\nthen: scalelab bench report --peer {time_file}")
    if any(r.returncode != 0 for r in done):
        raise typer.Exit(1)


model_app = typer.Typer(help="The churn model that the model-api service serves.", no_args_is_help=True)
app.add_typer(model_app, name="model")


@model_app.command("train")
def model_train(scale: Optional[str] = typer.Option(None, help="Scale of the tabular data (default: "
                                                    "MODEL_API_TRAIN_SCALE).")) -> None:
    """Train the churn model and persist it with its card (versions, data, held-out scores, sha256)."""
    from scalelab.ml.serving import model

    card = model.train(_config(), scale)
    console.print(f"{card.model_id}: trained on {card.trained_rows:,} rows of {card.dataset}, held-out ROC AUC "
                  f"{card.holdout_roc_auc:.3f}, accuracy {card.holdout_accuracy:.3f}; scikit-learn {card.sklearn}")
    console.print(f"saved in {model.model_dir(_config())}; restart model-api to serve it "
                  "(make down && make up, or scalelab down/up)")


budget_app = typer.Typer(help="The stack's footprint and the suite's time against their budgets "
                              "(recorded by make test, make test-compose and .ci/run).", invoke_without_command=True)
app.add_typer(budget_app, name="budget")


@budget_app.callback()
def budget_show(ctx: typer.Context,
                readme: bool = typer.Option(False, "--readme", help="Write the table into README.md.")) -> None:
    """The last recorded value of each measurement, against its budget."""
    if ctx.invoked_subcommand is not None:
        return
    from scalelab.bench import budget

    cfg = _config()
    if readme:
        try:
            console.print(f"wrote {budget.write_readme(cfg)}")
        except ValueError as exc:
            raise _fail(exc, 2) from None
    console.print(budget.table(cfg), markup=False)


@budget_app.command("record")
def budget_record(measurement: str = typer.Argument(..., help="e.g. 'make test'"),
                  value: float = typer.Argument(...), unit: str = typer.Argument(..., help="s, GiB or tests"),
                  detail: str = typer.Option("", help="What the value covers.")) -> None:
    """Record one measurement (the scripts call this with what they timed)."""
    from scalelab.bench import budget

    try:
        budget.record(_config(), measurement, value, unit, detail)
    except ValueError as exc:
        raise _fail(exc, 2) from None


@app.command(name="quiz")
def quiz(number: Optional[str] = typer.Argument(None, help="A question's number (see --list); all in order if left out."),
         list_: bool = typer.Option(False, "--list", help="List the questions and stop."),
         topic: Optional[str] = typer.Option(None, help="Only this topic (numpy, pandas, ml, big data)."),
         scale: str = typer.Option("tiny", help="The data behind each demonstration."),
         demo: bool = typer.Option(True, "--demo/--no-demo", help="Run each answer's demonstration."),
         wait: bool = typer.Option(True, "--wait/--no-wait", help="Ask, wait for Enter, then answer.")) -> None:
    """Interview questions in the terminal: the question, your turn, the model answer and the numbers behind it."""
    from rich.markdown import Markdown

    from scalelab.cluster.services import not_healthy
    from scalelab.teaching import interview
    from scalelab.teaching.interview import demos

    try:
        chosen = [interview.find(number)] if number else interview.questions(topic=topic)
    except interview.QuestionError as exc:
        raise _fail(exc, 2) from None
    if not chosen:
        raise _fail(ValueError(f"no questions on {topic!r}; topics: "
                               f"{', '.join(sorted({q.topic for q in interview.questions()}))}"), 2)
    if list_:
        table = Table("#", "topic", "question")
        for q in chosen:
            table.add_row(q.id[:2], q.topic, q.title)
        console.print(table)
        return
    failed = 0
    for q in chosen:
        console.rule(f"[bold]{q.id[:2]} · {q.topic}")
        console.print(f"[bold]{q.title}[/]")
        if wait:
            typer.prompt("Answer it (aloud, or on paper), then press Enter for the model answer",
                         default="", show_default=False)
        console.print(Markdown(q.answer), soft_wrap=False)   # wrapped: prose, nothing to copy
        if demo:
            down = not_healthy(_config(), demos.NEEDS[q.demo])
            if down:
                console.print(f"[red]The demonstration needs {', '.join(down)}, which does not answer: "
                              "start the stack with `make up` (or `scalelab up`).[/]")
                failed += 1
                continue
            result = q.run_demo(scale)
            table = Table("the numbers (this lab's data, scale " + scale + ")", "")
            for key, value in result.numbers.items():
                table.add_row(key, str(value))
            console.print(table)
            for claim in result.claims:
                console.print(("[green]✔[/] " if claim.holds else "[red]✘ does not hold:[/] ") + claim.text)
            failed += len(result.failed())
    if failed:
        raise typer.Exit(1)


@app.command(name="pipeline")
def pipeline_step(step: str = typer.Argument(..., help="generate, validate, transform, agree or load"),
                  day: str = typer.Option(..., "--day", help="The day to process, YYYY-MM-DD (Airflow's {{ ds }})."),
                  rows: int = typer.Option(2000, help="generate: trips in the day."),
                  engine: str = typer.Option("duckdb", help="transform: spark or duckdb; load: whose output."),
                  attempt: int = typer.Option(1, help="generate: this attempt's number (Airflow's try number)."),
                  fail_attempts: int = typer.Option(0, help="generate: fail the first N attempts (retries demo)."),
                  dirty: bool = typer.Option(False, help="generate: repeat ids and stray a pickup (validation demo).")
                  ) -> None:
    """One step of the Airflow lab's daily pipeline; each is idempotent (a rerun changes nothing)."""
    from scalelab.apps import pipeline
    from scalelab.workloads import compare

    cfg = _config()
    try:
        when = pipeline.parse_day(day)
        if step == "generate":
            done = f"wrote {pipeline.generate(when, rows, attempt=attempt, fail_attempts=fail_attempts, dirty=dirty, cfg=cfg)}"
        elif step == "validate":
            done = f"{pipeline.validate(when, cfg)} trips of {when} pass validation"
        elif step == "transform":
            done = f"wrote {pipeline.transform(when, engine, cfg)}"
        elif step == "agree":
            done = f"spark and duckdb agree with the pandas reference: {pipeline.agree(when, cfg)} rows"
        elif step == "load":
            done = f"loaded {pipeline.load(when, engine, cfg)} rows of {when} into {pipeline.TABLE}"
        else:
            raise _fail(pipeline.PipelineError(f"unknown step {step!r}; steps: {', '.join(pipeline.STEPS)}"), 2)
    except (pipeline.PipelineError, compare.Mismatch) as exc:
        raise _fail(exc) from None
    console.print(f"{step} {when}: {done}")


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()

