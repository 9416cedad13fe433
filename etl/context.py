"""Context columns the suites check, derived the same way for the loader and for GX.

Some rules span columns or tables (a share must follow its post; an account cannot
follow itself). Great Expectations checks single columns fast and row-wise multi-column
rules very slowly, so such facts are derived here as plain columns
(``self_follow``, ``post_created_at``, ``parent_status``, ...) that the suites then check
with vectorised column rules. Each suite's ``meta.context_columns`` documents them.
"""

from __future__ import annotations

import polars as pl


def follows_context(df: pl.DataFrame) -> pl.DataFrame:
    return df.with_columns((pl.col("follower_id") == pl.col("followee_id"))
                           .fill_null(False).alias("self_follow"))


def posts_context(df: pl.DataFrame, shares: pl.DataFrame) -> pl.DataFrame:
    """When each post's earliest share among ``shares`` was made (``first_share_at``):
    a post moved after shares already in the lake would time them before it."""
    first = shares.group_by("network", "post_id").agg(
        pl.col("created_at").min().alias("first_share_at"))
    return df.join(first, on=["network", "post_id"], how="left", maintain_order="left")


def shares_context(df: pl.DataFrame, posts: pl.DataFrame, shares: pl.DataFrame,
                   children: pl.DataFrame | None = None) -> pl.DataFrame:
    """Does each share's post and parent exist (same network, same post), and when; and
    when its earliest reshare among ``children`` (default: ``shares``) was made."""
    # Later rows win (a batch's rows replace the lake's rows with the same key).
    p = posts.select("network", "post_id", pl.col("created_at").alias("post_created_at")
                     ).unique(["network", "post_id"], keep="last", maintain_order=True)
    s = shares.select("network", pl.col("share_id").alias("parent_id"),
                      pl.col("post_id").alias("_parent_post"),
                      pl.col("created_at").alias("_parent_share_at")).unique(
        ["network", "parent_id"], keep="last", maintain_order=True)
    out = (df.join(p, on=["network", "post_id"], how="left", maintain_order="left")
           .join(s, on=["network", "parent_id"], how="left", maintain_order="left"))
    status = (pl.when(pl.col("parent_id").is_null()).then(pl.lit("none"))
              .when(pl.col("parent_id") == pl.col("post_id")).then(pl.lit("post"))
              .when(pl.col("_parent_post") == pl.col("post_id")).then(pl.lit("share"))
              .when(pl.col("_parent_post").is_not_null()).then(pl.lit("other"))
              .otherwise(pl.lit("unknown")))
    parent_at = (pl.when(pl.col("parent_id") == pl.col("post_id")).then(pl.col("post_created_at"))
                 .when(pl.col("_parent_post") == pl.col("post_id"))
                 .then(pl.col("_parent_share_at")))
    kids = (shares if children is None else children).filter(
        pl.col("parent_id") != pl.col("post_id")).group_by(
        "network", "post_id", pl.col("parent_id").alias("share_id")).agg(
        pl.col("created_at").min().alias("first_reshare_at"))
    out = out.join(kids, on=["network", "post_id", "share_id"], how="left",
                   maintain_order="left")
    return out.with_columns(
        status.alias("parent_status"), parent_at.alias("parent_created_at"),
        (pl.col("share_id") == pl.col("parent_id")).fill_null(False).alias("self_parent"),
    ).drop("_parent_post", "_parent_share_at")
