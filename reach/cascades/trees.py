"""Reshare cascades: rebuild each post's tree, then measure its shape and speed.

The tree of a post: the root post, then every share, linked to its ``parent_id``. Where
``parent_id`` is empty the parent is reconstructed (README.md, "Metrics"): the sharer's most recent
*earlier* exposer among the accounts it follows — the root author at the post's time or
an earlier sharer at its share time — ties to the smallest ``account_id`` (then the
smallest node id); with no such exposer, the root. Shares whose given parents form a
cycle are attached to the root. Both count as ``reconstructed_edges``.

Measures (all vectorised over every cascade at once):

* ``size``: shares; ``depth``: longest root-to-leaf path; ``max_breadth``: most nodes
  at one depth below the root;
* ``structural_virality``: the mean shortest-path distance over all pairs of nodes of
  the tree, root included (Goel et al. 2016), via the Wiener index
  W = Σ_edges s·(n − s) where s is the size of the subtree below the edge; null for a
  post nobody shared;
* ``time_to_half_s``: seconds from the post to its ⌈size/2⌉-th share.

References
----------
Goel, Anderson, Hofman & Watts, "The Structural Virality of Online Diffusion",
Management Science 62(1), 2016.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from reach.audience.sampled import partial_lists, sampled_reach
from reach.cascades.parents import latest_exposer_ids
from reach.engine.parallel import per_group
from reach.followers.graph import FollowerGraph, Marker

CASCADE_SCHEMA = {
    "network": pl.String, "post_id": pl.String, "campaign_id": pl.String,
    "root_account_id": pl.String, "size": pl.Int64, "depth": pl.Int64,
    "max_breadth": pl.Int64, "structural_virality": pl.Float64, "total_reach": pl.Int64,
    "reach_method": pl.String, "total_reach_low": pl.Int64, "total_reach_high": pl.Int64,
    "first_share_at": pl.Datetime("us", "UTC"), "time_to_half_s": pl.Float64,
    "reconstructed_edges": pl.Int64,
}


@dataclass(frozen=True)
class Forest:
    """Every cascade as one array forest: node i has parent ``parent[i]`` (roots: itself)."""

    nodes: pl.DataFrame  # idx, network, post_id, node_id, account_key, account_id, t, is_root
    parent: np.ndarray
    depth: np.ndarray
    subtree: np.ndarray
    reconstructed: np.ndarray  # bool per node: its parent edge was reconstructed


def reconstruct_parents(posts: pl.LazyFrame, shares: pl.LazyFrame,
                        graphs: dict[str, FollowerGraph]) -> pl.DataFrame:
    """Shares with a parent node id for every row and a ``reconstructed`` flag: the given
    parent, else the latest exposer the sharer follows (``reach.cascades.parents``), else
    the root."""
    shares_df = shares.collect()
    nodes = pl.concat([
        posts.select("network", "post_id", "account_key", "account_id",
                     pl.col("created_at").alias("node_t"), pl.col("post_id").alias("node_id"),
                     pl.lit(False).alias("unknown")).collect(),
        shares_df.select("network", "post_id", pl.col("sharer_key").alias("account_key"),
                         pl.col("sharer_id").alias("account_id"),
                         pl.col("created_at").alias("node_t"),
                         pl.col("share_id").alias("node_id"),
                         pl.col("parent_id").is_null().alias("unknown")),
    ]).with_row_index("_node")
    found = pl.repeat(None, shares_df.height, dtype=pl.String, eager=True).alias("_found")
    first_share = nodes.height - shares_df.height  # share nodes follow the posts, in order
    for (network,), part in nodes.partition_by("network", as_dict=True).items():
        ids = latest_exposer_ids(part, graphs.get(network))
        found = found.scatter(part.filter("unknown")["_node"] - first_share, ids)
    return (shares_df.with_columns(found)
            .with_columns(pl.col("parent_id").is_null().alias("reconstructed"),
                          pl.coalesce("parent_id", "_found", "post_id").alias("parent_node"))
            .drop("_found"))


def _pointer_depth(parent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(depth, top) by pointer doubling; ``top`` is where each node's chain ends."""
    jump = parent.copy()
    dist = (parent != np.arange(parent.size)).astype(np.int64)
    for _ in range(int(np.ceil(np.log2(max(parent.size, 2)))) + 1):
        dist = dist + dist[jump]
        jump = jump[jump]
    return dist, jump


def build_forest(posts: pl.LazyFrame, shares: pl.LazyFrame,
                 graphs: dict[str, FollowerGraph]) -> Forest:
    rebuilt = reconstruct_parents(posts, shares, graphs)
    roots = posts.select("network", "post_id", pl.col("post_id").alias("node_id"),
                         "account_key", "account_id", pl.col("created_at").alias("t"),
                         pl.lit(True).alias("is_root"), pl.lit(False).alias("reconstructed"),
                         pl.lit(None, pl.String).alias("parent_node")).collect()
    share_nodes = rebuilt.select("network", "post_id", pl.col("share_id").alias("node_id"),
                                 pl.col("sharer_key").alias("account_key"),
                                 pl.col("sharer_id").alias("account_id"),
                                 pl.col("created_at").alias("t"), pl.lit(False).alias("is_root"),
                                 "reconstructed", "parent_node")
    nodes = pl.concat([roots, share_nodes.cast(roots.schema)]).with_row_index("idx")
    # parent index: a share's parent is a share of the same post or the post (root)
    lookup = nodes.select("network", "post_id", pl.col("node_id").alias("parent_node"),
                          pl.col("idx").alias("parent_idx"), pl.col("is_root").alias("_pr"))
    root_idx = nodes.filter("is_root").select("network", "post_id",
                                              pl.col("idx").alias("root_idx"))
    linked = (nodes.join(root_idx, on=["network", "post_id"], how="left", maintain_order="left")
              .join(lookup, on=["network", "post_id", "parent_node"], how="left",
                    maintain_order="left"))
    # A share id equal to the post id would be ambiguous; the root wins.
    linked = linked.sort("idx", pl.col("_pr"), descending=[False, True]).unique(
        "idx", keep="first", maintain_order=True)
    parent = linked.select(pl.coalesce("parent_idx", "root_idx")
                           .fill_null(pl.col("idx"))).to_series().to_numpy().astype(np.int64)
    is_root = nodes["is_root"].to_numpy()
    parent[is_root] = np.flatnonzero(is_root)
    reconstructed = nodes["reconstructed"].to_numpy().copy()
    depth, top = _pointer_depth(parent)
    broken = ~is_root[top]  # a cycle among given parents: attach to the root
    if broken.any():
        parent[broken] = linked["root_idx"].to_numpy()[broken]
        reconstructed[broken] = True
        depth, top = _pointer_depth(parent)
    subtree = np.ones(parent.size, dtype=np.int64)
    for d in range(int(depth.max(initial=0)), 0, -1):
        level = np.flatnonzero(depth == d)
        subtree += np.bincount(parent[level], weights=subtree[level],
                               minlength=parent.size).astype(np.int64)
    return Forest(nodes.drop("parent_node", "reconstructed"), parent, depth, subtree,
                  reconstructed)


def cascade_metrics(forest: Forest, posts: pl.LazyFrame, graphs: dict[str, FollowerGraph],
                    reported: dict[str, np.ndarray] | None = None) -> pl.DataFrame:
    nodes = forest.nodes.with_columns(
        pl.Series("depth", forest.depth), pl.Series("subtree", forest.subtree),
        pl.Series("reconstructed", forest.reconstructed))
    n_nodes = pl.len().over("network", "post_id")
    nodes = nodes.with_columns(
        pl.when(~pl.col("is_root"))
        .then(pl.col("subtree") * (n_nodes - pl.col("subtree"))).otherwise(0).alias("_w"))
    shares = nodes.filter(~pl.col("is_root"))
    breadth = (shares.group_by("network", "post_id", "depth").len()
               .group_by("network", "post_id").agg(pl.col("len").max().alias("max_breadth")))
    per = (shares.group_by("network", "post_id").agg(
        pl.len().alias("size"), pl.col("depth").max(), pl.col("_w").sum().alias("_wiener"),
        pl.col("t").min().alias("first_share_at"),
        pl.col("t").sort().get(((pl.len() + 1) // 2 - 1).cast(pl.UInt32)).alias("_half_t"),
        pl.col("reconstructed").sum().cast(pl.Int64).alias("reconstructed_edges")))
    base = posts.select("network", "post_id", "campaign_id", "account_key",
                        pl.col("account_id").alias("root_account_id"),
                        pl.col("created_at")).collect()
    out = (base.join(per, on=["network", "post_id"], how="left")
           .join(breadth, on=["network", "post_id"], how="left")
           .with_columns(pl.col("size", "depth", "max_breadth", "reconstructed_edges")
                         .fill_null(0).cast(pl.Int64))
           .with_columns(
               pl.when(pl.col("size") > 0)
               .then(pl.col("_wiener") / ((pl.col("size") + 1) * pl.col("size") / 2))
               .alias("structural_virality"),
               ((pl.col("_half_t") - pl.col("created_at")).dt.total_microseconds() / 1e6)
               .alias("time_to_half_s")))
    reach = pl.DataFrame(_cascade_reach(forest, out, graphs, reported or {}), orient="row",
                         schema={"total_reach": pl.Int64, "reach_method": pl.String,
                                 "total_reach_low": pl.Int64, "total_reach_high": pl.Int64})
    out = pl.concat([out, reach], how="horizontal")
    return out.select(list(CASCADE_SCHEMA)).cast(CASCADE_SCHEMA).sort("network", "post_id")


def _cascade_reach(forest: Forest, cascades: pl.DataFrame, graphs: dict[str, FollowerGraph],
                   reported: dict[str, np.ndarray]) -> list[tuple]:
    """(reach, method, low, high) per cascade, in ``cascades`` order: |F(root author ∪
    sharers) \\ root author|, exact where every list is complete, else estimated as the
    reach mart does (method ``sampled``, README.md "Partial follower lists")."""
    sharers = (forest.nodes.filter(~pl.col("is_root"))
               .group_by("network", "post_id").agg(pl.col("account_key").unique()))
    lookup = {(n, p): k for n, p, k in sharers.iter_rows()}

    def reach_of(markers: dict[str, Marker], cascade: tuple) -> tuple:
        network, post_id, author = cascade
        g = graphs.get(network)
        if g is None:
            return None, "no_graph", None, None
        keys = lookup.get((network, post_id))
        author_arr = np.array([author], dtype=np.int64)
        exposers = author_arr if keys is None else np.unique(
            np.concatenate([author_arr, np.asarray(keys, dtype=np.int64)]))
        rep = reported.get(network)
        if rep is not None and partial_lists(g, exposers, rep).any():
            t, low, high = sampled_reach(markers[network], g, exposers, author_arr,
                                         rep).rounded()
            return t, "sampled", low, high
        n = (int(g.in_degree(author_arr)[0]) if keys is None
             else markers[network].distinct_followers(g, exposers, author_arr))
        return n, "exact", n, n

    # on the worker threads, a marker per thread and network
    return per_group(cascades.select("network", "post_id", "account_key").iter_rows(),
                          reach_of, lambda: Marker.per_network(graphs))


def ancestor_pairs(forest: Forest) -> tuple[np.ndarray, np.ndarray]:
    """(ancestor, descendant) node indices for every share and each node above it."""
    parent, is_root = forest.parent, forest.nodes["is_root"].to_numpy()
    active = np.flatnonzero(~is_root)
    anc = parent[active]
    out_a, out_d = [], []
    while active.size:
        out_a.append(anc)
        out_d.append(active)
        up = ~is_root[anc]
        active, anc = active[up], parent[anc[up]]
    if not out_a:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return np.concatenate(out_a), np.concatenate(out_d)


def shares_triggered(forest: Forest, posts: pl.LazyFrame) -> pl.DataFrame:
    """Per campaign × network × account: distinct shares descending from its nodes.

    A share by the account itself is not counted as triggered by it.
    """
    a, d = ancestor_pairs(forest)
    n = forest.nodes.select("idx", "network", "post_id", "account_key")
    camp = posts.select("network", "post_id", "campaign_id").collect()
    pairs = pl.DataFrame({"a": a.astype(np.uint32), "d": d.astype(np.uint32)})
    pairs = (pairs.join(n.rename({"idx": "a"}), on="a")
             .join(n.select(pl.col("idx").alias("d"), pl.col("account_key").alias("d_key")),
                   on="d")
             .filter(pl.col("account_key") != pl.col("d_key"))
             .join(camp, on=["network", "post_id"])
             .filter(pl.col("campaign_id").is_not_null()))
    return (pairs.group_by("campaign_id", "network", "account_key")
            .agg(pl.col("d").n_unique().cast(pl.Int64).alias("shares_triggered")))
