"""Campaign × network cells: who exposed the campaign's audience, and when.

An *exposer* is an author of one of the campaign's posts on the network (set A) or a
sharer of one of those posts (set S). Its exposure time is its first post or share in
the campaign. Every reach metric of a cell is a function of these arrays and the graph.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl


@dataclass(frozen=True)
class Cell:
    campaign_id: str
    network: str
    posts: int
    exposers: np.ndarray  # dense account keys, authors first, unique
    is_author: np.ndarray  # bool, per exposer
    is_sharer: np.ndarray  # bool, per exposer (an author may share too)
    exposed_at: np.ndarray  # int64 microseconds since the epoch, per exposer
    n_sharers: int  # distinct sharers (an author who also shares counts here too)

    @property
    def authors(self) -> np.ndarray:
        return self.exposers[self.is_author]


def exposures(posts: pl.LazyFrame, shares: pl.LazyFrame) -> pl.LazyFrame:
    """One row per (campaign, network, exposer) with role and first exposure time."""
    camp = posts.filter(pl.col("campaign_id").is_not_null())
    by_author = camp.select("campaign_id", "network", pl.col("account_key").alias("key"),
                            pl.col("created_at").alias("t"), pl.lit(True).alias("author"),
                            pl.lit(False).alias("sharer"))
    by_sharer = shares.join(camp.select("network", "post_id", "campaign_id"),
                            on=["network", "post_id"]).select(
        "campaign_id", "network", pl.col("sharer_key").alias("key"),
        pl.col("created_at").alias("t"), pl.lit(False).alias("author"),
        pl.lit(True).alias("sharer"))
    return (pl.concat([by_author, by_sharer])
            .group_by("campaign_id", "network", "key")
            .agg(pl.col("t").min(), pl.col("author").any(), pl.col("sharer").any()))


def campaign_cells(posts: pl.LazyFrame, shares: pl.LazyFrame) -> list[Cell]:
    counts = dict(
        ((c, n), k) for c, n, k in posts.filter(pl.col("campaign_id").is_not_null())
        .group_by("campaign_id", "network").len().collect().iter_rows())
    exp = (exposures(posts, shares)
           .sort("campaign_id", "network", pl.col("author"), "key",
                 descending=[False, False, True, False])
           .collect())
    cells = []
    for (campaign_id, network), part in exp.partition_by(
            "campaign_id", "network", as_dict=True, maintain_order=True).items():
        cells.append(Cell(
            campaign_id=campaign_id, network=network, posts=counts[(campaign_id, network)],
            exposers=part["key"].to_numpy().astype(np.int64),
            is_author=part["author"].to_numpy(),
            is_sharer=part["sharer"].to_numpy(),
            exposed_at=part["t"].dt.epoch("us").to_numpy(),
            n_sharers=int(part["sharer"].sum())))
    return cells
