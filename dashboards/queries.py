"""The dashboard's only door to data: read marts (never recompute a metric)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import polars as pl

MARTS = ("reach", "cascades", "amplifiers", "timeline", "two_hop", "waves", "uplift",
         "engagement", "attribution", "cascade_nodes")


class MartReader:
    def __init__(self, lake: Path):
        self.lake = Path(lake)

    def path(self, mart: str) -> Path:
        if mart not in MARTS:
            raise KeyError(f"unknown mart '{mart}'; choose from {', '.join(MARTS)}")
        return self.lake / "marts" / f"{mart}.parquet"

    def available(self) -> list[str]:
        return [m for m in MARTS if self.path(m).exists()]

    def read(self, mart: str) -> pl.DataFrame:
        p = self.path(mart)
        return _read_cached(str(p), p.stat().st_mtime_ns) if p.exists() else pl.DataFrame()

    def campaigns(self) -> pl.DataFrame:
        names = self.lake / "tables" / "campaigns"
        reach = self.read("reach")
        ids = reach.select("campaign_id").unique() if reach.height else pl.DataFrame(
            schema={"campaign_id": pl.String})
        files = sorted(names.glob("*.parquet")) if names.exists() else []
        if files:
            ids = ids.join(pl.read_parquet(files).select("campaign_id", "name"),
                           on="campaign_id", how="left")
        else:
            ids = ids.with_columns(pl.lit(None, pl.String).alias("name"))
        return ids.with_columns(pl.coalesce("name", "campaign_id").alias("name")).sort(
            "campaign_id")


@lru_cache(maxsize=32)
def _read_cached(path: str, mtime_ns: int) -> pl.DataFrame:
    return pl.read_parquet(path)
