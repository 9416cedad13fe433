"""Rebuilt parents (``reach.cascades.parents``) against a brute force of the rule.

The rule (README.md, "Metrics"): a share without a given parent hangs from the latest
node of its post, strictly earlier, whose account the sharer follows; ties go to the
smallest account_id, then the smallest node id; with none, the root. The lakes are small
and awkward: times from a few values (ties everywhere), accounts with several nodes in
one cascade, account ids and share ids that sort apart from their keys and rows, shares
of posts nobody posted, and a network without follower lists.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from reach import hash_numbers
from reach.cascades.trees import reconstruct_parents
from reach.followers.graph import FollowerGraph

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _case(seed: int):
    rng = np.random.default_rng(seed)
    n = 30
    names = rng.permutation([f"acct{i:03d}" for i in range(n)])  # id order != key order
    edges = {net: {(int(a), int(b)) for a, b in rng.integers(0, n, (150, 2))}
             for net in ("x", "bluesky")}  # self-follows included
    posts, shares = [], []
    for net in ("x", "bluesky", "tiktok"):  # tiktok: no follower lists
        for p in range(4):
            author = int(rng.integers(n))
            posts.append({"network": net, "post_id": f"{net}-p{p}", "account_key": author,
                          "account_id": names[author], "created_at": T0})
        for s in range(60):
            sharer = int(rng.integers(n))
            post = f"{net}-p{int(rng.integers(5))}"  # p4: a post nobody posted
            shares.append({
                "network": net, "share_id": f"s{int(rng.integers(10**6)):06d}-{s}",
                "post_id": post, "sharer_key": sharer, "sharer_id": names[sharer],
                "created_at": T0 + timedelta(minutes=int(rng.integers(0, 6))),
                "parent_id": post if rng.random() < 0.2 else None})
    graphs = {net: FollowerGraph.from_edges(net, np.array([a for a, _ in e], dtype=np.int32),
                                            np.array([b for _, b in e], dtype=np.int32), n)
              for net, e in edges.items()}
    return posts, shares, edges, graphs


def _brute_force(posts, shares, edges) -> tuple[dict[tuple[str, str], str], int]:
    """Each share's parent, and how many were decided by a tie in time."""
    out, ties = {}, 0
    for s in shares:
        if s["parent_id"] is not None:
            out[(s["network"], s["share_id"])] = s["parent_id"]
            continue
        nodes = [(p["created_at"], p["account_id"], p["post_id"], p["account_key"])
                 for p in posts if (p["network"], p["post_id"]) == (s["network"], s["post_id"])]
        nodes += [(o["created_at"], o["sharer_id"], o["share_id"], o["sharer_key"])
                  for o in shares
                  if (o["network"], o["post_id"]) == (s["network"], s["post_id"])]
        follows = edges.get(s["network"], set())
        cands = [c for c in nodes
                 if c[0] < s["created_at"] and (s["sharer_key"], c[3]) in follows]
        if cands:
            latest = max(c[0] for c in cands)
            tied = [(c[1], c[2]) for c in cands if c[0] == latest]
            ties += len(tied) > 1
            out[(s["network"], s["share_id"])] = min(tied)[1]
        else:
            out[(s["network"], s["share_id"])] = s["post_id"]
    return out, ties


@pytest.mark.parametrize(("seed", "collide"), [(s, False) for s in range(6)] + [(0, True)])
def test_rebuilt_parents_follow_the_rule(seed, collide, monkeypatch):
    """``collide``: every hash of a post id made equal, as a collision would: two posts
    must still be two cascades."""
    if collide:
        monkeypatch.setattr(hash_numbers, "first_seen", lambda h: (
            np.zeros(h.size, np.int32), np.zeros(min(h.size, 1), np.int64)))
    posts, shares, edges, graphs = _case(seed)
    schema_s = {"network": pl.String, "share_id": pl.String, "post_id": pl.String,
                "sharer_key": pl.Int32, "sharer_id": pl.String,
                "created_at": pl.Datetime("us", "UTC"), "parent_id": pl.String}
    schema_p = {"network": pl.String, "post_id": pl.String, "account_key": pl.Int32,
                "account_id": pl.String, "created_at": pl.Datetime("us", "UTC")}
    got = reconstruct_parents(pl.LazyFrame(posts, schema=schema_p),
                              pl.LazyFrame(shares, schema=schema_s), graphs)
    assert got.height == len(shares)
    want, ties = _brute_force(posts, shares, edges)
    rows = {(r["network"], r["share_id"]): r for r in got.iter_rows(named=True)}
    assert {k: r["parent_node"] for k, r in rows.items()} == want
    assert all(r["reconstructed"] == (r["parent_id"] is None) for r in rows.values())
    assert ties > 0  # the case has ties to break
