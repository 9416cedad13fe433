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
from datetime import timedelta

import numpy as np
import polars as pl
from scipy.stats import norm
from statsmodels.tsa.statespace.structural import UnobservedComponents

from .engagement import Z95


@dataclass(frozen=True)
class SeriesSpec:
    pre_days: int = 90
    min_pre_days: int = 28


def daily_log_rate(posts: pl.DataFrame) -> pl.DataFrame:
    """day (Date), y: log((Σ engagements + 0.5) / Σ exposure) per day with usable posts."""
    return (posts.filter("usable")
            .group_by(pl.col("created_at").dt.date().alias("day"))
            .agg(((pl.col("engagements").sum() + 0.5) / pl.col("exposure").sum()).log()
                 .alias("y"))
            .sort("day"))


def structural_ts_rows(frame: pl.DataFrame, spec: SeriesSpec = SeriesSpec()) -> list[dict]:
    organic = frame.filter(pl.col("campaign_id").is_null())
    rows = []
    campaign = frame.filter(pl.col("campaign_id").is_not_null())
    for (cid, net), part in sorted(campaign.partition_by(
            "campaign_id", "network", as_dict=True).items()):
        authors = part["account_id"].unique().implode()
        base = organic.filter(pl.col("network") == net, pl.col("account_id").is_in(authors))
        rows.append({"campaign_id": cid, "network": net, "method": "structural_ts"}
                    | series_cell(part, base, spec))
    return rows


def series_cell(camp: pl.DataFrame, base: pl.DataFrame, spec: SeriesSpec) -> dict:
    row = {"n_campaign_posts": int(camp["usable"].sum()),
           "posts_left_out": int((~camp["usable"]).sum())}
    usable = camp.filter("usable")
    if usable.height == 0 or usable["created_at"].null_count() == usable.height:
        return row | {"n_baseline_posts": 0,
                      "warning": "no campaign posts with known engagement, exposure and time"}
    start = usable["created_at"].min().date()
    end = usable["created_at"].max().date()
    pre_from = start - timedelta(days=spec.pre_days)
    pre_posts = base.filter(pl.col("created_at").dt.date() >= pre_from,
                            pl.col("created_at").dt.date() < start)
    pre = daily_log_rate(pre_posts)
    row["n_baseline_posts"] = int(pre_posts["usable"].sum())
    if pre.height < spec.min_pre_days:
        return row | {"warning": f"no daily history: organic posts on {pre.height} of the "
                                 f"{spec.pre_days} days before the campaign "
                                 f"(needs {spec.min_pre_days})"}
    days = pl.date_range(pre_from, end, "1d", eager=True).alias("day").to_frame()
    y = days.join(pre, on="day", how="left").filter(pl.col("day") < start)["y"].to_numpy()
    post = daily_log_rate(usable)
    horizon = (post["day"] - start).dt.total_days().to_numpy() + 1  # 1-based steps
    gap = _level_gap(y.astype(float), post["y"].to_numpy(), horizon.astype(int))
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
