"""The dashboard's only door to data: read marts and lake metadata, never recompute a metric.

Reads are cached by file modification time, so a new `reach compute` shows up on the
next request and repeated callbacks cost a dictionary lookup.
"""

from __future__ import annotations

import json
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

import numpy as np
import polars as pl

from reach.engine.privacy import suppress
from reach.engine.registry import MARTS as REGISTRY

MARTS = tuple(REGISTRY)


class MartReader:
    """Marts as the dashboard shows them: cells under the privacy threshold suppressed."""

    def __init__(self, lake: Path, min_people: int = 0):
        self.lake = Path(lake).resolve()
        self.min_people = min_people

    # ---- files ---------------------------------------------------------------------

    def path(self, mart: str) -> Path:
        """A mart's file. Only names in MARTS: no path a caller makes up is ever read."""
        if mart not in MARTS:
            raise KeyError(f"unknown mart '{mart}'; choose from {', '.join(MARTS)}")
        return self.lake / "marts" / f"{mart}.parquet"

    def warm(self) -> None:
        """Read every mart (and rank every network's accounts for What-if) now, not in a
        visitor's request: each server process does it once at its start."""
        for mart in self.available():
            self.read(mart)
        self.campaigns()
        for network in self.networks():
            self.ranked(network)

    def available(self) -> list[str]:
        return [m for m in MARTS if self.path(m).exists()]

    def read(self, mart: str) -> pl.DataFrame:
        path = self.path(mart)
        if not self.min_people or not path.exists():
            return _parquet([path])
        return _suppressed(str(path), path.stat().st_mtime_ns, mart, self.min_people)

    def _lake_state(self) -> int:
        """Changes whenever a load commits (a new file in the log of loads)."""
        log = self.lake / "_loads" / "_delta_log"
        return log.stat().st_mtime_ns if log.exists() else 0

    def _table(self, name: str) -> pl.DataFrame:
        return _lake_table(str(self.lake), self._lake_state(), name)

    # ---- selections ----------------------------------------------------------------

    def campaigns(self, dates=None) -> pl.DataFrame:
        """campaign_id, name, total_reach (all networks), newest names from the lake; with
        ``dates`` (from, to), only campaigns active then (:meth:`campaign_activity`)."""
        if dates is not None:
            active = self.campaign_activity().filter(
                pl.col("first_at") < dates[1], pl.col("last_at") >= dates[0])["campaign_id"]
            return self.campaigns().filter(pl.col("campaign_id").is_in(active.implode()))
        reach = self.read("reach")
        if reach.height == 0:
            return pl.DataFrame(schema={"campaign_id": pl.String, "name": pl.String,
                                        "total_reach": pl.Int64})
        ids = reach.filter(pl.col("network") == "all").select("campaign_id", "total_reach")
        names = self._table("campaigns")
        if names.height:
            ids = ids.join(names.select("campaign_id", "name"), on="campaign_id", how="left")
        else:
            ids = ids.with_columns(pl.lit(None, pl.String).alias("name"))
        return ids.with_columns(pl.coalesce("name", "campaign_id").alias("name")).select(
            "campaign_id", "name", "total_reach").sort("campaign_id")

    def networks(self) -> list[str]:
        reach = self.read("reach")
        return sorted(n for n in reach["network"].unique().to_list() if n != "all") \
            if reach.height else []

    def default_campaigns(self, k: int = 4, dates=None) -> list[str]:
        c = self.campaigns(dates).sort("total_reach", descending=True, nulls_last=True)
        return c["campaign_id"].head(k).to_list()

    def campaign_activity(self, by_network: bool = False) -> pl.DataFrame:
        """campaign_id[, network], first_at, last_at: from a campaign's first exposure to
        its last (its timeline; a campaign without one, from its cascades)."""
        keys = ["campaign_id", "network"] if by_network else ["campaign_id"]
        parts = [df.filter(pl.col("network") != "all").select(
                     *keys, pl.col(at).alias("first_at"), pl.col(at).alias("last_at"))
                 for df, at in ((self.read("timeline"), "bucket_start"),
                                (self.read("cascades"), "first_share_at")) if df.height]
        if not parts:
            return pl.DataFrame(schema=dict.fromkeys(keys, pl.String) | {
                "first_at": pl.Datetime("us", "UTC"), "last_at": pl.Datetime("us", "UTC")})
        return (pl.concat(parts).filter(pl.col("campaign_id").is_not_null())
                .group_by(keys).agg(pl.col("first_at").min(), pl.col("last_at").max())
                .filter(pl.col("first_at").is_not_null()))

    # ---- per page ------------------------------------------------------------------

    def compare(self, campaigns: list[str], networks: list[str]) -> dict[str, pl.DataFrame]:
        pick = pl.col("campaign_id").is_in(campaigns) & pl.col("network").is_in(networks)
        names = self.campaigns().select("campaign_id", "name")
        out = {}
        for mart in ("reach", "uplift", "engagement"):
            df = self.read(mart)
            out[mart] = (df.filter(pick).join(names, on="campaign_id", how="left")
                         if df.height else df)
        return out

    def timeline(self, campaign: str) -> pl.DataFrame:
        df = self.read("timeline")
        # buckets withheld by the privacy threshold: the curve steps between published ones
        return df.filter(pl.col("campaign_id") == campaign,
                         pl.col("cumulative_reach").is_not_null()
                         ).sort("network", "bucket_start") if df.height else df

    def cascades(self, campaign: str, limit: int = 20) -> pl.DataFrame:
        df = self.read("cascades")
        if df.height == 0:
            return df
        return (df.filter(pl.col("campaign_id") == campaign, pl.col("size") > 0)
                .sort("size", "post_id", descending=[True, False]).head(limit))

    def cascade_nodes(self, network: str, post_id: str) -> pl.DataFrame:
        df = self.read("cascade_nodes")
        return df.filter(pl.col("network") == network, pl.col("post_id") == post_id) \
            if df.height else df

    def drawable_cascades(self, campaign: str) -> pl.DataFrame:
        df = self.read("cascade_nodes")
        if df.height == 0:
            return pl.DataFrame(schema={"network": pl.String, "post_id": pl.String,
                                        "nodes": pl.UInt32})
        return (df.filter(pl.col("campaign_id") == campaign)
                .group_by("network", "post_id").agg(pl.len().alias("nodes"))
                .sort("nodes", "post_id", descending=[True, False]))

    def amplifiers(self, campaign: str, limit: int = 10) -> pl.DataFrame:
        df = self.read("amplifiers")
        return (df.filter(pl.col("campaign_id") == campaign, pl.col("rank") <= limit)
                .sort("network", "rank")) if df.height else df

    def waves(self) -> pl.DataFrame:
        df = self.read("waves")
        return df.sort(["created_at", "time_to_half_s"], descending=[True, False],
                       nulls_last=True) if df.height else df

    def campaign_span(self, campaign: str, after: timedelta = timedelta(days=7)
                      ) -> pl.DataFrame:
        """network, first_at, last_at: a campaign's activity on each network, to ``after``
        past its last exposure there (the talk about it comes later)."""
        return (self.campaign_activity(by_network=True)
                .filter(pl.col("campaign_id") == campaign)
                .select("network", "first_at", pl.col("last_at") + after))

    def attribution(self, channel_type: str) -> pl.DataFrame:
        df = self.read("attribution")
        return df.filter(pl.col("channel_type") == channel_type) if df.height else df

    # ---- what-if: the stored sketches ------------------------------------------------

    def account_keys(self, network: str) -> pl.DataFrame:
        keys = self._table("_account_keys")
        return keys.filter(pl.col("network") == network).select("account_id", "account_key") \
            if keys.height else keys

    def sketch_table(self, network: str) -> pl.DataFrame:
        df = _parquet([self.lake / "sketches" / "followers.parquet"])
        return df.filter(pl.col("network") == network) if df.height else df

    def candidates(self, network: str, campaign: str, limit: int = 300,
                   search: str | None = None, keep: list[str] = ()) -> pl.DataFrame:
        """Accounts with the most followers that are not yet exposers of the campaign,
        largest first; with ``search``, the 50 largest whose id contains it (any case)
        come before them; the ``keep`` ids are always in."""
        ranked = self.ranked(network)
        exposers = self.exposer_ids(campaign, network)

        def fresh(df: pl.DataFrame) -> pl.DataFrame:
            return df.filter(~pl.col("account_id").is_in(exposers))
        # the head of the ranking is enough, unless someone searches or keeps a choice
        parts = [fresh(ranked.head(limit + len(exposers))).head(limit)]
        if search:
            parts.insert(0, fresh(ranked.filter(pl.col("account_id").str.to_lowercase()
                                                .str.contains(search.lower(), literal=True)))
                         .head(50))
        if keep:
            parts.append(ranked.filter(pl.col("account_id").is_in(list(keep))))
        return pl.concat(parts).unique("account_id", keep="first", maintain_order=True)

    def ranked(self, network: str) -> pl.DataFrame:
        """account_id, followers of every sketched account, largest first: worked out once
        per sketch file and process (a join and a sort of every account)."""
        path = self.lake / "sketches" / "followers.parquet"
        if not path.exists():
            return pl.DataFrame(schema={"account_id": pl.String, "followers": pl.Int64})
        return _ranked(self, network, path.stat().st_mtime_ns, self._lake_state())

    def partial_lists(self, network: str, account_ids: list[str]) -> pl.DataFrame:
        """Of ``account_ids``, those whose follower list (as sketched) holds fewer followers
        than the account reports: account_id, listed, reported."""
        accounts = self._table("accounts")
        if not account_ids or "followers_count" not in accounts.columns:
            return pl.DataFrame(schema={"account_id": pl.String, "listed": pl.Int64,
                                        "reported": pl.Int64})
        reported = accounts.filter(pl.col("network") == network,
                                   pl.col("account_id").is_in(account_ids),
                                   pl.col("followers_count").is_not_null())
        return (reported.join(self.ranked(network), on="account_id", how="left")
                .select("account_id",
                        pl.col("followers").fill_null(0).cast(pl.Int64).alias("listed"),
                        pl.col("followers_count").cast(pl.Int64).alias("reported"))
                .filter(pl.col("listed") < pl.col("reported")))

    def reach_of(self, campaign: str, network: str) -> dict | None:
        """The reach mart's row for a campaign on a network (total_reach, method)."""
        reach = self.read("reach")
        row = reach.filter(pl.col("campaign_id") == campaign, pl.col("network") == network)
        if row.height == 0:
            return None
        return {"total_reach": row["total_reach"][0],
                "method": row["method"][0] if "method" in row.columns else None}

    def handle(self, network: str, account_id: str) -> str | None:
        """An account's display handle, where the lake has one."""
        accounts = self._table("accounts")
        if "handle" not in accounts.columns:
            return None
        hit = accounts.filter(pl.col("network") == network, pl.col("account_id") == account_id)
        return hit["handle"][0] if hit.height else None

    def exposer_ids(self, campaign: str, network: str, role: str | None = None) -> list[str]:
        amp = self.read("amplifiers")
        if amp.height == 0:
            return []
        pick = (pl.col("campaign_id") == campaign) & (pl.col("network") == network)
        if role:
            pick &= pl.col("role") == role
        return amp.filter(pick)["account_id"].to_list()

    def keys_of(self, network: str, account_ids: list[str]) -> np.ndarray:
        k = self.account_keys(network).filter(pl.col("account_id").is_in(account_ids))
        return k["account_key"].to_numpy().astype(np.int64)

    # ---- data quality --------------------------------------------------------------

    def manifest(self) -> dict:
        return _manifest(str(self.lake), self._lake_state())

    def validation(self) -> dict | None:
        p = self.lake / "validation.json"
        return json.loads(p.read_text()) if p.exists() else None

    def quarantine_counts(self) -> pl.DataFrame:
        rows = []
        for load in self.manifest().get("loads", []):
            for table, reasons in (load.get("quarantine_reasons") or {}).items():
                for rule, n in reasons.items():
                    rows.append({"batch_id": load["batch_id"], "table": table, "rule": rule,
                                 "rows": n})
        return pl.DataFrame(rows, schema={"batch_id": pl.String, "table": pl.String,
                                          "rule": pl.String, "rows": pl.Int64})

    def docs_root(self) -> Path:
        return self.lake / "docs" / "gx" / "uncommitted" / "data_docs" / "local_site"


def _parquet(paths: list[Path]) -> pl.DataFrame:
    """The files read as one frame (empty if none exists), cached until one of them changes."""
    paths = [p for p in paths if p.exists()]
    if not paths:
        return pl.DataFrame()
    return _read_cached(tuple(map(str, paths)), max(p.stat().st_mtime_ns for p in paths))


@lru_cache(maxsize=16)
def _lake_table(lake: str, state: int, name: str) -> pl.DataFrame:
    """A lake table as of its last load, read once per load."""
    from etl.lake import Lake
    return Lake.open(lake).read(name) if state else pl.DataFrame()


@lru_cache(maxsize=16)
def _ranked(reader: MartReader, network: str, _sketches: int, _keys: int) -> pl.DataFrame:
    # sorted after the join: a join does not keep the order of its input
    return (reader.sketch_table(network).select("account_key", "followers")
            .join(reader.account_keys(network), on="account_key")
            .sort(["followers", "account_id"], descending=[True, False])
            .select("account_id", "followers"))


@lru_cache(maxsize=4)
def _manifest(lake: str, state: int) -> dict:
    from etl.lake import Lake
    return Lake.open(lake).manifest() if state else {"loads": [], "tables": {}}


@lru_cache(maxsize=32)
def _suppressed(path: str, mtime_ns: int, mart: str, min_people: int) -> pl.DataFrame:
    """A mart under the privacy threshold, worked out once per file version."""
    return suppress(REGISTRY[mart], _read_cached((path,), mtime_ns), min_people)


@lru_cache(maxsize=64)
def _read_cached(paths: tuple[str, ...], mtime_ns: int) -> pl.DataFrame:
    return pl.read_parquet(list(paths))
