"""Campaign × network cells: who exposed the campaign's audience, and when.

An *exposer* is an author of one of the campaign's posts on the network (set A) or a
sharer of one of those posts (set S). Its exposure time is its first post or share in
the campaign. Every reach metric of a cell is a function of these arrays and the graph.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from numba import njit


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
    made = campaign_made(posts, shares, index).collect()
    if made.height == 0:
        return []
    cell = made["cell"].to_numpy().astype(np.int64)
    key = made["key"].to_numpy().astype(np.int64)
    keys, when, author, sharer, at = group_exposers(
        cell, key, made["t"].dt.epoch("us").to_numpy(), made["is_post"].to_numpy(),
        index.height, int(key.max()) + 1)
    spans = [slice(a, b) for a, b in zip(at[:-1].tolist(), at[1:].tolist(), strict=True)]
    return [Cell(campaign_id=campaign_id, network=network, posts=n_posts,
                 exposers=keys[span], is_author=author[span], is_sharer=sharer[span],
                 exposed_at=when[span], n_sharers=int(sharer[span].sum()))
            for (campaign_id, network, n_posts), span in zip(
                index.select("campaign_id", "network", "posts").iter_rows(), spans,
                strict=True)]


@njit(cache=True, nogil=True)
def group_exposers(cell: np.ndarray, key: np.ndarray, t: np.ndarray, is_post: np.ndarray,
                   n_cells: int, n_keys: int):
    """One entry per (cell, exposer) of the rows of :func:`campaign_made`: its first
    time, whether it posted (an author), whether it shared. Cell by cell, authors first,
    then by key; ``at[c]:at[c + 1]`` are cell c's entries.

    The rows are sorted by the word ``cell << key_bits | key`` with an LSD radix sort of
    digits of at most 11 bits (2,048 buckets: every pass writes to few places at once,
    so it stays in cache), then one pass over runs of equal words. Grouping on the two
    columns in a dataframe hashes every row and sorts the groups; a counting sort by key
    scatters every row over the whole table (0.21 s -> 0.15 s on 2.5M rows).
    """
    n = cell.size
    key_bits = 1
    while (1 << key_bits) < n_keys:
        key_bits += 1
    cell_bits = 1
    while (1 << cell_bits) < n_cells:
        cell_bits += 1
    bits = key_bits + cell_bits
    passes = (bits + 10) // 11  # digits of at most 11 bits
    digit = (bits + passes - 1) // passes
    word = np.empty(n, dtype=np.int64)
    for i in range(n):
        word[i] = (cell[i] << key_bits) | key[i]
    when, post = t.copy(), is_post.copy()
    w2, t2 = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    p2 = np.empty(n, dtype=np.bool_)
    mask = (1 << digit) - 1
    count = np.empty((1 << digit) + 1, dtype=np.int64)
    for p in range(passes):
        shift = p * digit
        count[:] = 0
        for i in range(n):
            count[((word[i] >> shift) & mask) + 1] += 1
        for d in range(1 << digit):
            count[d + 1] += count[d]
        for i in range(n):
            d = (word[i] >> shift) & mask
            j = count[d]
            w2[j], t2[j], p2[j] = word[i], when[i], post[i]
            count[d] = j + 1
        word, w2 = w2, word
        when, t2 = t2, when
        post, p2 = p2, post
    keys, first = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    author, sharer = np.zeros(n, dtype=np.bool_), np.zeros(n, dtype=np.bool_)
    at = np.zeros(n_cells + 1, dtype=np.int64)
    low = (1 << key_bits) - 1
    m = 0
    i = 0
    for c in range(n_cells):
        at[c] = m
        start = m
        while i < n and (word[i] >> key_bits) == c:
            w = word[i]
            keys[m], first[m] = w & low, when[i]
            while i < n and word[i] == w:
                first[m] = min(first[m], when[i])
                author[m] |= post[i]
                sharer[m] |= not post[i]
                i += 1
            m += 1
        # authors first, each part still by key: a stable partition of start..m
        part = np.concatenate((np.flatnonzero(author[start:m]),
                               np.flatnonzero(~author[start:m]))) + start
        keys[start:m], first[start:m] = keys[part], first[part]
        author[start:m], sharer[start:m] = author[part], sharer[part]
    at[n_cells] = m
    return keys[:m], first[:m], author[:m], sharer[:m], at


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
