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

Markov and Shapley are aggregate models: their channel weights are shared out over each
conversion's distinct channels in proportion (equal shares where every weight on the
path is zero — the "removal effects sum to zero" case).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from math import factorial

import numpy as np
import polars as pl
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve

from .errors import UsageError
from .touchpoints import with_channels

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
    exact_shapley_max: int = 12  # channels; beyond, Monte Carlo
    permutations: int = 2000
    seed: int = 0


@dataclass(frozen=True)
class Weights:
    """Per-channel weights of an aggregate model (removal effects, Shapley values)."""

    weight: dict[str, float]
    se: dict[str, float] | None = None


# ---- rule-based models: credit per touchpoint -------------------------------------

def _positioned(touches: pl.DataFrame) -> pl.DataFrame:
    return touches.with_columns(
        pl.int_range(pl.len()).over("path").alias("pos"), pl.len().over("path").alias("n"))


def first_touch(t: pl.DataFrame, _spec: AttributionSpec) -> pl.DataFrame:
    return _positioned(t).with_columns((pl.col("pos") == 0).cast(pl.Float64).alias("credit"))


def last_touch(t: pl.DataFrame, _spec: AttributionSpec) -> pl.DataFrame:
    return _positioned(t).with_columns(
        (pl.col("pos") == pl.col("n") - 1).cast(pl.Float64).alias("credit"))


def linear(t: pl.DataFrame, _spec: AttributionSpec) -> pl.DataFrame:
    return _positioned(t).with_columns((1.0 / pl.col("n")).alias("credit"))


def position_based(t: pl.DataFrame, _spec: AttributionSpec) -> pl.DataFrame:
    pos, n = pl.col("pos"), pl.col("n")
    return _positioned(t).with_columns(
        pl.when(n == 1).then(1.0).when(n == 2).then(0.5)
        .when((pos == 0) | (pos == n - 1)).then(0.4)
        .otherwise(0.2 / (n - 2)).alias("credit"))


def time_decay(t: pl.DataFrame, spec: AttributionSpec) -> pl.DataFrame:
    if spec.half_life_days <= 0:
        raise UsageError(f"the half-life must be positive, got {spec.half_life_days} days")
    age_days = (pl.col("converted_at") - pl.col("touched_at")).dt.total_microseconds() / 86.4e9
    w = pl.lit(0.5).pow(age_days / spec.half_life_days)
    return t.with_columns((w / w.sum().over("path")).alias("credit"))


# ---- aggregate models: weights per channel ----------------------------------------

def markov_weights(paths: pl.DataFrame, touches: pl.DataFrame, spec: AttributionSpec
                   ) -> Weights:
    """Removal effects from the absorbing chain start → states → conversion | null."""
    if spec.order < 1:
        raise UsageError(f"the Markov order must be >= 1, got {spec.order}")
    states = touches.select("path", "channel").with_columns(
        pl.concat_list([pl.col("channel").shift(j).over("path")
                        for j in range(spec.order - 1, -1, -1)])
        .list.drop_nulls().alias("parts")).with_columns(
        pl.col("parts").list.join(" > ").alias("state"))
    steps = states.with_columns(pl.col("state").shift(1).over("path").fill_null("(start)")
                                .alias("from")).select("from", pl.col("state").alias("to"))
    ends = (states.group_by("path").agg(pl.col("state").last().alias("from"))
            .join(paths.select("path", "converted"), on="path")
            .select("from", pl.when("converted").then(pl.lit("(conversion)"))
                    .otherwise(pl.lit("(null)")).alias("to")))
    counts = pl.concat([steps, ends]).group_by("from", "to").len()
    parts_of = dict(states.select("state", "parts").unique("state").iter_rows())
    names = ["(start)"] + sorted(parts_of)
    index = {s: i for i, s in enumerate(names)}
    n = len(names)
    out = counts.group_by("from").agg(pl.col("len").sum().alias("out"))
    counts = counts.join(out, on="from").with_columns(
        (pl.col("len") / pl.col("out")).alias("p"))
    fr = np.array([index[s] for s in counts["from"]])
    to_state = counts["to"].is_in(["(conversion)", "(null)"]).not_().to_numpy()
    p = counts["p"].to_numpy()
    q = sp.csr_matrix((p[to_state], (fr[to_state],
                                     np.array([index[s] for s in counts["to"].filter(
                                         pl.Series(to_state))]))), shape=(n, n))
    r = np.zeros(n)
    conv = (counts["to"] == "(conversion)").to_numpy()
    np.add.at(r, fr[conv], p[conv])

    def p_convert(removed: np.ndarray | None) -> float:
        qq, rr = q, r
        if removed is not None:
            keep = sp.diags((~removed).astype(float))
            qq, rr = keep @ q, r * ~removed  # entering a removed state ends in null
        x = spsolve((sp.identity(n, format="csc") - qq).tocsc(), rr)
        return float(np.atleast_1d(x)[0])

    base = p_convert(None)
    channels = sorted(set(touches["channel"].unique().to_list()))
    weights = {}
    for c in channels:
        removed = np.array([False] + [c in parts_of[s] for s in names[1:]])
        weights[c] = 1 - p_convert(removed) / base if base > 0 else 0.0
    return Weights(weights)


def shapley_weights(paths: pl.DataFrame, touches: pl.DataFrame, spec: AttributionSpec
                    ) -> Weights:
    sets = (touches.select("path", "channel").unique()
            .group_by("path").agg(pl.col("channel").sort())
            .join(paths.select("path", "converted"), on="path")
            .group_by("channel").agg(pl.col("converted").sum().alias("conv"),
                                     pl.len().alias("total")))
    channels = sorted({c for cs in sets["channel"].to_list() for c in cs})
    idx = {c: i for i, c in enumerate(channels)}
    members = [np.array([idx[c] for c in cs]) for cs in sets["channel"].to_list()]
    conv = sets["conv"].to_numpy().astype(float)
    total = sets["total"].to_numpy().astype(float)
    rate_game = bool((conv < total).any())  # non-converting paths present
    game = _Game(members, conv, total, len(channels), rate_game)
    if len(channels) <= spec.exact_shapley_max:
        phi, se = game.exact(), None
    else:
        phi, se_arr = game.monte_carlo(spec.permutations, spec.seed)
        se = dict(zip(channels, se_arr.tolist(), strict=True))
    return Weights(dict(zip(channels, phi.tolist(), strict=True)), se)


class _Game:
    """v(S) from groups of paths with the same channel set (``members``)."""

    def __init__(self, members: list[np.ndarray], conv: np.ndarray, total: np.ndarray,
                 k: int, rate: bool):
        self.members, self.conv, self.total, self.k, self.rate = members, conv, total, k, rate

    def _value(self, c: np.ndarray, n: np.ndarray) -> np.ndarray:
        if not self.rate:
            return c
        return np.divide(c, n, out=np.zeros_like(c), where=n > 0)

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
            v = self._value(c, n)
            marginal = np.diff(v, prepend=0.0)
            contrib = np.empty(self.k)
            contrib[order] = marginal
            total += contrib
            total_sq += contrib ** 2
        mean = total / permutations
        var = np.maximum(total_sq / permutations - mean ** 2, 0) / max(permutations - 1, 1)
        return mean, np.sqrt(var)


def _spread(touches: pl.DataFrame, w: Weights) -> pl.DataFrame:
    """Each conversion's credit over its distinct channels, in proportion to the weights."""
    weights = pl.DataFrame({"channel": list(w.weight),
                            "w": [max(x, 0.0) for x in w.weight.values()]},
                           schema={"channel": pl.String, "w": pl.Float64})
    distinct = touches.select("path", "channel").unique().join(weights, on="channel",
                                                               how="left")
    total = pl.col("w").fill_null(0).sum().over("path")
    return distinct.with_columns(
        pl.when(total > 0).then(pl.col("w").fill_null(0) / total)
        .otherwise(1.0 / pl.len().over("path")).alias("credit"))


RuleModel = Callable[[pl.DataFrame, AttributionSpec], pl.DataFrame]
AggregateModel = Callable[[pl.DataFrame, pl.DataFrame, AttributionSpec], Weights]
MODELS: dict[str, RuleModel | AggregateModel] = {
    "first_touch": first_touch, "last_touch": last_touch, "linear": linear,
    "time_decay": time_decay, "position": position_based, "markov": markov_weights,
    "shapley": shapley_weights,
}
AGGREGATE = {"markov", "shapley"}


def credits(model: str, paths: pl.DataFrame, touches: pl.DataFrame,
            spec: AttributionSpec = AttributionSpec()) -> tuple[pl.DataFrame, Weights | None]:
    """(path, channel, credit) for every converting path; credits sum to 1 per path."""
    if model not in MODELS:
        raise UsageError(f"unknown attribution model {model!r}; choose from "
                         f"{', '.join(MODELS)}")
    converted = paths.filter("converted")
    conv_touches = touches.join(converted.select("path", "converted_at"), on="path")
    if model in AGGREGATE:
        w = MODELS[model](paths, touches, spec) if touches.height else Weights({})
        got = _spread(conv_touches, w)
    else:
        w = None
        got = MODELS[model](conv_touches, spec)
    got = got.group_by("path", "channel").agg(pl.col("credit").sum())
    untouched = converted.join(got.select("path").unique(), on="path", how="anti").select(
        "path", pl.lit(NO_TOUCH).alias("channel"), pl.lit(1.0).alias("credit"))
    return pl.concat([got.select(list(CREDIT_SCHEMA)).cast(CREDIT_SCHEMA),
                      untouched.cast(CREDIT_SCHEMA)]), w


def attribution_rows(model: str, channel_type: str, paths: pl.DataFrame,
                     touches: pl.DataFrame, spec: AttributionSpec = AttributionSpec()
                     ) -> pl.DataFrame:
    """The mart's rows for one model: credit, value and share per channel."""
    got, w = credits(model, paths, touches, spec)
    n_conv = paths["converted"].sum()
    valued = got.join(paths.select("path", pl.col("value").fill_null(0.0)), on="path")
    agg = valued.group_by("channel").agg(
        pl.col("credit").sum().alias("conversions_credited"),
        (pl.col("credit") * pl.col("value")).sum().alias("value_credited"))
    seen = pl.DataFrame({"channel": sorted(set(touches["channel"].unique().to_list()))},
                        schema={"channel": pl.String})
    agg = seen.join(agg, on="channel", how="full", coalesce=True).fill_null(0.0)
    weight = pl.Series([w.weight.get(c) if w else None for c in agg["channel"]],
                       dtype=pl.Float64)
    se = pl.Series([w.se.get(c) if w and w.se else None for c in agg["channel"]],
                   dtype=pl.Float64)
    return (agg.with_columns(
        pl.lit(model).alias("model"), pl.lit(channel_type).alias("channel_type"),
        (pl.col("conversions_credited") / n_conv if n_conv else pl.lit(None))
        .alias("share_of_total"), weight.alias("weight"), se.alias("weight_se"))
        .select(list(MART_SCHEMA)).cast(MART_SCHEMA)
        .sort("conversions_credited", "channel", descending=[True, False]))


CHANNEL_TYPES = ("campaign", "network", "campaign_network")


def attribution_mart(paths: pl.DataFrame, touches: pl.DataFrame,
                     spec: AttributionSpec = AttributionSpec(),
                     models: tuple[str, ...] = tuple(MODELS),
                     channel_types: tuple[str, ...] = CHANNEL_TYPES) -> pl.DataFrame:
    """Every model × channel type, side by side (what the dashboard compares)."""
    parts = [attribution_rows(m, by, paths, with_channels(touches, by), spec)
             for by in channel_types for m in models]
    return pl.concat(parts) if parts else pl.DataFrame(schema=MART_SCHEMA)
