"""Distinct reach per campaign × network: the `reach` mart.

For campaign c on network n, with A its authors, S the sharers of its posts and F(X)
the union of the followers of X (DESIGN.md):

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

import numpy as np
import polars as pl

from ._cells import Cell
from .graph import FollowerGraph, Marker
from .sketches import EXACT_LIMIT, SketchStore, reach_estimate

REACH_SCHEMA = {
    "campaign_id": pl.String, "network": pl.String, "posts": pl.Int64, "authors": pl.Int64,
    "sharers": pl.Int64, "first_degree_reach": pl.Int64, "second_degree_reach": pl.Int64,
    "total_reach": pl.Int64, "potential_reach": pl.Int64, "dedup_ratio": pl.Float64,
    "method": pl.String, "rel_error": pl.Float64, "total_reach_low": pl.Int64,
    "total_reach_high": pl.Int64,
}


def potential_counts(accounts: pl.LazyFrame, graphs: dict[str, FollowerGraph],
                     sizes: dict[str, int]) -> dict[str, np.ndarray]:
    """Per network, the follower count a commercial suite would use for each account key."""
    acc = accounts.select("network", "account_key", "followers_count").collect()
    out = {}
    for network, n in sizes.items():
        g = graphs.get(network)
        base = (g.in_degree().astype(np.float64) if g is not None
                else np.full(n, np.nan))
        if base.size < n:
            base = np.concatenate([base, np.zeros(n - base.size)])
        part = acc.filter((pl.col("network") == network) & pl.col("followers_count").is_not_null())
        base[part["account_key"].to_numpy()] = part["followers_count"].to_numpy()
        out[network] = base
    return out


def person_identities(account_keys: pl.LazyFrame, accounts: pl.LazyFrame
                      ) -> dict[str, np.ndarray]:
    """Per network, an int64 identity per account key: one per person_id, else per account."""
    keyed = account_keys.join(accounts.select("network", "account_id", "person_id"),
                              on=["network", "account_id"], how="left").collect()
    persons = keyed["person_id"].drop_nulls().unique().sort()
    person_index = {p: i for i, p in enumerate(persons.to_list())}
    next_id = len(person_index)
    out = {}
    for (network,), part in keyed.sort("network", "account_key").partition_by(
            "network", as_dict=True, maintain_order=True).items():
        n = int(part["account_key"].max()) + 1
        ident = np.arange(next_id, next_id + n, dtype=np.int64)
        next_id += n
        known = part.filter(pl.col("person_id").is_not_null())
        ident[known["account_key"].to_numpy()] = [person_index[p] for p in known["person_id"]]
        out[network] = ident
    return out


def reach_rows(cells: list[Cell], graphs: dict[str, FollowerGraph],
               potential: dict[str, np.ndarray], identities: dict[str, np.ndarray],
               *, sketches: dict[str, SketchStore] | None = None, approx: bool = False,
               exact_limit: int = EXACT_LIMIT, progress=None) -> pl.DataFrame:
    rows = []
    markers = {net: Marker(g.n) for net, g in graphs.items()}
    # for the cross-network row: identities reached, per campaign
    reached_people: dict[str, dict[str, list[np.ndarray]]] = {}
    for i, cell in enumerate(cells):
        if progress and i % 50 == 0:
            progress(i, len(cells))
        g = graphs.get(cell.network)
        authors = cell.authors
        pot_arr = potential.get(cell.network)
        known = pot_arr[cell.exposers] if pot_arr is not None else np.array([np.nan])
        # Unknown counts (no graph, no followers_count) are skipped; all unknown -> null.
        pot = float(np.nansum(known)) if not np.isnan(known).all() else np.nan
        row = {"campaign_id": cell.campaign_id, "network": cell.network, "posts": cell.posts,
               "authors": int(authors.size), "sharers": cell.n_sharers,
               "potential_reach": None if np.isnan(pot) else int(pot)}
        if g is None:
            rows.append(row | {"method": "no_graph"})
            continue
        gathered = int(g.in_degree(cell.exposers).sum())
        use_sketch = sketches is not None and (approx or gathered > exact_limit)
        if use_sketch:
            store = sketches[cell.network]
            first = reach_estimate(store, authors, authors)
            total = reach_estimate(store, cell.exposers, authors)
            f, t = round(first.estimate), round(total.estimate)
            row |= {"first_degree_reach": f, "total_reach": t,
                    "second_degree_reach": max(t - f, 0), "method": "sketch",
                    "rel_error": total.rel_error, "total_reach_low": int(np.floor(total.low)),
                    "total_reach_high": int(np.ceil(total.high))}
        else:
            fol, owner = g.gather(cell.exposers)
            from_authors = fol[cell.is_author[owner]]
            marker = markers[cell.network]
            f, t = marker.count(from_authors, authors), marker.count(fol, authors)
            row |= {"first_degree_reach": f, "total_reach": t, "second_degree_reach": t - f,
                    "method": "exact", "rel_error": 0.0, "total_reach_low": t,
                    "total_reach_high": t}
            ident = identities.get(cell.network)
            if ident is not None:
                per = reached_people.setdefault(cell.campaign_id, {"first": [], "total": [],
                                                                   "authors": [],
                                                                   "sharers": []})
                # Authors' identities are excluded across networks in _all_rows, which
                # also removes this network's A; repeats are harmless to the bitmap.
                per["first"].append(ident[from_authors])
                per["total"].append(ident[fol])
                per["authors"].append(ident[authors])
                per["sharers"].append(ident[cell.exposers[cell.is_sharer]])
        row["dedup_ratio"] = (row["total_reach"] / pot) if pot and pot > 0 else None
        rows.append(row)
    n_people = max((int(a.max()) + 1 for a in identities.values() if a.size), default=0)
    rows.extend(_all_rows(rows, reached_people, Marker(n_people)))
    df = pl.DataFrame(rows, schema=REACH_SCHEMA)
    return df.sort("campaign_id", pl.col("network") == "all", "network")


def _all_rows(rows: list[dict], reached: dict[str, dict[str, list[np.ndarray]]],
              people: Marker) -> list[dict]:
    """Cross-network rows: people counted once across networks (exact cells only).

    Identities are dense integers, so one bitmap over them counts distinct people.
    """
    out = []
    by_campaign: dict[str, list[dict]] = {}
    for r in rows:
        by_campaign.setdefault(r["campaign_id"], []).append(r)
    for cid, rs in by_campaign.items():
        exact = [r for r in rs if r.get("method") == "exact"]
        pot = sum(r["potential_reach"] for r in rs if r.get("potential_reach") is not None)
        row = {"campaign_id": cid, "network": "all", "posts": sum(r["posts"] for r in rs),
               "potential_reach": pot}
        per = reached.get(cid)
        if not exact or per is None or len(exact) != len(rs):
            # A network without a graph, or a sketched one: the people cannot be deduplicated.
            row |= {"authors": sum(r["authors"] for r in rs),
                    "sharers": sum(r["sharers"] for r in rs),
                    "method": "no_graph" if not exact else "partial"}
            out.append(row)
            continue
        authors = np.concatenate(per["authors"])
        none = np.empty(0, dtype=np.int64)
        f = people.count(np.concatenate(per["first"]), authors)
        t = people.count(np.concatenate(per["total"]), authors)
        row |= {"authors": people.count(authors, none),
                "sharers": people.count(np.concatenate(per["sharers"]), none),
                "first_degree_reach": f, "total_reach": t, "second_degree_reach": t - f,
                "method": "exact", "rel_error": 0.0, "total_reach_low": t,
                "total_reach_high": t, "dedup_ratio": t / pot if pot else None}
        out.append(row)
    return out
