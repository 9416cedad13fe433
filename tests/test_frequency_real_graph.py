"""Frequency and weekly reach on the real SNAP ego-Twitter graph, with hidden campaigns.

Campaigns are drawn from the graph itself (authors with a real audience, sharers among
their followers and their followers' followers, posts over three weeks); the marts are
checked against Python sets over the 1.77M real follow edges.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from etl.lake import Lake
from etl.load import load
from etl.sources import extract
from reach.engine.marts import compute_marts

from . import oracle
from .conftest import SHARED
from .gen import T0, iso

pytestmark = pytest.mark.skipif(not (SHARED / "snap_ego_twitter").exists(),
                                reason="../shared/data not present")


def _campaigns(edges: pl.DataFrame, seed: int) -> dict[str, list[dict]]:
    rnd = random.Random(seed)
    fol = defaultdict(list)
    for a, b in edges.iter_rows():
        fol[b].append(a)
    audience = sorted(k for k, v in fol.items() if 40 <= len(v) <= 400)
    posts, shares = [], []
    for c in range(3):
        for i, author in enumerate(rnd.sample(audience, 3)):
            for k in range(rnd.randint(1, 3)):
                pid = f"s{seed}c{c}p{i}{k}"
                t = T0 + timedelta(days=rnd.uniform(0, 20))
                posts.append({"network": "twitter", "post_id": pid, "account_id": author,
                              "created_at": iso(t), "campaign_id": f"s{seed}c{c}"})
                pool = list(fol[author])
                for j, sharer in enumerate(rnd.sample(pool, min(len(pool), 8))):
                    st = t + timedelta(hours=rnd.uniform(1, 200))
                    shares.append({"network": "twitter", "share_id": f"{pid}s{j}",
                                   "post_id": pid, "sharer_id": sharer, "created_at": iso(st)})
                    pool2 = fol.get(sharer, [])
                    for m, s2 in enumerate(rnd.sample(pool2, min(len(pool2), 2))):
                        shares.append({"network": "twitter", "share_id": f"{pid}s{j}_{m}",
                                       "post_id": pid, "sharer_id": s2,
                                       "created_at": iso(st + timedelta(hours=3))})
    return {"campaigns": [{"campaign_id": f"s{seed}c{c}", "name": f"hidden {c}"} for c in range(3)],
            "posts": posts, "shares": shares}


@pytest.fixture(scope="module")
def real_graph(tmp_path_factory):
    lake = tmp_path_factory.mktemp("snap") / "lake"
    load(extract(str(SHARED / "snap_ego_twitter")), lake)
    edges = (Lake.open(lake).scan("follows").select("follower_id", "followee_id").collect())
    F = defaultdict(set)
    for a, b in edges.iter_rows():
        F[("twitter", b)].add(a)
    return lake, edges, F


@pytest.mark.parametrize("seed", [1, 2])
def test_frequency_and_weekly_reach_on_the_real_graph(real_graph, tmp_path, seed):
    lake, edges, F = real_graph
    tables = _campaigns(edges, seed)
    src = tmp_path / "src"
    src.mkdir()
    for name, rows in tables.items():
        pl.DataFrame(rows).write_csv(src / f"{name}.csv")
    load(extract(str(src)), lake)
    lk = Lake.open(lake)
    marts = compute_marts({t: lk.scan(t) for t in ("campaigns", "accounts", "follows", "posts",
                                                    "shares", "_account_keys")})
    tables["accounts"] = []
    ours = {f"s{seed}c{c}" for c in range(3)}
    want = {k: v for k, v in oracle.frequency(tables, F).items() if k[0] in ours}
    freq = marts["frequency"].filter(pl.col("campaign_id").is_in(list(ours)))
    got = {(r["campaign_id"], r["network"], r["scope"]): r for r in freq.iter_rows(named=True)}
    assert set(got) == set(want)
    for key, w in want.items():
        assert {c: got[key][c] for c in w} == w, key
    weekly = {k: v for k, v in oracle.weekly(tables, F).items() if k[0] == "campaign"}
    rf = marts["reach_frequency_weekly"].filter(pl.col("level") == "campaign",
                                                pl.col("campaign_id").is_in(list(ours)))
    assert {(r["level"], r["campaign_id"], r["network"], r["week_start"]):
            (r["reach"], r["opportunities"], r["cumulative_reach"])
            for r in rf.iter_rows(named=True)} == weekly
    assert np.all(freq.filter(pl.col("scope") == "total")["reach_1_plus"].to_numpy() > 100)
