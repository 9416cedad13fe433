"""Who amplified each campaign on each network: the `amplifiers` mart.

Per campaign × network and exposer (authors and sharers): ``shares_triggered`` (distinct
shares descending from the exposer's posts or shares in the campaign's cascades, its
own excluded), ``incremental_reach`` (people only it reached) and ``shapley_reach``
(exact Shapley credit of total_reach, see ``reach.cascades.credit``), ranked by Shapley credit.
Where some lists are partial (``method = sampled``) the credits are estimates that sum to
the reach mart's estimate.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from reach.cascades.credit import coverage_credit
from reach.engine.cells import Cell
from reach.followers.graph import FollowerGraph, Marker

RANK_DIGITS = 9  #: shapley_reach is compared to this many decimals when ranking

AMPLIFIER_SCHEMA = {
    "campaign_id": pl.String, "network": pl.String, "account_id": pl.String,
    "role": pl.String, "shares_triggered": pl.Int64, "incremental_reach": pl.Int64,
    "shapley_reach": pl.Float64, "method": pl.String, "rank": pl.Int64,
}


def sampled_credit(observed: np.ndarray, listed: np.ndarray, reported: np.ndarray,
                   total: float) -> np.ndarray:
    """Credits where some lists are partial (README.md, "Partial follower lists"): each
    exposer's credit on the lists as they are, divided by the share of its followers its
    list holds (``reported`` NaN: not reported), then scaled so the credits sum to the
    cell's estimated ``total`` reach. People only one account reached cannot be read off
    samples: the caller leaves incremental_reach empty."""
    listed = listed.astype(np.float64)
    rate = np.where(np.isnan(reported) | (reported <= listed), 1.0,
                    listed / np.where(reported > 0, reported, 1.0))
    weighted = np.where(rate > 0, observed / np.where(rate > 0, rate, 1.0), 0.0)
    if weighted.sum() > 0 and not np.isnan(total):
        weighted *= total / weighted.sum()
    return weighted


def ranked(df: pl.DataFrame) -> pl.DataFrame:
    """Amplifier rows ranked within their cell, in the mart's columns and order."""
    df = df.with_columns(
        # Credits are sums of fractions: round so that equal credits tie exactly, whatever
        # order the engine summed them in (Spark and Polars then rank alike).
        pl.struct(-pl.col("shapley_reach").fill_null(0).round(RANK_DIGITS),
                  -pl.col("shares_triggered"),
                  pl.col("account_id")).rank("ordinal")
        .over("campaign_id", "network").cast(pl.Int64).alias("rank"))
    return df.select(list(AMPLIFIER_SCHEMA)).cast(AMPLIFIER_SCHEMA).sort(
        "campaign_id", "network", "rank")


def amplifier_rows(cells: list[Cell], graphs: dict[str, FollowerGraph],
                   triggered: pl.DataFrame, account_keys: pl.DataFrame,
                   reported: dict[str, np.ndarray] | None = None,
                   sampled: dict[tuple[str, str], tuple] | None = None) -> pl.DataFrame:
    frames = []
    markers = {net: Marker(g.n) for net, g in graphs.items()}
    for cell in cells:
        g = graphs.get(cell.network)
        estimates = (sampled or {}).get((cell.campaign_id, cell.network))
        method = "exact" if g is not None else "no_graph"
        if g is not None:
            shapley, incremental = coverage_credit(g, cell.exposers, cell.authors,
                                                   markers[cell.network])
            if estimates is not None:
                method, incremental = "sampled", np.full(cell.exposers.size, None)
                shapley = sampled_credit(shapley, g.in_degree(cell.exposers),
                                         reported[cell.network][cell.exposers],
                                         estimates[1].estimate)
        else:
            shapley = np.full(cell.exposers.size, np.nan)
            incremental = np.full(cell.exposers.size, None)
        frames.append(pl.DataFrame({
            "campaign_id": cell.campaign_id, "network": cell.network,
            "account_key": cell.exposers.astype(np.int32),
            "role": np.where(cell.is_author, "author", "sharer"),
            "incremental_reach": pl.Series(incremental, dtype=pl.Int64, strict=False),
            "shapley_reach": pl.Series(shapley).fill_nan(None), "method": method}))
    if not frames:
        return pl.DataFrame(schema=AMPLIFIER_SCHEMA)
    df = (pl.concat(frames)
          .join(triggered.cast({"account_key": pl.Int32}), how="left",
                on=["campaign_id", "network", "account_key"])
          .join(account_keys, on=["network", "account_key"], how="left")
          .with_columns(pl.col("shares_triggered").fill_null(0)))
    return ranked(df)
