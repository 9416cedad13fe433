"""Conversion paths from the lake: who saw which campaign, where, before converting.

A *touchpoint* (issue #4): account u, converting on network n at time t, was exposed to
campaign c on n when an account u follows there posted or reshared one of c's posts
before t (and within the look-back window), and u followed it by then: a follow whose
``followed_at`` is after the post does not count; an unknown ``followed_at`` is taken
to predate it (the follower lists of most sources carry no dates). Every such post or share is one touchpoint,
so repeats are kept. A path is a conversion's touchpoints in time order; a conversion
with none still counts (it is credited to ``(no touchpoint)``, never dropped).

Optionally, *non-converting* paths: accounts reached by the campaigns (followers of an
author or sharer, at its first exposure) that never converted on that network. Markov
and Shapley models use them as the denominator of conversion rates.
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from reach.engine.cells import Cell
from reach.followers.graph import FollowerGraph

TOUCH_SCHEMA = {"path": pl.Int64, "network": pl.String, "campaign_id": pl.String,
                "touched_at": pl.Datetime("us", "UTC")}
PATH_SCHEMA = {"path": pl.Int64, "network": pl.String, "converted": pl.Boolean,
               "converted_at": pl.Datetime("us", "UTC"), "value": pl.Float64}


def campaign_events(posts: pl.LazyFrame, shares: pl.LazyFrame) -> pl.LazyFrame:
    """Every post or share of a campaign post: network, campaign_id, key, t."""
    camp = posts.filter(pl.col("campaign_id").is_not_null())
    by_post = camp.select("network", "campaign_id", pl.col("account_key").alias("key"),
                          pl.col("created_at").alias("t"))
    by_share = shares.join(camp.select("network", "post_id", "campaign_id"),
                           on=["network", "post_id"]).select(
        "network", "campaign_id", pl.col("sharer_key").alias("key"),
        pl.col("created_at").alias("t"))
    return pl.concat([by_post, by_share])


def conversion_paths(posts: pl.LazyFrame, shares: pl.LazyFrame, follows: pl.LazyFrame,
                     conversions: pl.LazyFrame, *, window_days: float = 30
                     ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(paths, touches): one path per conversion (id ``path``), and its touchpoints."""
    conv = (conversions.select("network", "account_key", "converted_at", "value")
            .sort("network", "account_key", "converted_at")
            .with_row_index("path").with_columns(pl.col("path").cast(pl.Int64)))
    window = timedelta(days=window_days)
    touches = (conv.join(follows.select("network", "follower_key", "followee_key",
                                        "followed_at"),
                         left_on=["network", "account_key"],
                         right_on=["network", "follower_key"])
               .join(campaign_events(posts, shares),
                     left_on=["network", "followee_key"], right_on=["network", "key"])
               .filter(pl.col("t") < pl.col("converted_at"),
                       pl.col("t") >= pl.col("converted_at") - window,
                       # followed after the post: the post never reached them
                       pl.col("followed_at").is_null() | (pl.col("followed_at") <= pl.col("t")))
               .select("path", "network", "campaign_id", pl.col("t").alias("touched_at"))
               .sort("path", "touched_at", "campaign_id"))
    paths = conv.select("path", "network", pl.lit(True).alias("converted"), "converted_at",
                        pl.col("value").cast(pl.Float64))
    return paths.collect(), touches.collect().cast(TOUCH_SCHEMA)


def nonconverting_paths(cells: list[Cell], graphs: dict[str, FollowerGraph],
                        conversions: pl.LazyFrame, first_path: int
                        ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Paths of accounts reached by campaigns that did not convert on that network.

    One touch per (account, campaign, exposer), at the exposer's first exposure. Path ids
    start at ``first_path`` so they never collide with the conversions' ids.
    """
    converters = {net: set() for net in graphs}
    for net, key in conversions.select("network", "account_key").unique().collect().iter_rows():
        converters.setdefault(net, set()).add(key)
    parts = []
    for cell in cells:
        g = graphs.get(cell.network)
        if g is None:
            continue
        fol, owner = g.gather(cell.exposers)
        parts.append(pl.DataFrame({
            "network": pl.repeat(cell.network, fol.size, eager=True),
            "key": fol, "campaign_id": pl.repeat(cell.campaign_id, fol.size, eager=True),
            "touched_at": cell.exposed_at[owner]}))
    if not parts:
        return pl.DataFrame(schema=PATH_SCHEMA), pl.DataFrame(schema=TOUCH_SCHEMA)
    exposed = pl.concat(parts)
    drop = pl.DataFrame([(n, k) for n, ks in converters.items() for k in ks],
                        schema={"network": pl.String, "key": exposed["key"].dtype},
                        orient="row")
    exposed = exposed.join(drop, on=["network", "key"], how="anti")
    ids = (exposed.select("network", "key").unique().sort("network", "key")
           .with_row_index("path").with_columns(pl.col("path").cast(pl.Int64) + first_path))
    touches = (exposed.join(ids, on=["network", "key"])
               .with_columns(pl.from_epoch("touched_at", "us").dt.replace_time_zone("UTC"))
               .select("path", "network", "campaign_id", "touched_at")
               .sort("path", "touched_at", "campaign_id"))
    paths = ids.select("path", "network", pl.lit(False).alias("converted"),
                       pl.lit(None, pl.Datetime("us", "UTC")).alias("converted_at"),
                       pl.lit(0.0).alias("value"))
    return paths, touches.cast(TOUCH_SCHEMA)


def with_channels(touches: pl.DataFrame, by: str) -> pl.DataFrame:
    """Add ``channel``: the campaign, the network, or ``campaign @ network``."""
    expr = {"campaign": pl.col("campaign_id"), "network": pl.col("network"),
            "campaign_network": pl.format("{} @ {}", "campaign_id", "network")}
    if by not in expr:
        raise ValueError(f"channels are by campaign, network or campaign_network, not {by!r}")
    return touches.with_columns(expr[by].alias("channel"))

