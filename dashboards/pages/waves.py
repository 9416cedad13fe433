"""Negative waves: the ones to answer now first, then every wave by severity and time."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
from dash import Input, Output, State, dcc, html
from dash.dash_table.Format import Format, Scheme

from reach.cascades.waves import SEVERITY

from .. import state as st
from ..format import colour, duration, human, when
from .common import empty, graph, plain_figure, section, table

#: a wave "to answer now": high or medium, started in the last RECENT before the newest
#: negative post in the lake, and half its reshares came within FAST of the first
RECENT, FAST = timedelta(hours=48), 6 * 3600
LEVELS = [level for level, _people, _hour in SEVERITY]
SEVERITY_WORDS = ", ".join(
    f"{level}: ≥ {people:,} people reached or ≥ {per_hour} reshares in its busiest hour"
    for level, people, per_hour in SEVERITY if people or per_hour) + "; low: reshared, below"


def layout(reader, state) -> html.Div:
    waves = reader.waves()
    if waves.height == 0:
        return empty("No negative posts by non-brand accounts (or no waves mart yet: run "
                     "`reach compute`).")
    if "severity" not in waves.columns:
        return empty("This waves mart predates severities: run `reach compute` again.")
    campaigns = reader.campaigns(st.dates(state))
    return html.Div([
        html.Div(id="wv-now"),
        html.Div(style={"display": "flex", "gap": "12px", "flexWrap": "wrap",
                        "alignItems": "center"}, children=[
            dcc.Checklist(id="wv-severity", value=LEVELS, inline=True,
                          options=[{"label": f" {lv}", "value": lv} for lv in LEVELS],
                          inputStyle={"marginLeft": "10px"}),
            dcc.Dropdown(id="wv-campaign", placeholder="during a campaign: its first exposure to a week after its last (any time)",
                         style={"width": "340px", "maxWidth": "100%"},
                         options=[{"label": r["name"], "value": r["campaign_id"]}
                                  for r in campaigns.iter_rows(named=True)]),
        ]),
        html.P(f"Severity — {SEVERITY_WORDS}. Negative posts nobody reshared are not waves "
               "and are not shown.", style={"color": "#4b5563", "fontSize": "13px"}),
        html.Div(id="wv-body"),
    ])


def to_answer_now(waves: pl.DataFrame) -> pl.DataFrame:
    """High or medium waves that started recently and spread fast, fastest first."""
    newest = waves["created_at"].max()
    return waves.filter(pl.col("severity").is_in(["high", "medium"]),
                        pl.col("created_at") >= newest - RECENT,
                        pl.col("time_to_half_s") <= FAST).sort("time_to_half_s")


def _alert(w: dict) -> html.Div:
    return html.Div(className="wave-alert", style={
        "border": "2px solid #b91c1c", "background": "#fef2f2", "borderRadius": "8px",
        "padding": "10px 14px", "margin": "6px 0"}, children=[
        html.B(f"⚠ {w['severity']} wave growing fast on {w['network']}: "),
        f"{w['post_id']} by {w['root_account_id']}, {when(w['created_at'])}: "
        f"{human(w['total_reach'])} people, {w['size']} reshares, half of them within "
        f"{duration(w['time_to_half_s'])}. Answer {w['root_account_id']} first; carried by: ",
        html.Code(w["top_amplifiers"] or "nobody yet")])


def body(reader, severities: list[str], campaign: str | None, dates=None) -> list:
    waves = reader.waves()
    if dates:
        waves = waves.filter(pl.col("created_at").is_between(dates[0], dates[1],
                                                             closed="left"))
    all_waves = waves.filter(pl.col("severity") != "none")
    unshared = waves.height - all_waves.height
    shown = all_waves.filter(pl.col("severity").is_in(severities or []))
    if campaign:
        span = reader.campaign_span(campaign)
        shown = shown.join(span, on="network").filter(
            pl.col("created_at").is_between("first_at", "last_at")).drop("first_at", "last_at")
    counts = ", ".join(f"{all_waves.filter(pl.col('severity') == lv).height} {lv}"
                       for lv in LEVELS)
    head = [html.P(f"{all_waves.height} waves ({counts}); {unshared} negative posts nobody "
                   "reshared.")]
    if shown.height == 0:
        return head + [empty("No wave matches these filters.")]
    rows = shown.with_columns(
        pl.col("time_to_half_s").map_elements(duration, return_dtype=pl.String)
        .fill_null("–").alias("half_of_reshares_within"),
        pl.col("created_at").map_elements(when, return_dtype=pl.String).alias("started"),
        pl.col("peak_hour").map_elements(when, return_dtype=pl.String).alias("busiest_hour"),
        pl.col("severity").replace_strict({lv: i for i, lv in enumerate(LEVELS)})
        .alias("_rank")).sort(["_rank", "created_at"], descending=[False, True])
    data = []
    for net in rows["network"].unique(maintain_order=True).to_list():
        part = rows.filter(pl.col("network") == net)
        data.append({"type": "scatter", "mode": "markers", "name": net,
                     "x": part["created_at"].to_list(),
                     # reach withheld under the privacy threshold is not plotted as
                     # reshares on a people axis: the point is left out, the row stays
                     "y": part["total_reach"].to_list(),
                     "marker": {"color": colour(net),
                                "size": (8 + part["size"].cast(pl.Float64).sqrt() * 3
                                         ).to_list()},
                     "hovertext": [f"{s} · {p} by {a}<br>{human(r)} people · {n} reshares · "
                                   f"half within {t}" for s, p, a, r, n, t in part.select(
                                       "severity", "post_id", "root_account_id",
                                       "total_reach", "size",
                                       "half_of_reshares_within").rows()],
                     "hoverinfo": "text"})
    fig = plain_figure(data, "Waves: when they started and how far they went (marker size = "
                             "reshares)", 360, yaxis={"title": {"text": "people reached"},
                                                      "type": "log", "dtick": 1})
    return head + [
        graph("waves-figure", fig, about=f"waves-{campaign}" if campaign else "waves",
              alt="Chart: each wave by when it started and how many "
              "people it reached. Every wave is in the table below."),
        section("Every wave, most severe and newest first", table(
            "waves-table", rows.select(
                "severity", "started", "network", "post_id", "root_account_id", "sentiment",
                "size", "total_reach", "half_of_reshares_within", "busiest_hour",
                "peak_hour_shares", "top_amplifiers"), "waves",
            {"total_reach": {"type": "numeric", "format": Format().group(True)},
             "sentiment": {"type": "numeric", "format": Format(precision=2,
                                                               scheme=Scheme.fixed)}},
            wrap=("top_amplifiers",)),
            note="Answer the root account first; the amplifiers are who spread it."),
    ]


def register(app, reader) -> None:
    @app.callback(Output("wv-now", "children"), Output("wv-body", "children"),
                  Input("wv-severity", "value"), Input("wv-campaign", "value"),
                  State("url", "search"))
    def update(severities, campaign, search):
        dates = st.dates(st.parse(search))
        # "now" is now, whatever dates are chosen for the list below
        now = to_answer_now(reader.waves().filter(pl.col("severity") != "none"))
        alerts = ([html.H3("To answer now", style={"margin": "8px 0 4px"})]
                  + [_alert(w) for w in now.iter_rows(named=True)]) if now.height else [
            html.P("No fast-growing wave in the 48 hours before the newest negative post.",
                   id="wv-calm", style={"color": "#166534"})]
        return alerts, body(reader, severities, campaign, dates)
