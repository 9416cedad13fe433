"""Build every mart from the canonical tables: LazyFrames in, DataFrames out.

The caller (the CLI) reads the lake and writes the results; nothing here touches disk.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import polars as pl

from reach.attribution.models import AttributionSpec
from reach.attribution.touchpoints import conversion_paths, nonconverting_paths
from reach.audience.distinct import accounts_by_network, potential_counts, reported_counts
from reach.audience.modelled import modelled_inputs
from reach.audience.people import PersonLinks
from reach.audience.sampled import cell_estimates
from reach.cascades.trees import Forest, build_forest, shares_triggered
from reach.engine.cells import CellItems, campaign_cells, campaign_items, group_exposers
from reach.engine.parallel import per_group
from reach.engine.registry import MARTS
from reach.errors import UsageError
from reach.followers.graph import FollowerGraph, account_key_sizes, build_graphs, read_only
from reach.followers.kernels import (
    cell_histograms,
    cell_opportunities,
    cell_reach,
    cell_reach_dense,
    exposer_totals,
    follower_bits,
    people_counts,
    scatter_add,
    set_persons,
    sorted_offsets,
)
from reach.followers.sketches import EXACT_LIMIT, LG_K, SketchStore, follower_sketches
from reach.followers.theta_build import compact_sketches
from reach.hash_numbers import first_seen
from reach.uplift.engagement import post_engagement
from reach.uplift.mart import UpliftSpec

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
    return compute_marts(tables, spec=replace(spec, sketches=spec.approx),
                         only=("reach",))["reach"]


class Context:
    """What the mart builders share, each piece built once and only when first asked for."""

    def __init__(self, tables: dict[str, pl.LazyFrame], spec: ComputeSpec,
                 say: Callable[[str], None]):
        self.tables, self.spec, self.say = tables, spec, say
        self.marts: dict[str, pl.DataFrame] = {}
        self._graphs_job: Future | None = None
        self._reported_job: Future | None = None

    def start_graphs(self, pool: ThreadPoolExecutor) -> None:
        """Read the accounts' reported counts, then build the follower graphs, on
        ``pool`` while the caller reads the person links and the campaign cells: each
        thread has about half the work, and each starts with reads that need no
        compiled kernel while ``_load_kernels`` runs."""
        self.say("building follower graphs")
        self._reported_job = pool.submit(lambda: reported_counts(self.accounts, self.sizes))
        self._graphs_job = pool.submit(build_graphs, self.tables["follows"],
                                       self.tables["_account_keys"], self.sizes)

    @cached_property
    def graphs(self) -> dict[str, FollowerGraph]:
        if self._graphs_job is not None:
            return self._graphs_job.result()
        self.say("building follower graphs")
        return build_graphs(self.tables["follows"], self.tables["_account_keys"], self.sizes)

    @cached_property
    def accounts(self) -> dict[str, pl.DataFrame]:
        """The accounts' columns the reach marts read, per network, read once."""
        return accounts_by_network(self.tables["accounts"], self.sizes)

    @cached_property
    def sizes(self) -> dict[str, int]:
        return account_key_sizes(self.tables["_account_keys"])

    @cached_property
    def sketches(self) -> pl.DataFrame | None:
        if not (self.spec.sketches or self.spec.approx):
            return None
        self.say("sketching followers (theta sketches)")

        def of(_scratch: None, network: str) -> pl.DataFrame:
            return (follower_sketches(self.graphs[network])
                    .with_columns(pl.lit(network).alias("network")))
        # one network per thread: the sketching kernel runs without the GIL
        sk = per_group(self.graphs, of)
        return pl.concat(sk) if sk else None

    @cached_property
    def stores(self) -> dict[str, SketchStore]:
        if self.sketches is None:
            return {}
        return {net: SketchStore(part) for (net,), part in
                self.sketches.partition_by("network", as_dict=True).items()}

    @cached_property
    def cells(self) -> list:
        self.say("campaign cells")
        return campaign_cells(self.tables["posts"], self.tables["shares"])

    @cached_property
    def items(self) -> dict[tuple[str, str], CellItems]:
        return campaign_items(self.tables["posts"], self.tables["shares"])

    @cached_property
    def potential(self) -> dict[str, np.ndarray]:
        return potential_counts(self.reported, self.graphs, self.sizes)

    @cached_property
    def reported(self) -> dict[str, np.ndarray]:
        if self._reported_job is not None:
            return self._reported_job.result()
        return reported_counts(self.accounts, self.sizes)

    @cached_property
    def sampled(self) -> dict:
        """Estimates of the cells some of whose follower lists are partial."""
        return cell_estimates(self.cells, self.graphs, self.reported)

    @cached_property
    def modelled(self) -> dict:
        """Inputs of the `modelled` estimate for the networks without follower lists."""
        return modelled_inputs(self.tables["posts"], self.tables["shares"],
                               sorted(set(self.sizes) - set(self.graphs)), self.reported)

    @cached_property
    def links(self) -> PersonLinks:
        return PersonLinks.from_accounts(self.accounts, self.sizes)

    @cached_property
    def forest(self) -> Forest:
        return build_forest(self.tables["posts"], self.tables["shares"], self.graphs)

    @cached_property
    def triggered(self) -> pl.DataFrame:
        return shares_triggered(self.forest, self.tables["posts"])

    @cached_property
    def key_ids(self) -> pl.DataFrame:
        return self.tables["_account_keys"].select("network", "account_key",
                                                   "account_id").collect()

    @cached_property
    def two_hop_subjects(self) -> pl.DataFrame:
        """Every brand account and campaign author."""
        accounts, posts = self.tables["accounts"], self.tables["posts"]
        return pl.concat([
            accounts.filter(pl.col("is_brand").fill_null(False)).select(
                "network", "account_key", "account_id"),
            posts.filter(pl.col("campaign_id").is_not_null()).select(
                "network", "account_key", "account_id"),
        ]).unique().collect()

    @cached_property
    def engagement_frame(self) -> pl.DataFrame:
        return post_engagement(self.tables["posts"], self.tables["accounts"])

    @cached_property
    def attribution_paths(self) -> tuple[pl.DataFrame, pl.DataFrame]:
        return attribution_paths(self.tables, self.spec, self.cells, self.graphs)


def compute_marts(tables: dict[str, pl.LazyFrame], *, spec: ComputeSpec = ComputeSpec(),
                  progress: Callable[[str], None] | None = None,
                  only: tuple[str, ...] | None = None) -> dict[str, pl.DataFrame]:
    """Every mart of the registry (or ``only`` these), in its order, plus ``sketches``
    (per-account follower sketches) when the spec asks for them."""
    missing = [t for t in NEEDED if t not in tables]
    if missing:
        raise UsageError(f"compute_marts needs the tables {', '.join(missing)}")
    threading.Thread(target=_load_kernels, daemon=True).start()
    ctx = Context(tables, spec, progress or (lambda _m: None))
    out: dict[str, pl.DataFrame] = {}
    with ThreadPoolExecutor(1) as pool:
        if only is None or {"reach", "frequency"} & set(only):  # the first to need graphs
            ctx.start_graphs(pool)
        if only is None and ctx.sketches is not None:
            out["sketches"] = ctx.sketches
        for m in MARTS.values():
            if ((only is not None and m.name not in only)
                    or any(t not in tables for t in m.needs)):
                continue
            if m.step:
                ctx.say(m.step)
            ctx.marts[m.name] = out[m.name] = m.build(ctx)
    return out


def _load_kernels() -> None:
    """Load the compiled kernels of the reach marts on a thread while Polars reads the
    lake: a process's first compiled call costs ~0.4 s (numba loads its registries), each
    later kernel 2-20 ms from its cache. The arguments have the real calls' types, on a
    one-account graph with no edges. A failure here is the real call's to report, not
    this thread's."""
    one, none = np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64)
    offsets = np.zeros(2, dtype=np.int64)
    # read-only, as graphs keep their lists (FollowerGraph) and Polars hands hashes over
    followers, followee, hashes = (read_only(np.zeros(n, dtype=t)) for n, t in (
        (0, np.int32), (1, np.int32), (1, np.uint64)))
    person_of = np.full(1, -1, dtype=np.int32)
    bits, tally = np.zeros((4, 1), dtype=np.uint64), np.zeros(2, dtype=np.int64)
    with contextlib.suppress(Exception):
        sorted_offsets(followee, 1)
        first_seen(hashes)
        group_exposers(np.zeros(1, dtype=np.uint32), np.zeros(1, dtype=np.int32), one,
                       np.ones(1, dtype=bool), 1, 1)  # campaign_cells' column types
        heavy_bits = follower_bits(offsets, followers, none, 1)
        cell_reach_dense(offsets, followers, one, 1, np.full(1, -1, dtype=np.int32),
                         heavy_bits, np.zeros(1, dtype=np.uint64), np.zeros(1, dtype=np.int64),
                         person_of, bits, tally, *np.zeros((3, 1), dtype=np.uint64))
        cell_reach(offsets, followers, one, 1, np.zeros(1, dtype=np.uint8), 1, person_of,
                   bits, tally)
        set_persons(person_of, one, bits[0])
        people_counts(bits)
        exposer_totals(offsets, np.zeros(1), one)
        cell_opportunities(offsets, followers, one, one, one, one, one,
                           np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64))
        cell_histograms(offsets, followers, one, one, one, one, one,
                        np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64), person_of)
        scatter_add(np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int32), one)
        compact_sketches(np.arange(2, dtype=np.int64), read_only(np.zeros(1, dtype=np.int32)),
                         np.zeros(1, dtype=np.int64), LG_K)  # one list of one follower


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
