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
