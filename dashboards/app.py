"""The reach dashboard (Dash): pages for comparing campaigns, one campaign, waves, what-if,
attribution, data quality and export.

Reads marts through ``dashboards.queries`` only. The selection lives in the URL, so a link
reproduces the view.
"""

from __future__ import annotations

import base64
import ipaddress
import os
from pathlib import Path

from dash import Dash, Input, Output, State, dcc, html

from reach.errors import UsageError

from . import state as st
from .format import FONT
from .pages import attribution, campaign, compare, export, quality, waves, whatif
from .queries import MartReader

PAGES = {  # path: (title, module)
    "/": ("Compare campaigns", compare),
    "/campaign": ("Campaign", campaign),
    "/waves": ("Waves", waves),
    "/what-if": ("What if", whatif),
    "/attribution": ("Attribution", attribution),
    "/quality": ("Data quality", quality),
    "/export": ("Export", export),
}


def build_app(lake: Path) -> Dash:
    reader = MartReader(lake)
    reader.warm()  # read every mart once now, not during the first visitor's request
    app = Dash(__name__, title="reach", suppress_callback_exceptions=True,
               update_title="reach · loading…")
    app.layout = html.Div(style={"fontFamily": FONT, "margin": "0 auto", "maxWidth": "1320px",
                                 "padding": "8px 16px", "color": "#111827"}, children=[
        dcc.Location(id="url", refresh="callback-nav"),
        html.Header(style={"display": "flex", "alignItems": "baseline", "gap": "20px",
                           "borderBottom": "1px solid #e5e7eb", "flexWrap": "wrap"}, children=[
            html.H2("reach", style={"margin": "8px 0"}),
            html.Nav(id="nav", style={"display": "flex", "gap": "14px", "flexWrap": "wrap"}),
            html.Span(str(reader.lake), style={"marginLeft": "auto", "color": "#9ca3af",
                                               "fontSize": "12px"}),
        ]),
        html.H1(id="page-title", style={"fontSize": "22px", "margin": "14px 0 6px"}),
        dcc.Loading(html.Div(id="page"), type="circle"),
    ])

    @app.callback(Output("page", "children"), Output("page-title", "children"),
                  Output("nav", "children"), Input("url", "pathname"), State("url", "search"))
    def route(pathname, search):
        title, module = PAGES.get(pathname or "/", (None, None))
        keep = st.parse(search)
        links = [dcc.Link(t, href=p + _carry(keep), style={
            "fontWeight": "700" if p == (pathname or "/") else "400", "color": "#1d4ed8",
            "textDecoration": "none"}) for p, (t, _m) in PAGES.items()]
        if module is None:
            return compare_missing(pathname), "Not found", links
        return module.layout(reader, keep), title, links

    for _title, module in PAGES.values():
        module.register(app, reader)
    _serve_docs(app, reader)
    return app


def _carry(state: dict[str, list[str]]) -> str:
    return st.with_values("", **{k: v for k, v in state.items()})


def compare_missing(pathname: str) -> html.Div:
    return html.Div([html.P(f"No page at {pathname}."), dcc.Link("Compare campaigns", href="/")])


def _serve_docs(app: Dash, reader: MartReader) -> None:
    """The Great Expectations data docs, from inside the lake only."""
    from flask import abort, send_from_directory

    @app.server.route("/lake-docs/<path:name>")
    def _docs(name: str):
        root = reader.docs_root().resolve()
        target = (root / name).resolve()
        if not target.is_relative_to(root) or not target.is_file():
            abort(404)
        return send_from_directory(root, target.relative_to(root).as_posix())


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
