"""The two-hop ceiling of an account: everyone within two follows.

two_hop_audience(a) = |F(F({a})) ∪ F({a})| minus a — the audience a post by ``a`` would
reach if every follower reshared it; ``first_degree`` = |F({a}) \\ {a}|. Computed for
every brand account and every campaign author.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from reach.audience.sampled import has_partial
from reach.followers.graph import FollowerGraph, Marker

TWO_HOP_SCHEMA = {"network": pl.String, "account_id": pl.String, "first_degree": pl.Int64,
                  "two_hop_audience": pl.Int64, "method": pl.String}


def two_hop_rows(subjects: pl.DataFrame, graphs: dict[str, FollowerGraph],
                 reported: dict[str, np.ndarray] | None = None) -> pl.DataFrame:
    """``subjects``: network, account_key, account_id (unique). Where the account's list,
    or a follower's, is partial, the counts are what the lists show (``listed_only``)."""
    rows = []
    for (network,), part in subjects.partition_by("network", as_dict=True).items():
        g = graphs.get(network)
        marker = Marker(g.n) if g is not None else None
        rep = (reported or {}).get(network)
        for key, account_id in part.select("account_key", "account_id").iter_rows():
            if g is None:
                rows.append((network, account_id, None, None, "no_graph"))
                continue
            me = np.array([key], dtype=np.int64)
            marker.mark(me)
            first = marker.mark_followers(g, me)[0].copy()
            listed = has_partial(g, me, rep) or has_partial(g, first, rep)
            second = marker.mark_followers(g, first)[0]
            rows.append((network, account_id, int(first.size),
                         int(first.size + second.size), "listed_only" if listed else "exact"))
            for keys in (second, first, me):
                marker.unmark(keys)
    return pl.DataFrame(rows, schema=TWO_HOP_SCHEMA, orient="row").sort("network", "account_id")
