"""The trips dashboard's figures against pandas, and its Dash callback through Flask's test client.

tests/stack/test_dashboard_service.py sends the same request to the service `make up` started.
"""

import pandas as pd
import pytest

from scalelab.apps import dashboard


@pytest.fixture(scope="module")
def data():
    return dashboard.load()


@pytest.mark.parametrize("borough", [dashboard.ALL, "Brooklyn"])
def test_the_figures_count_what_pandas_counts(data, borough):
    trips, zones = data
    figs = dashboard.figures(trips, zones, borough)
    expected = trips if borough == dashboard.ALL else trips[trips["pickup_zone"].isin(zones.loc[zones["borough"] == borough, "zone_id"])]
    per_hour = dashboard.values(figs["per-hour"].to_plotly_json()["data"][0]["y"])
    assert len(per_hour) == 7 * 24 and per_hour.sum() == len(expected)
    per_zone = dashboard.values(figs["map"].to_plotly_json()["data"][0]["marker"]["size"])
    assert per_zone.sum() == len(expected)


def test_a_dropdown_change_updates_the_three_graphs(data):
    trips, zones = data
    client = dashboard.create_app().server.test_client()
    assert client.get("/").status_code == 200
    got = client.post("/_dash-update-component", json=dashboard.callback_payload("Queens"))
    assert got.status_code == 200
    response = got.get_json()["response"]
    assert set(response) == {"per-hour", "fares", "map"}
    queens = trips["pickup_zone"].isin(zones.loc[zones["borough"] == "Queens", "zone_id"]).sum()
    assert dashboard.values(response["per-hour"]["figure"]["data"][0]["y"]).sum() == queens
    assert "Queens" in response["per-hour"]["figure"]["layout"]["title"]["text"]


def test_the_selection_keeps_every_trip_once(data):
    trips, zones = data
    by_borough = sum(len(dashboard.select(trips, zones, b)) for b in zones["borough"].unique())
    assert by_borough == len(dashboard.select(trips, zones, dashboard.ALL)) == len(trips)
    assert isinstance(dashboard.select(trips, zones, "Bronx"), pd.DataFrame)


@pytest.mark.parametrize("value", [["Queens"], {"a": 1}, "Atlantis", None, 7])
def test_a_borough_that_is_not_in_the_dropdown_is_a_400_saying_so(data, value):
    client = dashboard.create_app().server.test_client()
    got = client.post("/_dash-update-component", json=dashboard.callback_payload(value))
    assert got.status_code == 400 and "borough must be one of" in got.get_json()["error"]


def test_a_body_that_is_not_a_callback_request_is_a_400(data):
    client = dashboard.create_app().server.test_client()
    for body in (b"{not json", b"[]", b'{"inputs": "x"}'):
        got = client.post("/_dash-update-component", data=body, content_type="application/json")
        assert got.status_code == 400, body
