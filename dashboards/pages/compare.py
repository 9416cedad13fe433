"""Compare campaigns: distinct reach per network beside the inflated sum, uplift, rates."""

from __future__ import annotations

import polars as pl
from dash import Input, Output, State, dcc, html, no_update
from dash.dash_table import FormatTemplate
from dash.dash_table.Format import Format, Scheme

from reach.audience.distinct import METHODS

from .. import state as st
from ..format import colour, human, pct, signed_pct
from .common import GRID, empty, graph, plain_figure, section, table

MAX_CAMPAIGNS = 6


def layout(reader, state) -> html.Div:
    dates = st.dates(state)
    campaigns = reader.campaigns(dates)
    if campaigns.height == 0:
        return empty("No campaign was active in the chosen dates." if dates else
                     "No marts yet: run `reach compute --lake LAKE`, then reload.")
    networks = reader.networks()
    chosen = [c for c in state.get("campaigns", []) if c in campaigns["campaign_id"].to_list()]
    chosen = chosen or reader.default_campaigns(dates=dates)
    nets = [n for n in state.get("networks", []) if n in networks] or networks
    # The first figure comes with the layout, not after a second round trip to a callback.
    selection = _selection(chosen, nets)
    body, note = headline(reader, chosen, nets)
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
                         placeholder="campaigns…", style={"minWidth": "min(420px, 100%)", "flex": "2"}),
            dcc.Checklist(id="cmp-networks", value=nets, inline=True,
                          options=[{"label": html.Span(n, style={"color": colour(n),
                                                                 "marginRight": "12px"}),
                                    "value": n} for n in networks]),
        ]),
        html.Div(note, id="cmp-note"),
        dcc.Store(id="cmp-drawn", data=selection),
        html.Div(body, id="cmp-body"),
        dcc.Loading(html.Div(id="cmp-more", style={"minHeight": "200px"}), type="dot"),
    ])


def _ys(values) -> list:
    return [None if v is None else v for v in values]


#: how a reach number was obtained, in words (reach.audience.distinct.METHODS)
METHOD_WORDS = {method: words for method, (words, _why) in METHODS.items()}


def how_obtained(method: str | None, rel_error: float | None, low, high,
                 listed_share: float | None = None) -> str:
    """'counted', or 'estimated from 20 % of followers (partial lists), 95 % 900–1,100
    (±10 %)'."""
    words = METHOD_WORDS.get(method or "", method or "")
    if method == "sampled" and listed_share is not None:
        words = f"estimated from {listed_share:.0%} of followers (partial lists)"
    if method in (None, "exact", "no_graph") or low is None or high is None:
        return words
    spread = f" (±{rel_error:.0%})" if rel_error is not None else ""
    return f"{words}, 95 % {human(low)}–{human(high)}{spread}"


def why_missing(method: str | None, listed_share: float | None = None) -> str:
    """The word a chart shows where a reach number is missing."""
    if method in ("no_graph", None):
        return "unknown:<br>no follower lists"
    if method == "sampled" and not listed_share:  # nothing listed to estimate from
        return "unknown:<br>lists hold none"
    return "withheld:<br>too few people"  # counted, but under the privacy threshold


def reach_figure(reach: pl.DataFrame, networks: list[str]) -> dict:
    """One panel per network: first degree + second degree stacked, potential as a dash."""
    reach = with_how(reach)
    nets = [n for n in networks if n in reach["network"].to_list()]
    k = max(len(nets), 1)
    gap = 0.03
    width = (1 - gap * (k - 1)) / k
    data, layout = [], {"barmode": "stack", "annotations": []}
    for i, net in enumerate(nets):
        ax = "" if i == 0 else str(i + 1)
        # largest distinct reach first, so the leader is the first bar of every panel
        d = reach.filter(pl.col("network") == net).sort(
            ["total_reach", "name"], descending=[True, False], nulls_last=True)
        hover = [f"{n}<br>" + (f"first degree {human(f)} · second degree {human(s)}"
                               if f is not None or s is None or t is None else
                               "first/second split withheld (privacy threshold)")
                 + f"<br>distinct total {human(t)} vs potential {human(p)} (dedup {pct(r)})"
                 + f"<br>{how_obtained(m, e, lo, hi, ls)}"
                 for n, f, s, t, p, r, m, e, lo, hi, ls in d.select(
                     "name", "first_degree_reach", "second_degree_reach", "total_reach",
                     "potential_reach", "dedup_ratio", *_HOW).rows()]
        # an estimate is drawn with its ~95 % band, never as a bare bar
        estimated = pl.col("method").is_in(["sampled", "modelled", "sketch", "hll"])
        above = d.select(pl.when(estimated).then(pl.col("total_reach_high") - pl.col(
            "total_reach")).otherwise(0)).to_series()
        below = d.select(pl.when(estimated).then(pl.col("total_reach") - pl.col(
            "total_reach_low")).otherwise(0)).to_series()
        # a split withheld by the privacy threshold: the published total as one bar
        d = d.with_columns(pl.when(pl.col("first_degree_reach").is_null()
                                   & pl.col("second_degree_reach").is_null())
                           .then(pl.col("total_reach")).otherwise(pl.col("first_degree_reach"))
                           .alias("first_degree_reach"))
        names = d["name"].to_list()
        common = {"x": names, "xaxis": f"x{ax}", "yaxis": f"y{ax}", "hovertext": hover,
                  "hoverinfo": "text"}
        data += [
            common | {"type": "bar", "y": _ys(d["first_degree_reach"]), "name": "first degree",
                      "legendgroup": "first", "showlegend": i == 0,
                      "marker": {"color": colour(net)}},
            common | {"type": "bar", "y": _ys(d["second_degree_reach"]),
                      "name": "second degree (reshares)", "legendgroup": "second",
                      "showlegend": i == 0, "marker": {"color": colour(net), "opacity": 0.4},
                      "text": [pct(r) for r in d["dedup_ratio"]], "textposition": "outside",
                      # no caps: an exact bar (a band of 0) must not look uncertain
                      "error_y": {"type": "data", "symmetric": False, "array": _ys(above),
                                  "arrayminus": _ys(below), "color": "#334155",
                                  "thickness": 2, "width": 0,
                                  "visible": bool((above > 0).any() or (below > 0).any())}},
            common | {"type": "scatter", "mode": "markers", "y": _ys(d["potential_reach"]),
                      "name": "potential reach (sum others report)", "legendgroup": "pot",
                      "showlegend": i == 0,
                      "marker": {"symbol": "line-ew-open", "size": 26, "line": {"width": 3},
                                 "color": "#dc2626"}},
        ]
        # a missing bar is a word, not a gap: why this campaign has no number here
        missing = d.filter(pl.col("total_reach").is_null())
        if missing.height:
            why = [why_missing(m, s) for m, s in missing.select("method", "listed_share").rows()]
            data.append(common | {
                "type": "scatter", "mode": "text", "x": missing["name"].to_list(),
                "y": [0] * missing.height, "textposition": "top center",
                "text": why,
                "hovertext": [f"{n}: {w}" for n, w in zip(missing["name"], why, strict=True)],
                "showlegend": False, "textfont": {"size": 11, "color": "#4b5563"}})
        left = i * (width + gap)
        layout[f"xaxis{ax}"] = {"domain": [left, left + width], "anchor": f"y{ax}",
                                "gridcolor": GRID, "automargin": True}
        # each network on its own scale: LinkedIn's hundreds are not flattened by X's
        # hundreds of thousands
        layout[f"yaxis{ax}"] = {"anchor": f"x{ax}", "gridcolor": GRID, "rangemode": "tozero",
                                **({} if i else {"title": {"text": "people"}})}
        layout["annotations"].append({"text": net, "x": left + width / 2, "y": 1.0,
                                      "xref": "paper", "yref": "paper", "showarrow": False,
                                      "yanchor": "bottom", "font": {"size": 14}})
    # room on the right for the last facet's slanted names ("Green Week", not "Green Wee")
    layout["margin"] = {"l": 50, "r": 60, "t": 50, "b": 40}
    return plain_figure(data, "Distinct people reached vs potential reach (labels: dedup "
                              "ratio = distinct / potential)", 420, **layout)


def _interval_figure(df: pl.DataFrame, value: str, low: str, high: str, title: str,
                     axis: dict, hover, solid: str | None = None) -> dict:
    """Points with 95 % bars per network; with ``solid`` (a boolean column), the points
    where it holds are filled and the others hollow, so it reads without hovering."""
    data = []
    for net in df["network"].unique(maintain_order=True).to_list():
        part = df.filter(pl.col("network") == net)
        v = part[value]
        lo, hi = part[low].fill_null(v), part[high].fill_null(v)
        symbols = ("circle" if solid is None else
                   ["circle" if s else "circle-open" for s in part[solid].fill_null(False)])
        data.append({"type": "scatter", "mode": "markers", "name": net,
                     "x": v.to_list(), "y": [f"{n} · {net}" for n in part["name"]],
                     "marker": {"color": colour(net), "size": 10, "symbol": symbols,
                                "line": {"width": 2, "color": colour(net)}},
                     "error_x": {"type": "data", "symmetric": False,
                                 "array": (hi - v).to_list(), "arrayminus": (v - lo).to_list()},
                     "hovertext": hover(part), "hoverinfo": "text"})
    return plain_figure(data, title, 120 + 28 * max(df.height, 3), xaxis=axis,
                        yaxis={"automargin": True, "gridcolor": GRID})


def uplift_figure(uplift: pl.DataFrame) -> dict:
    d = uplift.filter(pl.col("method") == "nb_glm", pl.col("uplift").is_not_null()).sort(
        "network", "name")
    if "placebo_rate" not in d.columns:  # a mart computed before the placebo check
        d = d.with_columns(pl.lit(None, pl.Float64).alias("placebo_rate"))

    def hover(part):
        return [f"uplift {signed_pct(u)} (95%: {signed_pct(lo)} to {signed_pct(hi)})"
                f"<br>adjusted p {p:.3g}"
                + (f"<br>placebo check: {rate:.0%} of fake campaigns on {net} significant"
                   if rate is not None else "")
                for u, lo, hi, p, rate, net in part.select(
                    "uplift", "ci_low", "ci_high", "p_adjusted", "placebo_rate",
                    "network").rows()]
    d = d.with_columns((pl.col("p_adjusted") < 0.05).alias("significant"))
    fig = _interval_figure(d, "uplift", "ci_low", "ci_high",
                           "Uplift per network, 95% intervals (filled: significant after "
                           "adjustment; hollow: not)",
                           {"tickformat": "+.0%", "zeroline": True, "zerolinecolor": "#6b7280",
                            "gridcolor": GRID,
                            "title": {"text": "engagement per exposure vs the same authors' "
                                              "organic posts"}}, hover, solid="significant")
    return fig


REACH_ALT = ("Chart: distinct people reached per campaign and network, first degree and "
             "added by reshares, beside the potential reach others report. The same numbers "
             "are in the table 'The numbers' below.")
#: what the uplift figure can and cannot say, under it (README, "Metrics")
UPLIFT_NOTE = ("An association, not proof: the campaign posts are compared with the same "
               "authors' organic posts, with every other organic post of the same days "
               "removing trends, seasons and weekdays. It assumes nothing else changed for "
               "these authors at the same time, comparable content, and no paid boost "
               "unless impressions are known. Hover a point for its placebo check.")


def rate_figure(rates: pl.DataFrame) -> dict:
    d = rates.filter(pl.col("engagement_rate").is_not_null()).sort("network", "name")

    def hover(part):
        return [f"{r:.2%} (95%: {pct(lo, 2)} to {pct(hi, 2)})" for r, lo, hi in part.select(
            "engagement_rate", "rate_low", "rate_high").rows()]
    return _interval_figure(d, "engagement_rate", "rate_low", "rate_high",
                            "Engagement rate (95% intervals)",
                            {"tickformat": ".1%", "gridcolor": GRID,
                             "title": {"text": "engagements per impression"}}, hover)


_HOW = ("method", "rel_error", "total_reach_low", "total_reach_high", "listed_share")


def with_how(reach: pl.DataFrame) -> pl.DataFrame:
    """The reach mart with every column ``how_obtained`` reads (marts computed before
    ``listed_share`` existed lack it)."""
    return reach if "listed_share" in reach.columns else reach.with_columns(
        listed_share=pl.lit(None, pl.Float64))


def comparison_table(data: dict[str, pl.DataFrame]) -> pl.DataFrame:
    reach = with_how(data["reach"]).select(
        "name", "campaign_id", "network", "first_degree_reach", "second_degree_reach",
        "total_reach", "potential_reach", "dedup_ratio",
        pl.struct(_HOW).map_elements(lambda r: how_obtained(*r.values()),
                                     return_dtype=pl.String).alias("reach_obtained"))
    up = data["uplift"]
    if up.height:
        reach = reach.join(up.filter(pl.col("method") == "nb_glm").select(
            "campaign_id", "network", "uplift", "ci_low", "ci_high", "p_adjusted"),
            on=["campaign_id", "network"], how="left")
    rate = data["engagement"]
    if rate.height:
        reach = reach.join(rate.select("campaign_id", "network", "engagement_rate"),
                           on=["campaign_id", "network"], how="left")
    return reach.sort(["total_reach", "name", "network"], descending=[True, False, False],
                      nulls_last=True)


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
                  Output("url", "search", allow_duplicate=True), Output("cmp-drawn", "data"),
                  Input("cmp-campaigns", "value"), Input("cmp-networks", "value"),
                  State("url", "search"), State("cmp-drawn", "data"),
                  prevent_initial_call=True)
    def update(campaigns, networks, search, drawn):
        campaigns, networks = campaigns or [], networks or []
        selection = _selection(campaigns, networks)
        if selection == drawn and len(campaigns) <= MAX_CAMPAIGNS:
            return no_update, no_update, no_update, no_update  # the layout drew it already
        body, note = headline(reader, campaigns, networks)
        return body, note, st.with_values(search, **selection), selection

    @app.callback(Output("cmp-more", "children"), Input("cmp-drawn", "data"))
    def more(selection):
        return details(reader, **selection) if selection else None


def _selection(campaigns: list[str], networks: list[str]) -> dict[str, list[str]]:
    return {"campaigns": campaigns[:MAX_CAMPAIGNS], "networks": networks}


def headline(reader, campaigns: list[str], networks: list[str]) -> tuple[list, html.Div | None]:
    """The reach figure for a selection, and a note when the selection needs one.

    It is drawn with the page; uplift, rates and the table (`details`) follow in a second
    callback, so the first figure is not kept waiting for three more to be drawn."""
    note = None
    if len(campaigns) > MAX_CAMPAIGNS:
        note = empty(f"Showing the first {MAX_CAMPAIGNS} campaigns; remove some to add "
                     "others.")
    elif len(campaigns) < 2:
        note = empty("Pick at least two campaigns to compare them.")
    if not campaigns or not networks:
        return [empty("Nothing selected.")], note
    from .verdict import verdict
    reach = reader.compare(campaigns[:MAX_CAMPAIGNS], networks)["reach"]
    return [verdict(reader, campaigns[:MAX_CAMPAIGNS]),
            graph("cmp-reach", reach_figure(reach, networks), alt=REACH_ALT,
                  about="compare-reach-" + "-".join(campaigns[:MAX_CAMPAIGNS]))], note


def details(reader, campaigns: list[str], networks: list[str]) -> list:
    """Uplift and engagement-rate figures and the sortable table, below the reach figure."""
    if not campaigns or not networks:
        return []
    data = reader.compare(campaigns, networks + ["all"])
    body = []
    if data["uplift"].height:
        body.append(graph("cmp-uplift", uplift_figure(data["uplift"]),
                          about="compare-uplift-" + "-".join(campaigns), alt=(
            "Chart: engagement uplift per campaign and network with 95 % intervals. The same "
            "numbers (uplift, ci low, ci high, p adjusted) are in the table below.")))
        body.append(html.P(UPLIFT_NOTE, style={"margin": "0 0 8px", "color": "#4b5563",
                                               "fontSize": "14px"}))
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
        body.append(graph("cmp-rate", rate_figure(data["engagement"]),
                          about="compare-rates-" + "-".join(campaigns), alt=(
            "Chart: engagement rate per campaign and network with 95 % intervals. The rates "
            "are in the table below.")))
    body.append(section("The numbers", table(
        "cmp-table", comparison_table(data), "reach", FORMATS),
        note="Hover a column name for its definition. 'all' rows count each person "
             "once across networks."))
    return body
