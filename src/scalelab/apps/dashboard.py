"""The trips dashboard: a small Dash app that runs as the stack's `dashboard` service.

Three views of the `trips` data set, filtered by a borough picked in a dropdown: pickups per
hour of the week, fares by payment type, and pickups per zone on a map (zone centres; no map
tiles, which would need the internet). `figures` computes them (tested against pandas); the
app only wires them to the dropdown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    import numpy as np

from scalelab.config import DASHBOARD_BASE_PATH, Config

ALL = "all boroughs"
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def load(cfg: Config | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    from scalelab import datasets

    cfg = cfg or Config.load()
    ds = datasets.generate("trips", scale=cfg.get("DASHBOARD_SCALE"))
    trips = pd.read_parquet(ds.table_path("trips"), columns=["pickup_at", "pickup_zone", "fare", "payment_type"])
    return trips, pd.read_parquet(ds.table_path("zones"))


def select(trips: pd.DataFrame, zones: pd.DataFrame, borough: str) -> pd.DataFrame:
    """The trips picked up in `borough` (or all), with their pickup zone's name, borough and position."""
    joined = trips.merge(zones, left_on="pickup_zone", right_on="zone_id", how="left", validate="many_to_one")
    return joined if borough == ALL else joined[joined["borough"] == borough]


def figures(trips: pd.DataFrame, zones: pd.DataFrame, borough: str) -> dict:
    import plotly.express as px

    picked = select(trips, zones, borough)
    hours = picked["pickup_at"].dt.day_of_week * 24 + picked["pickup_at"].dt.hour
    per_hour = hours.value_counts().reindex(range(7 * 24), fill_value=0).rename_axis("hour_of_week").reset_index(name="pickups")
    per_hour_fig = px.line(per_hour, x="hour_of_week", y="pickups", title=f"Pickups per hour of the week: {borough}")
    per_hour_fig.update_xaxes(tickvals=[d * 24 for d in range(7)], ticktext=DAYS)
    fares_fig = px.box(picked, x="payment_type", y="fare", points=False, title="Fares by payment type")
    per_zone = (picked.groupby(["zone_id", "name", "lat", "lon"], observed=True).size().reset_index(name="pickups"))
    map_fig = px.scatter(per_zone, x="lon", y="lat", size="pickups", hover_name="name",
                         title="Pickups per zone (zone centres)")
    map_fig.update_yaxes(scaleanchor="x")          # degrees look like a map, not a stretched chart
    return {"per-hour": per_hour_fig, "fares": fares_fig, "map": map_fig}


def callback_payload(borough: str) -> dict:
    """The JSON a browser posts to /_dash-update-component when the dropdown changes to `borough`."""
    return {"output": "..per-hour.figure...fares.figure...map.figure..",
            "outputs": [{"id": i, "property": "figure"} for i in ("per-hour", "fares", "map")],
            "inputs": [{"id": "borough", "property": "value", "value": borough}],
            "changedPropIds": ["borough.value"], "state": []}


def values(array) -> "np.ndarray":
    """A plotly array as its JSON carries it: a list, or {"dtype", "bdata"} (base64 of the raw values)."""
    import base64

    import numpy as np

    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"])
    return np.asarray(array)


def create_app(cfg: Config | None = None, base_path: str = "/"):
    from dash import Dash, Input, Output, dcc, html

    trips, zones = load(cfg)
    boroughs = [ALL, *sorted(zones["borough"].unique())]
    app = Dash(__name__, title="scalelab trips", url_base_pathname=base_path)
    app.layout = html.Div([
        html.H2(f"Trips: {len(trips):,} rides over {trips['pickup_at'].dt.date.nunique()} days"),
        dcc.Dropdown(boroughs, ALL, id="borough", clearable=False),
        dcc.Graph(id="per-hour"), dcc.Graph(id="fares"), dcc.Graph(id="map"),
    ])

    @app.server.before_request
    def refuse_bad_input():
        # A callback's inputs come from the browser, so anyone can post anything: a borough that is
        # not one of the dropdown's is a 400 saying so, never a 500 from deep inside pandas.
        from flask import jsonify, request

        if request.method != "POST" or not request.path.endswith("/_dash-update-component"):
            return None
        body = request.get_json(silent=True)
        inputs = body.get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list) or not all(isinstance(i, dict) for i in inputs):
            return jsonify(error="the body must be a Dash callback request: {\"inputs\": [...], ...}"), 400
        for item in inputs:
            if item.get("id") == "borough" and item.get("value") not in boroughs:
                return jsonify(error=f"borough must be one of {boroughs}, not {str(item.get('value'))[:80]!r}"), 400
        return None

    @app.callback(Output("per-hour", "figure"), Output("fares", "figure"), Output("map", "figure"),
                  Input("borough", "value"))
    def update(borough):
        f = figures(trips, zones, borough)
        return f["per-hour"], f["fares"], f["map"]

    return app


def main() -> None:
    """`scalelab serve dashboard` runs this (Flask's threaded server: a local, single-user lab service)."""
    cfg = Config.load()
    create_app(cfg, DASHBOARD_BASE_PATH).run(host=cfg.bind_host, port=cfg.port("DASHBOARD_PORT"), debug=False)


if __name__ == "__main__":
    main()
