"""Posts simulated with known campaign effects per network, for the uplift coverage test.

Engagements are NB2 counts: mean = exposure · base_rate · exp(account + post_type +
effect·campaign), dispersion r; exposure is impressions (some unknown: then followers).
Returns the posts and accounts tables and the true log effect of each cell.
"""

from __future__ import annotations

from datetime import UTC

import numpy as np
import polars as pl

NETWORK_EFFECTS = {"x": 0.30, "instagram": 0.12, "facebook": 0.0, "linkedin": -0.20}
POST_TYPES = {"image": 0.0, "video": 0.4, "text": -0.3, "link": -0.1}


def simulate(seed: int, campaigns: int = 30, r: float = 3.0):
    rng = np.random.default_rng(seed)
    posts, accounts, truth = [], [], {}
    for net, net_effect in NETWORK_EFFECTS.items():
        acc = [f"{net}_a{i}" for i in range(6)]
        followers = rng.integers(2_000, 200_000, len(acc))
        acc_effect = rng.normal(0, 0.5, len(acc))
        accounts += [{"network": net, "account_id": a, "followers_count": int(f)}
                     for a, f in zip(acc, followers, strict=True)]

        def post(i, cid, effect, pid, net=net, acc=acc, followers=followers,
                 acc_effect=acc_effect):
            ptype = list(POST_TYPES)[int(rng.integers(0, len(POST_TYPES)))]
            impressions = int(followers[i] * rng.uniform(0.2, 0.6))
            mu = impressions * 0.02 * np.exp(acc_effect[i] + POST_TYPES[ptype] + effect)
            y = int(rng.negative_binomial(r, r / (r + mu)))
            likes = int(rng.binomial(y, 0.8))
            comments = int(rng.binomial(y - likes, 0.6))
            return {"network": net, "post_id": f"{net}_p{pid}", "account_id": acc[i],
                    "created_at": None, "campaign_id": cid, "post_type": ptype,
                    "impressions": None if rng.random() < 0.05 else impressions,
                    "likes": likes, "comments": comments, "shares": y - likes - comments}

        pid = 0
        for i in range(len(acc)):
            for _ in range(int(rng.integers(15, 40))):
                pid += 1
                posts.append(post(i, None, 0.0, pid))
        for c in range(campaigns):
            cid = f"c{c}"
            effect = net_effect * float(rng.uniform(0.5, 1.5))
            truth[(cid, net)] = effect
            authors = rng.choice(len(acc), size=int(rng.integers(1, 4)), replace=False)
            for _ in range(int(rng.integers(6, 16))):
                pid += 1
                posts.append(post(int(rng.choice(authors)), cid, effect, pid))
    schema = {"impressions": pl.Int64, "campaign_id": pl.String, "created_at": pl.Datetime("us", "UTC")}
    return (pl.DataFrame(posts, schema_overrides=schema).lazy(),
            pl.DataFrame(accounts).lazy(), truth)


def simulate_daily(seed: int, cells: int = 100, r: float = 20.0):
    """Daily organic posts for 120 days, then a 14-day campaign with a known effect.

    The account's log engagement rate drifts as a slow random walk (what a local-level
    model assumes); campaign posts multiply it by exp(effect). Returns the post frame in
    the shape of reach.engagement.post_engagement, and the true effect per cell.
    """
    from datetime import datetime, timedelta
    rng = np.random.default_rng(seed)
    t0 = datetime(2026, 1, 1, 12, tzinfo=UTC)
    rows, truth = [], {}
    for k in range(cells):
        net = list(NETWORK_EFFECTS)[k % 4]
        effect = NETWORK_EFFECTS[net] * float(rng.uniform(0.5, 1.5))
        acc, cid = f"a{k}", f"c{k}"
        truth[(cid, net)] = effect
        level = np.log(0.03) + np.cumsum(rng.normal(0, 0.01, 134))
        for day in range(134):
            campaign = day >= 120
            for _ in range(2 if campaign else 1):
                exposure = int(rng.integers(20_000, 60_000))
                mu = exposure * np.exp(level[day] + (effect if campaign else 0.0))
                rows.append({"network": net, "post_id": f"{k}.{len(rows)}",
                             "campaign_id": cid if campaign else None, "account_id": acc,
                             "post_type": "image",
                             "created_at": t0 + timedelta(days=day),
                             "engagements": int(rng.negative_binomial(r, r / (r + mu))),
                             "exposure": exposure, "exposure_basis": "impressions",
                             "usable": True})
    return pl.DataFrame(rows, infer_schema_length=None), truth
