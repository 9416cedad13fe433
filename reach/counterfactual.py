"""CausalImpact-style uplift: the `uplift` mart's ``method = "structural_ts"`` rows.

For campaign c on network n with authors A: the daily engagement rate of A's organic
posts over the ``pre_days`` before c's first post there is a time series,
y_d = log((Σ engagements + ½) / Σ exposure). A local-level structural time-series model
(statsmodels UnobservedComponents) fitted on it forecasts the level through the campaign
window; the effect is the mean gap between the campaign posts' daily log rate and that
forecast. Its variance adds the level's forecast variance, the random walk of the level
over the horizon and the daily noise, all from the fitted model (the local-level
forecast errors have a closed form, which statsmodels reports only per horizon, so the
covariance across days is written here). ``uplift = exp(effect) − 1``.

Needs a daily history: at least ``min_pre_days`` days with organic posts; otherwise the
row carries a warning and no number.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import partial

import numpy as np
import polars as pl
from scipy.stats import norm
from statsmodels.tsa.statespace.structural import UnobservedComponents

from ._cellwise import cells, fit_cells
from .engagement import Z95


@dataclass(frozen=True)
class SeriesSpec:
    pre_days: int = 90
    min_pre_days: int = 28


def daily_log_rate(day: np.ndarray, engagements: np.ndarray, exposure: np.ndarray,
                   first: int, days: int) -> np.ndarray:
    """log((Σ engagements + ½) / Σ exposure) for each day first..first+days−1; NaN where no post."""
    at = day - first
    inside = (at >= 0) & (at < days)
    eng = np.bincount(at[inside], engagements[inside], minlength=days)
    exp = np.bincount(at[inside], exposure[inside], minlength=days)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(exp > 0, np.log((eng + 0.5) / exp), np.nan)


def structural_ts_rows(frame: pl.DataFrame, spec: SeriesSpec = SeriesSpec(),
                       workers: int | None = None) -> list[dict]:
    todo = cells(frame.with_columns(pl.col("created_at").dt.epoch("d").alias("day")))
    rows = fit_cells(partial(series_cell, spec=spec), todo, workers)
    return [r | {"method": "structural_ts"} for r in rows]


def series_cell(camp: pl.DataFrame, base: pl.DataFrame, spec: SeriesSpec) -> dict:
    """One cell; ``camp`` and ``base`` carry ``day`` (days since the epoch)."""
    usable = camp["usable"].to_numpy() & camp["day"].is_not_null().to_numpy()
    row = {"n_campaign_posts": int(usable.sum()),
           "posts_left_out": int((~camp["usable"].to_numpy()).sum())}
    if not usable.any():
        return row | {"n_baseline_posts": 0,
                      "warning": "no campaign posts with known engagement, exposure and time"}
    c_day = camp["day"].to_numpy()[usable].astype(np.int64)
    start, end = int(c_day.min()), int(c_day.max())
    b_ok = base["usable"].to_numpy() & base["day"].is_not_null().to_numpy()
    b_day = base["day"].to_numpy()[b_ok].astype(np.int64)
    in_pre = (b_day >= start - spec.pre_days) & (b_day < start)
    row["n_baseline_posts"] = int(in_pre.sum())
    y_pre = daily_log_rate(b_day, base["engagements"].to_numpy()[b_ok].astype(float),
                           base["exposure"].to_numpy()[b_ok].astype(float),
                           start - spec.pre_days, spec.pre_days)
    with_data = int(np.count_nonzero(~np.isnan(y_pre)))
    if with_data < spec.min_pre_days:
        return row | {"warning": f"no daily history: organic posts on {with_data} of the "
                                 f"{spec.pre_days} days before the campaign "
                                 f"(needs {spec.min_pre_days})"}
    y_post = daily_log_rate(c_day, camp["engagements"].to_numpy()[usable].astype(float),
                            camp["exposure"].to_numpy()[usable].astype(float),
                            start, end - start + 1)
    horizon = np.flatnonzero(~np.isnan(y_post)) + 1  # 1-based steps after the pre-period
    gap = _level_gap(y_pre, y_post[horizon - 1], horizon)
    if isinstance(gap, str):
        return row | {"warning": gap}
    effect, se = gap
    return row | {"log_effect": effect, "std_error": se, "uplift": float(np.expm1(effect)),
                  "ci_low": float(np.expm1(effect - Z95 * se)),
                  "ci_high": float(np.expm1(effect + Z95 * se)),
                  "p_value": float(2 * norm.sf(abs(effect) / se)), "warning": None}


def _level_gap(y_pre: np.ndarray, y_post: np.ndarray, h: np.ndarray):
    """Mean of y_post − forecast at steps h, and its standard error, or a warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            res = UnobservedComponents(y_pre, level="local level").fit(disp=False)
        except (np.linalg.LinAlgError, ValueError) as e:
            return f"the time-series model could not be fitted ({e})"
    if not res.mle_retvals.get("converged", False):
        return "the time-series model did not converge; no estimate"
    params = dict(zip(res.model.param_names, np.asarray(res.params), strict=True))
    s2_eps, s2_eta = float(params["sigma2.irregular"]), float(params["sigma2.level"])
    fc = res.get_forecast(int(h.max()))
    level = float(fc.predicted_mean[0])
    p1 = float(fc.var_pred_mean[0]) - s2_eps  # level variance one step ahead
    m = h.size
    steps = np.minimum.outer(h, h) - 1  # shared random-walk steps between two days
    var = p1 + s2_eta * steps.sum() / m ** 2 + s2_eps / m
    if not np.isfinite(var) or var <= 0:
        return "the time-series model gave no finite variance; no estimate"
    return float(np.mean(y_post - level)), float(np.sqrt(var))
