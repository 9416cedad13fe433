"""CausalImpact-style uplift: the `uplift` mart's ``method = "structural_ts"`` rows.

For campaign c on network n with authors A, two daily series from ``pre_days`` before
c's first post through its last:

* the authors' organic series r_d = log(observed / expected engagements) of their
  organic posts that day, where *expected* holds each author (and exposure basis) and
  post type at its level over those days — so a day is not high because a stronger
  author happened to post;
* the control series c_d: what the day does to every account's organic posts on n, the
  weekday pattern and smooth trend of :mod:`reach.uplift.time_effects` (the raw daily ratio of
  the other accounts is so noisy that its coefficient shrinks towards 0 and lets half
  of a weekday pattern through; the fitted curve does not).

As in CausalImpact, a state-space model relates them, r_d = level_d + b·c_d + ε_d with a
random-walk level. Counts enter through each day's sampling variance: Var ε_d = σ² + v_d
with v_d = (Σμ + αΣμ²)/(Σμ)² the delta-method variance of a day's log count under NB2
(α by moments), and r_d carries the matching second-order bias correction +v_d/2, so
days with one post and days with ten are weighed and centred alike. The model runs
through the campaign on the authors' organic posts of those days, where there are any
(so an author on a rise is followed there, not extrapolated); the campaign's posts are
then compared, pooled into one count, with the smoothed level of their days
(:func:`_campaign_gap`). ``uplift = exp(effect) − 1``.

Needs a daily history: at least ``min_pre_days`` days with posts by the authors in the
``pre_days`` before; otherwise the row carries a warning and no number.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import polars as pl
from statsmodels.tsa.statespace.mlemodel import MLEModel

from reach.uplift.cellwise import comparable, effect_columns
from reach.uplift.time_effects import TimeEffects, poisson_profiled


@dataclass(frozen=True)
class SeriesSpec:
    pre_days: int = 90
    min_pre_days: int = 28
    min_campaign_posts: int = 3


def series_cell(camp: pl.DataFrame, base: pl.DataFrame, spec: SeriesSpec,
                effects: dict[str, TimeEffects]) -> dict:
    """One cell; ``camp`` and ``base`` carry ``day`` and ``time_offset``."""
    first, last = camp["day"].min(), camp["day"].max()
    if first is None:
        return {"n_campaign_posts": 0, "n_baseline_posts": 0,
                "posts_left_out": camp.height,
                "warning": "no campaign posts with a known time"}
    history = base.filter(pl.col("day").is_between(first - spec.pre_days, last))
    c_use, b_use = comparable(camp, history)
    # a post type the history never shows has no level to compare with
    c_use &= camp["post_type"].is_in(history.filter(pl.Series(b_use))["post_type"].unique()
                                     .implode()).to_numpy()
    row = {"n_campaign_posts": int(c_use.sum()), "n_baseline_posts": int(b_use.sum()),
           "posts_left_out": int((~c_use).sum() + (~b_use).sum()
                                 + base.filter(pl.col("day").is_null()).height)}
    if c_use.sum() < spec.min_campaign_posts:
        return row | {"warning": f"too few campaign posts ({int(c_use.sum())} < "
                                 f"{spec.min_campaign_posts}) from authors with a "
                                 "comparable history"}
    c, b = camp.filter(pl.Series(c_use)), history.filter(pl.Series(b_use))
    mu_b, mu_c, alpha = _expected(b, c)
    start = first - spec.pre_days
    span = last - start + 1
    organic = _Days.of(b["day"].to_numpy() - start, b["engagements"].to_numpy(), mu_b,
                       alpha, span)
    campaign = _Days.of(c["day"].to_numpy() - start, c["engagements"].to_numpy(), mu_c,
                        alpha, span)
    ctl = effects[camp["network"][0]](np.arange(start, start + span))
    n_pre = int(np.isfinite(organic.r[:spec.pre_days]).sum())
    if n_pre < spec.min_pre_days:
        return row | {"warning": f"no daily history: the authors posted on {n_pre} of the "
                                 f"{spec.pre_days} days before the campaign (needs "
                                 f"{spec.min_pre_days})"}
    gap = _campaign_gap(organic, campaign, ctl)
    if isinstance(gap, str):
        return row | {"warning": gap}
    effect, se = gap
    return row | effect_columns(effect, se)


def _expected(b: pl.DataFrame, c: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, float]:
    """Expected engagements of baseline and campaign posts from the pre-period's author ×
    basis and post-type levels (Poisson ML), and the NB2 α by moments."""
    pair_b, pair_c = b["pair"].to_numpy(), c["pair"].to_numpy()
    groups, code = np.unique(pair_b, return_inverse=True)
    types = np.unique(b["post_type"].to_numpy().astype(str))
    tb = b["post_type"].to_numpy().astype(str)
    X = (tb[:, None] == types[None, 1:]).astype(float)
    y = b["engagements"].to_numpy().astype(float)
    e_b = b["exposure"].to_numpy().astype(float)
    beta, level = poisson_profiled(y, e_b, X, code)
    type_effect = dict(zip(types, np.r_[0.0, beta], strict=True))
    mu_b = e_b * np.exp(level[code] + X @ beta)
    tc = c["post_type"].to_numpy().astype(str)
    mu_c = (c["exposure"].to_numpy().astype(float)
            * np.exp(level[np.searchsorted(groups, pair_c)]
                     + np.array([type_effect[t] for t in tc])))
    ok = np.isfinite(mu_b) & (mu_b > 0)
    alpha = max(0.0, float(np.sum((y[ok] - mu_b[ok]) ** 2 - y[ok]) / np.sum(mu_b[ok] ** 2)))
    return mu_b, mu_c, alpha


@dataclass(frozen=True)
class _Days:
    """Per day of the window: Σy, Σμ, Σμ² of the posts, the NB2 α, and the log ratio
    r = log((Σy + ½)/(Σμ + ½)) + v/2 with its count variance v (NaN without posts)."""

    y: np.ndarray
    mu: np.ndarray
    mu2: np.ndarray
    alpha: float
    r: np.ndarray
    v: np.ndarray

    @classmethod
    def of(cls, at: np.ndarray, y: np.ndarray, mu: np.ndarray, alpha: float, span: int):
        ok = np.isfinite(mu) & (mu > 0)
        at, y, mu = at[ok].astype(np.int64), y[ok].astype(float), mu[ok]
        s_y, s_mu = np.bincount(at, y, span), np.bincount(at, mu, span)
        s_mu2 = np.bincount(at, mu ** 2, span)
        with np.errstate(divide="ignore", invalid="ignore"):
            v = np.where(s_mu > 0, (s_mu + alpha * s_mu2) / s_mu ** 2, np.nan)
            r = np.where(s_mu > 0, np.log((s_y + 0.5) / (s_mu + 0.5)) + v / 2, np.nan)
        return cls(s_y, s_mu, s_mu2, alpha, r, v)


class _LevelWithControl(MLEModel):
    """r_t = level_t + b·c_t + ε_t, level a random walk, Var ε_t = σ² + v_t (v_t known)."""

    def __init__(self, r: np.ndarray, control: np.ndarray, known_var: np.ndarray):
        super().__init__(r, k_states=2, k_posdef=1, initialization="diffuse")
        n = r.size
        design = np.zeros((1, 2, n))
        design[0, 0], design[0, 1] = 1.0, control
        self.ssm["design"] = design
        self.ssm["transition"] = np.eye(2)
        self.ssm["selection"] = np.array([[1.0], [0.0]])
        self.known_var = np.nan_to_num(known_var)
        self.ssm["obs_cov"] = np.zeros((1, 1, n))

    @property
    def param_names(self):
        return ["sigma2.irregular", "sigma2.level"]

    @property
    def start_params(self):
        y = self.endog[:, 0]
        return np.array([max(np.nanvar(y) / 4, 1e-4), max(np.nanvar(np.diff(y)) / 20, 1e-5)])

    def transform_params(self, unconstrained):
        return unconstrained ** 2

    def untransform_params(self, constrained):
        return constrained ** 0.5

    def update(self, params, **kwargs):
        params = super().update(params, **kwargs)
        self.ssm["obs_cov"] = (params[0] + self.known_var)[None, None, :]
        self.ssm["state_cov"] = np.array([[params[1]]])


def _campaign_gap(organic: _Days, campaign: _Days, control: np.ndarray):
    """log(campaign engagements / their counterfactual) and its standard error; or a
    warning.

    The state-space model runs over the authors' organic days, the campaign's included
    (where they posted organically then, those posts keep the level current; where not,
    the smoothed level is the forecast). The campaign's posts are pooled into one count,
    Σy, against Σ_d Σμ_d·exp(level_d + b·control_d) at the smoothed state of their days,
    so a day with a single post does not carry the skew of a single count's logarithm.
    The days' smoothed levels are close to perfectly correlated; their variance is taken
    at that bound, (Σ w_d·sd_d)², never below it.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            model = _LevelWithControl(organic.r, control, organic.v)
            res = model.fit(disp=False, cov_type="none")
            if not res.mle_retvals.get("converged", False):  # a flat likelihood: simplex
                res = model.fit(res.params, method="nm", maxiter=4000, disp=False,
                                cov_type="none")
        except (np.linalg.LinAlgError, ValueError) as e:
            return f"the time-series model could not be fitted ({e})"
    if not res.mle_retvals.get("converged", False):
        return "the time-series model did not converge; no estimate"
    s2_eps = float(res.params[0])
    days = np.flatnonzero(campaign.mu > 0)
    z = np.column_stack([np.ones(days.size), control[days]])
    state = res.smoothed_state[:, days]
    cov = res.smoothed_state_cov[:, :, days]
    f = np.einsum("dk,kd->d", z, state)
    sd = np.sqrt(np.maximum(np.einsum("dk,kjd,dj->d", z, cov, z), 0.0))
    expected = campaign.mu[days] * np.exp(f)
    total, observed = expected.sum(), campaign.y[days].sum()
    w = expected / total
    v_count = (total + campaign.alpha * np.sum(campaign.mu2[days] * np.exp(2 * f))) / total ** 2
    var = v_count + float(w @ sd) ** 2 + s2_eps * np.sum(w ** 2)
    if not np.isfinite(var) or var <= 0:
        return "the time-series model gave no finite variance; no estimate"
    # second order: the count's log and the days' log-normal noise, pooled in linear scale
    effect = (np.log((observed + 0.5) / (total + 0.5)) + v_count / 2
              - s2_eps / 2 * (1 - np.sum(w ** 2)))
    return float(effect), float(np.sqrt(var))
