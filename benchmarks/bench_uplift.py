"""Uplift and attribution benchmark: the `uplift` mart over 1M posts (200 campaigns × 4
networks), and every attribution model over 1M conversions. Targets: each under a minute.

Posts: 40 accounts per network posting organically all year (NB2 engagement counts with
account, post-type and campaign effects) and 200 campaigns of ~100 posts per network.
Conversions: 1M converting paths of 1–20 touchpoints (geometric, mean ≈ 4) over the
800 campaign × network channels, plus 1M non-converting paths, within 30 days.
Path building from a real lake is timed by bench_reach's lake when it exists.

    python benchmarks/bench_uplift.py [--posts 1000000] [--conversions 1000000]
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

NETWORKS = ("x", "instagram", "facebook", "linkedin")
EFFECT = {"x": 0.3, "instagram": 0.15, "facebook": 0.0, "linkedin": -0.2}
YEAR = datetime(2026, 1, 1, tzinfo=UTC)


def make_posts(n_posts: int, campaigns: int, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    per_net = n_posts // len(NETWORKS)
    parts = []
    for net in NETWORKS:
        n_acc = 40
        acc_effect = rng.normal(0, 0.5, n_acc)
        followers = rng.integers(5_000, 500_000, n_acc)
        n_camp = campaigns * 100
        n_org = per_net - n_camp
        author = np.r_[rng.integers(0, n_acc, n_org),
                       np.zeros(n_camp, dtype=np.int64)]
        cid = np.r_[np.full(n_org, -1), np.repeat(np.arange(campaigns), 100)]
        # each campaign: 1-3 authors among the accounts; campaign c runs ~14 days
        camp_authors = rng.integers(0, n_acc, (campaigns, 3))
        k = rng.integers(1, 4, campaigns)
        pick = rng.integers(0, 3, n_camp) % k[cid[n_org:]]
        author[n_org:] = camp_authors[cid[n_org:], pick]
        start = rng.uniform(120, 330, campaigns)
        day = np.r_[rng.uniform(0, 365, n_org), start[cid[n_org:]] + rng.uniform(0, 14, n_camp)]
        ptype = rng.integers(0, 4, per_net)
        impressions = (followers[author] * rng.uniform(0.2, 0.6, per_net)).astype(np.int64)
        camp_eff = np.where(cid >= 0, EFFECT[net] * rng.uniform(0.5, 1.5, campaigns)[cid], 0.0)
        mu = impressions * 0.01 * np.exp(acc_effect[author] + 0.2 * ptype + camp_eff)
        y = rng.negative_binomial(3.0, 3.0 / (3.0 + mu))
        parts.append(pl.DataFrame({
            "network": net, "post_id": [f"{net}{i}" for i in range(per_net)],
            "campaign_id": [f"c{c:03d}" if c >= 0 else None for c in cid.tolist()],
            "account_id": [f"{net}_a{a}" for a in author.tolist()],
            "post_type": np.array(["image", "video", "text", "link"])[ptype],
            "created_at": pl.Series((day * 86400e6).astype(np.int64)).cast(
                pl.Datetime("us")).dt.replace_time_zone("UTC") + (YEAR - datetime(
                    1970, 1, 1, tzinfo=UTC)),
            "engagements": y, "exposure": impressions, "exposure_basis": "impressions",
            "usable": True}))
    return pl.concat(parts)


def make_paths(n_conv: int, n_null: int, channels: list[str], seed: int = 1):
    rng = np.random.default_rng(seed)
    n = n_conv + n_null
    length = np.minimum(rng.geometric(0.25, n), 20)
    path = np.repeat(np.arange(n), length)
    # channels cluster by path: a path mostly sees a few campaigns
    home = rng.integers(0, len(channels), n)
    jump = rng.random(path.size) < 0.3
    chan = np.where(jump, rng.integers(0, len(channels), path.size), home[path])
    conv_at = YEAR.timestamp() + rng.uniform(30, 365, n) * 86400
    age = rng.uniform(0, 30, path.size) * 86400
    t = pl.DataFrame({"path": path, "channel": np.array(channels)[chan],
                      "touched_at": ((conv_at[path] - age) * 1e6).astype(np.int64)})
    t = t.with_columns(pl.col("touched_at").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
                       pl.lit("x").alias("network"), pl.col("channel").alias("campaign_id")
                       ).sort("path", "touched_at")
    converted = np.arange(n) < n_conv
    paths = pl.DataFrame({
        "path": np.arange(n), "network": "x", "converted": converted,
        "converted_at": pl.Series(np.where(converted, conv_at * 1e6, 0).astype(np.int64))
        .cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
        "value": np.where(converted, rng.lognormal(3.5, 0.7, n), 0.0)})
    return paths, t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--posts", type=int, default=1_000_000, help="posts of the uplift part")
    ap.add_argument("--campaigns", type=int, default=200)
    ap.add_argument("--conversions", type=int, default=1_000_000,
                    help="converting paths of the attribution part (as many non-converting "
                         "ones too); 0 skips it")
    ap.add_argument("--lake", type=Path, default=Path(".bench/lake"),
                    help="a lake whose conversion paths are timed too, where it exists")
    a = ap.parse_args()
    if a.posts < 100 * a.campaigns * len(NETWORKS):
        ap.error(f"--posts must be at least 100 per campaign and network "
                 f"({100 * a.campaigns * len(NETWORKS):,} for {a.campaigns} campaigns)")
    from reach.attribution.models import MODELS, AttributionSpec, PathData, attribution_rows
    from reach.uplift.engagement import rate_rows
    from reach.uplift.mart import uplift_mart

    print(f"generating {a.posts:,} posts ...")
    posts = make_posts(a.posts, a.campaigns)
    t0 = time.perf_counter()
    up = uplift_mart(posts)
    t_uplift = time.perf_counter() - t0
    t0 = time.perf_counter()
    rate_rows(posts)
    t_rate = time.perf_counter() - t0
    ok = up.filter(pl.col("warning").is_null())
    print(f"uplift mart: {up.height:,} rows ({ok.height:,} with a number) over {posts.height:,} "
          f"posts in {t_uplift:.1f} s (target < 60 s); engagement rates {t_rate:.1f} s")
    print(ok.group_by("method", "network").agg(pl.col("uplift").median().round(3))
          .sort("method", "network"))

    if a.conversions == 0:
        return
    channels = [f"c{c:03d} @ {n}" for c in range(a.campaigns) for n in NETWORKS]
    print(f"\ngenerating {a.conversions:,} converting + {a.conversions:,} non-converting paths ...")
    paths, touches = make_paths(a.conversions, a.conversions, channels)
    t0 = time.perf_counter()
    data = PathData.build(paths, touches)
    t_build = time.perf_counter() - t0
    print(f"{touches.height:,} touchpoints over {len(channels)} channels; arrays built in "
          f"{t_build:.1f} s")
    total = t_build
    for model in MODELS:
        t0 = time.perf_counter()
        attribution_rows(model, "campaign_network", paths, touches, AttributionSpec(), data=data)
        dt = time.perf_counter() - t0
        total += dt
        print(f"  {model:12} {dt:6.1f} s")
    print(f"all seven models on {a.conversions:,} conversions: {total:.1f} s (target: each "
          f"< 60 s)")
    if (a.lake / "manifest.json").exists():
        from etl.lake import Lake
        from reach.attribution.touchpoints import conversion_paths
        lk = Lake.open(a.lake)
        t0 = time.perf_counter()
        p, t = conversion_paths(lk.scan("posts"), lk.scan("shares"), lk.scan("follows"),
                                lk.scan("conversions"))
        print(f"\npaths from the lake {a.lake}: {p.height:,} conversions, {t.height:,} "
              f"touchpoints in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
