"""Download any mart, filtered by the current campaigns, as Parquet or CSV."""

from __future__ import annotations

import io

import polars as pl
from dash import Input, Output, State, dcc, html

from reach.spreadsheet import write_csv

from .. import state as st
from .common import empty

READ_ONLY = ("This login is read-only: marts name accounts by id, so exporting them is "
             "for the analysts' login.")


def layout(reader, state) -> html.Div:
    from ..app import role
    if role() == "viewer":
        return empty(READ_ONLY)
    marts = reader.available()
    if not marts:
        return empty("No marts yet: run `reach compute --lake LAKE`.")
    chosen = state.get("campaigns", []) or _active(reader, state)
    if st.dates(state) and not chosen:
        return empty("No campaign was active in the chosen dates: nothing to export.")
    return html.Div([
        html.P(["Download a mart for your own tools. ",
                html.B(f"Filtered to {len(chosen)} campaign(s) from the current selection "
                       f"({', '.join(chosen)})." if chosen else
                       "No campaigns selected on Compare: the whole mart."),
                " Column definitions: docs/marts.md."]),
        html.Div(style={"display": "flex", "gap": "12px", "alignItems": "center"}, children=[
            dcc.Dropdown(id="ex-mart", options=marts, value=marts[0], clearable=False,
                         style={"width": "240px", "maxWidth": "100%"}),
            dcc.RadioItems(id="ex-format", options=["parquet", "csv"], value="parquet",
                           inline=True),
            html.Button("Download", id="ex-go", n_clicks=0),
        ]),
        html.Div(id="ex-note"),
        dcc.Download(id="ex-download"),
    ])


def _active(reader, state) -> list[str]:
    """With dates chosen and no campaigns: the campaigns active in those dates."""
    dates = st.dates(state)
    return reader.campaigns(dates)["campaign_id"].to_list() if dates else []


def frame(reader, mart: str, campaigns: list[str]) -> pl.DataFrame:
    df = reader.read(mart)  # only names in MARTS: nothing outside the lake is read
    if campaigns and "campaign_id" in df.columns:
        df = df.filter(pl.col("campaign_id").is_in(campaigns))
    return df


def register(app, reader) -> None:
    @app.callback(Output("ex-download", "data"), Output("ex-note", "children"),
                  Input("ex-go", "n_clicks"), State("ex-mart", "value"),
                  State("ex-format", "value"), State("url", "search"),
                  prevent_initial_call=True)
    def download(_n, mart, fmt, search):
        from ..app import role
        if role() == "viewer":  # the page says so; the callback refuses anyway
            return None, empty(READ_ONLY)
        if mart not in reader.available():
            return None, empty(f"Unknown mart {mart!r}.")
        state = st.parse(search)
        chosen = state.get("campaigns", []) or _active(reader, state)
        if st.dates(state) and not chosen:
            return None, empty("No campaign was active in the chosen dates.")
        df = frame(reader, mart, chosen)
        buf = io.BytesIO()
        if fmt == "csv":
            write_csv(df, buf)  # formula-like text neutralised
        else:
            df.write_parquet(buf)
        name = f"{mart}.{'csv' if fmt == 'csv' else 'parquet'}"
        return (dcc.send_bytes(buf.getvalue(), name),
                html.P(f"{df.height:,} rows of {mart} → {name}", id="ex-done"))
