"""The reach dashboard (Dash): pages for comparing campaigns, one campaign, waves, what-if,
attribution, data quality and export.

Reads marts through ``dashboards.queries`` only. The selection lives in the URL, so a link
reproduces the view.
"""

from __future__ import annotations

import base64
import hmac
import ipaddress
import logging
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

from dash import Dash, Input, Output, State, dcc, html, no_update

from reach.errors import UsageError

from . import state as st
from .format import FONT, definitions
from .pages import attribution, campaign, compare, export, quality, waves, whatif
from .queries import MartReader

log = logging.getLogger(__name__)

PAGES = {  # path: (title, module)
    "/": ("Compare campaigns", compare),
    "/campaign": ("Campaign", campaign),
    "/waves": ("Waves", waves),
    "/what-if": ("What if", whatif),
    "/attribution": ("Attribution", attribution),
    "/quality": ("Data quality", quality),
    "/export": ("Export", export),
}


def build_app(lake: Path, min_people: int = 0) -> Dash:
    reader = MartReader(lake, min_people)
    reader.warm()  # read every mart once now, not during the first visitor's request
    definitions()  # and the column definitions behind every table's hover text
    app = Dash(__name__, title="reach", suppress_callback_exceptions=True,
               update_title="reach · loading…", assets_ignore=_assets_ignore())

    def page(pathname: str | None, search: str | None):
        """The page's content, title and navigation links for a URL."""
        title, module = PAGES.get(pathname or "/", (None, None))
        keep = st.parse(search)
        links = [dcc.Link(t, href=p + _carry(keep), style={
            "fontWeight": "700" if p == (pathname or "/") else "400", "color": "#1d4ed8",
            "textDecoration": "none"}) for p, (t, _m) in PAGES.items()]
        if module is None:
            return compare_missing(pathname), "Not found", links
        return module.layout(reader, keep), title, links

    def layout():
        # The page asked for comes with the layout, so the first view needs no second round
        # trip; the browser names it in the Referer of its layout request.
        url = _page_url()
        content, title, links = page(*url) if url else (None, None, None)
        keep = st.parse(url[1]) if url else {}
        return html.Div(style={"fontFamily": FONT, "margin": "0 auto", "maxWidth": "1320px",
                               "padding": "8px 16px", "color": "#111827"}, children=[
            dcc.Location(id="url", refresh="callback-nav"),
            dcc.Store(id="page-drawn", data=url[0] if url else None),
            html.Header(style={"display": "flex", "alignItems": "baseline", "gap": "20px",
                               "borderBottom": "1px solid #e5e7eb", "flexWrap": "wrap"},
                        children=[
                html.H2("reach", style={"margin": "8px 0"}),
                html.Nav(links, id="nav", style={"display": "flex", "gap": "14px",
                                                 "flexWrap": "wrap"}),
                dcc.DatePickerRange(id="dates", clearable=True, display_format="D MMM YYYY",
                                    start_date=st.first(keep, "from"),
                                    end_date=st.first(keep, "to"),
                                    start_date_placeholder_text="from (any date)",
                                    end_date_placeholder_text="to", minimum_nights=0,
                                    style={"fontSize": "13px"}),
                html.Span(str(reader.lake), style={"marginLeft": "auto", "color": "#9ca3af",
                                                   "fontSize": "12px"}),
            ]),
            html.H1(title, id="page-title", style={"fontSize": "22px", "margin": "14px 0 6px"}),
            dcc.Loading(html.Div(content, id="page"), type="circle"),
        ])
    app.layout = layout

    @app.callback(Output("page", "children"), Output("page-title", "children"),
                  Output("nav", "children"), Output("page-drawn", "data"),
                  Input("url", "pathname"), State("url", "search"), State("page-drawn", "data"))
    def route(pathname, search, drawn):
        if pathname == drawn:  # the layout came with this page
            return no_update, no_update, no_update, no_update
        return *page(pathname, search), pathname

    @app.callback(Output("url", "search", allow_duplicate=True),
                  Output("page", "children", allow_duplicate=True),
                  Output("nav", "children", allow_duplicate=True),
                  Input("dates", "start_date"), Input("dates", "end_date"),
                  State("url", "pathname"), State("url", "search"),
                  prevent_initial_call=True)
    def dates(start, end, pathname, search):
        """Every page honours the dates: redraw the current one with them in the URL."""
        search = st.with_values(search, **{"from": (start or "")[:10] or None,
                                           "to": (end or "")[:10] or None})
        content, _title, links = page(pathname, search)
        return search, content, links

    for _title, module in PAGES.values():
        module.register(app, reader)
    _serve_docs(app, reader)
    return app


PLOTLY_BASIC = Path(__file__).parent / "assets" / "plotly-basic.min.js"


def plotly_basic_version() -> str | None:
    """The version of the vendored plotly.js basic bundle, from its licence header."""
    if not PLOTLY_BASIC.exists():
        return None
    found = re.search(r"plotly\.js \(basic - minified\) v(\S+)", _head(PLOTLY_BASIC))
    return found.group(1) if found else None


def _head(path: Path, size: int = 300) -> str:
    with path.open(encoding="utf-8") as f:
        return f.read(size)


def _assets_ignore() -> str:
    """Serve the vendored basic plotly.js (bar and scatter: 1.2 MB where the full bundle is
    4.8 MB, about a second less on a cold first visit) only while it is the plotly.js that
    the installed plotly ships; otherwise leave Dash's full bundle in charge."""
    from plotly.offline import get_plotlyjs_version
    if plotly_basic_version() == get_plotlyjs_version():
        return ""
    log.warning("dashboards/assets/plotly-basic.min.js is v%s but plotly ships plotly.js %s; "
                "serving the full bundle (see dashboards/assets/README.md to update it)",
                plotly_basic_version(), get_plotlyjs_version())
    return r"plotly-basic\.min\.js"


def _page_url() -> tuple[str, str] | None:
    """(path, search) of the page whose layout is being requested, if the browser said."""
    from flask import has_request_context, request
    if not has_request_context() or not request.referrer:
        return None
    ref = urlsplit(request.referrer)
    if ref.netloc != request.host:
        return None
    return ref.path or "/", ("?" + ref.query) if ref.query else ""


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


VIEWER_BLOCKED = ("/lake-docs/",)  #: data docs quote failing rows: raw ids


def role() -> str:
    """``admin`` or ``viewer``: who is asking (``admin`` where no login is configured)."""
    from flask import g, has_request_context
    return g.get("reach_role", "admin") if has_request_context() else "admin"


def protect(app: Dash, host: str, viewer_user: str | None = None) -> None:
    """Require HTTP basic auth whenever REACH_DASHBOARD_USER/PASSWORD are set (on any
    address, loopback too), and refuse to serve off loopback without them.

    With ``viewer_user`` (password in REACH_VIEWER_PASSWORD) a second, read-only login
    sees every page but cannot export a mart or open the data docs: no raw ids leave.
    """
    logins = _logins(host, viewer_user)
    if not logins:
        return
    from flask import Response, g, request

    @app.server.before_request
    def _auth():
        given = request.headers.get("Authorization", "").encode("utf-8", "replace")
        # every login compared, in constant time: no timing oracle for either
        matched = [name for name, expected in logins.items()
                   if hmac.compare_digest(given, expected)]
        if not matched:
            return Response("login required", 401, {"WWW-Authenticate": 'Basic realm="reach"'})
        g.reach_role = matched[0]
        if g.reach_role == "viewer" and request.path.startswith(VIEWER_BLOCKED):
            return Response("this login is read-only: the data docs quote raw rows", 403)
        return None


def _logins(host: str, viewer_user: str | None) -> dict[str, bytes]:
    """{role: expected Authorization header} from the environment; {} where none is needed
    (loopback, nothing set); a UsageError for a setup that would expose or confuse."""
    user, password = os.environ.get("REACH_DASHBOARD_USER"), os.environ.get(
        "REACH_DASHBOARD_PASSWORD")
    if not user or not password:
        if viewer_user:
            raise UsageError("--viewer-user adds a read-only login beside the full one: set "
                             "REACH_DASHBOARD_USER and REACH_DASHBOARD_PASSWORD too")
        if _is_loopback(host):
            return {}
        raise UsageError(f"serving on {host} exposes the dashboard beyond this machine; set "
                         "REACH_DASHBOARD_USER and REACH_DASHBOARD_PASSWORD to require a "
                         "login, or bind 127.0.0.1")
    logins = {"admin": _basic(user, password)}
    if viewer_user:
        viewer_password = os.environ.get("REACH_VIEWER_PASSWORD")
        if not viewer_password:
            raise UsageError(f"--viewer-user {viewer_user}: set REACH_VIEWER_PASSWORD to "
                             "that login's password")
        if viewer_user == user:
            raise UsageError("--viewer-user must differ from REACH_DASHBOARD_USER")
        logins["viewer"] = _basic(viewer_user, viewer_password)
    return logins


def _basic(user: str, password: str) -> bytes:
    return ("Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()).encode()


def serve(lake: Path, *, host: str = "127.0.0.1", port: int = 8050,
          min_people: int = 0, threads: int = 8, workers: int = 1,
          viewer_user: str | None = None) -> None:
    """Serve with waitress, a production WSGI server: ``workers`` processes of ``threads``
    threads each (threads share a process's read caches).

    Workers are spawned, not forked (Polars' thread pool does not survive a fork), and
    each binds the same port with SO_REUSEPORT, so the kernel spreads connections over
    them. Stopping the parent (Ctrl+C, SIGTERM) stops them all.
    """
    if workers < 1 or threads < 1:
        raise UsageError(f"--workers {workers} --threads {threads}: both must be 1 or more")
    if workers == 1:
        _serve_one(lake, host, port, min_people, threads, viewer_user, reuse=False)
        return
    _logins(host, viewer_user)  # a bad login setup fails here, once, not in every worker
    import multiprocessing
    import signal
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_serve_one, args=(lake, host, port, min_people, threads,
                                                  viewer_user, True), daemon=True)
             for _ in range(workers)]
    for p in procs:
        p.start()

    def stop(*_):
        for p in procs:
            p.terminate()
        raise SystemExit(0)
    signal.signal(signal.SIGTERM, stop)
    try:
        for p in procs:
            p.join()
    except KeyboardInterrupt:
        stop()


def _serve_one(lake: Path, host: str, port: int, min_people: int, threads: int,
               viewer_user: str | None, reuse: bool) -> None:
    import socket

    from waitress import serve as waitress_serve
    app = build_app(lake, min_people)
    protect(app, host, viewer_user)
    if not reuse:
        waitress_serve(app.server, host=host, port=port, threads=threads, ident="reach")
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(1024)
    waitress_serve(app.server, sockets=[sock], threads=threads, ident="reach")
