"""The verdict that opens Compare: a headline row per campaign and one plain sentence
naming the leader and why.

Per campaign: distinct people reached (the `all` row; where networks cannot be
deduplicated, the networks' sum, said so), how much the potential-reach sum overstates it,
the share that came only through reshares, and whether engagement rose significantly
(adjusted p < 0.05) on any network. The sentence names the campaign that reached the most
distinct people, its best network, its largest cascade there and its top amplifier.
Numbers that are estimates say so; numbers nobody can compute say why.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
from dash import html

from ..format import human, pct, signed_pct
from .compare import METHOD_WORDS

ALPHA = 0.05


def verdict_rows(reach: pl.DataFrame, uplift: pl.DataFrame) -> pl.DataFrame:
    """One row per campaign: name, people, exact (bool), how, potential, overstated,
    reshare_share, best_network, uplift, uplift_network; sorted by people."""
    cells = reach.filter(pl.col("network") != "all")
    alls = reach.filter(pl.col("network") == "all")
    best = (cells.filter(pl.col("total_reach").is_not_null())
            .sort("total_reach", descending=True).group_by("campaign_id", maintain_order=True)
            .agg(pl.col("network").first().alias("best_network")))
    def known_sum(col: str) -> pl.Expr:  # a sum with an unknown (or withheld) part is unknown
        return pl.when(pl.col(col).null_count() == 0).then(pl.col(col).sum())

    summed = cells.group_by("campaign_id").agg(
        # no cell with a number: unknown, not 0 people
        pl.when(pl.col("total_reach").is_not_null().any())
        .then(pl.col("total_reach").sum()).alias("cells_total"),
        pl.col("total_reach").null_count().alias("unknown_cells"),
        known_sum("second_degree_reach").alias("cells_second"),
        known_sum("potential_reach").alias("cells_potential"),
        pl.struct("network", "method").alias("methods"))
    rows = (alls.select("campaign_id", "name", "total_reach", "second_degree_reach",
                        "potential_reach", "method")
            .join(summed, on="campaign_id", how="left")
            .join(best, on="campaign_id", how="left"))
    rows = rows.with_columns(
        pl.coalesce("total_reach", "cells_total").alias("people"),
        pl.coalesce("second_degree_reach", "cells_second").alias("second"),
        pl.coalesce("potential_reach", "cells_potential").alias("potential"),
        (pl.col("method") == "exact").alias("exact"))
    floor = pl.col("total_reach").is_null() & (pl.col("unknown_cells") > 0)
    rows = rows.with_columns(
        pl.when((pl.col("people") > 0) & ~floor)
        .then(pl.col("potential") / pl.col("people") - 1).alias("overstated"),
        pl.when(pl.col("people") > 0).then(pl.col("second") / pl.col("people"))
        .alias("reshare_share"))
    if uplift.height:
        sig = (uplift.filter(pl.col("method") == "nb_glm", pl.col("network") != "all",
                             pl.col("p_adjusted") < ALPHA)
               .sort("uplift", descending=True).group_by("campaign_id", maintain_order=True)
               .agg(pl.col("uplift").first(), pl.col("network").first().alias("uplift_network")))
        rows = rows.join(sig, on="campaign_id", how="left")
    else:
        rows = rows.with_columns(pl.lit(None, pl.Float64).alias("uplift"),
                                 pl.lit(None, pl.String).alias("uplift_network"))
    return rows.sort("people", "name", descending=[True, False], nulls_last=True)


def how_counted(row: dict) -> str:
    """'' when the number is an exact count; else a few words on what it is."""
    if row["method"] == "exact":
        return ""
    if row["people"] is None:
        return _missing(row.get("methods"))
    if row["method"] == "partial":
        words = [f"{m['network']} {METHOD_WORDS.get(m['method'], m['method'])}"
                 for m in row.get("methods") or [] if m["method"] != "exact"]
        floor = "at least: some networks withheld or unknown; " if row["unknown_cells"] else ""
        return (f"{floor}networks added up, not deduplicated"
                + (f"; {', '.join(words)}" if words else ""))
    return METHOD_WORDS.get(row["method"], row["method"])


def _missing(methods: list[dict] | None) -> str:
    """Why no network of a campaign has a number: too few people to publish (counted or
    estimated, under the privacy threshold), no follower lists, or both."""
    kinds = {m["method"] == "no_graph" for m in methods or []}
    if kinds == {False}:
        return "withheld: too few people to publish"
    if kinds == {True, False}:
        return "withheld (too few people) or unknown (no follower lists)"
    return "unknown: no follower lists"


def _who(network: str, account_id: str, handle: Callable[[str, str], str | None]) -> str:
    name = handle(network, account_id)
    return f"@{name}" if name else account_id


def sentence(rows: pl.DataFrame, cascades: pl.DataFrame, amplifiers: pl.DataFrame,
             handle: Callable[[str, str], str | None] = lambda _n, _a: None) -> str:
    """One plain sentence: who reached the most people, and why."""
    known = rows.filter(pl.col("people").is_not_null())
    if known.height == 0:
        if all(_missing(m).startswith("unknown") for m in rows["methods"].to_list()):
            return ("No campaign's reach can be counted: these networks have no follower "
                    "lists and no counts to bound them.")
        return ("No campaign's reach can be shown: every number is withheld (fewer people "
                "than the privacy threshold) or unknown (no follower lists).")
    lead = known.row(0, named=True)
    how = how_counted(lead)
    text = (f"{lead['name']} reached the most people: {lead['people']:,} distinct"
            + (f" ({how})" if how else "") + ".")
    if lead["potential"] and lead["overstated"] is not None and lead["overstated"] > 0:
        text += (f" A follower-count sum would report {lead['potential']:,}, "
                 f"{pct(lead['overstated'])} more.")
    elif lead["potential"]:
        text += f" A follower-count sum would report {lead['potential']:,}."
    if lead["reshare_share"] is not None:
        text += f" {pct(lead['reshare_share'])} came only through reshares"
        net = lead["best_network"]
        big = (cascades.filter(pl.col("campaign_id") == lead["campaign_id"],
                               pl.col("network") == net, pl.col("size") > 0)
               .sort("size", descending=True) if cascades.height else cascades)
        top = (amplifiers.filter(pl.col("campaign_id") == lead["campaign_id"],
                                 pl.col("network") == net, pl.col("role") != "author",
                                 pl.col("shapley_reach").is_not_null())
               .sort("rank") if amplifiers.height else amplifiers)
        if net:
            text += f"; its best network is {net}"
        if big.height:
            text += f", where its largest cascade had {big['size'][0]:,} reshares"
        if top.height:
            text += (f" and {_who(net, top['account_id'][0], handle)} added the most "
                     f"({human(round(top['shapley_reach'][0]))} people, Shapley credit)")
        text += "."
    if lead["uplift"] is not None:
        text += (f" Engagement rose {signed_pct(lead['uplift'])} on "
                 f"{lead['uplift_network']} (significant; an association, not proof).")
    return text


CARD = {"flex": "1 1 200px", "padding": "10px 14px", "border": "1px solid #e5e7eb",
        "borderRadius": "8px", "background": "#fff", "minWidth": "0"}


def _card(row: dict, leader: bool) -> html.Div:
    how = how_counted(row)
    lines = [html.Div(row["name"], style={"fontWeight": "600", "overflowWrap": "anywhere"}),
             html.Div(f"{row['people']:,}" if row["people"] is not None
                      else how.split(":")[0].split(" ")[0],  # withheld / unknown
                      style={"fontSize": "26px", "fontWeight": "700"}),
             html.Div("distinct people reached" + (f" · {how}" if how else ""),
                      style={"fontSize": "13px", "color": "#4b5563"})]
    if row["overstated"] is not None:
        lines.append(html.Div(f"potential-reach sum overstates it by {pct(row['overstated'])}",
                              style={"fontSize": "13px"}))
    if row["reshare_share"] is not None:
        lines.append(html.Div(f"{pct(row['reshare_share'])} only through reshares",
                              style={"fontSize": "13px"}))
    lines.append(html.Div(
        f"engagement {signed_pct(row['uplift'])} on {row['uplift_network']} (significant)"
        if row["uplift"] is not None else "no significant engagement uplift",
        style={"fontSize": "13px", "color": "#047857" if row["uplift"] is not None
               else "#4b5563"}))
    style = CARD | ({"borderColor": "#111827", "borderWidth": "2px"} if leader else {})
    return html.Div(lines, style=style, className="verdict-card")


def verdict(reader, campaigns: list[str]) -> html.Div:
    data = reader.compare(campaigns, reader.networks() + ["all"])
    rows = verdict_rows(data["reach"], data["uplift"])
    if rows.height == 0:
        return html.Div()
    cards = [_card(r, i == 0 and r["people"] is not None)
             for i, r in enumerate(rows.iter_rows(named=True))]
    text = sentence(rows, reader.read("cascades"), reader.read("amplifiers"), reader.handle)
    return html.Div([
        html.P(text, id="cmp-verdict", style={"fontSize": "17px", "margin": "8px 0 10px"}),
        html.Div(cards, style={"display": "flex", "flexWrap": "wrap", "gap": "10px"})],
        style={"margin": "8px 0 4px"})
