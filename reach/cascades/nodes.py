"""The trees of the largest cascades, node by node: the `cascade_nodes` mart.

For the ``top`` largest cascades of each campaign × network (by size), every node (the
root post and each share) with its parent, depth, time and ``reach_added``: the people
its account reached that no earlier node of the cascade had reached (the root author
excluded), in time order (nodes at the same instant: the root, then by node id). The
dashboard draws these trees; it never rebuilds them.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from reach.cascades.trees import Forest
from reach.engine.parallel import per_group
from reach.followers.graph import FollowerGraph, Marker

NODE_SCHEMA = {
    "network": pl.String, "post_id": pl.String, "campaign_id": pl.String,
    "node_id": pl.String, "parent_id": pl.String, "account_id": pl.String,
    "depth": pl.Int64, "created_at": pl.Datetime("us", "UTC"), "reach_added": pl.Int64,
    "reconstructed": pl.Boolean,
}


def cascade_node_rows(forest: Forest, cascades: pl.DataFrame,
                      graphs: dict[str, FollowerGraph], top: int = 3) -> pl.DataFrame:
    chosen = (cascades.filter(pl.col("campaign_id").is_not_null(), pl.col("size") > 0)
              .sort("size", "post_id", descending=[True, False])
              .group_by("campaign_id", "network", maintain_order=True).head(top)
              .select("network", "post_id", "campaign_id"))
    nodes = forest.nodes.with_columns(
        pl.Series("parent_idx", forest.parent), pl.Series("depth", forest.depth),
        pl.Series("reconstructed", forest.reconstructed))
    ids = nodes.select(pl.col("idx").alias("parent_idx"), pl.col("node_id").alias("parent_id"))
    picked = (nodes.join(chosen, on=["network", "post_id"])
              .join(ids, on="parent_idx", how="left")
              .with_columns(pl.when(pl.col("is_root")).then(None).otherwise("parent_id")
                            .alias("parent_id"))
              # time order; at one instant the root, then by node id (never by the
              # row order the joins happened to leave)
              .sort(["network", "post_id", "t", "is_root", "node_id"],
                    descending=[False, False, False, True, False]))
    parts = list(picked.partition_by("network", "post_id", as_dict=True,
                                     maintain_order=True).items())

    def added(markers: dict[str, Marker], item: tuple) -> np.ndarray:
        (network, _post), part = item
        return _reach_added(part, graphs.get(network), markers.get(network))

    # on the worker threads, a marker per thread and network
    got = per_group(parts, added, lambda: Marker.per_network(graphs))
    reach = np.concatenate(got) if got else np.empty(0, dtype=float)
    return (picked.with_columns(pl.Series("reach_added", reach).fill_nan(None).cast(pl.Int64),
                                pl.col("t").alias("created_at"))
            .select(list(NODE_SCHEMA)).cast(NODE_SCHEMA))


def _reach_added(part: pl.DataFrame, g: FollowerGraph | None, marker: Marker | None
                 ) -> np.ndarray:
    """New people per node in time order (``part`` is one cascade, sorted by time): the
    first node to reach a person gets the credit, which is what marking the nodes'
    followers in that order finds (``Marker.mark_followers``); the root author is marked
    first, so never counted."""
    if g is None:
        return np.full(part.height, np.nan)
    keys = part["account_key"].to_numpy().astype(np.int64)
    author = keys[part["is_root"].to_numpy()]
    marker.mark(author)
    reached, owner = marker.mark_followers(g, keys)
    added = np.bincount(owner, minlength=keys.size).astype(float)
    marker.unmark(reached)
    marker.unmark(author)
    return added
