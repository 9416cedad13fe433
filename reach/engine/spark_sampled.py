"""Partial follower lists on the Spark engine (method ``sampled``, README.md "Partial
follower lists").

Spark gathers what the lists show per group of exposers — a campaign × network cell, or
a cascade — in ``sql/spark/sampled_*.sql``: a few counts per group, whatever the graph's
size. The driver solves the Polars engine's estimator on them
(``reach.audience.sampled.from_counts``) and rewrites the rows Spark counted as if every
list were complete with the helpers the Polars engine uses, so the two engines give the
same estimates.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import polars as pl

from reach.audience.sampled import Estimate, from_counts
from reach.audience.timeline import scaled_curve
from reach.cascades.amplifiers import sampled_credit

Estimates = dict[tuple[str, str], tuple[Estimate, Estimate]]  #: (network, grp) → (first, total)

CELLS = ("SELECT network, campaign_id AS grp, key, is_author FROM exposures")
CASCADES = """
SELECT network, grp, key, bool_or(is_author) AS is_author FROM (
    SELECT network, post_id AS grp, account_key AS key, true AS is_author FROM posts
    UNION ALL
    SELECT network, post_id, node_key, false FROM cascade_tree
) GROUP BY network, grp, key"""


def estimates(spark, groups: str) -> tuple[Estimates, pl.DataFrame]:
    """(first degree, total) estimates of every group some of whose lists are partial,
    and those groups' partial lists (network, grp, account_id, listed, reported);
    ``groups`` a query giving network, grp, key, is_author."""
    from reach.engine.spark import _polars, sql
    spark.sql(groups).createOrReplaceTempView("estimate_groups")
    spark.sql(sql("sampled_members")).cache().createOrReplaceTempView("sampled_members")
    counts: dict[tuple, dict[int, tuple[int, int]]] = defaultdict(dict)
    for r in spark.sql(sql("sampled_counts")).collect():
        counts[(r["network"], r["grp"], r["scope"])][int(r["bucket"])] = (
            int(r["people"]), int(r["entries"]))
    lists = {(r["network"], r["grp"], r["scope"]): (float(r["listed"]), float(r["reported"]),
                                                     int(r["accounts"]))
             for r in spark.sql(sql("sampled_lists")).collect()}
    partial = _polars(spark.sql(
        "SELECT m.network, m.grp, k.account_id, m.listed, m.reported FROM sampled_members AS m "
        "JOIN account_keys AS k ON k.network = m.network AND k.account_key = m.key "
        "WHERE m.partial"), {"network": pl.String, "grp": pl.String, "account_id": pl.String,
                             "listed": pl.Int64, "reported": pl.Int64})
    spark.catalog.uncacheTable("sampled_members")
    found = {(n, g): tuple(_solve(counts.get((n, g, scope), {}),
                                  lists.get((n, g, scope), (0.0, 0.0, 0)))
                           for scope in ("first", "total"))
             for n, g in {(n, g) for n, g, _ in lists}}
    return found, partial


def _solve(buckets: dict[int, tuple[int, int]], lists: tuple[float, float, int]) -> Estimate:
    exact = buckets.get(-1, (0, 0))[0]
    excluded = buckets.get(-1, (0, 0))[1] + buckets.get(-2, (0, 0))[1]
    top = max((j for j in buckets if j > 0), default=0)
    hist = np.zeros(top + 1, dtype=np.int64)
    for j, (people, _) in buckets.items():
        if j > 0:
            hist[j] = people
    return from_counts(exact, hist, excluded, *lists)


def by_cell(found: Estimates) -> dict[tuple[str, str], tuple[Estimate, Estimate]]:
    """Keyed as the reach mart's cells: (campaign_id, network)."""
    return {(grp, network): v for (network, grp), v in found.items()}


def _per_cell(rows: pl.DataFrame, found: Estimates, rewrite) -> pl.DataFrame:
    """``rows`` with each estimated cell's rows replaced by ``rewrite(rows, estimates)``."""
    parts = []
    for (campaign_id, network), part in rows.partition_by(
            "campaign_id", "network", as_dict=True, maintain_order=True).items():
        est = found.get((network, campaign_id))
        parts.append(part if est is None else rewrite(part, est))
    return pl.concat(parts) if parts else rows


def amplifiers(amps: pl.DataFrame, found: Estimates, partial: pl.DataFrame) -> pl.DataFrame:
    """Credits of sampled cells as the Polars engine gives them; ``partial``: the cells'
    partial lists, as ``estimates`` returns them (every other list counts whole)."""
    from reach.cascades.amplifiers import ranked
    if not found:
        return amps
    exposers = partial.rename({"grp": "campaign_id"})

    def rewrite(part: pl.DataFrame, est: tuple[Estimate, Estimate]) -> pl.DataFrame:
        lists = part.join(exposers, on=["campaign_id", "network", "account_id"], how="left")
        credit = sampled_credit(lists["shapley_reach"].fill_null(0).to_numpy(),
                                lists["listed"].fill_null(0).to_numpy(),
                                lists["reported"].cast(pl.Float64).fill_null(np.nan)
                                .to_numpy(), est[1].estimate)
        return part.with_columns(pl.Series("shapley_reach", credit),
                                 pl.lit(None, pl.Int64).alias("incremental_reach"),
                                 pl.lit("sampled").alias("method"))
    return ranked(_per_cell(amps, found, rewrite))


def timeline(curve: pl.DataFrame, found: Estimates) -> pl.DataFrame:
    """Curves of sampled cells scaled to end at the cell's estimate."""
    def rewrite(part: pl.DataFrame, est: tuple[Estimate, Estimate]) -> pl.DataFrame:
        part = part.sort("bucket_start")
        cumulative = scaled_curve(part["cumulative_reach"].to_numpy(), est[1].estimate)
        return part.with_columns(pl.Series("cumulative_reach", cumulative),
                                 pl.Series("new_reach", np.diff(cumulative, prepend=0)),
                                 pl.lit("sampled").alias("method"))
    return _per_cell(curve, found, rewrite) if found else curve


def cascades(rows: pl.DataFrame, found: Estimates) -> pl.DataFrame:
    """Reach of cascades with a partial list, estimated (empty where the lists hold
    none of the followers)."""
    if not found:
        return rows
    est = pl.DataFrame(
        [(n, p, "sampled", *t.rounded()) for (n, p), (_, t) in found.items()], orient="row",
        schema={"network": pl.String, "post_id": pl.String, "reach_method": pl.String,
                "total_reach": pl.Int64, "total_reach_low": pl.Int64,
                "total_reach_high": pl.Int64})
    return rows.update(est, on=["network", "post_id"], how="left", include_nulls=True)
