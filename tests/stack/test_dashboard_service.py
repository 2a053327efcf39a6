"""The dashboard service `make up` started: its page loads and a dropdown change comes back with the right counts."""

import pytest
import requests

from scalelab.apps import dashboard

pytestmark = [pytest.mark.stack]


def test_the_dashboard_answers_a_real_callback(cfg, require):
    require("dashboard")
    base = cfg.dashboard_url().rstrip("/")
    page = requests.get(base + "/", timeout=10)
    assert page.status_code == 200 and "scalelab trips" in page.text
    got = requests.post(base + "/_dash-update-component", json=dashboard.callback_payload("Manhattan"), timeout=30)
    assert got.status_code == 200, got.text[:300]
    trips, zones = dashboard.load(cfg)
    manhattan = trips["pickup_zone"].isin(zones.loc[zones["borough"] == "Manhattan", "zone_id"]).sum()
    assert dashboard.values(got.json()["response"]["per-hour"]["figure"]["data"][0]["y"]).sum() == manhattan


@pytest.mark.local_runtime
def test_the_dashboard_idles_in_a_few_mib_until_its_first_request(cfg, require):
    # SCALELAB_ON_DEMAND (issue 24): the activator holds the port, the Dash server starts on the
    # first request. Restarted here so the test does not depend on which test asked before it.
    from scalelab.cluster import health, local
    from scalelab.cluster.services import by_name

    require("dashboard")
    svc = by_name(cfg, "dashboard")
    local.stop(cfg, svc)
    local.start(cfg, svc)
    assert local.wait_healthy(cfg, svc, 30).startswith("on demand: idle"), "healthy without starting Dash"
    procs = local.processes_by_service(cfg)["dashboard"]
    assert len(procs) == 1 and sum(p.memory_full_info().pss for p in procs) < 30 * 2**20
    page = requests.get(cfg.dashboard_url(), timeout=60)
    assert page.status_code == 200 and "scalelab trips" in page.text
    assert health.on_demand_state(cfg, "DASHBOARD_PORT")["backend"] == "running"
    assert svc.probe(cfg, 0).endswith("graph(s)")                  # the server's own probe, once it runs
    assert len(local.processes_by_service(cfg)["dashboard"]) == 2
