"""Weekly reach and frequency in the shapes media-mix models load.

* Meridian (``CsvDataLoader``): one row per geo × week, a ``time`` and a ``geo`` column,
  ``<channel>_reach`` and ``<channel>_frequency`` per channel (a network), and the KPI
  (``conversions``, ``revenue_per_conversion``) where the lake has conversions. Meridian
  wants reach per period, not cumulative, and frequency = impressions / reach: the
  weekly mart's ``reach`` and ``average_frequency``. Weeks without campaign activity
  are written as 0 (Meridian wants no gaps). One national geo: accounts carry no region.
* PyMC-Marketing: a tidy long table (date, channel, campaign, reach, frequency, ...).

Spend is not in the lake: add ``<channel>_spend`` columns before fitting (``rf_spend``).
"""

from __future__ import annotations

import polars as pl

from reach.errors import UsageError

NATIONAL = "national"
TARGETS = ("meridian", "pymc-marketing")


def meridian_frame(weekly: pl.DataFrame, conversions: pl.DataFrame | None = None
                   ) -> pl.DataFrame:
    """Network-level weekly rows pivoted to Meridian's CSV shape."""
    rows = weekly.filter(pl.col("level") == "network", pl.col("method") == "exact")
    if rows.height == 0:
        raise UsageError("no network has a follower graph, so there is no weekly reach to "
                         "export (reach_frequency_weekly has only no_graph rows)")
    weeks = pl.date_range(rows["week_start"].min(), rows["week_start"].max(), "1w",
                          eager=True).alias("week_start").to_frame()
    out = weeks
    for net in sorted(rows["network"].unique()):
        part = rows.filter(pl.col("network") == net).select(
            "week_start", pl.col("reach").alias(f"{net}_reach"),
            pl.col("average_frequency").alias(f"{net}_frequency"))
        out = out.join(part, on="week_start", how="left")
        filled = pl.col("week_start").is_in(part["week_start"].implode()).not_()
        out = out.with_columns(  # a week without activity reached nobody; suppressed stays empty
            pl.when(filled).then(0).otherwise(pl.col(f"{net}_reach")).alias(f"{net}_reach"),
            pl.when(filled).then(0.0).otherwise(pl.col(f"{net}_frequency"))
            .alias(f"{net}_frequency"))
    if conversions is not None and conversions.height:
        kpi = (conversions.with_columns(
            (pl.col("converted_at").dt.truncate("1w").dt.date()).alias("week_start"))
            .group_by("week_start").agg(pl.len().cast(pl.Int64).alias("conversions"),
                                        pl.col("value").sum().alias("_value")))
        out = out.join(kpi, on="week_start", how="left").with_columns(
            pl.col("conversions").fill_null(0),
            pl.when(pl.col("conversions") > 0)
            .then(pl.col("_value") / pl.col("conversions")).alias("revenue_per_conversion"),
        ).drop("_value")
    return out.select(pl.col("week_start").dt.strftime("%Y-%m-%d").alias("time"),
                      pl.lit(NATIONAL).alias("geo"), pl.exclude("week_start")).sort("time")


def pymc_frame(weekly: pl.DataFrame) -> pl.DataFrame:
    """Every weekly row, long: one per channel (× campaign) × week."""
    keep = [c for c in ("suppressed",) if c in weekly.columns]
    return weekly.select(
        pl.col("week_start").alias("date"), pl.col("network").alias("channel"),
        pl.col("campaign_id").alias("campaign"), "level", "reach",
        pl.col("average_frequency").alias("frequency"), "opportunities",
        "cumulative_reach", "method", *keep).sort("level", "channel", "campaign", "date")


def meridian_columns(frame: pl.DataFrame) -> dict[str, object]:
    """The ``CoordToColumns`` arguments that map ``frame`` (documented in the README)."""
    reach = [c for c in frame.columns if c.endswith("_reach")]
    out: dict[str, object] = {"time": "time", "geo": "geo", "reach": reach,
                              "frequency": [c.removesuffix("_reach") + "_frequency"
                                            for c in reach]}
    if "conversions" in frame.columns:
        out |= {"kpi": "conversions", "revenue_per_kpi": "revenue_per_conversion"}
    return out
