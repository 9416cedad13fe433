"""Distinct reach per campaign × network: the `reach` mart.

For campaign c on network n, with A its authors, S the sharers of its posts and F(X)
the union of the followers of X (README.md, "Metrics"; docs/marts.md):

* ``first_degree_reach``  = |F(A) \\ A|
* ``total_reach``         = |F(A ∪ S) \\ A|
* ``second_degree_reach`` = total − first (people reached only through reshares)
* ``potential_reach``     = Σ followers_count over A ∪ S — the sum commercial suites report
  (followers_count from accounts, else the in-degree in follows)
* ``dedup_ratio``         = total_reach / potential_reach

Network ``all``: the same across networks, counting a person once where accounts carry
a ``person_id`` (an account without one is its own person).
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import groupby

import numpy as np
import polars as pl

from reach.audience.modelled import modelled_reach
from reach.audience.people import (
    CampaignPeople,
    NetworkLayout,
    NetworkScratch,
    PersonLinks,
    campaign_batch,
)
from reach.audience.sampled import Estimate
from reach.engine.cells import Cell
from reach.engine.parallel import rows_per_group
from reach.followers.graph import FollowerGraph
from reach.followers.kernels import exposer_totals
from reach.followers.sketches import EXACT_LIMIT, SketchStore, reach_estimate

REACH_SCHEMA = {
    "campaign_id": pl.String, "network": pl.String, "posts": pl.Int64, "authors": pl.Int64,
    "sharers": pl.Int64, "first_degree_reach": pl.Int64, "second_degree_reach": pl.Int64,
    "total_reach": pl.Int64, "potential_reach": pl.Int64, "dedup_ratio": pl.Float64,
    "method": pl.String, "rel_error": pl.Float64, "total_reach_low": pl.Int64,
    "total_reach_high": pl.Int64, "listed_share": pl.Float64,
}


#: each reach ``method`` in a few words and why a cell used it (docs/marts.md, reach.method);
#: the CLI's summary and the dashboard read both from here
METHODS = {
    "exact": ("counted", "every author's and sharer's follower list is complete: counted"),
    "sampled": ("estimated from partial follower lists",
                "some lists hold fewer followers than the account reports: estimated from "
                "the lists as samples, with ~95 % bounds"),
    "modelled": ("modelled from follower counts and posts' reach (no lists)",
                 "no follower lists: between bounds proven from follower counts and posts' "
                 "reach (the interval), their geometric mean as the estimate"),
    "sketch": ("approximate (sketches)",
               "approximate unions (theta sketches: --approx or a very large cell)"),
    "hll": ("approximate (HyperLogLog)", "approximate unions (HyperLogLog: Spark --approx)"),
    "partial": ("networks not deduplicated",
                "the all row: networks that cannot be deduplicated across each other"),
    "no_graph": ("unknown: no follower lists",
                 "no follower lists, and counts too incomplete to bound it: reach unknown"),
}


def potential_counts(reported: dict[str, np.ndarray], graphs: dict[str, FollowerGraph],
                     sizes: dict[str, int]) -> dict[str, np.ndarray]:
    """Per network, the follower count a commercial suite would use for each account key:
    the reported ``followers_count``, else the in-degree in follows."""
    out = {}
    for network, n in sizes.items():
        g = graphs.get(network)
        base = (g.in_degree().astype(np.float64) if g is not None
                else np.full(n, np.nan))
        if base.size < n:
            base = np.concatenate([base, np.zeros(n - base.size)])
        rep = reported[network]
        out[network] = np.where(np.isnan(rep), base, rep)
    return out


def accounts_by_network(accounts: pl.LazyFrame, networks: Iterable[str],
                        columns: tuple[str, ...] = ("account_key", "followers_count",
                                                    "person_id")) -> dict[str, pl.DataFrame]:
    """``columns`` of the accounts of each network, read at once: a network's filter
    prunes the table's partitions, and no column of network names is built to split on."""
    nets = sorted(networks)
    parts = pl.collect_all([accounts.filter(pl.col("network") == n).select(columns)
                            for n in nets])
    return dict(zip(nets, parts, strict=True))


def reported_counts(accounts: dict[str, pl.DataFrame], sizes: dict[str, int]
                    ) -> dict[str, np.ndarray]:
    """Per network, each account key's reported ``followers_count`` (NaN: not reported),
    from :func:`accounts_by_network`.

    Beside the follower lists it tells whether a list is complete (method ``sampled``)."""
    out = {}
    for network, n in sizes.items():
        arr = np.full(n, np.nan)
        part = accounts.get(network)
        if part is not None:
            counts = part["followers_count"].to_numpy().astype(np.float64)  # null -> NaN
            arr[part["account_key"].to_numpy()] = counts
        out[network] = arr
    return out


def reach_rows(cells: list[Cell], graphs: dict[str, FollowerGraph],
               potential: dict[str, np.ndarray], links: PersonLinks,
               *, sketches: dict[str, SketchStore] | None = None, approx: bool = False,
               exact_limit: int = EXACT_LIMIT,
               sampled: dict[tuple[str, str], tuple[Estimate, Estimate]] | None = None,
               modelled: dict[tuple[str, str], tuple] | None = None,
               progress=None) -> pl.DataFrame:
    layouts = {net: NetworkLayout.build(g, links.person_of[net],
                                        [c.exposers for c in cells if c.network == net])
               for net, g in graphs.items()}
    campaigns = [list(group) for _, group in
                 groupby(sorted(cells, key=lambda c: c.campaign_id), key=lambda c: c.campaign_id)]
    size = campaign_batch(links.n)
    batches = [campaigns[i:i + size] for i in range(0, len(campaigns), size)]

    def scratch() -> tuple[list[CampaignPeople], dict[str, NetworkScratch]]:
        return ([CampaignPeople(links) for _ in range(min(size, len(campaigns)))],
                {net: NetworkScratch(layout) for net, layout in layouts.items()})

    def batch_rows(mine: tuple[list[CampaignPeople], dict[str, NetworkScratch]],
                   batch: list[list[Cell]]) -> list[dict]:
        people, nets = mine
        done: list[list] = [[None] * len(group) for group in batch]  # rows, as in batch
        # network by network: a network's graph and scratch stay in cache for the batch
        order = sorted(((cell.network, i, j) for i, group in enumerate(batch)
                        for j, cell in enumerate(group)))
        for _, i, j in order:
            cell = batch[i][j]
            row = _cell_row(cell, graphs.get(cell.network), nets, potential.get(cell.network),
                            people[i], sketches, approx, exact_limit,
                            (sampled or {}).get((cell.campaign_id, cell.network)))
            inputs = (modelled or {}).get((cell.campaign_id, cell.network))
            if row["method"] == "no_graph" and inputs is not None:
                row = _modelled_row(row, inputs)
            done[i][j] = row
        out = []
        for i, net_rows in enumerate(done):
            out += net_rows + [_all_row(people[i], batch[i][0].campaign_id, net_rows)]
        return out

    rows = rows_per_group(batches, batch_rows, scratch, progress)
    df = pl.DataFrame(rows, schema=REACH_SCHEMA)
    return df.sort("campaign_id", pl.col("network") == "all", "network")


def _cell_row(cell: Cell, g: FollowerGraph | None, scratch: dict[str, NetworkScratch],
              pot_arr: np.ndarray | None, people: CampaignPeople,
              sketches: dict[str, SketchStore] | None, approx: bool, exact_limit: int,
              estimates: tuple[Estimate, Estimate] | None) -> dict:
    authors = cell.authors
    if g is not None:
        gathered, pot, known = exposer_totals(g.offsets, pot_arr, cell.exposers)
    else:
        counts = pot_arr[cell.exposers] if pot_arr is not None else np.array([np.nan])
        pot, known = float(np.nansum(counts)), int(np.count_nonzero(~np.isnan(counts)))
    # Unknown counts (no graph, no followers_count) are skipped; all unknown -> null.
    row = {"campaign_id": cell.campaign_id, "network": cell.network, "posts": cell.posts,
           "authors": int(authors.size), "sharers": cell.n_sharers,
           "potential_reach": int(pot) if known else None}
    if g is None:
        return row | {"method": "no_graph"}
    if estimates is not None:
        return _sampled_row(row, estimates)
    if sketches is not None and (approx or gathered > exact_limit):
        store = sketches[cell.network]
        first = reach_estimate(store, authors, authors)
        total = reach_estimate(store, cell.exposers, authors)
        f, t = round(first.estimate), round(total.estimate)
        row |= {"first_degree_reach": f, "total_reach": t,
                "second_degree_reach": max(t - f, 0), "method": "sketch",
                "rel_error": total.rel_error, "total_reach_low": int(np.floor(total.low)),
                "total_reach_high": int(np.ceil(total.high))}
    else:
        f, t = people.count_cell(cell, g, scratch[cell.network], gathered)
        row |= {"first_degree_reach": f, "total_reach": t, "second_degree_reach": t - f,
                "method": "exact", "rel_error": 0.0, "total_reach_low": t,
                "total_reach_high": t}
    t = row.get("total_reach")
    row["dedup_ratio"] = (t / pot) if t is not None and pot and pot > 0 else None
    return row


def _sampled_row(row: dict, estimates: tuple[Estimate, Estimate]) -> dict:
    """A cell some of whose lists hold fewer followers than the account reports: an
    estimate (README.md, "Partial follower lists"), never an exact count of the followers
    we happen to see; unknown where nothing is listed to estimate from."""
    first, total = estimates
    row = row | dict.fromkeys(("first_degree_reach", "second_degree_reach", "total_reach",
                               "rel_error", "total_reach_low", "total_reach_high",
                               "dedup_ratio")) | {"method": "sampled",
                                                  "listed_share": total.listed_share}
    if np.isnan(total.estimate):
        return row
    f, (t, low, high) = first.rounded()[0], total.rounded()
    pot = row.get("potential_reach")
    return row | {"first_degree_reach": f, "total_reach": t,
                  "second_degree_reach": max(t - f, 0), "rel_error": total.rel_error,
                  "total_reach_low": low, "total_reach_high": high,
                  "dedup_ratio": t / pot if pot else None}


def _modelled_row(row: dict, inputs: tuple) -> dict:
    """A graph-less cell estimated from follower counts and posts' reach, where the
    bounds can be proven (README.md, "No follower lists")."""
    got = modelled_reach(*inputs)
    if got is None:
        return row
    first, total = got
    f, (t, low, high) = first.rounded()[0], total.rounded()
    pot = row.get("potential_reach")
    return row | {"first_degree_reach": f, "total_reach": t,
                  "second_degree_reach": max(t - f, 0), "method": "modelled",
                  "rel_error": total.rel_error, "total_reach_low": low,
                  "total_reach_high": high, "dedup_ratio": t / pot if pot else None}


def undeduplicated(rs: list[dict], linked: bool) -> dict:
    """Method and bounds of an `all` row whose networks cannot be deduplicated: people on
    different networks are different people unless accounts carry a person_id, so the
    union lies between the largest network's low bound (their sum when nothing is linked)
    and the sum of the high bounds, where every network has bounds."""
    unknown = all(r.get("method") == "no_graph" for r in rs)
    out = {"method": "no_graph" if unknown else "partial"}
    lows = [r.get("total_reach_low") for r in rs]
    highs = [r.get("total_reach_high") for r in rs]
    if None not in lows and None not in highs:
        out |= {"total_reach_low": max(lows) if linked else sum(lows),
                "total_reach_high": sum(highs)}
    return out


def with_estimates(reach: pl.DataFrame, linked: bool, *,
                   sampled: dict[tuple[str, str], tuple[Estimate, Estimate]] | None = None,
                   modelled: dict[tuple[str, str], tuple] | None = None) -> pl.DataFrame:
    """``reach`` with the cells of partial lists estimated (`sampled`), its graph-less cells
    estimated (`modelled`) and the `all` rows of their campaigns redone: for an engine that
    counts every list as complete and leaves graph-less cells unknown (Spark)."""
    if not sampled and not modelled:
        return reach
    rows = reach.to_dicts()
    cells = [r for r in rows if r["network"] != "all"]
    for i, r in enumerate(cells):
        key = (r["campaign_id"], r["network"])
        if key in (sampled or {}):
            cells[i] = _sampled_row(r, sampled[key])
        elif r["method"] == "no_graph" and key in (modelled or {}):
            cells[i] = _modelled_row(r, modelled[key])
    changed = {r["campaign_id"] for r in cells if r["method"] in ("sampled", "modelled")}
    out = []
    for r in rows:
        if r["network"] == "all" and r["campaign_id"] in changed:
            mine = [c for c in cells if c["campaign_id"] == r["campaign_id"]]
            r = {**r, "first_degree_reach": None, "second_degree_reach": None,
                 "total_reach": None, "dedup_ratio": None, "rel_error": None,
                 "total_reach_low": None, "total_reach_high": None,
                 "authors": sum(c["authors"] for c in mine),
                 "sharers": sum(c["sharers"] for c in mine)} | undeduplicated(mine, linked)
        out.append(r)
    done = pl.DataFrame(cells + [r for r in out if r["network"] == "all"],
                        schema=REACH_SCHEMA)
    return done.sort("campaign_id", pl.col("network") == "all", "network")


def _all_row(people: CampaignPeople, campaign_id: str, rs: list[dict]) -> dict:
    """The campaign's row across networks, its people counted once."""
    exact = [r for r in rs if r.get("method") == "exact"]
    known = [r["potential_reach"] for r in rs if r.get("potential_reach") is not None]
    pot = sum(known) if known else None  # unknown on every network: unknown, not 0
    row = {"campaign_id": campaign_id, "network": "all",
           "posts": sum(r["posts"] for r in rs), "potential_reach": pot}
    if not exact or len(exact) != len(rs):
        # A network without a graph, or an estimated one: people cannot be
        # deduplicated across networks. Where every network has bounds, the row keeps
        # bounds: people on different networks are different people unless accounts
        # carry a person_id, so the union lies between the largest network's low
        # bound (their sum when no account is linked) and the sum of the high bounds.
        row |= {"authors": sum(r["authors"] for r in rs),
                "sharers": sum(r["sharers"] for r in rs)} | undeduplicated(
            rs, linked=people.links.n > 0)
    else:
        f, t, authors, sharers = people.summary()
        row |= {"authors": authors, "sharers": sharers,
                "first_degree_reach": f, "total_reach": t, "second_degree_reach": t - f,
                "method": "exact", "rel_error": 0.0, "total_reach_low": t,
                "total_reach_high": t, "dedup_ratio": t / pot if pot else None}
    people.reset()
    return row
