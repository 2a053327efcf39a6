"""A real browser against JupyterLab: headless Chromium (Debian's `chromium`, installed by `make test`),
driven over the DevTools protocol (tests/stack/cdp.py).

Refused without the token; with it, the first open shows no dialog and no notification, lab 2
opens with Dask's panes drawn from the stack's scheduler through JupyterLab's own port, the
launcher lists the stack's UIs, and the Spark, Dask and Ray UIs render under JupyterLab's URL.
Screenshots are kept in results/browser/ (taken before the checks, so a failure keeps one).
"""

import os
import subprocess

import pytest
import requests
from cdp import chromium as _chromium

pytestmark = [pytest.mark.stack, pytest.mark.jupyter]

# What JupyterLab shows that a learner must dismiss before working: modal dialogs (the build
# prompt was one) and notification toasts (the news prompt was one).
_INTERRUPTIONS = ("Array.from(document.querySelectorAll('.jp-Dialog, .Toastify__toast'))"
                  ".map(e => e.innerText.trim().slice(0, 300))")


def _open_notebook(browser, jupyter, cfg, path: str, title: str) -> None:
    browser.goto(f"{jupyter}/lab/tree/{path}?token={cfg.jupyter_token}")
    browser.wait_for(f"document.body.innerText.includes({title!r})", f"{path} to render")


def test_without_the_token_the_browser_gets_the_login_page(jupyter, tmp_path):
    proc = subprocess.run([_chromium(), "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                           f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000", "--dump-dom",
                           f"{jupyter}/lab"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "login" in proc.stdout and "Password or token" in proc.stdout
    assert "jp-LabShell" not in proc.stdout


def test_the_first_open_shows_no_dialog_and_lab_1_renders(jupyter, cfg, browser, shots):
    _open_notebook(browser, jupyter, cfg, "labs/01_tour.ipynb", "Lab 1 — A tour of the stack")
    # The build check and the news prompt came within a second of the page; give them five.
    browser.wait_for("new Promise(r => setTimeout(() => r(true), 5000))", "five seconds")
    shot = browser.screenshot(shots / "lab01.png")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    assert browser.js(_INTERRUPTIONS) == [], f"JupyterLab's first open interrupts the learner (see {shot})"
    # The extensions the lab environment adds are on the page: the memory indicator and Git.
    status_bar = browser.text(".jp-StatusBar-Widget")
    assert "Mem:" in status_bar, status_bar
    assert browser.js("Array.from(document.querySelectorAll('.lm-MenuBar-itemLabel')).some(e => e.innerText === 'Git')")


def test_lab_2_shows_dasks_panes_from_the_stacks_scheduler_through_jupyterlab(jupyter, cfg, browser, shots, require):
    require("dask-scheduler")
    _open_notebook(browser, jupyter, cfg, "labs/02_pandas_to_dask.ipynb", "Lab 2 — From pandas to Dask")
    browser.click('li[data-id="dask-dashboard-launcher"]')
    url = browser.wait_for("document.querySelector('#dask-dashboard-launcher input')?.value", "the dashboard's URL")
    assert url == f"{jupyter}/dask-scheduler/", url          # under JupyterLab's port, not the dashboard's own
    try:
        browser.wait_for("Array.from(document.querySelectorAll('#dask-dashboard-launcher li.dask-DashboardListing-item'))"
                         ".some(e => e.textContent.trim() === 'Task Stream')", "the extension to list the dashboard's plots")
    finally:
        browser.screenshot(shots / "lab02-dask-panel.png")
    # no NEW button that would start a LocalCluster inside JupyterLab's server
    assert browser.js("document.querySelector('.dask-DaskClusterManager')?.offsetParent ?? null") is None
    browser.js("Array.from(document.querySelectorAll('#dask-dashboard-launcher li.dask-DashboardListing-item button'))"
               ".find(e => e.textContent.trim() === 'Task Stream').click()")
    pane = browser.wait_for(
        "(() => { const f = Array.from(document.querySelectorAll('iframe')).find(f => f.src.includes('/dask-scheduler/'));"
        " return f && f.contentDocument && f.contentDocument.querySelector('.bk-Canvas, .bk-Figure, [data-root-id]')"
        " ? f.src : null; })()", "a Dask pane to draw its Bokeh plot")
    browser.screenshot(shots / "lab02-dask-pane.png")
    assert pane.startswith(f"{jupyter}/dask-scheduler/individual-"), pane


def test_the_launcher_lists_the_stacks_uis(jupyter, cfg, browser, shots):
    browser.goto(f"{jupyter}/lab?reset&token={cfg.jupyter_token}")
    cards = browser.wait_for(
        "(() => { const c = Array.from(document.querySelectorAll('.jp-LauncherCard')).map(e => e.title || e.innerText);"
        " return c.some(t => t.includes('Spark standalone master')) ? c : null; })()", "the launcher's cards")
    browser.screenshot(shots / "launcher.png")
    for title in ("Spark standalone master", "Spark history server", "Spark application UI (the first notebook's session)",
                  "Dask scheduler", "Ray head node", "Trips dashboard (Dash)", "Airflow API server and UI (platform profile)"):
        assert any(title in c for c in cards), (title, cards)


@pytest.mark.parametrize("path, rendered, service", [
    ("spark-master/", "document.body.innerText.includes('Spark Master at spark://')", "spark-master"),
    # the history server's listing is drawn by its script from its REST API, fetched under the prefix
    # (its table, or its "No completed applications found!", both of which its script draws)
    ("spark-history/", "document.body.innerText.includes('Event log directory')"
                       " && (!!document.querySelector('#history-summary table')"
                       " || document.body.innerText.includes('No completed applications found'))", "spark-history"),
    ("dask-scheduler/status", "!!document.querySelector('.bk-Canvas, [data-root-id]')", "dask-scheduler"),
    # Ray's dashboard is a React app: rendered means its scripts, fetched under the prefix, ran
    ("ray-head/", "document.querySelector('#root')?.innerText.includes('Overview')", "ray-head"),
    # Airflow's React UI, rebased on the proxy's path, redirects to its own login page there
    ("airflow-api/", "location.pathname.startsWith('/airflow-api/auth/login')"
                     " && document.body.innerText.includes('Sign into Airflow')", "airflow-api"),
    ("dashboard/", "document.body.innerText.includes('Trips:') && !!document.querySelector('.js-plotly-plot')",
     "dashboard"),
])
def test_the_engines_uis_render_through_jupyterlabs_port(jupyter, cfg, browser, shots, require, path, rendered,
                                                         service):
    require(service)
    browser.goto(f"{jupyter}/lab?token={cfg.jupyter_token}")        # logs in: the cookie now carries the token
    browser.wait_for("!!document.querySelector('.jp-LabShell')", "JupyterLab")
    browser.goto(f"{jupyter}/{path}")
    try:
        browser.wait_for(rendered, f"{path} to render under JupyterLab's URL")
    finally:
        browser.screenshot(shots / f"proxied-{service}.png")


# The session is this test process's, a driver on the host: in compose JupyterLab's proxy reaches the
# drivers of its own container (a notebook's kernel), which tests/stack/test_spark_ui.py checks there.
@pytest.mark.local_runtime
def test_a_running_spark_applications_ui_renders_through_jupyterlabs_port(jupyter, cfg, browser, shots, spark):
    from scalelab.cluster import spark_jobs

    spark.range(1000).selectExpr("sum(id)").collect()
    browser.goto(f"{jupyter}/lab?token={cfg.jupyter_token}")
    browser.wait_for("!!document.querySelector('.jp-LabShell')", "JupyterLab")
    jobs = spark_jobs.ui_path(spark.sparkContext)
    for path, shown in ((jobs, "Completed Jobs"), (jobs.replace("/jobs/", "/SQL/"), "SQL Executions")):
        browser.goto(f"{jupyter}{path}")
        try:
            # the page's scripts came through the proxy too: they drew its table and its header
            browser.wait_for(f"document.body.innerText.includes({shown!r})"
                             " && document.body.innerText.includes('scalelab-tests application UI')"
                             " && !!document.querySelector('table')", f"{path} to render under JupyterLab's URL")
        finally:
            browser.screenshot(shots / f"proxied-spark-app{'-sql' if 'SQL' in path else ''}.png")


@pytest.mark.parametrize("path", ["spark-master/", "spark-history/", "spark-app/", "dask-scheduler/status", "ray-head/",
                                  "dashboard/"])
def test_the_proxied_uis_need_jupyterlabs_token(jupyter, path):
    got = requests.get(f"{jupyter}/{path}", allow_redirects=False, timeout=10)
    assert got.status_code in (302, 403), got.status_code
    assert "/login" in got.headers.get("Location", "/login"), got.headers


def test_a_ui_that_is_not_running_gets_a_message_naming_it_and_how_to_start_it(tmp_path, cfg):
    # JupyterLab's own server with the stack's config, its UIs pointed at a host where nothing
    # listens (every service stopped, as JupyterLab sees it): each answers 503 naming itself.
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    from scalelab.cluster.services import by_name

    launch = by_name(cfg, "jupyterlab").launch(cfg, 0)
    config = next(a for a in launch.argv if a.startswith("--config="))
    env = {**os.environ, "SCALELAB_UI_HOST": "127.0.0.9", "JUPYTER_TOKEN": "t0ken", "JUPYTER_PORT": str(port),
           "SCALELAB_STATE_DIR": str(tmp_path / "state")}
    env.pop("JUPYTER_TOKEN_FILE", None)
    server = subprocess.Popen([sys.executable, "-m", "jupyterlab", "--no-browser", "--ip", "127.0.0.1",
                               "--port", str(port), "--ServerApp.port_retries=0", "--allow-root", config],
                              env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                got = requests.get(f"http://127.0.0.1:{port}/airflow-api/", headers={"Authorization": "token t0ken"},
                                   timeout=10)
                break
            except requests.ConnectionError:
                assert server.poll() is None and time.monotonic() < deadline, "JupyterLab did not start"
                time.sleep(0.5)
        assert got.status_code == 503
        assert "Airflow API server" in got.text and "make up PROFILE=platform" in got.text, got.text[-1500:]
        got = requests.get(f"http://127.0.0.1:{port}/ray-head/", headers={"Authorization": "token t0ken"}, timeout=10)
        assert got.status_code == 503 and "Ray head node does not answer at 127.0.0.9" in got.text
    finally:
        server.terminate()
        server.wait(timeout=30)
