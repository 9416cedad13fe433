"""The reach dashboard (Dash). First page: compare campaigns' distinct reach.

Reads marts through ``dashboards.queries`` only.
"""

from __future__ import annotations

import base64
import ipaddress
import os
from pathlib import Path

import plotly.graph_objects as go
import polars as pl
from dash import Dash, Input, Output, dash_table, dcc, html
from dash.dash_table import FormatTemplate
from dash.dash_table.Format import Format

from reach.errors import UsageError

from .queries import MartReader

NETWORK_COLOURS = {"x": "#1d1d1f", "instagram": "#c13584", "facebook": "#1877f2",
                   "linkedin": "#0a66c2", "twitter": "#1da1f2", "tiktok": "#25f4ee",
                   "all": "#6b7280"}


def human(n: float | None) -> str:
    if n is None:
        return "–"
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.1f}{unit}"
    return f"{n:,.0f}"


def reach_figure(reach: pl.DataFrame) -> go.Figure:
    df = reach.filter(pl.col("network") == "all").sort("campaign_id")
    fig = go.Figure()
    fig.add_bar(name="first degree (followers of the authors)", x=df["campaign_id"],
                y=df["first_degree_reach"], marker_color="#2563eb")
    fig.add_bar(name="second degree (added by reshares)", x=df["campaign_id"],
                y=df["second_degree_reach"], marker_color="#93c5fd")
    fig.add_scatter(name="potential reach (sum of follower counts)", x=df["campaign_id"],
                    y=df["potential_reach"], mode="markers", marker_symbol="line-ew-open",
                    marker_size=28, marker_line_width=3, marker_color="#dc2626")
    fig.update_layout(barmode="stack", height=420, margin=dict(l=40, r=20, t=40, b=40),
                      title="Distinct people reached, all networks, vs the inflated sum",
                      legend=dict(orientation="h", y=-0.2), yaxis_title="people")
    return fig


def _column(name: str) -> dict:
    col = {"name": name.replace("_", " "), "id": name}
    if name == "dedup_ratio":
        col |= {"type": "numeric", "format": FormatTemplate.percentage(0)}
    elif name.endswith("reach"):
        col |= {"type": "numeric", "format": Format().group(True)}
    return col


def build_app(lake: Path) -> Dash:
    reader = MartReader(lake)
    app = Dash(__name__, title="reach", suppress_callback_exceptions=True)
    reach = reader.read("reach")
    if reach.height == 0:
        app.layout = html.Div([html.H1("reach"), html.P(
            f"No marts in {lake} yet. Run: reach compute --lake {lake}")])
        return app
    table = reach.select("campaign_id", "network", "first_degree_reach",
                         "second_degree_reach", "total_reach", "potential_reach",
                         "dedup_ratio", "method")
    app.layout = html.Div(style={"fontFamily": "system-ui, sans-serif", "margin": "16px"},
                          children=[
        html.H1("reach — compare campaigns"),
        html.P("Distinct people each campaign reached (first degree: followers of the "
               "authors; second degree: people added only by reshares) beside the "
               "'potential reach' that commercial suites report as a plain sum."),
        dcc.Graph(id="reach-figure", figure=reach_figure(reach)),
        dcc.Dropdown(id="network", options=["all"] + sorted(
            n for n in reach["network"].unique().to_list() if n != "all"), value="all",
            clearable=False, style={"width": "240px"}),
        dash_table.DataTable(
            id="reach-table", sort_action="native", page_size=20,
            columns=[_column(c) for c in table.columns],
            data=table.filter(pl.col("network") == "all").to_dicts()),
    ])

    @app.callback(Output("reach-table", "data"), Input("network", "value"))
    def _filter(network: str):
        return table.filter(pl.col("network") == network).to_dicts()
    return app


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def protect(app: Dash, host: str) -> None:
    """Off loopback, require HTTP basic auth from REACH_DASHBOARD_USER/PASSWORD."""
    if _is_loopback(host):
        return
    user, password = os.environ.get("REACH_DASHBOARD_USER"), os.environ.get(
        "REACH_DASHBOARD_PASSWORD")
    if not user or not password:
        raise UsageError(f"serving on {host} exposes the dashboard beyond this machine; set "
                         "REACH_DASHBOARD_USER and REACH_DASHBOARD_PASSWORD to require a "
                         "login, or bind 127.0.0.1")
    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    from flask import Response, request

    @app.server.before_request
    def _auth():
        if request.headers.get("Authorization") != expected:
            return Response("login required", 401, {"WWW-Authenticate": 'Basic realm="reach"'})
        return None


def serve(lake: Path, *, host: str = "127.0.0.1", port: int = 8050) -> None:
    app = build_app(lake)
    protect(app, host)
    app.run(host=host, port=port, debug=False)
