"""What time alone does to engagement on a network: the control of the uplift mart.

Engagement drifts (a trend, a season) and follows the week. A campaign compared only
with its authors' own history would take that drift for uplift. The organic posts of the
network on the same days (every account's, the campaign's authors' included, no campaign
posts) show it, so we fit once per network

    log E[y] = log(exposure) + account×basis + post_type + weekday + s(day)

by Poisson maximum likelihood (consistent for the mean under any overdispersion), with
s a cubic B-spline (a knot every ``knot_days``) and the account effects profiled out, so
a network with thousands of accounts stays a fit of ~30 parameters. The fitted
``weekday + s(day)`` is then an offset in every uplift cell of that network: the cell
compares campaign posts with what the same authors' posts would get on those days.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy.interpolate import BSpline

from reach.uplift.cellwise import PAIR

KNOT_DAYS = 21  #: days between spline knots: follows a month's drift, not a week's noise
MIN_POSTS, MIN_DAYS = 100, 28  #: organic posts (and days with them) a network needs


def weekday(day: np.ndarray) -> np.ndarray:
    """0 = Monday … 6 = Sunday, for days since 1970-01-01 (a Thursday), in UTC."""
    return (np.asarray(day, dtype=np.int64) + 3) % 7


@dataclass(frozen=True)
class TimeEffects:
    """log multiplier of engagement by day: weekday effect + smooth trend, as
    ``design(day) @ coef``, with the covariance of ``coef`` (clustered by day)."""

    first: int  # first day with organic posts (days since the epoch)
    last: int
    knots: np.ndarray | None  # cubic B-spline knots; None: the span is under one interval
    coef: np.ndarray  # 6 weekday effects (Monday = 0), then the spline's (first dropped)
    cov: np.ndarray
    posts: int  # organic posts the fit used

    def design(self, day: np.ndarray) -> np.ndarray:
        """One row per day: weekday indicators (Tuesday…Sunday), then the spline basis
        (first function dropped: the account levels carry the constant)."""
        day = np.asarray(day, dtype=np.int64)
        cols = [np.eye(7)[weekday(day)][:, 1:]]
        if self.knots is not None:
            inside = np.clip(day, self.first, self.last).astype(float)
            cols.append(BSpline.design_matrix(inside, self.knots, 3).toarray()[:, 1:])
        return np.column_stack(cols)

    def __call__(self, day: np.ndarray) -> np.ndarray:
        return self.design(day) @ self.coef


def fit_time_effects(organic: pl.DataFrame) -> TimeEffects | str:
    """Fit on one network's usable organic posts (columns account_id, exposure_basis,
    post_type, day, engagements, exposure); a reason instead when there are too few."""
    # sorted: a group_by returns its groups in any order, and the fit's sums in another
    # order move its last digits, which the fits of every cell on the network then carry
    # (a placebo fit near its convergence test could come out one way or the other)
    agg = (organic.group_by(PAIR, "post_type", "day")
           .agg(pl.col("engagements").sum().cast(pl.Float64),
                pl.col("exposure").sum().cast(pl.Float64))
           .sort("pair", "post_type", "day"))
    days = agg["day"].unique()
    if organic.height < MIN_POSTS or days.len() < MIN_DAYS:
        return (f"too little organic history on the network to control for time "
                f"({organic.height} organic posts on {days.len()} days; needs {MIN_POSTS} "
                f"on {MIN_DAYS} days)")
    day = agg["day"].to_numpy().astype(np.int64)
    first, last = int(day.min()), int(day.max())
    shell = TimeEffects(first, last, _knots(first, last), np.zeros(0), np.zeros((0, 0)), 0)
    time_cols = shell.design(day)
    types = agg["post_type"].to_numpy().astype(str)
    levels = np.unique(types)
    X = np.column_stack([time_cols, (types[:, None] == levels[None, 1:]).astype(float)])
    group = np.unique(agg["pair"].to_numpy(), return_inverse=True)[1]
    y, e = agg["engagements"].to_numpy(), agg["exposure"].to_numpy()
    beta, level = poisson_profiled(y, e, X, group)
    cov = profiled_sandwich(y, e, X, group, beta, level, cluster=day)
    k = time_cols.shape[1]
    return TimeEffects(first, last, shell.knots, beta[:k], cov[:k, :k], organic.height)


def _knots(first: int, last: int) -> np.ndarray | None:
    """Cubic B-spline knots over [first, last], one interval per ``KNOT_DAYS``."""
    intervals = (last - first) // KNOT_DAYS
    if intervals < 1:
        return None
    inner = np.linspace(first, last, intervals + 1).astype(float)
    return np.r_[[inner[0]] * 3, inner, [inner[-1]] * 3]


def poisson_profiled(y: np.ndarray, exposure: np.ndarray, X: np.ndarray,
                     group: np.ndarray, iterations: int = 50
                     ) -> tuple[np.ndarray, np.ndarray]:
    """(β, a per group) of log E[y] = log(exposure) + a_group + Xβ by Poisson ML, a_group profiled out.

    Given β the group effects have a closed form, a_g = log(Σ_g y / Σ_g exposure·e^{Xβ});
    Newton steps on β use the profiled information X'WX − Σ_g (X'μ)_g (X'μ)_g' / μ_g.
    Groups without any engagement carry no information on β and get a = −∞.
    """
    n_groups = int(group.max()) + 1 if group.size else 0
    has = np.bincount(group, y, n_groups) > 0
    keep = has[group]
    y, exposure, X, group = y[keep], exposure[keep], X[keep], group[keep]
    y_g = np.bincount(group, y, n_groups)
    beta = np.zeros(X.shape[1])
    for _ in range(iterations if X.shape[1] else 0):  # no column: only the levels
        w = exposure * np.exp(X @ beta)
        a = np.log(y_g[group] / np.bincount(group, w, n_groups)[group])
        mu = w * np.exp(a)
        score = X.T @ (y - mu)
        xmu = np.zeros((n_groups, X.shape[1]))
        np.add.at(xmu, group, X * mu[:, None])
        mu_g = np.bincount(group, mu, n_groups)
        ok = mu_g > 0
        info = (X * mu[:, None]).T @ X - (xmu[ok] / mu_g[ok, None]).T @ xmu[ok]
        try:
            step = np.linalg.solve(info, score)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(info, score, rcond=None)[0]
        beta += step
        if np.max(np.abs(step)) < 1e-8:
            break
    w_g = np.bincount(group, exposure * np.exp(X @ beta), n_groups)
    with np.errstate(divide="ignore"):
        return beta, np.where(has, np.log(y_g / np.where(has, w_g, 1.0)), -np.inf)


def profiled_sandwich(y: np.ndarray, exposure: np.ndarray, X: np.ndarray, group: np.ndarray,
                      beta: np.ndarray, level: np.ndarray, cluster: np.ndarray) -> np.ndarray:
    """Covariance of β from :func:`poisson_profiled`, robust to overdispersion and to
    anything shared within a cluster (a day): A⁻¹BA⁻¹, A the profiled information, B the
    outer product of the profiled scores (x − x̄_group)(y − μ) summed per cluster."""
    keep = np.isfinite(level[group])
    y, exposure, X, group, cluster = (v[keep] for v in (y, exposure, X, group, cluster))
    mu = exposure * np.exp(X @ beta + level[group])
    n_groups = int(group.max()) + 1 if group.size else 0
    mu_g = np.bincount(group, mu, n_groups)
    xmu = np.zeros((n_groups, X.shape[1]))
    np.add.at(xmu, group, X * mu[:, None])
    centred = X - xmu[group] / mu_g[group, None]
    info = (centred * mu[:, None]).T @ centred
    _, at = np.unique(cluster, return_inverse=True)
    scores = np.zeros((at.max() + 1, X.shape[1]))
    np.add.at(scores, at, centred * (y - mu)[:, None])
    bread = np.linalg.pinv(info)
    return bread @ (scores.T @ scores) @ bread
