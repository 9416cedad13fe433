"""How often each reached person was exposed: the `frequency` mart.

For campaign c on network n, a reached person's *opportunities to see* (OTS) = the number
of c's posts and shares on n made by accounts that person follows; reached people are
F(A ∪ S) \\ A as in the `reach` mart, so the distribution sums to total_reach. Three
scopes per cell: ``total`` (every post and share), ``first_degree`` (the campaign's own
posts only: people F(A) \\ A) and ``reshares`` (shares only: people F(S) \\ A). OTS of
the scopes add up: opportunities(total) = opportunities(first_degree) +
opportunities(reshares). Network ``all``: a person's OTS summed over their accounts
(``person_id``), authors' persons excluded, as in the reach mart's ``all`` row.

Counting is exact: one compiled pass adds a weight per gathered follower into reusable
counter arrays, so it costs about what the reach mart's scatter costs.
"""

from __future__ import annotations

from itertools import groupby

import numpy as np
import polars as pl

from reach.audience.people import PersonLinks
from reach.audience.sampled import has_partial
from reach.engine.cells import CellItems
from reach.engine.parallel import rows_per_group
from reach.followers.graph import FollowerGraph
from reach.followers.kernels import cell_histograms, cell_opportunities, scatter_add

TOP = 11  #: OTS of 11 and more share the last bucket
SCOPES = ("total", "first_degree", "reshares")
BUCKETS = [f"people_{k}" for k in range(1, TOP)] + [f"people_{TOP}_plus"]

FREQUENCY_SCHEMA = {
    "campaign_id": pl.String, "network": pl.String, "scope": pl.String,
    "method": pl.String, "reach_1_plus": pl.Int64, "reach_3_plus": pl.Int64,
    **dict.fromkeys(BUCKETS, pl.Int64),
    "opportunities": pl.Int64, "average_frequency": pl.Float64,
}


class OtsCounter:
    """Reusable OTS counts per account of one network (cleared after each use), and
    room to list the accounts a cell touches."""

    def __init__(self, n: int):
        self.counts = np.zeros(max(n, 1), dtype=np.int64)
        self.touched = np.empty(max(n, 1), dtype=np.int64)


def opportunities(graph: FollowerGraph, items: CellItems, excluded: np.ndarray,
                  counter: OtsCounter) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(reached keys, OTS from posts, OTS from shares) for one cell's items, the keys in
    no particular order.

    ``excluded`` (the authors) are never counted as reached. The counter comes back clear.
    """
    post_keys, post_counts = items.made(posts=True)
    share_keys, share_counts = items.made(posts=False)
    return cell_opportunities(graph.offsets, graph.followers, post_keys, post_counts,
                              share_keys, share_counts, np.asarray(excluded, np.int64),
                              counter.counts, counter.touched)


def cell_frequency(graph: FollowerGraph, items: CellItems, excluded: np.ndarray,
                   counter: OtsCounter, person_of: np.ndarray
                   ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
    """One cell's histograms per scope (as :func:`histograms` makes them from
    :func:`opportunities`), and its reached accounts linked to a person, with their OTS
    from posts and from shares, counted in one compiled pass (``cell_histograms``)."""
    post_keys, post_counts = items.made(posts=True)
    share_keys, share_counts = items.made(posts=False)
    hist, keys, fp, fs = cell_histograms(
        graph.offsets, graph.followers, post_keys, post_counts, share_keys, share_counts,
        np.asarray(excluded, np.int64), counter.counts, counter.touched, person_of)
    return dict(zip(SCOPES, hist, strict=True)), keys, fp, fs


def histograms(from_posts: np.ndarray, from_shares: np.ndarray) -> dict[str, np.ndarray]:
    """Per scope, how many people had each OTS (index = OTS; 0 = not in that scope)."""
    return {scope: np.bincount(v) if v.size else np.zeros(1, np.int64)
            for scope, v in zip(SCOPES, (from_posts + from_shares, from_posts, from_shares),
                                strict=True)}


def histogram_columns(full: np.ndarray) -> dict:
    """Reach and frequency columns of one scope: ``full[k]`` people with k opportunities."""
    full = np.concatenate([full, np.zeros(max(0, TOP + 1 - full.size), np.int64)])
    hist = np.concatenate([full[1:TOP], [full[TOP:].sum()]])
    people = int(full[1:].sum())
    total = int(np.dot(full, np.arange(full.size)))
    return {"reach_1_plus": people, "reach_3_plus": int(full[3:].sum()),
            **{b: int(h) for b, h in zip(BUCKETS, hist, strict=True)},
            "opportunities": total, "average_frequency": total / people if people else None}


def scope_rows(campaign_id: str, network: str, method: str,
               hists: dict[str, np.ndarray] | None) -> list[dict]:
    base = {"campaign_id": campaign_id, "network": network, "method": method}
    if hists is None:
        return [base | {"scope": s} for s in SCOPES]
    return [base | {"scope": s} | histogram_columns(hists[s]) for s in SCOPES]


def frequency_rows(items: dict[tuple[str, str], CellItems], graphs: dict[str, FollowerGraph],
                   links: PersonLinks, reported: dict[str, np.ndarray] | None = None
                   ) -> pl.DataFrame:
    def counters() -> dict[str, OtsCounter]:
        return {net: OtsCounter(g.n) for net, g in graphs.items()}

    def campaign_rows(mine: dict[str, OtsCounter], cells: list[tuple[str, str]]
                      ) -> list[dict]:
        campaign_id, rows = cells[0][0], []
        people = _PersonOTS(links)
        exact, listed = True, False
        for _, network in cells:
            g = graphs.get(network)
            if g is None:
                exact = False
                rows += scope_rows(campaign_id, network, "no_graph", None)
                continue
            made = items[(campaign_id, network)]
            authors = made.authors
            hists, linked, fp, fs = cell_frequency(g, made, authors, mine[network],
                                                   links.person_of[network])
            if has_partial(g, made.keys, (reported or {}).get(network)):
                # partial lists: the people the lists show, a lower bound, never "exact"
                exact, listed = False, True
                rows += scope_rows(campaign_id, network, "listed_only", hists)
                continue
            rows += scope_rows(campaign_id, network, "exact", hists)
            people.add(network, linked, fp, fs, hists, authors)
        if exact:
            return rows + scope_rows(campaign_id, "all", "exact", people.totals())
        return rows + scope_rows(campaign_id, "all",
                                 "partial" if people.cells or listed else "no_graph", None)

    rows = rows_per_group([list(group) for _, group in groupby(sorted(items), key=lambda k: k[0])],
                          campaign_rows, counters)
    if not rows:
        return pl.DataFrame(schema=FREQUENCY_SCHEMA)
    return (pl.DataFrame(rows, schema=FREQUENCY_SCHEMA)
            .sort("campaign_id", pl.col("network") == "all", "network",
                  pl.col("scope").replace_strict(SCOPES, range(3), return_dtype=pl.Int8)))


class _PersonOTS:
    """One campaign's OTS across networks: linked accounts summed per person, unlinked
    accounts (each a person of its own, on one network) kept as histograms of OTS."""

    def __init__(self, links: PersonLinks):
        self.links, self.cells = links, 0
        self.posts = np.zeros(max(links.n, 1), np.int64)
        self.shares = np.zeros(max(links.n, 1), np.int64)
        self.authors: list[np.ndarray] = []
        self.other = {s: np.zeros(1, np.int64) for s in SCOPES}

    def add(self, network: str, linked: np.ndarray, fp: np.ndarray, fs: np.ndarray,
            hists: dict[str, np.ndarray], authors: np.ndarray) -> None:
        """One cell: ``linked``, its reached accounts that carry a person shared with other
        accounts, with their OTS from posts (``fp``) and shares (``fs``); ``hists``, the
        cell's histograms of every reached account."""
        self.cells += 1
        person = self.links.person_of[network]
        p = person[linked]
        scatter_add(self.posts, p, fp)
        scatter_add(self.shares, p, fs)
        mine = histograms(fp, fs) if linked.size else None
        for scope in SCOPES:
            self.other[scope] = _plus(self.other[scope], hists[scope],
                                      mine[scope] if mine else None)
        pa = person[authors]
        self.authors.append(pa[pa >= 0])

    def totals(self) -> dict[str, np.ndarray]:
        """Per scope, the all-network histogram of OTS (index = OTS)."""
        if self.authors:
            gone = np.concatenate(self.authors)
            self.posts[gone] = 0
            self.shares[gone] = 0
        hit = np.flatnonzero((self.posts > 0) | (self.shares > 0))
        persons = histograms(self.posts[hit], self.shares[hit])
        return {scope: _plus(self.other[scope], persons[scope], None) for scope in SCOPES}


def _plus(acc: np.ndarray, add: np.ndarray | None, minus: np.ndarray | None) -> np.ndarray:
    """acc + add − minus, histograms of different lengths."""
    size = max(acc.size, 0 if add is None else add.size)
    out = np.zeros(size, np.int64)
    out[:acc.size] += acc
    if add is not None:
        out[:add.size] += add
    if minus is not None:
        out[:minus.size] -= minus
    return out
