"""Lakes in which time, scheduling and selection try to fool the uplift mart.

Each network has 30 accounts posting organically every day for 240 days and campaigns of
14 days starting between day 120 and day 220, 8–20 posts each by 1–3 of those accounts.
Engagements are NB2 counts (dispersion r = 3):

    mean = exposure · 0.01 · exp(account + post_type + time(day) + drift(account, day) + δ·campaign)

Scenarios (δ = 0 unless named):

* ``null``: nothing but noise.
* ``trend``: every account's engagement rises 0.4 % a day.
* ``weekly``: weekends engage 30 % more, and campaign posts go out on weekends only.
* ``selection``: each account's rate drifts (AR(1) per day, ρ = 0.97, sd 0.3) and each
  campaign picks the accounts whose last 30 days beat their previous 60 the most.
* ``impressions``: campaign posts all report impressions; organic posts mostly do not
  (30 % do), so their exposure falls back to followers, 2–5 times larger.
* ``no_history``: half of each campaign is written by an influencer with no organic posts
  and an engagement rate 2.2 times the others'.
* ``effect``: trend and weekly pattern together, and a true δ ~ U(−0.2, 0.3) per campaign.

Returns posts and accounts as the lake holds them, and the true δ per (campaign, network).
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import polars as pl
from statsmodels.stats.multitest import multipletests

from reach.uplift.engagement import post_engagement
from reach.uplift.mart import UpliftSpec, uplift_mart

SCENARIOS = ("null", "trend", "weekly", "selection", "impressions", "no_history", "effect")
NULL_SCENARIOS = SCENARIOS[:-1]
NETWORKS = ("x", "instagram", "facebook", "linkedin")
TYPES = np.array(["image", "video", "text", "link"])
TYPE_EFFECT = np.array([0.0, 0.4, -0.3, -0.1])
DAY0 = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday
DAYS, ACCOUNTS, WINDOW = 240, 30, 14


def simulate_lake(scenario: str, seed: int, campaigns: int = 80,
                  networks: tuple[str, ...] = NETWORKS):
    """(posts, accounts, truth) for one lake; ``campaigns`` per network."""
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; one of {SCENARIOS}")
    rng = np.random.default_rng(seed)
    posts, accounts, truth = [], [], {}
    for net in networks:
        p, a, t = _network(scenario, net, rng, campaigns)
        posts.append(p)
        accounts.append(a)
        truth |= t
    return pl.concat(posts), pl.concat(accounts), truth


def _network(scenario: str, net: str, rng: np.random.Generator, campaigns: int):
    n_acc = ACCOUNTS
    followers = rng.integers(5_000, 200_000, n_acc)
    acc_effect = rng.normal(0, 0.5, n_acc)
    per_day = rng.uniform(0.3, 1.2, n_acc)
    drift = np.zeros((n_acc, DAYS))
    if scenario == "selection":
        rho, sd = 0.97, 0.3
        drift[:, 0] = rng.normal(0, sd, n_acc)
        for d in range(1, DAYS):
            drift[:, d] = rho * drift[:, d - 1] + rng.normal(0, sd * np.sqrt(1 - rho ** 2), n_acc)
    weekend = ((np.arange(DAYS) + DAY0.weekday()) % 7) >= 5
    time_effect = np.zeros(DAYS)
    if scenario in ("trend", "effect"):
        time_effect += 0.004 * np.arange(DAYS)
    if scenario in ("weekly", "effect"):
        time_effect += 0.3 * weekend

    # organic posts: every account, every day
    counts = rng.poisson(np.repeat(per_day, DAYS))
    acc = np.repeat(np.repeat(np.arange(n_acc), DAYS), counts)
    day = np.repeat(np.tile(np.arange(DAYS), n_acc), counts)
    cid = np.full(acc.size, -1)

    # campaigns
    starts = rng.integers(120, DAYS - WINDOW - 5, campaigns)
    c_acc, c_day, c_id = [], [], []
    influencers = []
    for c in range(campaigns):
        k = int(rng.integers(1, 4))
        if scenario == "selection":
            s = starts[c]
            recent = _rate(acc, day, s - 30, s, n_acc, drift, acc_effect)
            before = _rate(acc, day, s - 90, s - 30, n_acc, drift, acc_effect)
            authors = np.argsort(recent - before)[::-1][:k]
        else:
            authors = rng.choice(n_acc, k, replace=False)
        n = int(rng.integers(8, 21))
        days = starts[c] + rng.integers(0, WINDOW, n)
        if scenario in ("weekly", "effect"):
            days = np.array([_next_weekend(d, weekend) for d in days])
        who = rng.choice(authors, n)
        if scenario == "no_history":
            who[: n // 2] = n_acc + len(influencers)
            influencers.append(c)
        c_acc.append(who)
        c_day.append(days)
        c_id.append(np.full(n, c))
    acc = np.r_[acc, *c_acc]
    day = np.r_[day, *c_day]
    cid = np.r_[cid, *c_id]
    delta = (rng.uniform(-0.2, 0.3, campaigns) if scenario == "effect"
             else np.zeros(campaigns))

    n_inf = len(influencers)
    all_followers = np.r_[followers, rng.integers(50_000, 500_000, n_inf)]
    all_effect = np.r_[acc_effect, np.full(n_inf, np.log(2.2))]
    all_drift = np.r_[drift, np.zeros((n_inf, DAYS))]
    ptype = rng.integers(0, 4, acc.size)
    impressions = all_followers[acc] * rng.uniform(0.2, 0.6, acc.size)
    mu = impressions * 0.01 * np.exp(all_effect[acc] + TYPE_EFFECT[ptype] + time_effect[day]
                                     + all_drift[acc, day]
                                     + np.where(cid >= 0, delta[np.maximum(cid, 0)], 0.0))
    y = rng.negative_binomial(3.0, 3.0 / (3.0 + mu))
    reported = rng.random(acc.size) < (np.where(cid >= 0, 1.0, 0.3)
                                       if scenario == "impressions" else 0.95)
    likes = rng.binomial(y, 0.8)
    comments = rng.binomial(y - likes, 0.6)
    at = (day * 86_400 + rng.integers(6 * 3600, 22 * 3600, acc.size)) * 1_000_000
    posts = pl.DataFrame({
        "network": net,
        "post_id": [f"{net}_{i}" for i in range(acc.size)],
        "campaign_id": pl.Series([f"c{c:03d}" if c >= 0 else None for c in cid.tolist()],
                                 dtype=pl.String),
        "account_id": [f"{net}_a{a}" for a in acc.tolist()],
        "post_type": TYPES[ptype],
        "created_at": pl.Series(at).cast(pl.Datetime("us", "UTC"))
        + (DAY0 - datetime(1970, 1, 1, tzinfo=UTC)),
        "impressions": pl.Series(impressions.astype(np.int64)),
        "likes": likes, "comments": comments, "shares": y - likes - comments,
    }).with_columns(pl.when(pl.Series(reported)).then(pl.col("impressions"))
                    .alias("impressions"))
    accounts = pl.DataFrame({"network": net,
                             "account_id": [f"{net}_a{a}" for a in range(n_acc + n_inf)],
                             "followers_count": all_followers.astype(np.int64)})
    truth = {(f"c{c:03d}", net): float(delta[c]) for c in range(campaigns)}
    return posts, accounts, truth


def _rate(acc, day, lo, hi, n_acc, drift, acc_effect):
    """Each account's mean log rate over days lo..hi−1 as a brand would see it (noisy)."""
    inside = (day >= lo) & (day < hi) & (acc < n_acc)
    total = np.bincount(acc[inside], acc_effect[acc[inside]] + drift[acc[inside], day[inside]]
                        + np.random.default_rng(int(lo)).normal(0, 0.5, inside.sum()),
                        minlength=n_acc)
    n = np.bincount(acc[inside], minlength=n_acc)
    return total / np.maximum(n, 1)


def _next_weekend(d: int, weekend: np.ndarray) -> int:
    while d < DAYS - 1 and not weekend[d]:
        d += 1
    return d


def calibration(mart: pl.DataFrame, truth: dict) -> pl.DataFrame:
    """Per method: cells with a number, bias of the log effect, 95 % coverage, and the
    share of cells significant at 5 % (the false-positive rate when every δ is 0)."""
    t = pl.DataFrame([{"campaign_id": c, "network": n, "true": v} for (c, n), v in truth.items()])
    return (mart.filter(pl.col("warning").is_null()).join(t, on=["campaign_id", "network"])
            .group_by("method").agg(
                pl.len().alias("cells"),
                (pl.col("log_effect") - pl.col("true")).mean().alias("bias"),
                ((pl.col("log_effect") - pl.col("true")).abs()
                 <= 1.959964 * pl.col("std_error")).mean().alias("coverage"),
                (pl.col("p_value") < 0.05).mean().alias("significant"))
            .sort("method"))


TARGETS = {"fpr": 0.07, "coverage": 0.90, "bias": 0.05, "bh_lakes": 0.10}


def run(scenario: str, seeds: int, campaigns: int, workers: int | None = None) -> pl.DataFrame:
    """The mart over ``seeds`` lakes of a scenario, with each row's true effect."""
    parts = []
    for seed in range(seeds):
        posts, accounts, truth = simulate_lake(scenario, 1000 + seed, campaigns)
        mart = uplift_mart(post_engagement(posts.lazy(), accounts.lazy()),
                           spec=UpliftSpec(workers=workers))
        t = pl.DataFrame([{"campaign_id": c, "network": n, "true": v}
                          for (c, n), v in truth.items()])
        parts.append(mart.join(t, on=["campaign_id", "network"])
                     .with_columns(pl.lit(f"{scenario}/{seed}").alias("lake")))
    return pl.concat(parts)


def bh_false_discovery_lakes(marts: pl.DataFrame, cells_per_lake: int = 20,
                             seed: int = 0) -> dict[str, float]:
    """Per method: the share of all-null lakes of ``cells_per_lake`` cells in which BH at
    5 % makes at least one discovery (each one false)."""
    out = {}
    rng = np.random.default_rng(seed)
    for (method,), part in marts.filter(pl.col("p_value").is_not_null()).partition_by(
            "method", as_dict=True).items():
        p = rng.permutation(part["p_value"].to_numpy())
        lakes = p[: p.size // cells_per_lake * cells_per_lake].reshape(-1, cells_per_lake)
        hits = [multipletests(lake, method="fdr_bh")[0].any() for lake in lakes]
        out[method] = float(np.mean(hits))
    return out
