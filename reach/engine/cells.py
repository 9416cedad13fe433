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


def cell_index(posts: pl.LazyFrame) -> pl.DataFrame:
    """The campaign × network cells, sorted: campaign_id, network, posts, and ``cell``,
    their row number, which stands for the two strings in every per-row step below."""
    return (posts.filter(pl.col("campaign_id").is_not_null())
            .group_by("campaign_id", "network").agg(pl.len().alias("posts"))
            .sort("campaign_id", "network").collect()
            .with_row_index("cell"))


def campaign_made(posts: pl.LazyFrame, shares: pl.LazyFrame, index: pl.DataFrame
                  ) -> pl.LazyFrame:
    """Every campaign post and every share of one: cell (of ``index``), key (the author
    or sharer), t (when), is_post."""
    camp = posts.filter(pl.col("campaign_id").is_not_null()).join(
        index.lazy().select("campaign_id", "network", "cell"), on=["campaign_id", "network"])
    return pl.concat([
        camp.select("cell", pl.col("account_key").alias("key"),
                    pl.col("created_at").alias("t"), pl.lit(True).alias("is_post")),
        shares.join(camp.select("network", "post_id", "cell"), on=["network", "post_id"])
        .select("cell", pl.col("sharer_key").alias("key"), pl.col("created_at").alias("t"),
                pl.lit(False).alias("is_post")),
    ])


def _spans(cell: np.ndarray, n: int) -> list[slice]:
    """The rows of each of cells 0..n-1, in rows sorted by cell."""
    at = np.searchsorted(cell, np.arange(n + 1)).tolist()
    return [slice(a, b) for a, b in zip(at[:-1], at[1:], strict=True)]


def campaign_cells(posts: pl.LazyFrame, shares: pl.LazyFrame) -> list[Cell]:
    index = cell_index(posts)
    # One row per (cell, exposer) with role and first exposure time; integer keys only,
    # so grouping and sorting never hash or compare the campaign strings.
    exp = (campaign_made(posts, shares, index)
           .group_by("cell", "key")
           .agg(pl.col("t").min(), pl.col("is_post").any().alias("author"),
                pl.col("is_post").not_().any().alias("sharer"))
           .sort("cell", "author", "key", descending=[False, True, False])
           .collect())
    keys = exp["key"].to_numpy().astype(np.int64)
    author, sharer = exp["author"].to_numpy(), exp["sharer"].to_numpy()
    when = exp["t"].dt.epoch("us").to_numpy()
    return [Cell(campaign_id=campaign_id, network=network, posts=n_posts,
                 exposers=keys[at], is_author=author[at], is_sharer=sharer[at],
                 exposed_at=when[at], n_sharers=int(sharer[at].sum()))
            for (campaign_id, network, n_posts), at in zip(
                index.select("campaign_id", "network", "posts").iter_rows(),
                _spans(exp["cell"].to_numpy(), index.height), strict=True)]


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
    index = cell_index(posts)
    made = campaign_made(posts, shares, index).collect().sort("cell", maintain_order=True)
    keys = made["key"].to_numpy().astype(np.int64)
    when, is_post = made["t"].dt.epoch("us").to_numpy(), made["is_post"].to_numpy()
    return {(cid, net): CellItems(keys[at], when[at], is_post[at])
            for (cid, net), at in zip(index.select("campaign_id", "network").iter_rows(),
                                      _spans(made["cell"].to_numpy(), index.height),
                                      strict=True)}
