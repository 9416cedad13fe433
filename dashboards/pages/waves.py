"""Negative waves: where each started, how fast it grows, who carried it. Newest first."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
from dash import html
from dash.dash_table.Format import Format, Scheme

from ..format import colour, duration, human
from .common import empty, figure_layout, graph, section, table


def layout(reader, state) -> html.Div:
    waves = reader.waves()
    if waves.height == 0:
        return empty("No negative waves: no post with sentiment below 0 by a non-brand "
                     "account (or no waves mart yet: run `reach compute`).")
    shown = waves.with_columns(
        pl.col("time_to_half_s").map_elements(duration, return_dtype=pl.String)
        .fill_null("–").alias("time_to_half"),
        (pl.col("peak_hour_shares")).alias("shares_in_peak_hour"))
    fig = go.Figure()
    for net in shown["network"].unique(maintain_order=True).to_list():
        part = shown.filter(pl.col("network") == net)
        fig.add_scatter(x=part["created_at"], y=part["total_reach"], mode="markers",
                        name=net, marker=dict(color=colour(net),
                                              size=(8 + part["size"].cast(pl.Float64)
                                                    .sqrt() * 3).to_list()),
                        hovertext=[f"{p} by {a}<br>{human(r)} people · {s} shares · half in "
                                   f"{t}" for p, a, r, s, t in part.select(
                                       "post_id", "root_account_id", "total_reach", "size",
                                       "time_to_half").rows()], hoverinfo="text")
    fig.update_yaxes(title_text="people reached", type="log")
    fig = figure_layout(fig, "Negative waves: when they started and how far they went "
                             "(marker size = shares)", 360)
    newest = shown.row(0, named=True)
    return html.Div([
        html.P([html.B("Newest: "), f"{newest['post_id']} by {newest['root_account_id']} on "
                f"{newest['network']}, {human(newest['total_reach'])} people, ",
                (f"{newest['size']} shares, half of them within {newest['time_to_half']}. "
                 if newest["size"] else "not reshared yet. "),
                "Carried by: ", html.Code(newest["top_amplifiers"] or "nobody yet")]),
        graph("waves-figure", fig),
        section("All waves, newest and fastest first", table(
            "waves-table", shown.select("created_at", "network", "post_id", "root_account_id",
                                        "sentiment", "size", "total_reach", "time_to_half",
                                        "peak_hour", "shares_in_peak_hour",
                                        "top_amplifiers"), "waves",
            {"total_reach": {"type": "numeric", "format": Format().group(True)},
             "sentiment": {"type": "numeric", "format": Format(precision=2,
                                                               scheme=Scheme.fixed)}}),
            note="Answer the root account first; the amplifiers are who spread it."),
    ])


def register(app, reader) -> None:
    """No callbacks: the page is the newest state of the marts."""
