"""Conversions credited to campaigns or networks, every attribution model side by side."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
from dash import Input, Output, State, dcc, html
from dash.dash_table import FormatTemplate
from dash.dash_table.Format import Format, Scheme

from .. import state as st
from .common import empty, figure_layout, graph, section, table

MODEL_COLOURS = {"first_touch": "#94a3b8", "last_touch": "#64748b", "linear": "#0ea5e9",
                 "time_decay": "#14b8a6", "position": "#a855f7", "markov": "#f59e0b",
                 "shapley": "#ef4444"}
MODEL_NAMES = {"first_touch": "First touch", "last_touch": "Last touch", "linear": "Linear",
               "time_decay": "Time decay", "position": "Position 40/20/40",
               "markov": "Markov chain", "shapley": "Shapley value"}


def named(df: pl.DataFrame, campaigns: pl.DataFrame) -> pl.DataFrame:
    """Channels as people read them: "Spring Launch", "Spring Launch @ x" (ids stay
    where no name is known); models in words."""
    names = dict(campaigns.select("campaign_id", "name").iter_rows())
    shared = {n for n, k in campaigns.group_by("name").len().iter_rows() if k > 1}
    names = {c: f"{n} ({c})" if n in shared else n for c, n in names.items()}

    def label(channel: str) -> str:
        campaign, sep, network = channel.partition(" @ ")
        return f"{names.get(campaign, campaign)}{sep}{network}"
    return df.with_columns(pl.col("channel").map_elements(label, return_dtype=pl.String),
                           pl.col("model").replace_strict(MODEL_NAMES, default=pl.col("model")))


def layout(reader, state) -> html.Div:
    if reader.read("attribution").height == 0:
        return empty("No attribution mart: the lake has no conversions table, or `reach "
                     "compute` has not run since it was loaded.")
    by = st.first(state, "by", "campaign")
    return html.Div([
        html.P("How each model shares out the conversions (each model's credits add up to "
               "them). Touchpoint: an account the converter already followed posted or "
               "reshared the campaign within 30 days before the conversion."),
        *([html.P("The chosen dates do not narrow this page: the models credit every "
                  "conversion in the lake.", id="at-dates",
                  style={"color": "#92400e"})] if st.dates(state) else []),
        dcc.RadioItems(id="at-by", value=by, inline=True,
                       options=[{"label": f" by {x.replace('_', ' × ')}  ", "value": x}
                                for x in ("campaign", "network", "campaign_network")]),
        dcc.Loading(html.Div(id="at-body"), type="dot"),
    ])


def figure(df: pl.DataFrame, top: int = 12) -> go.Figure:
    order = (df.group_by("channel").agg(pl.col("conversions_credited").mean())
             .sort("conversions_credited", descending=True)["channel"].head(top).to_list())
    fig = go.Figure()
    for model, colour in MODEL_COLOURS.items():
        part = df.filter(pl.col("model") == MODEL_NAMES[model], pl.col("channel").is_in(order))
        if part.height == 0:
            continue
        d = dict(zip(part["channel"], part["share_of_total"], strict=True))
        fig.add_bar(x=order, y=[d.get(c, 0.0) for c in order], name=MODEL_NAMES[model],
                    marker_color=colour)
    fig.update_yaxes(tickformat=".0%", title_text="share of conversions")
    fig.update_layout(barmode="group")
    return figure_layout(fig, "Credit by model (largest channels)", 420)


def register(app, reader) -> None:
    @app.callback(Output("at-body", "children"), Output("url", "search",
                                                         allow_duplicate=True),
                  Input("at-by", "value"), State("url", "search"),
                  prevent_initial_call="initial_duplicate")
    def update(by, search):
        df = reader.attribution(by)
        search = st.with_values(search, by=by)
        if df.height == 0:
            return empty("No conversions to attribute."), search
        df = named(df, reader.campaigns())
        wide = (df.pivot(on="model", index="channel", values="share_of_total")
                .sort(pl.col(df["model"][0]), descending=True))
        pct = {"type": "numeric", "format": FormatTemplate.percentage(1)}
        return [graph("at-figure", figure(df), about=f"attribution-by-{by}",
                      alt="Chart: the share of conversions each "
                      "channel gets under each model. The same shares are in the table below."),
                section("Share of conversions by model", table(
                    "at-table", wide, "attribution",
                    {c: pct for c in wide.columns if c != "channel"})),
                section("Markov removal effects and Shapley values", table(
                    "at-weights", df.filter(pl.col("weight").is_not_null()).select(
                        "model", "channel", "weight", "weight_se", "conversions_credited"),
                    "attribution",
                    {c: {"type": "numeric", "format": Format(precision=3,
                                                             scheme=Scheme.decimal_or_exponent)}
                     for c in ("weight", "weight_se", "conversions_credited")}))], search
