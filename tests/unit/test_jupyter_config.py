"""JupyterLab's server configuration (scalelab.cluster.jupyter), read without a server: what the
first open shows, and which UIs sit behind JupyterLab's port, reached where, in both runtimes.
The browser test (tests/stack/test_browser.py) checks the same on the running stack."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from traitlets.config import Config as Traits

from scalelab.cluster import jupyter
from scalelab.cluster.services import by_name, services
from scalelab.config import Config

ROOT = Path(__file__).resolve().parents[2]


def _cfg(tmp_path, **env) -> Config:
    return Config.load(root=tmp_path, environ={"SCALELAB_STATE_DIR": str(tmp_path / "state"), **env})


def test_the_first_open_asks_for_no_build_no_news_and_no_update_check(tmp_path):
    cfg = _cfg(tmp_path)
    assert jupyter.page_config() == {"buildAvailable": False, "buildCheck": False}
    c = Traits()
    jupyter.configure(c, cfg)
    assert c.ServerApp.tornado_settings["page_config_data"]["buildCheck"] is False
    assert c.LabApp.news_url is None
    assert c.LabApp.check_for_updates_class.endswith("NeverCheckForUpdate")
    # the overrides JupyterLab reads are written where the config points, whole (by rename)
    overrides = json.loads((Path(c.LabApp.app_settings_dir) / "overrides.json").read_text())
    assert overrides["@jupyterlab/apputils-extension:notification"] == {"fetchNews": "false",
                                                                         "checkForUpdates": False}
    assert not list(Path(c.LabApp.app_settings_dir).glob("*.tmp"))


def test_dasks_panes_point_at_the_schedulers_dashboard_through_jupyterlab_and_start_no_cluster(tmp_path):
    dask = jupyter.settings_overrides(jupyter.proxied_uis(_cfg(tmp_path)))["dask-labextension:plugin"]
    assert dask["defaultURL"] == "dask-scheduler/"      # relative: JupyterLab's own origin and token
    assert dask["hideClusterManager"] is True


def test_every_service_with_a_ui_is_proxied_but_jupyterlab_itself(tmp_path):
    cfg = _cfg(tmp_path)
    uis = {ui.service: ui for ui in jupyter.proxied_uis(cfg)}
    with_ui = {s.name for s in services(cfg, everything=True) if s.url_setting} - {"jupyterlab"}
    assert set(uis) == with_ui | {"spark-app"}
    assert {"spark-master", "spark-history", "dask-scheduler", "ray-head", "dashboard", "airflow-api"} <= with_ui
    for name, ui in uis.items():
        if name == "spark-app":
            continue
        svc = by_name(cfg, name)
        assert (ui.host, ui.port) == (cfg.client_host, cfg.port(svc.url_setting))
        assert ui.path == f"{name}/" and ui.absolute == (svc.ui_path == f"/{name}/")
    # Dash names its scripts by absolute paths: it serves under its own name and the proxy keeps the path
    assert uis["dashboard"].absolute and cfg.dashboard_url().endswith(":8050/dashboard/")


def test_under_compose_each_ui_is_reached_by_its_services_name_which_compose_defines(tmp_path):
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    template = compose["x-python"]["environment"]["SCALELAB_UI_HOST"]
    cfg = _cfg(tmp_path, SCALELAB_UI_HOST=template)
    for ui in jupyter.proxied_uis(cfg):
        if ui.service == "spark-app":
            continue
        assert ui.host == ui.service and ui.service in compose["services"], ui


def test_the_first_spark_applications_ui_is_dialled_where_the_notebooks_kernel_runs(tmp_path):
    # The driver is the kernel, on JupyterLab's own machine or container: never another service's host.
    for env in ({}, {"SCALELAB_UI_HOST": "{service}", "SCALELAB_BIND_HOST": "0.0.0.0"}):
        cfg = _cfg(tmp_path, SPARK_UI_PORT="4123", **env)
        ui = {u.service: u for u in jupyter.proxied_uis(cfg)}["spark-app"]
        assert (ui.host, ui.port, ui.path) == ("127.0.0.1", 4123, "spark-app/")
        assert "`connect.spark()` in a notebook starts one" in ui.unreachable()
        assert "make up" not in ui.unreachable()


def test_sparks_absolute_redirects_stay_under_the_proxy():
    # Spark's UIs redirect `/` to http://HOST:PORT/jobs/: as a path the proxy puts its prefix on it
    assert jupyter.host_relative("http://127.0.0.1:4040/jobs/") == "/jobs/"
    assert jupyter.host_relative("http://h:18080/history/app-1/jobs/?attempt=1") == "/history/app-1/jobs/?attempt=1"
    assert jupyter.host_relative("/jobs/") == "/jobs/" and jupyter.host_relative("jobs/") == "jobs/"


def test_the_spark_uis_get_the_redirect_rewrite_and_only_they(tmp_path):
    from types import SimpleNamespace

    from tornado.httputil import HTTPHeaders

    c = Traits()
    jupyter.configure(c, _cfg(tmp_path))
    servers = c.ServerProxy.servers
    for name in ("spark-app", "spark-history"):
        response = SimpleNamespace(body=b"", headers=HTTPHeaders({"Location": "http://127.0.0.1:4040/jobs/"}))
        servers[name].rewrite_response(response)
        assert response.headers["Location"] == "/jobs/", name
    assert not servers["dask-scheduler"].rewrite_response


def test_the_proxy_servers_dial_each_uis_host_and_list_it_in_the_launcher(tmp_path):
    cfg = _cfg(tmp_path, SCALELAB_UI_HOST="{service}")
    c = Traits()
    jupyter.configure(c, cfg)
    servers = c.ServerProxy.servers
    assert set(servers) == {ui.service for ui in jupyter.proxied_uis(cfg)}
    spark = servers["spark-master"]
    assert spark.command == [] and spark.port == cfg.port("SPARK_MASTER_WEBUI_PORT")
    assert spark.launcher_entry.title == "Spark standalone master"
    assert spark.launcher_entry.category == "Stack UIs"
    handler, kwargs = spark.get_proxy_base_class()
    assert kwargs["host_allowlist"] == ["spark-master"]
    assert servers["dashboard"].absolute_url and not spark.absolute_url


def test_a_ui_that_is_not_running_is_named_with_how_to_start_it(tmp_path):
    uis = {ui.service: ui for ui in jupyter.proxied_uis(_cfg(tmp_path))}
    assert "`make up PROFILE=platform` starts it" in uis["airflow-api"].unreachable()
    assert "`make up` starts it" in uis["ray-head"].unreachable()


def test_a_ui_served_under_a_path_not_its_own_name_is_refused(tmp_path, monkeypatch):
    from dataclasses import replace

    from scalelab.cluster import jupyter as module

    cfg = _cfg(tmp_path)
    bad = [replace(s, ui_path="/elsewhere/") if s.name == "dashboard" else s for s in services(cfg, everything=True)]
    monkeypatch.setattr(module, "services", lambda cfg, everything=False: bad)
    with pytest.raises(ValueError, match="dashboard's UI is served under /elsewhere/"):
        jupyter.proxied_uis(cfg)


def test_jupyterlab_is_started_with_this_config_in_both_runtimes(tmp_path):
    launch = by_name(_cfg(tmp_path), "jupyterlab").launch(_cfg(tmp_path), 0)
    config = next(a for a in launch.argv if a.startswith("--config="))
    path = Path(config.split("=", 1)[1])
    assert path.exists() and "configure(get_config()" in path.read_text()


def test_airflows_page_is_rebased_on_the_proxys_path_and_nothing_else_changes():
    page = b'<head><base href="/" /><script src="./static/a.js"></script></head><a href="/">home</a>'
    assert jupyter.rebase_page(page, "airflow-api/") == page.replace(b'<base href="/"', b'<base href="/airflow-api/"')
    assert jupyter.rebase_page(b"<p>no base</p>", "airflow-api/") == b"<p>no base</p>"


def test_the_rebase_reads_a_gzipped_page_and_sends_it_plain(tmp_path):
    import gzip

    from types import SimpleNamespace

    from tornado.httputil import HTTPHeaders

    c = Traits()
    jupyter.configure(c, _cfg(tmp_path))
    rewrite = c.ServerProxy.servers["airflow-api"].rewrite_response
    # what jupyter-server-proxy hands a rewrite: the backend's headers and body, as sent
    response = SimpleNamespace(body=gzip.compress(b'<base href="/" />'),
                               headers=HTTPHeaders({"Content-Type": "text/html", "Content-Encoding": "gzip"}))
    rewrite(response)
    assert response.body == b'<base href="/airflow-api/" />' and "Content-Encoding" not in response.headers
    script = SimpleNamespace(body=b'<base href="/"', headers=HTTPHeaders({"Content-Type": "text/javascript"}))
    rewrite(script)
    assert script.body == b'<base href="/"'                 # only pages are rebased
    assert not c.ServerProxy.servers["spark-master"].rewrite_response
