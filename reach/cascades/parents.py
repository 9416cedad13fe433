"""The parent of a share whose ``parent_id`` is not given: the sharer's latest exposer.

The rule (README.md, "Metrics"): among the nodes of the share's post (the root post at
its time, every share at its time) whose account the sharer follows and that came
strictly earlier, the latest; ties go to the smallest ``account_id``, then the smallest
node id; with none, the root. This module finds that node for every such share.

A join of the shares to everything their sharers follow, then to the post's nodes, makes
a row per (share, followed account): 29M rows of text keys for the 1.9M shares without a
parent on the 21.9M-edge bench lake. Here a
compiled pass walks each sharer's followees (the follower graph turned around) against
a per-post table of who is in the cascade: one look-up per followee, no text. Ties in
time are rare and need the texts, so the kernel hands the tied candidates back for a
sort by ``account_id`` and node id.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from numba import njit

from reach.followers.graph import FollowerGraph
from reach.followers.kernels import FOLLOWERS_AHEAD, OFFSETS_AHEAD, csr_order, prefetch
from reach.hash_numbers import text_codes


@njit(cache=True, nogil=True)
def followee_lists(offsets: np.ndarray, followers: np.ndarray, n: int
                   ) -> tuple[np.ndarray, np.ndarray]:
    """The graph turned around: ``followees[out[a]:out[a + 1]]`` are the accounts ``a``
    follows. A counting sort of the follower lists by follower, as ``csr_order`` is,
    writing each entry's followee where that would write an int64 permutation (8 bytes
    an edge) for a gather to follow."""
    out = np.zeros(n + 1, dtype=np.int64)
    for f in followers:
        out[f + 1] += 1
    for a in range(n):
        out[a + 1] += out[a]
    fill = out[:-1].copy()
    followees = np.empty(followers.size, dtype=np.int32)
    for x in range(n):
        for j in range(offsets[x], offsets[x + 1]):
            f = followers[j]
            followees[fill[f]] = x
            fill[f] += 1
    return out, followees


@njit(cache=True, nogil=True)
def latest_exposers(out: np.ndarray, followees: np.ndarray, group: np.ndarray,
                    key: np.ndarray, t: np.ndarray, unknown: np.ndarray, n_groups: int,
                    n_keys: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each node ``unknown[i]`` (a share without a given parent): the latest node of
    its post (``group``) strictly before it whose account (``key``) it follows, -1 for
    none. Also every (i, node) at that latest time where more than one node shares it,
    for the caller to order by text.

    Post by post: the post's nodes are put in a table over accounts (``head``, chained
    through ``chain`` where an account has several nodes), the post's shares look up each
    account their sharer follows, and the table is emptied again. A bit per account
    (``present``, small enough to stay in cache) answers first, as most followees are
    not in the cascade, and each sharer's list is fetched ahead (``prefetch``): on the
    bench lake's 985k instagram shares without a parent, 0.45 s -> 0.34 s -> 0.20 s.
    """
    node_start, nodes = csr_order(group, n_groups)  # row numbers grouped by post
    share_start, shares = csr_order(group[unknown], n_groups)
    head = np.full(n_keys, -1, dtype=np.int64)
    present = np.zeros((n_keys >> 3) + 1, dtype=np.uint8)
    chain = np.full(group.size, -1, dtype=np.int64)
    best = np.full(unknown.size, -1, dtype=np.int64)
    pair_share = np.empty(16, dtype=np.int64)
    pair_node = np.empty(16, dtype=np.int64)
    pairs = 0
    for g in range(n_groups):
        if share_start[g] == share_start[g + 1]:
            continue
        for r in range(node_start[g], node_start[g + 1]):
            u = nodes[r]
            chain[u] = head[key[u]]
            head[key[u]] = u
            present[key[u] >> 3] |= np.uint8(1 << (key[u] & 7))
        end = share_start[g + 1]
        for r in range(share_start[g], end):
            # each sharer's list lies somewhere else: ask for the next ones' early
            if r + OFFSETS_AHEAD < end:
                prefetch(out, key[unknown[shares[r + OFFSETS_AHEAD]]])
            if r + FOLLOWERS_AHEAD < end:
                ahead = out[key[unknown[shares[r + FOLLOWERS_AHEAD]]]]
                if ahead < followees.size:
                    prefetch(followees, ahead)
            i = shares[r]
            sharer, when = key[unknown[i]], t[unknown[i]]
            b, count = -1, 0
            for j in range(out[sharer], out[sharer + 1]):
                x = followees[j]
                if not present[x >> 3] & (1 << (x & 7)):
                    continue
                u = head[x]
                while u != -1:
                    if t[u] < when:
                        if b == -1 or t[u] > t[b]:
                            b, count = u, 1
                        elif t[u] == t[b]:
                            count += 1
                    u = chain[u]
            best[i] = b
            if count > 1:
                for j in range(out[sharer], out[sharer + 1]):
                    u = head[followees[j]]
                    while u != -1:
                        if t[u] == t[b]:
                            if pairs == pair_share.size:
                                pair_share = _grown(pair_share)
                                pair_node = _grown(pair_node)
                            pair_share[pairs], pair_node[pairs] = i, u
                            pairs += 1
                        u = chain[u]
        for r in range(node_start[g], node_start[g + 1]):
            head[key[nodes[r]]] = -1
            present[key[nodes[r]] >> 3] = 0
    return best, pair_share[:pairs], pair_node[:pairs]


@njit(cache=True, nogil=True)
def _grown(a: np.ndarray) -> np.ndarray:
    bigger = np.empty(2 * a.size, dtype=a.dtype)
    bigger[:a.size] = a
    return bigger


def latest_exposer_ids(nodes: pl.DataFrame, graph: FollowerGraph | None) -> pl.Series:
    """The node id of each row's latest exposer (null where there is none), for the rows
    of ``nodes`` with ``unknown`` set, in their order.

    ``nodes``: one network's nodes, roots and shares: post_id, account_key, account_id,
    node_t, node_id, unknown (a share without a given parent)."""
    unknown = np.flatnonzero(nodes["unknown"].to_numpy())
    if graph is None or unknown.size == 0:  # nobody's followees are known: no exposer
        return pl.repeat(None, unknown.size, dtype=pl.String, eager=True).alias("_found")
    out, followees = followee_lists(graph.offsets, graph.followers, graph.n)
    group = text_codes(nodes["post_id"])
    best, pair_share, pair_node = latest_exposers(
        out, followees, group, nodes["account_key"].to_numpy(),
        nodes["node_t"].dt.epoch("us").to_numpy(), unknown, int(group.max()) + 1, graph.n)
    if pair_share.size:  # ties in time: the smallest account_id, then node id
        first = (pl.DataFrame({"share": pair_share, "node": pair_node})
                 .hstack(nodes.select("account_id", "node_id")[pair_node])
                 .sort("share", "account_id", "node_id").unique("share", keep="first"))
        best[first["share"].to_numpy()] = first["node"].to_numpy()
    return pl.select(pl.when(pl.Series(best >= 0)).then(
        nodes["node_id"].gather(np.maximum(best, 0)))).to_series().alias("_found")
