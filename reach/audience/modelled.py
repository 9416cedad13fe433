"""Distinct reach without follower lists: method ``modelled`` (README.md, "Metrics", "No
follower lists").

Instagram, Facebook and LinkedIn give no follower lists, only follower counts and each
post's own unique reach (``posts.reach``). From those alone the campaign's distinct reach
is bounded, provably, whatever the audiences' overlap:

* at least the largest single audience: max over posts of ``reach`` and over authors of
  ``followers_count`` (less the other authors, who may be among them and are not counted);
* at most the sum with no duplication: Σ authors' ``followers_count`` + Σ over posts of
  what each post added beyond its author's followers (``reach − followers_count``; for a
  post without ``reach``, its sharers' ``followers_count`` summed).

The estimate is the geometric mean of the two bounds, the point halfway between "all
audiences nested" and "no overlap at all" on a log scale; the interval is the bounds
themselves, so it holds the model's uncertainty, not only sampling noise. It assumes the
counts are true counts and that ``reach`` counts the post's author's followers plus the
people its reshares added. ``benchmarks/eval_estimators.py`` measures it on a real graph.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from reach.audience.sampled import Estimate


def between(low: float, high: float) -> Estimate:
    """The geometric mean of proven bounds, with the bounds as the interval."""
    low, high = max(low, 0.0), max(high, low, 0.0)
    if high == 0:
        return Estimate(0.0, 0.0, 0.0)
    point = math.sqrt(max(low, 1.0) * high) if low < high else high
    return Estimate(min(max(point, low), high), low, high)


def modelled_reach(author_counts: np.ndarray, post_author: np.ndarray, post_reach: np.ndarray,
                   post_sharer_counts: np.ndarray) -> tuple[Estimate, Estimate] | None:
    """(first degree, total) from the authors' follower counts and, per post, its author's
    position in ``author_counts``, its reach (NaN: not reported) and its sharers'
    summed follower counts (NaN: some sharer's count unknown). None when a bound cannot
    be proven (an author's count unknown, or a post with neither reach nor counts)."""
    counts = np.asarray(author_counts, dtype=np.float64)
    reach = np.asarray(post_reach, dtype=np.float64)
    shared = np.asarray(post_sharer_counts, dtype=np.float64)
    if counts.size == 0 or np.isnan(counts).any():
        return None
    own = counts[np.asarray(post_author, dtype=np.int64)]
    added = np.where(np.isnan(reach), shared, np.maximum(reach - own, 0.0))
    if np.isnan(added).any():
        return None
    others = counts.size - 1  # other authors may be among an audience; never counted
    first = between(counts.max() - others, counts.sum())
    largest = max(counts.max(), np.nanmax(reach) if (~np.isnan(reach)).any() else 0.0)
    total = between(largest - others, counts.sum() + added.sum())
    return first, total


def modelled_inputs(posts: pl.LazyFrame, shares: pl.LazyFrame, networks: list[str],
                    reported: dict[str, np.ndarray]) -> dict[tuple[str, str], tuple]:
    """Per (campaign, network) of the graph-less ``networks``: the arguments of
    :func:`modelled_reach`."""
    if not networks:
        return {}
    camp = (posts.filter(pl.col("campaign_id").is_not_null() & pl.col("network").is_in(networks))
            .select("campaign_id", "network", "post_id", "account_key", "reach").collect())
    sharers = (shares.filter(pl.col("network").is_in(networks))
               .select("network", "post_id", "sharer_key").unique().collect())
    # each post's sharers' follower counts summed, per network (NaN: one is unknown)
    shared: dict[str, dict[str, float]] = {}
    for (net,), part in sharers.partition_by("network", as_dict=True).items():
        rep = reported.get(net)
        if rep is not None:
            shared[net] = {pid: float(rep[np.asarray(keys, dtype=np.int64)].sum())
                           for pid, keys in part.group_by("post_id").agg("sharer_key")
                           .iter_rows()}
    out = {}
    for (cid, net), part in camp.partition_by("campaign_id", "network", as_dict=True).items():
        rep = reported.get(net)
        if rep is None:
            continue
        authors, position = np.unique(part["account_key"].to_numpy(), return_inverse=True)
        sums = shared.get(net, {})
        out[(cid, net)] = (rep[authors], position, part["reach"].cast(pl.Float64)
                           .fill_null(np.nan).to_numpy(),
                           np.array([sums.get(p, 0.0) for p in part["post_id"]]))
    return out
