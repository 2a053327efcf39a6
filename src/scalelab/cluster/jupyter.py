"""JupyterLab's server configuration: what a newcomer sees on first open, and the stack's UIs
behind JupyterLab's one port and token.

`scalelab serve jupyterlab` starts JupyterLab with `--config` naming jupyter_server_config.py
beside this module, which calls `configure`; the container and the local runtime run that same
command. Everything here is data derived from the services and the settings, so a unit test can
read it without a server.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from scalelab.cluster.services import services
from scalelab.config import Config

# dash installs a *source* JupyterLab extension (its tab mode), which works only after
# `jupyter lab build` (Node.js, minutes, a rebuilt JupyterLab), so JupyterLab's first page asks
# for a build in a modal dialog. No lab uses that mode (a Dash app shows inline, in an iframe,
# without it) and nothing here is built, so the build check is off (page_config). The
# extension stays unbuilt: `jupyter labextension list` still says a build is recommended.

# Settings overrides (JupyterLab's overrides.json): no news prompt and no update check on first
# open, a machine without the internet here and a lab, not a newsroom, on a learner's laptop.
# Dask's panes find the scheduler's dashboard through the proxy below (a path under JupyterLab's
# own URL, fetched with JupyterLab's token, so it works over one forwarded port).
def settings_overrides(uis: list[ProxiedUI]) -> dict:
    dask = next((ui for ui in uis if ui.service == "dask-scheduler"), None)
    return {
        "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
        "dask-labextension:plugin": {"defaultURL": dask.path if dask else "", "browserDashboardCheck": False,
                                     # its NEW button starts a LocalCluster inside JupyterLab's server, beside
                                     # the stack's own on a 2-core laptop: the stack's scheduler is the cluster
                                     "hideClusterManager": True},
    }


@dataclass(frozen=True)
class ProxiedUI:
    """One service's web UI, served by JupyterLab at `path` (its token required)."""
    service: str        # the service's name (scalelab status), also the path under JupyterLab
    title: str          # the launcher's label
    host: str           # where JupyterLab's server reaches it
    port: int
    absolute: bool      # the UI serves under /NAME/ itself: the proxy passes the path unchanged
    profile: str = "core"
    start: str = ""     # how to start it, when that is not `make up`

    def unreachable(self) -> str:
        if self.start:
            return f"{self.title} does not answer at {self.host}:{self.port}. {self.start}"
        start = "make up" if self.profile == "core" else f"make up PROFILE={self.profile}"
        return (f"{self.title} does not answer at {self.host}:{self.port}. "
                f"Is it running? `scalelab status` says; `{start}` starts it.")

    @property
    def path(self) -> str:
        return f"{self.service}/"


def ui_host(cfg: Config, service: str) -> str:
    """Where JupyterLab's server reaches a service: this machine, or (compose, where every
    service is a container of its own) the service's name, by SCALELAB_UI_HOST's template."""
    template = cfg.get("SCALELAB_UI_HOST")
    return template.format(service=service) if template else cfg.client_host


def proxied_uis(cfg: Config) -> list[ProxiedUI]:
    """Every service with a web UI, of every profile (a profile not started answers 503 with
    the proxy's own message), except JupyterLab itself."""
    out = []
    for svc in services(cfg, everything=True):
        if svc.url_setting is None or svc.role == "jupyterlab":
            continue
        if svc.ui_path not in ("/", f"/{svc.name}/"):
            raise ValueError(f"{svc.name}'s UI is served under {svc.ui_path}: behind JupyterLab's proxy a UI "
                             f"serves under / or under its own name, /{svc.name}/")
        out.append(ProxiedUI(svc.name, svc.description, ui_host(cfg, svc.name), cfg.port(svc.url_setting),
                             absolute=svc.ui_path != "/", profile=svc.profile))
    return out + [spark_application_ui(cfg)]


def spark_application_ui(cfg: Config) -> ProxiedUI:
    """The first Spark application's UI (SPARK_UI_PORT). Its driver runs in a notebook's kernel,
    on JupyterLab's own machine or container in both runtimes, so the proxy dials this machine.
    A second notebook's application takes the next port: its cell links to /proxy/PORT/jobs/."""
    return ProxiedUI("spark-app", "Spark application UI (the first notebook's session)", cfg.client_host,
                     cfg.port("SPARK_UI_PORT"), absolute=False,
                     start="No Spark application runs: `connect.spark()` in a notebook starts one.")


def page_config() -> dict:
    """JupyterLab's page config: no build check and no build button (see dash above)."""
    return {"buildAvailable": False, "buildCheck": False}


# UIs whose page anchors every script and API call to one `<base href="/">` tag (Airflow 3's
# React UI): behind the proxy that tag must name the proxy's path, and nothing else changes.
_BASE_HREF_PAGES = {"airflow-api"}
# UIs that draw their links under the proxy's path (Spark's, from the X-Forwarded-Context header
# jupyter-server-proxy sends) but redirect to absolute URLs without it (`/` to `http://HOST/jobs/`).
_ABSOLUTE_REDIRECTS = {"spark-app", "spark-history"}


def rebase_page(body: bytes, path: str) -> bytes:
    """A page's `<base href="/">` pointed at `/path` (the first one only; other bytes untouched)."""
    return body.replace(b'<base href="/"', f'<base href="/{path}"'.encode(), 1)


def host_relative(location: str) -> str:
    """A redirect's absolute Location as a path on the same host (`http://h:4040/jobs/` -> `/jobs/`):
    jupyter-server-proxy puts its own prefix before such a path, not before an absolute URL."""
    from urllib.parse import urlsplit

    target = urlsplit(location)
    if not target.netloc:
        return location
    return (target.path or "/") + (f"?{target.query}" if target.query else "")


def _server_process(ui: ProxiedUI):
    """A jupyter-server-proxy server for a UI that is already running (no command), on any host.

    jupyter-server-proxy's named servers reach only localhost; in compose the UIs are other
    containers. The named handler is subclassed to dial `ui.host` instead.
    """
    from jupyter_server_proxy.config import ServerProcess
    from jupyter_server_proxy.handlers import NamedLocalProxyHandler, ProxyHandler
    from tornado import web

    class _Handler(NamedLocalProxyHandler):
        async def proxy(self, port, path):
            try:
                return await ProxyHandler.proxy(self, ui.host, port, path if path.startswith("/") else "/" + path)
            except OSError:      # refused, no route, the name unknown: the UI is not up
                raise web.HTTPError(503, ui.unreachable()) from None
            except web.HTTPError as err:
                # 500 is the proxy's own "could not connect" (a UI's own 500 passes through as
                # its answer), 599 its timeout: say which service and how to start it.
                if err.status_code in (500, 599):
                    raise web.HTTPError(503, ui.unreachable()) from None
                raise

        async def open(self, path):
            return await self.proxy_open(ui.host, self.port, path)

    class _Process(ServerProcess):
        def get_proxy_base_class(self):
            return _Handler, dict(host_allowlist=[ui.host])

    def rewrite(response):
        if not response.headers.get("Content-Type", "").startswith("text/html"):
            return
        body = response.body
        if response.headers.get("Content-Encoding") == "gzip":    # the proxy passes bodies as sent
            import gzip

            body = gzip.decompress(body)
            del response.headers["Content-Encoding"]
        response.body = rebase_page(body, ui.path)

    def redirect(response):
        if "Location" in response.headers:
            response.headers["Location"] = host_relative(response.headers["Location"])

    extra = ({"rewrite_response": rewrite} if ui.service in _BASE_HREF_PAGES
             else {"rewrite_response": redirect} if ui.service in _ABSOLUTE_REDIRECTS else {})
    return _Process(name=ui.service, port=ui.port, command=[], absolute_url=ui.absolute, new_browser_tab=True, **extra,
                    launcher_entry={"title": ui.title, "category": "Stack UIs", "path_info": ui.path})


def configure(c, cfg: Config) -> None:
    """Fill JupyterLab's traitlets config `c` (jupyter_server_config.py calls this)."""
    c.ServerApp.tornado_settings = {"page_config_data": page_config()}
    settings_dir = cfg.state_dir / "jupyter" / "lab-settings"
    settings_dir.mkdir(parents=True, exist_ok=True)
    overrides = settings_dir / "overrides.json"
    tmp = overrides.with_suffix(".tmp")
    uis = proxied_uis(cfg)
    tmp.write_text(json.dumps(settings_overrides(uis), indent=2))
    tmp.replace(overrides)
    c.LabApp.app_settings_dir = str(settings_dir)
    c.LabApp.news_url = None
    c.LabApp.check_for_updates_class = "jupyterlab.handlers.announcements.NeverCheckForUpdate"
    c.ServerProxy.servers = {ui.service: _server_process(ui) for ui in uis}
