"""One campaign: reach over time, its cascades (one drawn as a tree), top amplifiers."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import polars as pl
from dash import Input, Output, State, dcc, html
from dash.dash_table.Format import Format, Scheme

from .. import state as st
from ..format import colour, human
from .common import empty, figure_layout, graph, section, table


def layout(reader, state) -> html.Div:
    campaigns = reader.campaigns()
    if campaigns.height == 0:
        return empty("No marts yet: run `reach compute --lake LAKE`, then reload.")
    ids = campaigns["campaign_id"].to_list()
    chosen = st.first(state, "campaign")
    chosen = chosen if chosen in ids else (reader.default_campaigns(1) or ids)[0]
    return html.Div([
        html.Div(style={"display": "flex", "gap": "12px", "flexWrap": "wrap",
                        "alignItems": "center"}, children=[
            dcc.Dropdown(id="cp-campaign", value=chosen, clearable=False,
                         options=[{"label": f"{r['name']} ({r['campaign_id']})",
                                   "value": r["campaign_id"]}
                                  for r in campaigns.iter_rows(named=True)],
                         style={"width": "520px", "maxWidth": "100%"}),
            html.Button("Report to mail (PDF)", id="cp-report", n_clicks=0),
            dcc.Loading(html.Span(id="cp-report-note"), type="dot"),
            dcc.Download(id="cp-report-file")]),
        dcc.Loading(html.Div(id="cp-body"), type="dot"),
    ])


def timeline_figure(tl: pl.DataFrame) -> go.Figure:
    fig = go.Figure()
    for net in tl["network"].unique(maintain_order=True).to_list():
        part = tl.filter(pl.col("network") == net)
        # an estimate is dashed and says so (README.md, "Partial follower lists")
        estimated = "method" in part.columns and (part["method"] == "sampled").any()
        label = f"{net} (estimated from partial lists)" if estimated else net
        fig.add_scatter(x=part["bucket_start"], y=part["cumulative_reach"], name=label,
                        mode="lines", line=dict(color=colour(net), width=2.5, shape="hv",
                                                dash="dash" if estimated else "solid"),
                        hovertemplate="%{x}<br>%{y:,} people so far"
                                      + (" (estimated)" if estimated else "")
                                      + "<extra>" + net + "</extra>")
    fig.update_yaxes(title_text="distinct people reached")
    return figure_layout(fig, "Cumulative distinct reach over time", 340)


def tree_positions(node: list[str], parent: list[str | None]) -> tuple[np.ndarray, np.ndarray]:
    """Tidy layout: leaves spread left to right in depth-first order, parents centred."""
    children: dict[str, list[str]] = {}
    root = None
    for n, p in zip(node, parent, strict=True):
        if p is None:
            root = n
        else:
            children.setdefault(p, []).append(n)
    x: dict[str, float] = {}
    depth: dict[str, int] = {root: 0}
    next_leaf = [0.0]
    stack = [(root, False)]
    while stack:  # iterative post-order: deep cascades must not hit the recursion limit
        n, done = stack.pop()
        kids = children.get(n, [])
        if done or not kids:
            if kids:
                x[n] = float(np.mean([x[k] for k in kids]))
            else:
                x[n] = next_leaf[0]
                next_leaf[0] += 1
            continue
        stack.append((n, True))
        for k in reversed(kids):
            depth[k] = depth[n] + 1
            stack.append((k, False))
    return np.array([x[n] for n in node]), np.array([-depth[n] for n in node])


def tree_figure(nodes: pl.DataFrame, network: str) -> go.Figure:
    ids, parents = nodes["node_id"].to_list(), nodes["parent_id"].to_list()
    x, y = tree_positions(ids, parents)
    pos = {n: (a, b) for n, a, b in zip(ids, x, y, strict=True)}
    ex, ey = [], []
    for n, p in zip(ids, parents, strict=True):
        if p is not None and p in pos:
            ex += [pos[p][0], pos[n][0], None]
            ey += [pos[p][1], pos[n][1], None]
    added = nodes["reach_added"].fill_null(0).to_numpy().astype(float)
    size = 6 + 30 * np.sqrt(added / max(added.max(), 1))
    fig = go.Figure()
    fig.add_scatter(x=ex, y=ey, mode="lines", line=dict(color="#cbd5e1", width=1),
                    hoverinfo="skip", showlegend=False)
    fig.add_scatter(x=x, y=y, mode="markers", showlegend=False,
                    marker=dict(size=size, color=colour(network), line_width=1,
                                line_color="white"),
                    hovertext=[f"{a} · depth {-d}<br>+{human(r)} people"
                               for a, d, r in zip(nodes["account_id"], y, added, strict=True)],
                    hoverinfo="text")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(title_text="depth (root at the top)", tickvals=sorted(set(y.tolist())),
                     ticktext=[str(-v) for v in sorted(set(y.tolist()))])
    return figure_layout(fig, f"Cascade tree ({len(ids)} nodes; node size = people added)",
                         420)


def register(app, reader) -> None:
    @app.callback(Output("cp-report-file", "data"), Output("cp-report-note", "children"),
                  Input("cp-report", "n_clicks"), State("cp-campaign", "value"),
                  prevent_initial_call=True)
    def report(_n, campaign):
        """The one-page report, printed as `reach report` prints it."""
        import tempfile
        from datetime import UTC, datetime
        from pathlib import Path

        from reach.errors import ReachError

        from ..app import role
        from ..report import render, report_html
        if role() == "viewer":
            return None, "This login is read-only: reports name accounts, ask an analyst."
        with tempfile.TemporaryDirectory(prefix="reach-report-") as tmp:
            try:
                path = render(report_html(reader, campaign), Path(tmp) / "report.pdf")
            except ReachError as e:
                return None, str(e)
            name = f"reach-report-{campaign}-{datetime.now(UTC):%Y-%m-%d}.pdf"
            return dcc.send_bytes(path.read_bytes(), name), f"{name} ready"


    @app.callback(Output("cp-body", "children"), Output("url", "search",
                                                         allow_duplicate=True),
                  Input("cp-campaign", "value"), State("url", "search"),
                  prevent_initial_call="initial_duplicate")
    def update(campaign, search):
        search = st.with_values(search, campaign=campaign)
        tl = reader.timeline(campaign)
        body = [html.Div([
            graph("cp-timeline", timeline_figure(tl), alt="Chart: distinct people reached "
                  "so far, over time, per network. The same numbers are in the table under "
                  "'The timeline as a table'."),
            html.Details([html.Summary("The timeline as a table"), table(
                "cp-timeline-table", tl.select("network", "bucket_start", "new_reach",
                                               "cumulative_reach"), "timeline",
                page_size=10)])]) if tl.height
                else empty("No timeline for this campaign (no follower graph on its "
                           "networks).")]
        casc = reader.cascades(campaign)
        drawable = reader.drawable_cascades(campaign)
        if casc.height:
            body.append(section("Largest cascades", table(
                "cp-cascades", casc.select("network", "post_id", "root_account_id", "size",
                                           "depth", "max_breadth", "structural_virality",
                                           "total_reach", "time_to_half_s"), "cascades",
                {"structural_virality": {"type": "numeric",
                                         "format": Format(precision=2, scheme=Scheme.fixed)},
                 "total_reach": {"type": "numeric", "format": Format().group(True)},
                 "time_to_half_s": {"type": "numeric",
                                    "format": Format(precision=0, scheme=Scheme.fixed)}},
                page_size=8)))
        else:
            body.append(empty("Nobody reshared this campaign's posts."))
        if drawable.height:
            opts = [{"label": f"{p} on {n} ({k} nodes)", "value": f"{n}|{p}"}
                    for n, p, k in drawable.rows()]
            body.append(section("One cascade as a tree", dcc.Dropdown(
                id="cp-tree-pick", options=opts, value=opts[0]["value"], clearable=False,
                style={"maxWidth": "520px"}), graph("cp-tree", alt="Tree of the chosen cascade: who reshared "
                "from whom. Its size, depth and reach are in the table of largest cascades.")))
        amp = reader.amplifiers(campaign)
        if amp.height:
            body.append(section("Top amplifiers", table(
                "cp-amplifiers", amp.select("network", "rank", "account_id", "role",
                                            "shapley_reach", "incremental_reach",
                                            "shares_triggered", "method"), "amplifiers",
                {"shapley_reach": {"type": "numeric", "format": Format(
                    precision=0, scheme=Scheme.fixed).group(True)},
                 "incremental_reach": {"type": "numeric", "format": Format().group(True)}}),
                note="Shapley credit shares each person reached among everyone who reached "
                     "them, so credits add up to the distinct total."))
        return body, search

    @app.callback(Output("cp-tree", "figure"), Input("cp-tree-pick", "value"))
    def tree(pick):
        network, post_id = pick.split("|", 1)
        return tree_figure(reader.cascade_nodes(network, post_id), network)
