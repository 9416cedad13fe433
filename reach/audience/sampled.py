"""Distinct reach from partial follower lists: method ``sampled`` (README.md, "Metrics",
"Partial follower lists").

An account whose list in ``follows`` holds fewer followers than its ``followers_count``
is read as a sample of its followers. The estimator assumes each such list is a uniform
random sample of that account's followers, drawn independently of the other accounts'
lists (X's API returns the most recent followers first: a list cut at "the most recent
5,000" breaks this, and the estimate then describes recent followers).

For a set of accounts X and excluded people (the authors):

* people who follow an account whose list is complete are counted exactly;
* for the others, each observed person appears in j of the partial lists; with a pooled
  rate p (listed / reported followers over the partial accounts) a person who truly
  follows k of them appears j ~ Binomial(k, p) times and is missed with probability
  (1 − p)^k. The numbers of people N_k following exactly k partial accounts are the
  maximum-likelihood solution (EM, non-negative) of the observed histogram of j, with one
  more equation the counts give for free: Σ k·N_k = the partial accounts' reported
  followers minus the list entries of excluded people (scaled by 1/p). The estimate is
  Σ_k N_k;
* its ~95 % interval is ±1.96 standard errors by the delta method: each histogram count
  (and the membership total) varies as a Poisson count, and the estimator's response to
  each is measured by re-solving. ``benchmarks/eval_estimators.py`` measures error and
  coverage on a real graph.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import polars as pl
from scipy.stats import binom

from reach.followers.graph import FollowerGraph, Marker
from reach.followers.kernels import mlem

Z95 = 1.959963984540054
ITERATIONS, REFIT_ITERATIONS, TOLERANCE = 4000, 600, 1e-10
MAX_CLASSES = 400


@dataclass(frozen=True)
class Estimate:
    """A count of distinct people with ~95 % bounds; exact when the bounds equal it."""

    estimate: float
    low: float
    high: float
    #: of the partial lists behind a ``sampled`` estimate: the share of their accounts'
    #: reported followers they hold (the sampling rate)
    listed_share: float | None = None

    def __add__(self, exact: int) -> Estimate:
        return replace(self, estimate=self.estimate + exact, low=self.low + exact,
                       high=self.high + exact)

    def rounded(self) -> tuple[int | None, int | None, int | None]:
        """(estimate, low, high) as whole people: the bounds widened to integers; empty
        where nothing could be estimated."""
        if np.isnan(self.estimate):
            return None, None, None
        return round(self.estimate), math.floor(self.low), math.ceil(self.high)

    @property
    def rel_error(self) -> float:
        return (self.high - self.low) / 2 / self.estimate if self.estimate > 0 else 0.0


def estimate_unseen(hist: np.ndarray, rate: float, memberships: float, accounts: int
                    ) -> Estimate:
    """People following at least one partial account, from ``hist[j]`` = observed people
    found in j partial lists, the pooled sampling ``rate`` and the true number of list
    ``memberships`` of those people."""
    hist = np.asarray(hist, dtype=np.float64)
    observed = float(hist[1:].sum()) if hist.size > 1 else 0.0
    if rate >= 1.0 or observed == 0.0:
        return Estimate(observed, observed, observed)
    top = hist.size - 1
    classes = int(min(max(accounts, top), math.ceil((top + 5) / rate) + 5, MAX_CLASSES))
    classes = max(classes, top)
    k = np.arange(1, classes + 1)
    j = np.arange(1, top + 1)
    design = np.vstack([binom.pmf(j[:, None], k[None, :], rate), k[None, :].astype(float)])
    memberships = max(memberships, float((hist * np.arange(hist.size)).sum()))
    y = np.concatenate([hist[1:], [memberships]])
    start = np.full(classes, observed / classes)
    fit = mlem(design, y, start, ITERATIONS, TOLERANCE)
    est = float(fit.sum())
    variance = 0.0
    for row in range(y.size):
        if y[row] <= 0:
            continue
        step = max(1.0, 0.01 * y[row])
        moved = y.copy()
        moved[row] += step
        slope = (float(mlem(design, moved, fit, REFIT_ITERATIONS, TOLERANCE).sum()) - est) / step
        # a histogram count is a Poisson count; the membership total is known but for
        # the excluded people's unseen entries, about as uncertain as a Poisson count
        variance += slope * slope * y[row] * (1.0 if row < top else (1 - rate))
    half = Z95 * math.sqrt(variance)
    return Estimate(est, max(observed, est - half), min(memberships, est + half))


def partial_lists(g: FollowerGraph, keys: np.ndarray, reported: np.ndarray) -> np.ndarray:
    """Which of ``keys`` have fewer followers listed than their reported count."""
    rep = reported[keys]
    return ~np.isnan(rep) & (g.in_degree(keys) < rep)


def has_partial(g: FollowerGraph, keys: np.ndarray, reported: np.ndarray | None) -> bool:
    """Whether any of ``keys`` (repeats allowed) lists fewer followers than it reports."""
    return reported is not None and bool(
        partial_lists(g, np.asarray(keys, dtype=np.int64), reported).any())


def sampled_reach(marker: Marker, g: FollowerGraph, keys: np.ndarray, excluded: np.ndarray,
                  reported: np.ndarray) -> Estimate:
    """|F(keys) \\ excluded| where some of the keys' lists are partial; leaves ``marker``
    clear."""
    keys = np.asarray(keys, dtype=np.int64)
    partial = partial_lists(g, keys, reported)
    marker.mark(excluded)
    exact = marker.mark_followers(g, keys[~partial])[0].copy()
    part = keys[partial]
    hist, entries_excluded = marker.membership_histogram(g, part)
    marker.unmark(exact)
    marker.unmark(excluded)
    return from_counts(int(exact.size), hist, entries_excluded, float(g.in_degree(part).sum()),
                       float(reported[part].sum()), int(part.size))


def from_counts(exact: int, hist: np.ndarray, entries_excluded: float, listed: float,
                reported: float, accounts: int) -> Estimate:
    """The estimate from what the lists show (the engines gather these counts their own
    way): ``exact`` people following a complete list, ``hist[j]`` other people found in j
    of the ``accounts`` partial lists, ``entries_excluded`` entries of those lists that
    are excluded or already counted, and the partial lists' ``listed`` and ``reported``
    follower totals."""
    rate = listed / reported if reported > 0 else 1.0
    if rate <= 0:  # nothing listed for these accounts: no sample to estimate from
        return Estimate(math.nan, math.nan, math.nan, 0.0)
    memberships = reported - entries_excluded / rate
    return replace(estimate_unseen(hist, rate, memberships, accounts) + exact,
                   listed_share=rate)


def cell_estimates(cells: list, graphs: dict[str, FollowerGraph],
                   reported: dict[str, np.ndarray]) -> dict[tuple[str, str],
                                                          tuple[Estimate, Estimate]]:
    """(first degree, total) estimates of every campaign × network cell some of whose
    lists are partial; computed once, read by the reach, amplifiers and timeline marts."""
    out, markers = {}, {}
    # which accounts list fewer followers than they report, per network, found once:
    # most networks have none, and then none of their cells is looked at
    partial = {net: flags for net, g in graphs.items() if net in reported
               and (flags := partial_lists(g, np.arange(g.n), reported[net])).any()}
    for cell in cells:
        if cell.network not in partial or not partial[cell.network][cell.exposers].any():
            continue
        g, rep = graphs[cell.network], reported[cell.network]
        marker = markers.setdefault(cell.network, Marker(g.n))
        out[(cell.campaign_id, cell.network)] = (
            sampled_reach(marker, g, cell.authors, cell.authors, rep),
            sampled_reach(marker, g, cell.exposers, cell.authors, rep))
    return out


def partial_accounts(tables: dict) -> pl.DataFrame:
    """Authors and sharers whose lists hold fewer followers than they report, with
    ``listed`` and ``reported`` (the lake's tables as LazyFrames). Networks without any
    follows are not sampled but graph-less (``no_graph``), so they are left out."""
    graphs = tables["follows"].select("network").unique()
    listed = (tables["follows"].group_by("network", "followee_key")
              .agg(pl.len().cast(pl.Int64).alias("listed"))
              .rename({"followee_key": "account_key"}))
    exposers = pl.concat([tables["posts"].select("network", "account_key"),
                          tables["shares"].select("network",
                                                  pl.col("sharer_key").alias("account_key"))]
                         ).unique()
    return (tables["accounts"].filter(pl.col("followers_count").is_not_null())
            .join(graphs, on="network", how="semi")
            .join(exposers, on=["network", "account_key"], how="semi")
            .join(listed, on=["network", "account_key"], how="left")
            .with_columns(pl.col("listed").fill_null(0))
            .filter(pl.col("listed") < pl.col("followers_count"))
            .select("network", "account_id", "listed",
                    pl.col("followers_count").alias("reported"))
            .collect())
