"""Spark's application UI, its history server and job progress under a notebook's cell, as a
user reaches them: through JupyterLab's one port and token, and in a kernel."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid

import pytest
import requests

from scalelab.cluster import spark_jobs

pytestmark = [pytest.mark.stack, pytest.mark.spark]


def _get(jupyter, cfg, path, **kw):
    return requests.get(f"{jupyter}{path}", headers={"Authorization": f"token {cfg.jupyter_token}"}, timeout=30, **kw)


_IN_KERNEL = """
import json, requests
from scalelab.cluster import connect, spark_jobs
from scalelab.config import Config
cfg = Config.load()
spark = connect.spark(NAME)
spark.range(1000).selectExpr("sum(id)").collect()
path = spark_jobs.ui_path(spark.sparkContext)
page = requests.get(cfg.url("JUPYTER_PORT", path), headers={"Authorization": f"token {cfg.jupyter_token}"}, timeout=30)
app = spark.sparkContext.applicationId
spark.stop()
print(json.dumps({"path": path, "status": page.status_code, "named": NAME in page.text, "id": app}))
"""


def test_a_notebooks_session_serves_its_ui_through_jupyterlab_and_the_history_server_keeps_it(in_kernel, jupyter,
                                                                                              cfg, require):
    # A kernel of the running JupyterLab, as a notebook's cell: in compose, inside JupyterLab's container,
    # where the driver runs and writes its event log to the volume the history server reads.
    require("spark-master", "spark-worker", "spark-history")
    name = f"kernel-ui-{uuid.uuid4().hex[:8]}"
    out = json.loads(in_kernel(f"NAME = {name!r}\n" + _IN_KERNEL, timeout=240).strip().splitlines()[-1])
    assert out["path"].startswith("/proxy/") and out["status"] == 200 and out["named"], out
    deadline = time.monotonic() + 60
    while True:
        apps = _get(jupyter, cfg, "/spark-history/api/v1/applications?status=completed").json()
        if any(a["id"] == out["id"] for a in apps) or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert any(a["id"] == out["id"] and a["name"] == name for a in apps), [a["id"] for a in apps][:10]
    page = _get(jupyter, cfg, f"/spark-history/history/{out['id']}/jobs/")
    assert page.status_code == 200 and name in page.text


# The two below use this test process's session, a driver on the host: in compose JupyterLab's proxy
# reaches only its own container's drivers (the kernel test above checks that runtime).
@pytest.mark.local_runtime
def test_the_application_ui_answers_through_jupyterlabs_port(spark, jupyter, cfg):
    path = spark_jobs.ui_path(spark.sparkContext)
    lo = cfg.port("SPARK_UI_PORT")
    assert lo <= int(path.split("/")[2]) <= lo + cfg.int("SPARK_UI_PORTS"), path
    spark.range(1000).selectExpr("sum(id)").collect()
    got = _get(jupyter, cfg, path)
    assert got.status_code == 200 and "scalelab-tests" in got.text, (got.status_code, got.text[:300])
    # its links stay under the proxy's path (Spark reads the X-Forwarded-Context header the proxy sends)
    prefix = path.rsplit("/jobs/", 1)[0]
    assert f'href="{prefix}/stages/"' in got.text
    # the launcher's entry is the first application's UI (SPARK_UI_PORT): this one's or one started before it
    first = _get(jupyter, cfg, "/spark-app/")
    assert first.status_code == 200 and first.url.endswith("/spark-app/jobs/") and "application UI" in first.text
    # and without JupyterLab's token there is no UI
    assert requests.get(f"{jupyter}{path}", allow_redirects=False, timeout=10).status_code in (302, 403)


_SECOND_APP = """
import json, sys
from scalelab.cluster import connect
s = connect.spark(sys.argv[1])
s.range(100).selectExpr("sum(id)").collect()
print(json.dumps({"ui": s.sparkContext.uiWebUrl, "id": s.sparkContext.applicationId}), flush=True)
s.stop()
"""


@pytest.mark.local_runtime
def test_a_second_application_takes_the_next_ui_port_and_the_history_server_shows_it_once_ended(
        spark, jupyter, cfg, require, tmp_path):
    require("spark-history")
    name = f"history-check-{uuid.uuid4().hex[:8]}"
    script = tmp_path / "second.py"
    script.write_text(_SECOND_APP)
    done = subprocess.run([sys.executable, str(script), name], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    second = json.loads(done.stdout.strip().splitlines()[-1])
    # the test session holds its port all along: the second driver's UI took another one
    assert second["ui"].rsplit(":", 1)[1] != spark.sparkContext.uiWebUrl.rsplit(":", 1)[1]

    deadline = time.monotonic() + 60
    while True:
        apps = _get(jupyter, cfg, "/spark-history/api/v1/applications?status=completed").json()
        if any(a["id"] == second["id"] for a in apps) or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert any(a["id"] == second["id"] and a["name"] == name for a in apps), [a["id"] for a in apps][:10]
    # its UI, rebuilt from the event log, through JupyterLab's port (the app's root redirects to its jobs)
    page = _get(jupyter, cfg, f"/spark-history/history/{second['id']}/")
    assert page.status_code == 200 and page.url.endswith(f"/spark-history/history/{second['id']}/jobs/"), page.url
    assert name in page.text


_NOTEBOOK = [
    "from scalelab.cluster import connect\nspark = connect.spark('progress-check')",
    # eight tasks of a second each on the application's two cores: a job of about four seconds
    "import time\n"
    "def slow(batches):\n"
    "    for b in batches:\n"
    "        time.sleep(1.0)\n"
    "        yield b\n"
    "spark.range(0, 8, numPartitions=8).mapInPandas(slow, 'id long').count()",
    "spark.range(10).count()",
    "spark.stop()",
]


def test_a_long_job_shows_its_bar_under_its_own_cell_and_a_quick_one_shows_none(require):
    require("spark-master", "spark-worker")
    import nbformat
    from nbclient import NotebookClient

    from scalelab.teaching.notebooks import WIDGET_VIEW

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in _NOTEBOOK]
    NotebookClient(nb, timeout=300, kernel_name="python3").execute()

    def widgets(cell):
        return [o for o in cell.outputs if WIDGET_VIEW in o.get("data", {})]

    link = [o["data"]["text/html"] for o in nb.cells[0].outputs if "text/html" in o.get("data", {})]
    assert link and '<a href="/proxy/' in link[0] and "/jobs/" in link[0], nb.cells[0].outputs
    assert len(widgets(nb.cells[1])) == 1, nb.cells[1].outputs
    assert widgets(nb.cells[2]) == [] and widgets(nb.cells[3]) == []
    # the bar's last state, as the kernel left it: every task of the job counted, and the bar full
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    bars = [m["state"] for m in state.values() if m["model_name"] == "FloatProgressModel"]
    labels = [m["state"]["value"] for m in state.values() if m["model_name"] == "HTMLModel"]
    assert [(b["value"], b["max"], b["bar_style"]) for b in bars] == [(8.0, 8.0, "success")], bars
    assert any("Spark\u2007job" in v and "stages\u20071/1" in v for v in labels), labels
