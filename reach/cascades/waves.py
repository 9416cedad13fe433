"""Negative waves: where a crisis started, how far it went, who carried it.

A wave is a post with sentiment < 0 by a non-brand account, with its cascade. Beside
the cascade's size and reach: ``peak_hour`` (the hour with the most shares) and
``top_amplifiers`` — up to five sharers with the most Shapley credit of the cascade's
reach, comma-separated, so a brand knows whom to answer first. ``severity`` sorts them
for a person on call (:data:`SEVERITY`): how far it went, or how fast it is going.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from reach.cascades.credit import coverage_credit
from reach.cascades.trees import Forest
from reach.followers.graph import FollowerGraph

TOP = 5
#: severity: the first level whose thresholds a wave reaches (people reached, reshares in
#: its busiest hour); a negative post nobody reshared is ``none``, not a wave
SEVERITY = (("high", 10_000, 20), ("medium", 1_000, 5), ("low", 0, 0))
WAVE_SCHEMA = {
    "network": pl.String, "post_id": pl.String, "root_account_id": pl.String,
    "created_at": pl.Datetime("us", "UTC"), "sentiment": pl.Float64, "size": pl.Int64,
    "depth": pl.Int64, "total_reach": pl.Int64, "first_share_at": pl.Datetime("us", "UTC"),
    "time_to_half_s": pl.Float64, "peak_hour": pl.Datetime("us", "UTC"),
    "peak_hour_shares": pl.Int64, "top_amplifiers": pl.String, "severity": pl.String,
}


def severity() -> pl.Expr:
    """``high`` / ``medium`` / ``low`` by :data:`SEVERITY`, ``none`` when never reshared."""
    expr = pl.when(pl.col("size").fill_null(0) == 0).then(pl.lit("none"))
    for level, people, per_hour in SEVERITY:
        expr = expr.when((pl.col("total_reach").fill_null(0) >= people)
                         | (pl.col("peak_hour_shares").fill_null(0) >= per_hour)
                         ).then(pl.lit(level))
    return expr.alias("severity")


def wave_rows(cascades: pl.DataFrame, posts: pl.LazyFrame, accounts: pl.LazyFrame,
              forest: Forest, graphs: dict[str, FollowerGraph]) -> pl.DataFrame:
    brand = accounts.filter(pl.col("is_brand").fill_null(False)).select(
        "network", pl.col("account_id").alias("root_account_id"))
    negative = (posts.filter(pl.col("sentiment") < 0)
                .select("network", "post_id", "sentiment", "created_at").collect()
                .join(cascades, on=["network", "post_id"])
                .join(brand.collect(), on=["network", "root_account_id"], how="anti"))
    if negative.height == 0:
        return pl.DataFrame(schema=WAVE_SCHEMA)
    shares = forest.nodes.filter(~pl.col("is_root")).join(
        negative.select("network", "post_id"), on=["network", "post_id"])
    peak = (shares.with_columns(pl.col("t").dt.truncate("1h").alias("peak_hour"))
            .group_by("network", "post_id", "peak_hour").len()
            .sort("len", "peak_hour", descending=[True, False])
            .group_by("network", "post_id", maintain_order=True)
            .agg(pl.col("peak_hour").first(), pl.col("len").first().alias("peak_hour_shares")))
    tops = []
    roots = dict(((n, p), k) for n, p, k in forest.nodes.filter("is_root").select(
        "network", "post_id", "account_key").iter_rows())
    for (network, post_id), part in shares.partition_by("network", "post_id",
                                                         as_dict=True).items():
        g = graphs.get(network)
        sharers = part.unique("account_key").sort("account_id")
        keys = sharers["account_key"].to_numpy().astype(np.int64)
        if g is None:
            credit = np.zeros(keys.size)
        else:
            root = np.array([roots[(network, post_id)]], dtype=np.int64)
            credit, _ = coverage_credit(g, np.concatenate([root, keys]), root)
            credit = credit[1:]
        order = np.lexsort((sharers["account_id"].to_numpy(), -credit))[:TOP]
        tops.append((network, post_id, ",".join(sharers["account_id"].to_numpy()[order])))
    top_df = pl.DataFrame(tops, schema={"network": pl.String, "post_id": pl.String,
                                       "top_amplifiers": pl.String}, orient="row")
    out = (negative.join(peak, on=["network", "post_id"], how="left")
           .join(top_df, on=["network", "post_id"], how="left").with_columns(severity()))
    return out.select(list(WAVE_SCHEMA)).cast(WAVE_SCHEMA).sort("created_at", descending=True)
