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
    dates = st.dates(state)
    campaigns = reader.campaigns(dates)
    if campaigns.height == 0:
        return empty("No campaign was active in the chosen dates." if dates else
                     "No marts yet: run `reach compute --lake LAKE`, then reload.")
    ids = campaigns["campaign_id"].to_list()
    chosen = st.first(state, "campaign")
    chosen = chosen if chosen in ids else (reader.default_campaigns(1, dates) or ids)[0]
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


COLLAPSE_ABOVE = 300  #: nodes; a larger tree folds its fans of leaves
FAN = 10  #: leaves under one parent that fold into one "+N direct reshares" node
TOP = 5  #: amplifiers marked (most people added), never folded away


def collapse(nodes: pl.DataFrame, expanded: set[str] = frozenset()) -> pl.DataFrame:
    """Above ``COLLAPSE_ABOVE`` nodes, each parent's leaves (reshares nobody reshared)
    beyond ``FAN`` fold into one node ``<parent>#fan`` with their count, people added and
    first time — unless the parent is in ``expanded`` or the leaf is a top amplifier.
    Adds ``folded`` (leaves in the node; 0 for a real one) and ``top`` (bool)."""
    top = set(nodes.filter(pl.col("parent_id").is_not_null())
              .sort("reach_added", "node_id", descending=[True, False], nulls_last=True)
              .head(TOP)["node_id"].to_list())
    nodes = nodes.with_columns(pl.lit(0, pl.Int64).alias("folded"),
                               pl.col("node_id").is_in(list(top)).alias("top"))
    if nodes.height <= COLLAPSE_ABOVE:
        return nodes
    parents = set(nodes["parent_id"].drop_nulls().to_list())
    leaf = ~pl.col("node_id").is_in(list(parents)) & pl.col("parent_id").is_not_null()
    fans = (nodes.filter(leaf, ~pl.col("top"), ~pl.col("parent_id").is_in(list(expanded)))
            .group_by("parent_id").agg(pl.len().alias("n"), pl.col("node_id"),
                                       pl.col("reach_added").sum(),
                                       pl.col("created_at").min(), pl.col("depth").first())
            .filter(pl.col("n") > FAN))
    if fans.height == 0:
        return nodes
    gone = fans.explode("node_id")["node_id"]
    folded = fans.select(
        *[pl.lit(nodes[c][0]).alias(c) for c in ("network", "post_id", "campaign_id")],
        (pl.col("parent_id") + "#fan").alias("node_id"), "parent_id",
        (pl.lit("+") + pl.col("n").map_elements(lambda n: f"{n:,}", return_dtype=pl.String)
         + " direct reshares").alias("account_id"), "depth", "created_at", "reach_added",
        pl.lit(False).alias("reconstructed"), pl.col("n").cast(pl.Int64).alias("folded"),
        pl.lit(False).alias("top"))
    folded = folded.with_columns(  # e.g. `suppressed`, under a privacy threshold
        pl.lit(None, dtype).alias(c) for c, dtype in nodes.schema.items()
        if c not in folded.columns)
    return pl.concat([nodes.filter(~pl.col("node_id").is_in(gone.implode())),
                      folded.select(nodes.columns)], how="vertical_relaxed")


def tree_figure(nodes: pl.DataFrame, network: str, expanded: set[str] = frozenset()
                ) -> go.Figure:
    """The cascade as a tree: node size = people added, colour = hours after the post,
    top amplifiers as stars; big trees fold their fans of leaves (click one to open it)."""
    total = nodes.height
    nodes = collapse(nodes, expanded)
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
    start = nodes["created_at"].min()
    hours = ((nodes["created_at"] - start).dt.total_seconds() / 3600).fill_null(0).to_numpy()
    folded = nodes["folded"].to_numpy()
    top = nodes["top"].to_numpy()
    symbol = np.where(folded > 0, "square", np.where(top, "star", "circle"))
    fig = go.Figure()
    fig.add_scatter(x=ex, y=ey, mode="lines", line=dict(color="#cbd5e1", width=1),
                    hoverinfo="skip", showlegend=False)
    fig.add_scatter(
        x=x, y=y, mode="markers+text", showlegend=False, customdata=ids,
        text=[a if t else "" for a, t in zip(nodes["account_id"], top, strict=True)],
        textposition="top center", textfont={"size": 10},
        marker=dict(size=np.where(top, size + 6, size), symbol=symbol, color=hours,
                    colorscale="Viridis", showscale=True, line_width=1, line_color="white",
                    colorbar={"title": {"text": "hours after<br>the post"}, "thickness": 10}),
        hovertext=[(f"{a} (click to open) · depth {-d}" if f else
                    f"{a}{' · top amplifier' if t else ''} · depth {-d}")
                   + f"<br>+{human(r)} people · {h:.1f} h after the post"
                   for a, d, r, h, f, t in zip(nodes["account_id"], y, added, hours, folded,
                                                top, strict=True)],
        hoverinfo="text")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(title_text="depth (root at the top)", tickvals=sorted(set(y.tolist())),
                     ticktext=[str(-v) for v in sorted(set(y.tolist()))])
    shown = (f"{total:,} nodes" if nodes.height == total else
             f"{total:,} nodes, fans of leaves folded: click a square to open it")
    return figure_layout(fig, f"Cascade tree, {shown}", 440)


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
        dates = st.dates(st.parse(search))
        if dates and tl.height:  # the chosen dates only (the curve keeps its running total)
            tl = tl.filter(pl.col("bucket_start").is_between(dates[0], dates[1],
                                                             closed="left"))
        body = [html.Div([
            graph("cp-timeline", timeline_figure(tl), about=f"campaign-{campaign}-timeline",
                  alt="Chart: distinct people reached "
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
                style={"maxWidth": "520px"}), dcc.Store(id="cp-tree-open"),
                graph("cp-tree", about=f"campaign-{campaign}-cascade",
                      alt="Tree of the chosen cascade: who reshared from whom; "
                      "node size = people added, colour = hours after the post, stars = top "
                      "amplifiers, squares = reshares nobody reshared, folded (click to "
                      "open). Its size, depth and reach are in the table of largest "
                      "cascades.")))
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

    @app.callback(Output("cp-tree", "figure"), Output("cp-tree-open", "data"),
                  Input("cp-tree-pick", "value"), Input("cp-tree", "clickData"),
                  State("cp-tree-open", "data"))
    def tree(pick, click, opened):
        """Draw the chosen cascade; a click on a folded fan opens it (kept per cascade)."""
        from dash import ctx
        network, post_id = pick.split("|", 1)
        opened = opened if opened and opened.get("pick") == pick else {"pick": pick,
                                                                        "parents": []}
        if ctx.triggered_id == "cp-tree" and click:
            node = click["points"][0].get("customdata") or ""
            if node.endswith("#fan"):
                opened["parents"].append(node[:-len("#fan")])
        return (tree_figure(reader.cascade_nodes(network, post_id), network,
                            set(opened["parents"])), opened)
