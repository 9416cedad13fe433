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


def campaign_made(posts: pl.LazyFrame, shares: pl.LazyFrame) -> pl.LazyFrame:
    """Every campaign post and every share of one: campaign_id, network, key (the author
    or sharer), t (when), is_post."""
    camp = posts.filter(pl.col("campaign_id").is_not_null())
    return pl.concat([
        camp.select("campaign_id", "network", pl.col("account_key").alias("key"),
                    pl.col("created_at").alias("t"), pl.lit(True).alias("is_post")),
        shares.join(camp.select("network", "post_id", "campaign_id"),
                    on=["network", "post_id"]).select(
            "campaign_id", "network", pl.col("sharer_key").alias("key"),
            pl.col("created_at").alias("t"), pl.lit(False).alias("is_post")),
    ])


def exposures(posts: pl.LazyFrame, shares: pl.LazyFrame) -> pl.LazyFrame:
    """One row per (campaign, network, exposer) with role and first exposure time."""
    return (campaign_made(posts, shares)
            .group_by("campaign_id", "network", "key")
            .agg(pl.col("t").min(), pl.col("is_post").any().alias("author"),
                 pl.col("is_post").not_().any().alias("sharer")))


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


@dataclass(frozen=True)
class CellItems:
    """A cell's campaign posts and shares, one entry each: who made it, when, which kind.

    Frequency counts these (a person following an account that posted twice and shared
    once has three opportunities to see); weekly marts take them week by week.
    """

    keys: np.ndarray  # dense account key of the author or sharer
    at: np.ndarray  # int64 microseconds since the epoch
    is_post: np.ndarray  # bool: a campaign post (else a share of one)

    def subset(self, mask: np.ndarray) -> CellItems:
        return CellItems(self.keys[mask], self.at[mask], self.is_post[mask])

    @property
    def authors(self) -> np.ndarray:
        """Distinct authors of the campaign's posts in this cell, sorted."""
        return np.unique(self.keys[self.is_post])

    def made(self, posts: bool) -> tuple[np.ndarray, np.ndarray]:
        """(accounts, how many posts — or shares — each made), accounts sorted."""
        keys, counts = np.unique(self.keys[self.is_post == posts], return_counts=True)
        return keys, counts.astype(np.int64)


def campaign_items(posts: pl.LazyFrame, shares: pl.LazyFrame
                   ) -> dict[tuple[str, str], CellItems]:
    """:func:`campaign_made` as arrays, per (campaign_id, network)."""
    made = campaign_made(posts, shares).collect()
    return {(cid, net): CellItems(part["key"].to_numpy().astype(np.int64),
                                  part["t"].dt.epoch("us").to_numpy(),
                                  part["is_post"].to_numpy())
            for (cid, net), part in made.partition_by("campaign_id", "network",
                                                      as_dict=True).items()}
