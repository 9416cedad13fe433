"""Conversion attribution: which campaign or network earned each conversion.

Every model gives each conversion credits that sum to 1 over the channels on its path
(a conversion with no touchpoint is credited to ``(no touchpoint)``), so totals add up
to the conversions. Models are chosen by name from :data:`MODELS`:

* ``first_touch``, ``last_touch``: all credit to the first / last touchpoint.
* ``linear``: 1/n to each of the n touchpoints (a repeated channel collects each share).
* ``time_decay``: weight 2^(−age / half-life) per touchpoint, normalised per conversion.
* ``position``: 40 % first, 40 % last, 20 % shared by the middle (1 touch: 100 %;
  2 touches: 50/50).
* ``markov``: removal effects of an absorbing Markov chain over the paths (order 1, or
  higher with ``order``), solved exactly; RE(c) = 1 − P(conversion | c removed) / P(conversion).
* ``shapley``: Shapley values of the coalition game v(S) = conversion rate of the paths
  whose channels all lie in S (with non-converting paths), or the number of conversions
  they explain (converting paths only). Exact by enumeration up to 12 channels, Monte
  Carlo over permutations beyond, with a standard error.

Markov and Shapley are aggregate models. In the mart (``attribution_rows``) a channel is
credited with the converting paths' totals (conversions, value) × its weight ÷ the sum of
the weights — ChannelAttribution's convention for removal effects; for Shapley values
this makes the credits the Shapley values themselves, in conversions (negative for a
channel that lowers the conversion rate). ``credits`` gives per-conversion shares
instead: each weight shared over the conversion's own channels, in proportion.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from math import factorial

import numpy as np
import polars as pl
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve

from reach.attribution.passes import RULES, distinct_pairs, in_order, rule_totals
from reach.attribution.touchpoints import with_channels
from reach.errors import UsageError

NO_TOUCH = "(no touchpoint)"
MART_SCHEMA = {
    "model": pl.String, "channel_type": pl.String, "channel": pl.String,
    "conversions_credited": pl.Float64, "value_credited": pl.Float64,
    "share_of_total": pl.Float64, "weight": pl.Float64, "weight_se": pl.Float64,
}
CREDIT_SCHEMA = {"path": pl.Int64, "channel": pl.String, "credit": pl.Float64}


@dataclass(frozen=True)
class AttributionSpec:
    half_life_days: float = 7.0
    order: int = 1  # Markov chain order
    exact_shapley_max: int = 12  # channels; beyond, Monte Carlo (when the game needs it)
    permutations: int = 500
    seed: int = 0


@dataclass(frozen=True)
class Weights:
    """Per-channel weights of an aggregate model (removal effects, Shapley values)."""

    weight: dict[str, float]
    se: dict[str, float] | None = None


@dataclass(frozen=True)
class PathData:
    """Paths as flat arrays, built once: touches sorted by path then time (ties by
    channel), channels as integer codes. Everything below is vectorised over these, and
    what several models read (the converting touches, where their paths begin and end,
    the distinct channels per path) is computed once per PathData: at 28M touches each
    is a few hundred MB."""

    names: list[str]  # channel code -> name
    path_ids: np.ndarray  # int64, per path
    converted: np.ndarray  # bool, per path
    value: np.ndarray  # float64, per path (unknown value: 0)
    tpath: np.ndarray  # int64, per touch: the row of its path
    channel: np.ndarray  # int64, per touch
    age_days: np.ndarray  # float64, per touch: conversion time − touch time

    @classmethod
    def build(cls, paths: pl.DataFrame, touches: pl.DataFrame) -> PathData:
        paths = paths.sort("path")
        t = _with_rows(touches.select("path", "channel", "touched_at"),
                       paths.select("path", "converted_at"))
        names = t["channel"].unique().sort().to_list()
        # codes in name order, so sorting by code breaks ties as sorting by name would
        t = t.select(pl.col("row").cast(pl.Int64), "touched_at",
                     pl.col("channel").cast(pl.Enum(names)).to_physical().cast(pl.Int64),
                     ((pl.col("converted_at") - pl.col("touched_at")).dt.total_microseconds()
                      / 86.4e9).fill_null(np.nan).alias("age"))
        by = ("row", "touched_at", "channel")
        if _any_null(t, by) or not in_order(t["row"].to_numpy(), _micros(t["touched_at"]),
                                            t["channel"].to_numpy()):
            t = t.sort(*by)  # (nulls first)
        return cls(names, paths["path"].to_numpy(), paths["converted"].to_numpy(),
                   paths["value"].fill_null(0.0).cast(pl.Float64).to_numpy(),
                   t["row"].to_numpy(), t["channel"].to_numpy(), t["age"].to_numpy())

    @classmethod
    def by_channel_type(cls, paths: pl.DataFrame, touches: pl.DataFrame,
                        channel_types: tuple[str, ...]) -> dict[str, PathData]:
        """One PathData per channel type, the paths, rows, ages and order shared: the
        channel codes come from codes of campaign_id and network (each coded once), not
        from a string per touch and type. A type whose touches are not in (path, time,
        channel) order, or touches with nulls, are built by :meth:`build` instead."""
        for by in channel_types:  # a wrong type: with_channels' message, before any work
            with_channels(touches.head(0), by)
        paths = paths.sort("path")
        t = _with_rows(touches.select("path", "network", "campaign_id", "touched_at"),
                       paths.select("path", "converted_at"))
        if t.height == 0 or _any_null(t, ("row", "network", "campaign_id", "touched_at")):
            return {by: cls.build(paths, with_channels(touches, by)) for by in channel_types}
        campaigns = t["campaign_id"].unique().sort().to_list()
        networks = t["network"].unique().sort().to_list()
        t = t.select(pl.col("row").cast(pl.Int64), "touched_at",
                     *(pl.col(c).cast(pl.Enum(names)).to_physical().cast(pl.Int64)
                       for c, names in (("campaign_id", campaigns), ("network", networks))),
                     ((pl.col("converted_at") - pl.col("touched_at")).dt.total_microseconds()
                      / 86.4e9).fill_null(np.nan).alias("age"))
        shared = (paths["path"].to_numpy(), paths["converted"].to_numpy(),
                  paths["value"].fill_null(0.0).cast(pl.Float64).to_numpy(),
                  t["row"].to_numpy())
        age, campaign, network = (t[c].to_numpy() for c in ("age", "campaign_id", "network"))
        when = _micros(t["touched_at"])
        out = {}
        for by in channel_types:
            names, channel = _channel_codes(by, campaigns, networks, campaign, network)
            out[by] = (cls(names, *shared, channel, age) if in_order(shared[3], when, channel)
                       else cls.build(paths, with_channels(touches, by)))
        return out

    @property
    def k(self) -> int:
        return len(self.names)

    @cached_property
    def converting(self) -> np.ndarray | slice:
        """Which touches lie on converting paths (every one, without a copy, when every
        path converted)."""
        mask = self.converted[self.tpath]
        return slice(None) if mask.all() else mask

    @cached_property
    def converting_value(self) -> np.ndarray:
        """The value of each converting touch's path."""
        return self.value[self.tpath[self.converting]]

    @cached_property
    def converting_ends(self) -> tuple[np.ndarray, np.ndarray]:
        """(first of its path, last of its path) for each converting touch: touches are
        in path order, so a path begins where the row changes."""
        tp = self.tpath[self.converting]
        if tp.size == 0:
            return np.zeros(0, dtype=bool), np.zeros(0, dtype=bool)
        change = tp[1:] != tp[:-1]
        return np.r_[True, change], np.r_[change, True]

    @cached_property
    def converting_lengths(self) -> np.ndarray:
        """The number of touches on each converting touch's path."""
        return self.touch_counts[self.tpath[self.converting]]

    @cached_property
    def touch_counts(self) -> np.ndarray:
        """Touches per path."""
        return np.bincount(self.tpath, minlength=self.path_ids.size)

    @cached_property
    def untouched(self) -> np.ndarray:
        """Per path: converted without a touchpoint."""
        return self.converted & (self.touch_counts == 0)

    @cached_property
    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """Unique (path row, channel) among all touches, by path then channel."""
        return distinct_pairs(self.tpath, self.channel,
                              np.ones(self.path_ids.size, dtype=bool), self.k)

    @cached_property
    def converting_pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """Unique (path row, channel) among the converting touches."""
        if isinstance(self.converting, slice):
            return self.pairs
        return distinct_pairs(self.tpath, self.channel, self.converted, self.k)


def _with_rows(touches: pl.DataFrame, paths: pl.DataFrame) -> pl.DataFrame:
    """The touches of ``paths`` (sorted by path), in their order, with ``row`` (the
    path's row) and its ``converted_at``. Path ids numbered 0, 1, … (as
    ``conversion_paths`` makes them) are their own rows: no join."""
    ids = paths["path"]
    if ids.len() and ids[0] == 0 and (ids.diff().slice(1) == 1).all():
        t = touches.filter(pl.col("path").is_between(0, ids.len() - 1))
        return t.with_columns(row=t["path"], converted_at=paths["converted_at"].gather(t["path"]))
    return touches.join(paths.with_row_index("row"), on="path", maintain_order="left")


def _channel_codes(by: str, campaigns: list[str], networks: list[str], campaign: np.ndarray,
                   network: np.ndarray) -> tuple[list[str], np.ndarray]:
    """The channel names of a type (sorted) and each touch's code among them, from the
    touches' campaign and network codes (both in name order)."""
    if by == "campaign":
        return campaigns, campaign
    if by == "network":
        return networks, network
    pair = campaign * len(networks)
    pair += network  # in place: one array per touch, not three
    present = np.flatnonzero(np.bincount(pair, minlength=len(campaigns) * len(networks)))
    # named as with_channels names them, and coded in name order (a campaign id may sort
    # differently from its "campaign @ network" name)
    named = [f"{campaigns[q // len(networks)]} @ {networks[q % len(networks)]}"
             for q in present.tolist()]
    order = sorted(range(len(named)), key=named.__getitem__)
    code = np.empty(len(campaigns) * len(networks), dtype=np.int64)
    code[present[order]] = np.arange(len(order))
    return [named[i] for i in order], np.take(code, pair, out=pair)


def _any_null(df: pl.DataFrame, columns: tuple[str, ...]) -> bool:
    return bool(df.select(pl.any_horizontal(pl.col(columns).is_null().any())).item())


def _micros(times: pl.Series) -> np.ndarray:
    return times.dt.epoch("us").to_numpy()


# ---- rule-based models: a credit per touchpoint of a converting path ----------------

def first_touch(d: PathData, _spec: AttributionSpec) -> np.ndarray:
    return d.converting_ends[0].astype(float)


def last_touch(d: PathData, _spec: AttributionSpec) -> np.ndarray:
    return d.converting_ends[1].astype(float)


def linear(d: PathData, _spec: AttributionSpec) -> np.ndarray:
    return 1.0 / d.converting_lengths


def position_based(d: PathData, _spec: AttributionSpec) -> np.ndarray:
    n = d.converting_lengths
    first, last = d.converting_ends
    middle = 0.2 / np.maximum(n - 2, 1)
    return np.select([n == 1, n == 2, first | last], [1.0, 0.5, 0.4], default=middle)


def time_decay(d: PathData, spec: AttributionSpec) -> np.ndarray:
    m = d.converting
    w = decay_weights(d.age_days[m], spec)
    total = np.bincount(d.tpath[m], w, minlength=d.path_ids.size)
    return w / total[d.tpath[m]]


def _half_life(spec: AttributionSpec) -> float:
    if spec.half_life_days <= 0:
        raise UsageError(f"the half-life must be positive, got {spec.half_life_days} days")
    return spec.half_life_days


# ---- aggregate models: a weight per channel ----------------------------------------

def markov(d: PathData, spec: AttributionSpec) -> Weights:
    """Removal effects of the absorbing chain (start) → states → (conversion) | (null).

    Order 1 (states = channels): one inverse of I − Q, then for each channel c the
    probability of converting while avoiding c is x_s − N[s,c]/N[c,c]·x_c (first-visit
    decomposition; N the fundamental matrix). Higher orders: states are the last
    ``order`` channels, and each removal is one sparse solve.
    """
    if spec.order < 1:
        raise UsageError(f"the Markov order must be >= 1, got {spec.order}")
    if d.tpath.size == 0:
        return Weights({})
    state, parts = _states(d, spec.order)
    n = len(parts) + 1  # + start (index 0); conversion and null are n, n + 1
    # transitions as from * (n + 2) + to: into each touch (from the start, or from the
    # path's previous touch), and out of each path's last touch; built in place, since
    # there is one per touch
    starts = d.tpath[1:] != d.tpath[:-1]  # a new path begins at the next touch
    steps = np.empty_like(state)
    steps[0] = 0
    steps[1:] = state[:-1]
    steps[1:][starts] = 0
    steps *= n + 2
    steps += state
    last = np.r_[starts, True]
    ends = state[last] * (n + 2) + np.where(d.converted[d.tpath[last]], n, n + 1)
    if (n + 2) ** 2 <= 50_000_000:  # dense counting is one linear pass
        count = (np.bincount(steps, minlength=(n + 2) ** 2)
                 + np.bincount(ends, minlength=(n + 2) ** 2))
        key = np.flatnonzero(count)
        count = count[key]
    else:
        key, count = np.unique(np.concatenate([steps, ends]), return_counts=True)
    f, t = key // (n + 2), key % (n + 2)
    p = count / np.bincount(f, count, minlength=n)[f]
    inner = t < n
    q = sp.csr_matrix((p[inner], (f[inner], t[inner])), shape=(n, n))
    r = np.bincount(f[t == n], p[t == n], minlength=n)
    a = (sp.identity(n, format="csc") - q).tocsc()
    if spec.order == 1 and n <= 4000:
        nmat = np.linalg.inv(a.toarray())
        x = nmat @ r
        # parts[i] == (channel,) for state i + 1 at order 1
        c_state = np.array([1 + i for i in range(len(parts))])
        avoid = x[0] - nmat[0, c_state] / np.diag(nmat)[c_state] * x[c_state]
        chans = [parts[i][0] for i in range(len(parts))]
        return _removal(d, x[0], dict(zip(chans, avoid.tolist(), strict=True)))
    base = float(spsolve(a, r)[0])
    avoid = {}
    for c in range(d.k):
        removed = np.r_[False, [c in ps for ps in parts]]
        keep = sp.diags((~removed).astype(float))
        avoid[c] = float(spsolve((sp.identity(n, format="csc") - keep @ q).tocsc(),
                                 r * ~removed)[0])
    return _removal(d, base, avoid)


def _removal(d: PathData, base: float, avoid: dict[int, float]) -> Weights:
    return Weights({d.names[c]: (1 - p / base) if base > 0 else 0.0 for c, p in avoid.items()})


def _states(d: PathData, order: int) -> tuple[np.ndarray, list[tuple[int, ...]]]:
    """State index (1-based) per touch, and each state's channels (the last ``order``)."""
    if order == 1:
        return d.channel + 1, [(c,) for c in range(d.k)]
    base = d.k + 1
    code = np.zeros(d.tpath.size, dtype=np.int64)
    for j in range(order):  # channel j steps back, 0 where the path has not begun
        back = np.r_[np.zeros(j, dtype=np.int64), d.channel[:d.channel.size - j] + 1]
        same = np.r_[np.zeros(j, dtype=bool), d.tpath[j:] == d.tpath[:d.tpath.size - j]]
        code = code * base + np.where(same, back, 0)
    uniq, state = np.unique(code, return_inverse=True)
    parts = []
    for u in uniq.tolist():
        digits = []
        for _ in range(order):
            u, dgt = divmod(u, base)
            if dgt:
                digits.append(dgt - 1)
        parts.append(tuple(digits))
    return state + 1, parts


def shapley(d: PathData, spec: AttributionSpec) -> Weights:
    """Shapley values of v(S) over groups of paths with the same channel set.

    Conversions only: v(S) = conversions whose channels all lie in S — a sum of unanimity
    games, so the exact value is Σ conversions/|set| over the sets holding the channel,
    for any number of channels. With non-converting paths: v(S) = their conversion rate,
    exact by enumeration up to ``exact_shapley_max`` channels, else Monte Carlo.
    """
    if d.tpath.size == 0:
        return Weights({})
    prow, pch = d.pairs
    # one 64-bit signature per channel set (sum of random words), then group equal sets
    words = np.random.default_rng(12345).integers(0, 2**63, d.k, dtype=np.int64)
    sig = np.bincount(prow, minlength=d.path_ids.size).astype(np.int64)
    np.add.at(sig, prow, words[pch])  # wraps modulo 2^64: fine for a hash
    has = np.bincount(prow, minlength=d.path_ids.size) > 0
    rows = np.flatnonzero(has)
    uniq, first, group = np.unique(sig[rows], return_index=True, return_inverse=True)
    conv = np.bincount(group, d.converted[rows].astype(float), uniq.size)
    total = np.bincount(group, minlength=uniq.size).astype(float)
    starts = np.searchsorted(prow, rows[first])
    sizes = np.bincount(prow)[rows[first]]
    members = [pch[s:s + z] for s, z in zip(starts.tolist(), sizes.tolist(), strict=True)]
    game = _Game(members, conv, total, d.k, rate=bool((conv < total).any()))
    se = None
    if not game.rate:
        phi = game.closed_form()
    elif d.k <= spec.exact_shapley_max:
        phi = game.exact()
    else:
        phi, se_arr = game.monte_carlo(spec.permutations, spec.seed)
        se = dict(zip(d.names, se_arr.tolist(), strict=True))
    return Weights(dict(zip(d.names, phi.tolist(), strict=True)), se)


class _Game:
    """v(S) from groups of paths with the same channel set (``members``)."""

    def __init__(self, members: list[np.ndarray], conv: np.ndarray, total: np.ndarray,
                 k: int, rate: bool):
        self.members, self.conv, self.total, self.k, self.rate = members, conv, total, k, rate

    def _value(self, c: np.ndarray, n: np.ndarray) -> np.ndarray:
        if not self.rate:
            return c
        return np.divide(c, n, out=np.zeros_like(c), where=n > 0)

    def closed_form(self) -> np.ndarray:
        phi = np.zeros(self.k)
        for m, c in zip(self.members, self.conv, strict=True):
            phi[m] += c / m.size
        return phi

    def exact(self) -> np.ndarray:
        k = self.k
        gmask = np.array([int(np.sum(1 << m.astype(np.int64))) for m in self.members])
        subsets = np.arange(1 << k)
        inside = (gmask[None, :] & ~subsets[:, None]) == 0
        v = self._value(inside @ self.conv, inside @ self.total)
        size = np.array([bin(s).count("1") for s in subsets])
        w = np.array([factorial(s) * factorial(k - s - 1) / factorial(k) if s < k else 0.0
                      for s in range(k + 1)])
        phi = np.zeros(k)
        for c in range(k):
            without = subsets[(subsets >> c) & 1 == 0]
            phi[c] = np.sum(w[size[without]] * (v[without | (1 << c)] - v[without]))
        return phi

    def monte_carlo(self, permutations: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Mean marginal contribution over random orders, and its standard error."""
        rng = np.random.default_rng(seed)
        flat = np.concatenate(self.members)
        starts = np.cumsum([0] + [m.size for m in self.members[:-1]])
        total = np.zeros(self.k)
        total_sq = np.zeros(self.k)
        for _ in range(permutations):
            order = rng.permutation(self.k)
            rank = np.empty(self.k, dtype=np.int64)
            rank[order] = np.arange(self.k)
            done = np.maximum.reduceat(rank[flat], starts)  # step at which a group is inside
            c = np.cumsum(np.bincount(done, self.conv, self.k))
            n = np.cumsum(np.bincount(done, self.total, self.k))
            marginal = np.diff(self._value(c, n), prepend=0.0)
            contrib = np.empty(self.k)
            contrib[order] = marginal
            total += contrib
            total_sq += contrib ** 2
        mean = total / permutations
        var = np.maximum(total_sq / permutations - mean ** 2, 0) / max(permutations - 1, 1)
        return mean, np.sqrt(var)


def spread(d: PathData, w: Weights) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(path row, channel, credit): each conversion's credit over its distinct channels in
    proportion to the weights (negative ones count as 0); equal shares when all are 0."""
    prow, pch = d.converting_pairs
    weight = np.array([max(w.weight.get(n, 0.0), 0.0) for n in d.names])[pch] if d.k else \
        np.zeros(0)
    total = np.bincount(prow, weight, minlength=d.path_ids.size)[prow]
    count = np.bincount(prow, minlength=d.path_ids.size)[prow]
    credit = np.where(total > 0, weight / np.where(total > 0, total, 1), 1.0 / count)
    return prow, pch, credit


RuleModel = Callable[[PathData, AttributionSpec], np.ndarray]
AggregateModel = Callable[[PathData, AttributionSpec], Weights]
MODELS: dict[str, RuleModel | AggregateModel] = {
    "first_touch": first_touch, "last_touch": last_touch, "linear": linear,
    "time_decay": time_decay, "position": position_based, "markov": markov,
    "shapley": shapley,
}
AGGREGATE = {"markov", "shapley"}


def _credit_arrays(model: str, d: PathData, spec: AttributionSpec
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, Weights | None]:
    """(path row, channel, credit) of touches or distinct pairs, and the model's weights."""
    if model not in MODELS:
        raise UsageError(f"unknown attribution model {model!r}; choose from "
                         f"{', '.join(MODELS)}")
    if model in AGGREGATE:
        w = MODELS[model](d, spec)
        return (*spread(d, w), w)
    m = d.converting
    return d.tpath[m], d.channel[m], MODELS[model](d, spec), None


def _shares(model: str, weight: np.ndarray) -> np.ndarray:
    """Each channel's share of the converting paths' totals under an aggregate model.

    Markov: removal effect ÷ Σ removal effects, as ChannelAttribution reports it.
    Shapley: Shapley value ÷ Σ Shapley values (= v(N)), so the credits are the Shapley
    values in conversions; a channel whose presence lowers the conversion rate (the
    game with non-converting paths) gets a negative credit, as its Shapley value is.
    """
    if model == "markov":
        weight = np.clip(weight, 0.0, None)
    total = weight.sum()
    if weight.size == 0 or total <= 0:
        return np.full(weight.size, 1.0 / max(weight.size, 1))
    return weight / total


def credits(model: str, paths: pl.DataFrame, touches: pl.DataFrame,
            spec: AttributionSpec = AttributionSpec()) -> tuple[pl.DataFrame, Weights | None]:
    """(path, channel, credit) for every converting path; credits sum to 1 per path."""
    d = PathData.build(paths, touches)
    prow, pch, credit, w = _credit_arrays(model, d, spec)
    got = (pl.DataFrame({"path": d.path_ids[prow], "channel": np.asarray(d.names,
                                                                          dtype=object)[pch]
                         if d.k else [], "credit": credit}, schema=CREDIT_SCHEMA)
           .group_by("path", "channel").agg(pl.col("credit").sum()))
    none = pl.DataFrame({"path": d.path_ids[d.untouched]}, schema={"path": pl.Int64})
    none = none.with_columns(pl.lit(NO_TOUCH).alias("channel"), pl.lit(1.0).alias("credit"))
    return pl.concat([got.select(list(CREDIT_SCHEMA)), none.cast(CREDIT_SCHEMA)]), w


def attribution_rows(model: str, channel_type: str, paths: pl.DataFrame,
                     touches: pl.DataFrame, spec: AttributionSpec = AttributionSpec(),
                     data: PathData | None = None) -> pl.DataFrame:
    """The mart's rows for one model: credit, value and share per channel."""
    d = data or PathData.build(paths, with_channels(touches, channel_type)
                               if "channel" not in touches.columns else touches)
    prow, pch, credit, w = _credit_arrays(model, d, spec)
    if w is None:
        conv = np.bincount(pch, credit, minlength=d.k)
        # credit × value in place where the model made the array for this call (no
        # second array per touch); same products, same sums
        into = credit if credit.flags.owndata and credit.flags.writeable else None
        value = np.bincount(pch, np.multiply(credit, d.converting_value, out=into),
                            minlength=d.k)
    else:  # the reference convention: the totals × weight ÷ Σ weights
        touched = d.converted & ~d.untouched
        share = _shares(model, np.array([w.weight.get(n, 0.0) for n in d.names]))
        conv = touched.sum() * share
        value = d.value[touched].sum() * share
    return _mart_rows(model, channel_type, d, conv, value, w)


def decay_weights(age_days: np.ndarray, spec: AttributionSpec) -> np.ndarray:
    """2^(−age / half-life) per touch, as :func:`time_decay` computes it (one array)."""
    w = np.divide(age_days, _half_life(spec))
    return np.power(0.5, w, out=w)


def _rule_rows(models: list[str], channel_type: str, d: PathData, decay: np.ndarray
               ) -> dict[str, pl.DataFrame]:
    """The mart's rows of the rule-based ``models``, all from one compiled pass
    (``reach.attribution.passes``), equal to :func:`attribution_rows`' to the last bit.
    ``decay``: :func:`decay_weights` of ``d``'s touches."""
    if not models:
        return {}
    conv, value = rule_totals(d.tpath, d.channel, decay, d.converted, d.value, d.k)
    return {m: _mart_rows(m, channel_type, d, conv[RULES.index(m)], value[RULES.index(m)],
                          None) for m in models}


def _mart_rows(model: str, channel_type: str, d: PathData, conv: np.ndarray,
               value: np.ndarray, w: Weights | None) -> pl.DataFrame:
    """One model's rows from its per-channel totals, plus ``(no touchpoint)``."""
    none = d.untouched
    n_conv = int(d.converted.sum())
    names = d.names + [NO_TOUCH]
    conv = np.r_[conv, none.sum()]
    value = np.r_[value, d.value[none].sum()]
    df = pl.DataFrame({
        "model": model, "channel_type": channel_type, "channel": names,
        "conversions_credited": conv, "value_credited": value,
        "share_of_total": conv / n_conv if n_conv else np.full(conv.size, np.nan),
        "weight": [w.weight.get(n) if w else None for n in names],
        "weight_se": [w.se.get(n) if w and w.se else None for n in names],
    }, schema=MART_SCHEMA).with_columns(pl.col("share_of_total").fill_nan(None))
    keep = np.r_[np.ones(d.k, dtype=bool), none.any()]
    return (df.filter(pl.Series(keep))
            .sort("conversions_credited", "channel", descending=[True, False]))


CHANNEL_TYPES = ("campaign", "network", "campaign_network")


def attribution_mart(paths: pl.DataFrame, touches: pl.DataFrame,
                     spec: AttributionSpec = AttributionSpec(),
                     models: tuple[str, ...] = tuple(MODELS),
                     channel_types: tuple[str, ...] = CHANNEL_TYPES) -> pl.DataFrame:
    """Every model × channel type, side by side (what the dashboard compares)."""
    parts, decays = [], {}
    for by, d in PathData.by_channel_type(paths, touches, channel_types).items():
        rule_models = [m for m in models if m in RULES]
        if rule_models and id(d.age_days) not in decays:  # types share their touches' ages
            decays[id(d.age_days)] = decay_weights(d.age_days, spec)
        rules = _rule_rows(rule_models, by, d, decays.get(id(d.age_days)))
        parts += [rules[m] if m in rules else attribution_rows(m, by, paths, touches, spec,
                                                                 data=d) for m in models]
    return pl.concat(parts) if parts else pl.DataFrame(schema=MART_SCHEMA)
