"""Compare campaigns: distinct reach per network beside the inflated sum, uplift, rates."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
from dash import Input, Output, State, dcc, html
from dash.dash_table import FormatTemplate
from dash.dash_table.Format import Format, Scheme
from plotly.subplots import make_subplots

from .. import state as st
from ..format import colour, human, pct, signed_pct
from .common import empty, figure_layout, section, table

MAX_CAMPAIGNS = 6


def layout(reader, state) -> html.Div:
    campaigns = reader.campaigns()
    if campaigns.height == 0:
        return empty("No marts yet: run `reach compute --lake LAKE`, then reload.")
    networks = reader.networks()
    chosen = [c for c in state.get("campaigns", []) if c in campaigns["campaign_id"].to_list()]
    chosen = chosen or reader.default_campaigns()
    nets = [n for n in state.get("networks", []) if n in networks] or networks
    return html.Div([
        html.P("Distinct people each campaign reached, per network: first degree (followers "
               "of the authors) and second degree (people added only by reshares), beside "
               "the potential reach that commercial suites report as a sum of follower "
               "counts. Pick 2 to 6 campaigns."),
        html.Div(style={"display": "flex", "gap": "12px", "flexWrap": "wrap"}, children=[
            dcc.Dropdown(id="cmp-campaigns", multi=True, value=chosen[:MAX_CAMPAIGNS],
                         options=[{"label": f"{r['name']} ({r['campaign_id']})",
                                   "value": r["campaign_id"]}
                                  for r in campaigns.iter_rows(named=True)],
                         placeholder="campaigns…", style={"minWidth": "420px", "flex": "2"}),
            dcc.Checklist(id="cmp-networks", value=nets, inline=True,
                          options=[{"label": html.Span(n, style={"color": colour(n),
                                                                 "marginRight": "12px"}),
                                    "value": n} for n in networks]),
        ]),
        html.Div(id="cmp-note"),
        dcc.Loading(html.Div(id="cmp-body"), type="dot"),
    ])


def reach_figure(reach: pl.DataFrame, networks: list[str]) -> go.Figure:
    nets = [n for n in networks if n in reach["network"].to_list()]
    fig = make_subplots(rows=1, cols=max(len(nets), 1), shared_yaxes=True,
                        subplot_titles=nets or ["(no data)"])
    for i, net in enumerate(nets, start=1):
        d = reach.filter(pl.col("network") == net).sort("name")
        hover = [f"{n}<br>first degree {human(f)} · second degree {human(s)}<br>"
                 f"distinct total {human(t)} vs potential {human(p)} (dedup {pct(r)})"
                 for n, f, s, t, p, r in d.select("name", "first_degree_reach",
                                                  "second_degree_reach", "total_reach",
                                                  "potential_reach", "dedup_ratio").rows()]
        fig.add_bar(x=d["name"], y=d["first_degree_reach"], marker_color=colour(net),
                    name="first degree", legendgroup="first", showlegend=i == 1,
                    hovertext=hover, hoverinfo="text", row=1, col=i)
        fig.add_bar(x=d["name"], y=d["second_degree_reach"], marker_color=colour(net),
                    marker_opacity=0.4, name="second degree (reshares)", legendgroup="second",
                    showlegend=i == 1, hovertext=hover, hoverinfo="text",
                    text=[pct(r) for r in d["dedup_ratio"]], textposition="outside",
                    row=1, col=i)
        fig.add_scatter(x=d["name"], y=d["potential_reach"], mode="markers",
                        marker=dict(symbol="line-ew-open", size=26, line_width=3,
                                    color="#dc2626"),
                        name="potential reach (sum others report)", legendgroup="pot",
                        showlegend=i == 1, hovertext=hover, hoverinfo="text", row=1, col=i)
    fig.update_layout(barmode="stack")
    fig.update_yaxes(title_text="people", row=1, col=1)
    return figure_layout(fig, "Distinct people reached vs potential reach "
                              "(labels: dedup ratio = distinct / potential)", 420)


def uplift_figure(uplift: pl.DataFrame) -> go.Figure:
    d = uplift.filter(pl.col("method") == "nb_glm", pl.col("uplift").is_not_null()).sort(
        "network", "name")
    fig = go.Figure()
    for net in d["network"].unique(maintain_order=True).to_list():
        part = d.filter(pl.col("network") == net)
        fig.add_scatter(
            x=part["uplift"], y=[f"{n} · {net}" for n in part["name"]], mode="markers",
            name=net, marker=dict(color=colour(net), size=10),
            error_x=dict(type="data", symmetric=False,
                         array=(part["ci_high"] - part["uplift"]).to_list(),
                         arrayminus=(part["uplift"] - part["ci_low"]).to_list()),
            hovertext=[f"uplift {signed_pct(u)} (95%: {signed_pct(lo)} to {signed_pct(hi)})"
                       f"<br>adjusted p {p:.3g}" for u, lo, hi, p in part.select(
                           "uplift", "ci_low", "ci_high", "p_adjusted").rows()],
            hoverinfo="text")
    fig.add_vline(x=0, line_dash="dot", line_color="#6b7280")
    fig.update_xaxes(tickformat="+.0%", title_text="engagement uplift vs the authors' "
                                                    "organic posts")
    return figure_layout(fig, "Uplift per network (negative-binomial GLM, 95% intervals)",
                         120 + 28 * max(d.height, 3))


def rate_figure(rates: pl.DataFrame) -> go.Figure:
    d = rates.filter(pl.col("engagement_rate").is_not_null()).sort("network", "name")
    fig = go.Figure()
    for net in d["network"].unique(maintain_order=True).to_list():
        part = d.filter(pl.col("network") == net)
        low = part["rate_low"].fill_null(part["engagement_rate"])
        high = part["rate_high"].fill_null(part["engagement_rate"])
        fig.add_scatter(
            x=part["engagement_rate"], y=[f"{n} · {net}" for n in part["name"]],
            mode="markers", name=net, marker=dict(color=colour(net), size=10),
            error_x=dict(type="data", symmetric=False,
                         array=(high - part["engagement_rate"]).to_list(),
                         arrayminus=(part["engagement_rate"] - low).to_list()),
            hoverinfo="x+y")
    fig.update_xaxes(tickformat=".1%", title_text="engagements per impression")
    return figure_layout(fig, "Engagement rate (95% intervals)", 120 + 28 * max(d.height, 3))


def comparison_table(data: dict[str, pl.DataFrame]) -> pl.DataFrame:
    reach = data["reach"].select("name", "campaign_id", "network", "first_degree_reach",
                                 "second_degree_reach", "total_reach", "potential_reach",
                                 "dedup_ratio")
    up = data["uplift"]
    if up.height:
        reach = reach.join(up.filter(pl.col("method") == "nb_glm").select(
            "campaign_id", "network", "uplift", "ci_low", "ci_high", "p_adjusted"),
            on=["campaign_id", "network"], how="left")
    rate = data["engagement"]
    if rate.height:
        reach = reach.join(rate.select("campaign_id", "network", "engagement_rate"),
                           on=["campaign_id", "network"], how="left")
    return reach.sort("name", "network")


FORMATS = {c: {"type": "numeric", "format": Format().group(True)}
           for c in ("first_degree_reach", "second_degree_reach", "total_reach",
                     "potential_reach")} | {
    "dedup_ratio": {"type": "numeric", "format": FormatTemplate.percentage(0)},
    "uplift": {"type": "numeric", "format": FormatTemplate.percentage(0).sign("+")},
    "ci_low": {"type": "numeric", "format": FormatTemplate.percentage(0).sign("+")},
    "ci_high": {"type": "numeric", "format": FormatTemplate.percentage(0).sign("+")},
    "p_adjusted": {"type": "numeric", "format": Format(precision=2, scheme=Scheme.decimal_or_exponent)},
    "engagement_rate": {"type": "numeric", "format": FormatTemplate.percentage(2)},
}


def register(app, reader) -> None:
    @app.callback(Output("cmp-body", "children"), Output("cmp-note", "children"),
                  Output("url", "search", allow_duplicate=True),
                  Input("cmp-campaigns", "value"), Input("cmp-networks", "value"),
                  State("url", "search"), prevent_initial_call="initial_duplicate")
    def update(campaigns, networks, search):
        campaigns, networks = campaigns or [], networks or []
        note = None
        if len(campaigns) > MAX_CAMPAIGNS:
            note = empty(f"Showing the first {MAX_CAMPAIGNS} campaigns; remove some to add "
                         "others.")
            campaigns = campaigns[:MAX_CAMPAIGNS]
        elif len(campaigns) < 2:
            note = empty("Pick at least two campaigns to compare them.")
        search = st.with_values(search, campaigns=campaigns, networks=networks)
        if not campaigns or not networks:
            return empty("Nothing selected."), note, search
        data = reader.compare(campaigns, networks + ["all"])
        reach = data["reach"].filter(pl.col("network") != "all")
        body = [dcc.Graph(id="cmp-reach", figure=reach_figure(reach, networks),
                          config={"displaylogo": False})]
        if data["uplift"].height:
            body.append(dcc.Graph(id="cmp-uplift", figure=uplift_figure(data["uplift"]),
                                  config={"displaylogo": False}))
            warned = data["uplift"].filter(pl.col("method") == "nb_glm",
                                           pl.col("warning").is_not_null())
            if warned.height:
                body.append(html.Details([html.Summary(
                    f"{warned.height} cell(s) without an uplift estimate — why"),
                    html.Ul([html.Li(f"{n} · {net}: {w}") for n, net, w in warned.select(
                        "name", "network", "warning").rows()])]))
        else:
            body.append(empty("No uplift mart: run `reach compute` again to add it."))
        if data["engagement"].height:
            body.append(dcc.Graph(id="cmp-rate", figure=rate_figure(data["engagement"]),
                                  config={"displaylogo": False}))
        body.append(section("The numbers", table(
            "cmp-table", comparison_table(data), "reach", FORMATS),
            note="Hover a column name for its definition. 'all' rows count each person "
                 "once across networks."))
        return body, note, search
