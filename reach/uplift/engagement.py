"""Post-level engagement and exposure, the common input of the uplift and rate marts.

``engagements`` = likes + comments + shares (README.md, "Metrics"). ``exposure`` = impressions where
the platform reports them, else the author's followers_count; ``exposure_basis`` says
which. A post with an unknown count or no exposure cannot be used and is counted in
``usable = False`` rather than silently dropped.
"""

from __future__ import annotations

import numpy as np
import polars as pl

RATE_SCHEMA = {
    "campaign_id": pl.String, "network": pl.String, "posts": pl.Int64,
    "posts_left_out": pl.Int64, "engagements": pl.Int64, "exposure": pl.Int64,
    "exposure_basis": pl.String, "engagement_rate": pl.Float64, "rate_low": pl.Float64,
    "rate_high": pl.Float64,
}
Z95 = 1.959964  #: two-sided 95% normal quantile
ORGANIC = "(organic)"  #: campaign_id of the baseline row of each network in the rate mart


def post_engagement(posts: pl.LazyFrame, accounts: pl.LazyFrame) -> pl.DataFrame:
    """One row per post: network, campaign_id, account_id, post_type, created_at,
    engagements, exposure, exposure_basis, usable; sorted by network and post_id.

    Sorted because a join leaves its rows in any order, and the fits downstream add their
    sums in row order: in another order their last digits move, and a fit near a test
    (convergence, a placebo's significance) could come out the other way. Sorted by the
    key, the same posts give the same mart, however the lake's files hold them."""
    followers = accounts.select("network", "account_id", "followers_count")
    eng = pl.col("likes") + pl.col("comments") + pl.col("shares")
    by_impr = pl.col("impressions").is_not_null() & (pl.col("impressions") > 0)
    by_foll = pl.col("followers_count").is_not_null() & (pl.col("followers_count") > 0)
    return (posts.select("network", "post_id", "campaign_id", "account_id", "post_type",
                         "created_at", "impressions", "likes", "comments", "shares")
            .join(followers, on=["network", "account_id"], how="left")
            .with_columns(
                eng.alias("engagements"),
                pl.when(by_impr).then(pl.col("impressions"))
                .when(by_foll).then(pl.col("followers_count")).alias("exposure"),
                pl.when(by_impr).then(pl.lit("impressions"))
                .when(by_foll).then(pl.lit("followers")).alias("exposure_basis"),
                pl.col("post_type").fill_null("unknown"))
            .with_columns((pl.col("engagements").is_not_null()
                           & pl.col("exposure").is_not_null()).alias("usable"))
            .drop("impressions", "likes", "comments", "shares", "followers_count")
            .sort("network", "post_id")
            .collect())


def rate_rows(frame: pl.DataFrame, z: float = Z95) -> pl.DataFrame:
    """Engagement rate (engagements per exposure) per campaign × network, with a 95% interval.

    Ratio estimator Σy / ΣE; its standard error by linearisation over posts
    (√(n/(n−1) · Σ(y − rE)²) / ΣE), so overdispersion between posts widens the interval.
    Organic posts of each network form one more row, ``campaign_id = "(organic)"``.
    """
    keyed = frame.with_columns(pl.col("campaign_id").fill_null(ORGANIC))
    left = keyed.group_by("campaign_id", "network").agg(
        (~pl.col("usable")).sum().alias("posts_left_out"))
    used = keyed.filter("usable").group_by("campaign_id", "network").agg(
        pl.len().alias("posts"), pl.col("engagements").sum(), pl.col("exposure").sum(),
        pl.col("exposure_basis").unique().sort().str.join("+").alias("exposure_basis"),
        pl.col("engagements").cast(pl.Float64).alias("_y"),
        pl.col("exposure").cast(pl.Float64).alias("_e"))
    rows = []
    for r in used.iter_rows(named=True):
        y, e = np.asarray(r.pop("_y")), np.asarray(r.pop("_e"))
        rate = y.sum() / e.sum()
        n = y.size
        se = (np.sqrt(n / (n - 1) * np.sum((y - rate * e) ** 2)) / e.sum()) if n > 1 else np.nan
        rows.append(r | {"engagement_rate": rate,
                         "rate_low": max(rate - z * se, 0.0) if n > 1 else None,
                         "rate_high": rate + z * se if n > 1 else None})
    out = pl.DataFrame(rows, schema={k: v for k, v in RATE_SCHEMA.items()
                                     if k != "posts_left_out"})
    return (left.join(out, on=["campaign_id", "network"], how="left")
            .with_columns(pl.col("posts").fill_null(0))
            .select(list(RATE_SCHEMA)).cast(RATE_SCHEMA)
            .sort("network", pl.col("campaign_id") == ORGANIC, "campaign_id"))
