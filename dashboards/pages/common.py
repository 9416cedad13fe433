"""Pieces every page uses: headings, empty states, tables with definitions on hover."""

from __future__ import annotations

import re

import polars as pl
from dash import dash_table, dcc, html
from dash.dash_table.Format import Format

from ..format import FONT, tooltip


def empty(message: str) -> html.Div:
    return html.Div(message, className="empty", style={
        "padding": "24px", "color": "#4b5563", "background": "#f9fafb",
        "border": "1px dashed #d1d5db", "borderRadius": "8px", "margin": "8px 0"})


def section(title: str, *children, note: str | None = None) -> html.Section:
    head = [html.H3(title, style={"margin": "20px 0 4px"})]
    if note:
        head.append(html.P(note, style={"margin": "0 0 8px", "color": "#4b5563",
                                        "fontSize": "14px"}))
    return html.Section(head + list(children))


#: the toolbar of every figure: nothing that sends data off this machine (plotly's "share"
#: and "edit in Chart Studio" upload the chart to a third-party cloud), no vendor logo
GRAPH_CONFIG = {"displaylogo": False, "showSendToCloud": False,
                "showEditInChartStudio": False, "plotlyServerURL": "",
                "modeBarButtonsToRemove": ["sendDataToCloud", "editInChartStudio"]}


def graph(id_: str, figure=None, *, alt: str, about: str | None = None) -> html.Figure:
    """A figure with the same toolbar everywhere; its PNG download is named after the
    page, what it shows (``about``: the campaign or selection) and the day:
    reach-<about or id>-<YYYY-MM-DD>.png.

    ``alt`` is its text alternative, shown under it and read by screen readers: what it
    shows and which table holds the same numbers (a chart is pixels to them).
    """
    from datetime import UTC, datetime
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", about or id_).strip("-")[:80]
    return html.Figure(role="group", **{"aria-label": alt}, style={"margin": 0}, children=[
        dcc.Graph(id=id_, figure={} if figure is None else figure,
                  config=GRAPH_CONFIG | {"toImageButtonOptions": {
                      "format": "png", "filename": f"reach-{name}-{datetime.now(UTC):%Y-%m-%d}",
                      "scale": 2}}),
        html.Figcaption(alt, className="chart-alt", style={
            "color": "#6b7280", "fontSize": "12px", "margin": "0 0 8px"})])


def table(id_: str, df: pl.DataFrame, mart: str, formats: dict | None = None,
          page_size: int = 15, wrap: tuple[str, ...] = ()) -> dash_table.DataTable:
    """A sortable table; hovering a header shows the column's definition from the docs.
    Columns in ``wrap`` show their whole text over several lines instead of an ellipsis."""
    formats = formats or {}
    counts = {"type": "numeric", "format": Format().group(True)}  # 211,319, not 211319
    cols = [{"name": c.replace("_", " "), "id": c,
             **formats.get(c, counts if df.schema[c].is_integer() and "year" not in c else {})}
            for c in df.columns]
    return dash_table.DataTable(
        id=id_, columns=cols, data=df.to_dicts(), sort_action="native", page_size=page_size,
        tooltip_header={c: tooltip(mart, c) or c.replace("_", " ") for c in df.columns},
        tooltip_delay=200, tooltip_duration=None,
        style_table={"overflowX": "auto"},
        style_cell={"fontFamily": FONT, "fontSize": "13px", "padding": "4px 8px",
                    "maxWidth": "280px", "overflow": "hidden", "textOverflow": "ellipsis"},
        style_cell_conditional=[{"if": {"column_id": c}, "whiteSpace": "normal",
                                 "maxWidth": "360px", "overflow": "visible"} for c in wrap],
        style_header={"fontWeight": "600", "textDecoration": "underline dotted",
                      "cursor": "help"})


GRID = "#eef0f3"


def _look(title: str, height: int) -> dict:
    """The layout every figure shares: title, size, margins, font, legend below."""
    return {"title": {"text": title}, "height": height,
            "margin": {"l": 50, "r": 20, "t": 50, "b": 40}, "font": {"family": FONT},
            "legend": {"orientation": "h", "y": -0.18}, "plot_bgcolor": "white",
            "paper_bgcolor": "white"}


def figure_layout(fig, title: str, height: int = 380):
    """The shared look on a plotly Figure."""
    fig.update_layout(**_look(title, height))
    fig.update_xaxes(gridcolor=GRID)
    fig.update_yaxes(gridcolor=GRID)
    return fig


def plain_figure(data: list[dict], title: str, height: int = 380, **layout) -> dict:
    """A figure as plain dicts: plotly's object model validates every property and costs
    ~100 ms per figure; a dict goes straight to the browser (the callback p95 budget)."""
    return {"data": data, "layout": _look(title, height) | layout}
