"""Build every mart from the canonical tables: LazyFrames in, DataFrames out.

The caller (the CLI) reads the lake and writes the results; nothing here touches disk.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from ._cells import campaign_cells
from .amplifiers import amplifier_rows
from .attribution import AttributionSpec, attribution_mart
from .audience import PersonLinks, potential_counts, reach_rows
from .cascade_nodes import cascade_node_rows
from .cascades import build_forest, cascade_metrics, shares_triggered
from .engagement import post_engagement, rate_rows
from .errors import UsageError
from .graph import build_graphs
from .schema import MART_KEYS
from .sketches import EXACT_LIMIT, SketchStore, follower_sketches
from .timeline import timeline_rows
from .touchpoints import conversion_paths, nonconverting_paths
from .two_hop import two_hop_rows
from .uplift import UpliftSpec, uplift_mart
from .waves import wave_rows

ENGINE_MARTS = tuple(MART_KEYS)
NEEDED = ("accounts", "follows", "posts", "shares", "_account_keys")


@dataclass(frozen=True)
class ComputeSpec:
    """Options of one compute run; checks itself."""

    approx: bool = False
    exact_limit: int = EXACT_LIMIT
    sketches: bool = True
    uplift: UpliftSpec = UpliftSpec()
    attribution: AttributionSpec = AttributionSpec()
    window_days: float = 30  # attribution look-back before a conversion
    nonconverting: bool = False  # build non-converting paths too (costly: every reached account)

    def __post_init__(self) -> None:
        if self.exact_limit < 1:
            raise UsageError(f"exact_limit must be >= 1, got {self.exact_limit}")
        if self.window_days <= 0:
            raise UsageError(f"the attribution window must be positive, got {self.window_days} days")


def reach_mart(tables: dict[str, pl.LazyFrame], *, spec: ComputeSpec = ComputeSpec()
               ) -> pl.DataFrame:
    """Only the `reach` mart (exact unless ``spec.approx``): what the benchmark times."""
    keys = tables["_account_keys"]
    graphs = build_graphs(tables["follows"], keys)
    sizes = dict(keys.group_by("network").agg(pl.col("account_key").max() + 1)
                 .collect().iter_rows())
    cells = campaign_cells(tables["posts"], tables["shares"])
    return reach_rows(cells, graphs, potential_counts(tables["accounts"], graphs, sizes),
                      PersonLinks.from_tables(keys, tables["accounts"]))


def compute_marts(tables: dict[str, pl.LazyFrame], *, spec: ComputeSpec = ComputeSpec(),
                  progress: Callable[[str], None] | None = None) -> dict[str, pl.DataFrame]:
    """All engine marts, plus ``sketches`` (per-account follower sketches) when asked."""
    say = progress or (lambda _m: None)
    missing = [t for t in NEEDED if t not in tables]
    if missing:
        raise UsageError(f"compute_marts needs the tables {', '.join(missing)}")
    posts, shares = tables["posts"], tables["shares"]
    accounts, follows, keys = tables["accounts"], tables["follows"], tables["_account_keys"]

    say("building follower graphs")
    graphs = build_graphs(follows, keys)
    sizes = dict(keys.group_by("network").agg(pl.col("account_key").max() + 1)
                 .collect().iter_rows())
    out: dict[str, pl.DataFrame] = {}
    stores: dict[str, SketchStore] = {}
    if spec.sketches or spec.approx:
        say("sketching followers (theta sketches)")
        sk = [follower_sketches(g).with_columns(pl.lit(net).alias("network"))
              for net, g in graphs.items()]
        if sk:
            out["sketches"] = pl.concat(sk)
            stores = {net: SketchStore(part) for (net,), part in
                      out["sketches"].partition_by("network", as_dict=True).items()}

    say("campaign cells")
    cells = campaign_cells(posts, shares)
    say(f"reach for {len(cells):,} campaign × network cells")
    out["reach"] = reach_rows(cells, graphs, potential_counts(accounts, graphs, sizes),
                              PersonLinks.from_tables(keys, accounts),
                              sketches=stores or None, approx=spec.approx,
                              exact_limit=spec.exact_limit)
    say("cascades")
    forest = build_forest(posts, shares, follows)
    out["cascades"] = cascade_metrics(forest, posts, graphs)
    out["cascade_nodes"] = cascade_node_rows(forest, out["cascades"], graphs)
    say("amplifiers")
    key_ids = keys.select("network", "account_key", "account_id").collect()
    out["amplifiers"] = amplifier_rows(cells, graphs, shares_triggered(forest, posts), key_ids)
    say("timeline")
    out["timeline"] = timeline_rows(cells, graphs)
    say("two-hop audiences")
    subjects = pl.concat([
        accounts.filter(pl.col("is_brand").fill_null(False)).select(
            "network", "account_key", "account_id"),
        posts.filter(pl.col("campaign_id").is_not_null()).select(
            "network", "account_key", "account_id"),
    ]).unique().collect()
    out["two_hop"] = two_hop_rows(subjects, graphs)
    say("waves")
    out["waves"] = wave_rows(out["cascades"], posts, accounts, forest, graphs)
    say("engagement uplift (negative-binomial GLM, structural time series)")
    frame = post_engagement(posts, accounts)
    out["uplift"] = uplift_mart(frame, spec=spec.uplift)
    out["engagement"] = rate_rows(frame)
    if "conversions" in tables:
        say("conversion paths and attribution models")
        paths, touches = attribution_paths(tables, spec, cells, graphs)
        out["attribution"] = attribution_mart(paths, touches, spec.attribution)
    return out


def attribution_paths(tables: dict[str, pl.LazyFrame], spec: ComputeSpec,
                      cells: list | None = None, graphs: dict | None = None
                      ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Converting paths from the lake, plus non-converting ones when the spec asks."""
    paths, touches = conversion_paths(tables["posts"], tables["shares"], tables["follows"],
                                      tables["conversions"], window_days=spec.window_days)
    if not spec.nonconverting:
        return paths, touches
    if graphs is None:
        graphs = build_graphs(tables["follows"], tables["_account_keys"])
    cells = campaign_cells(tables["posts"], tables["shares"]) if cells is None else cells
    first = int(paths["path"].max() + 1) if paths.height else 0
    null_paths, null_touches = nonconverting_paths(cells, graphs, tables["conversions"], first)
    return pl.concat([paths, null_paths]), pl.concat([touches, null_touches])
