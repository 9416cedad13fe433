"""Engagement uplift per campaign × network: the `uplift` mart (docs/marts.md).

Design (``method = "nb_glm"``): difference in differences. For campaign c on network n,
take c's posts there and the organic posts (campaign_id null) of the same authors on n
from ``baseline_days`` before c's first post to its last. Fit a negative-binomial (NB2)
GLM of engagements per post with log(exposure) and the network's time effects as offset:

    log E[y] = log(exposure) + time(day) + β·campaign + account×basis + post_type

``time(day)`` (weekday + smooth trend, :mod:`reach.uplift.time_effects`) comes from all organic
posts on n on the same days, so a trend, a season or weekend scheduling is not taken for
uplift. ``uplift = exp(β) − 1``: the relative change in engagements per unit of
exposure against what the same authors' posts get on those days. α by maximum
likelihood (``_fit_nb``); Wald interval exp(β ± 1.96·se) − 1.

Only comparable posts enter: an author's posts count where the author has posts on both
sides with the same exposure basis (impressions vs followers); the rest are counted in
``posts_left_out``. Every cell is also re-fitted on fake campaigns in its own pre-period
(:mod:`reach.uplift.placebo`); p-values are Benjamini–Hochberg adjusted over all cells of a method.

A cell that cannot give an honest number gets a ``warning`` and nulls instead: too few
posts, no baseline, no time control on the network, separation, a campaign indicator
confounded with accounts or post types, or a fit that did not converge.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import partial

import numpy as np
import polars as pl
import statsmodels.api as sm
from scipy.optimize import minimize_scalar
from scipy.special import gammaln
from statsmodels.stats.multitest import multipletests
from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

from reach.uplift.cellwise import PAIR, cells, comparable, effect_columns, fit_cells
from reach.uplift.counterfactual import SeriesSpec, series_cell
from reach.uplift.placebo import calibrate, placebo_runs, with_placebos
from reach.uplift.time_effects import TimeEffects, fit_time_effects

UPLIFT_SCHEMA = {
    "campaign_id": pl.String, "network": pl.String, "n_campaign_posts": pl.Int64,
    "n_baseline_posts": pl.Int64, "posts_left_out": pl.Int64, "n_control_posts": pl.Int64,
    "uplift": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64,
    "p_value": pl.Float64, "p_adjusted": pl.Float64, "adjustment": pl.String,
    "log_effect": pl.Float64, "std_error": pl.Float64, "placebo_runs": pl.Int64,
    "placebo_significant": pl.Int64, "placebo_rate": pl.Float64,
    "placebo_bias": pl.Float64, "calibration_sd": pl.Float64, "calibration": pl.String,
    "method": pl.String, "warning": pl.String,
}
METHODS = ("nb_glm", "structural_ts")


@dataclass(frozen=True)
class UpliftSpec:
    """Minimum data for a number: fewer posts than this give a warning instead."""

    min_campaign_posts: int = 3
    min_baseline_posts: int = 10
    baseline_days: int = 90  # organic posts this long before the campaign
    placebo_runs: int = 3  # fake campaigns per cell at most (fewer where cells are many)
    workers: int | None = None  # processes for the fits; None: one per core


def uplift_mart(frame: pl.DataFrame, *, spec: UpliftSpec = UpliftSpec(),
                series: SeriesSpec = SeriesSpec()) -> pl.DataFrame:
    """Both methods, one row per campaign × network each, calibrated and adjusted.

    ``frame`` is :func:`reach.uplift.engagement.post_engagement` of the posts and accounts.
    """
    frame, controls = with_controls(frame)
    effects = {net: c for net, c in controls.items() if isinstance(c, TimeEffects)}
    lookback = max(spec.baseline_days, series.pre_days)
    todo = cells(frame, lookback, spec.placebo_runs)
    ready = [t for t in todo if t[1] in effects]
    fits = {
        "nb_glm": partial(glm_cell, spec=spec, effects=effects),
        "structural_ts": partial(series_cell, spec=series, effects=effects),
    }
    runs = placebo_runs([t[1] for t in ready], spec.placebo_runs)
    fitted = fit_cells({method: partial(with_placebos, fit, runs=runs)
                        for method, fit in fits.items()}, ready, spec.workers)
    rows = []
    for method, done in fitted.items():
        done += [{"campaign_id": cid, "network": net, "warning": controls[net]}
                 for cid, net, _c, _b in todo if net not in effects]
        rows += [r | {"method": method, "n_control_posts": (
            effects[r["network"]].posts if r["network"] in effects else 0)} for r in done]
    out = pl.DataFrame(calibrate(rows), schema=UPLIFT_SCHEMA)
    return adjust(out).sort("campaign_id", "network", "method")


def with_controls(frame: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, TimeEffects | str]]:
    """The frame with ``day`` and ``time_offset``, and each network's time effects (or why
    it has none). A post without a time cannot be compared with the same days: it is not
    usable here."""
    frame = frame.with_columns(pl.col("created_at").dt.epoch("d").alias("day"), PAIR).with_columns(
        (pl.col("usable") & pl.col("day").is_not_null()).alias("usable"))
    controls, parts = {}, []
    for (net,), part in frame.partition_by("network", as_dict=True,
                                            maintain_order=True).items():
        effects = fit_time_effects(part.filter(pl.col("campaign_id").is_null(), "usable"))
        controls[net] = effects
        offset = (effects(part["day"].fill_null(0).to_numpy())
                  if isinstance(effects, TimeEffects) else np.full(part.height, np.nan))
        parts.append(part.with_columns(pl.Series("time_offset", offset).fill_nan(None)))
    if not parts:
        return frame.with_columns(pl.lit(None, pl.Float64).alias("time_offset")), controls
    return pl.concat(parts), controls


def adjust(df: pl.DataFrame) -> pl.DataFrame:
    """Benjamini–Hochberg over the cells of each method that have a p-value; ``adjustment``
    names that family."""
    parts = []
    for (method,), part in df.partition_by("method", as_dict=True,
                                           maintain_order=True).items():
        p = part["p_value"].to_numpy()
        ok = ~np.isnan(p.astype(float))
        adj = np.full(p.size, np.nan)
        if ok.any():
            adj[ok] = multipletests(p[ok].astype(float), method="fdr_bh")[1]
        family = (f"Benjamini–Hochberg over the {int(ok.sum())} {method} cells with a "
                  f"p-value in this run")
        parts.append(part.with_columns(
            pl.Series("p_adjusted", adj).fill_nan(None),
            pl.when(pl.Series(ok)).then(pl.lit(family)).alias("adjustment")))
    return pl.concat(parts) if parts else df


FACTORS = ("level", "post_type")
def glm_cell(camp: pl.DataFrame, base: pl.DataFrame, spec: UpliftSpec,
             effects: dict[str, TimeEffects] | None = None) -> dict:
    """Fit one cell; returns the mart's numeric columns and a warning (or None).

    ``base`` holds the authors' organic posts on the network (with ``day``); those from
    ``baseline_days`` before the campaign's first post to its last are its baseline.
    With the network's ``effects``, their own estimation error joins the standard error.
    """
    first, last = camp["day"].min(), camp["day"].max()
    if first is not None:
        base = base.filter(pl.col("day").is_null()
                           | pl.col("day").is_between(first - spec.baseline_days, last))
    c_use, b_use = comparable(camp, base)
    row = {"n_campaign_posts": int(c_use.sum()), "n_baseline_posts": int(b_use.sum()),
           "posts_left_out": int((~c_use).sum() + (~b_use).sum())}
    y_c = camp["engagements"].to_numpy()[c_use].astype(float)
    y_b = base["engagements"].to_numpy()[b_use].astype(float)
    problem = _data_problem(y_c, y_b, spec)
    if problem:
        return row | {"warning": problem}
    data = pl.concat([camp.filter(pl.Series(c_use)).with_columns(pl.lit(True).alias("treated")),
                      base.filter(pl.Series(b_use)).with_columns(pl.lit(False).alias("treated"))],
                     how="vertical_relaxed")
    data = data.with_columns(_author_level(data, first, last))
    t = data["treated"].to_numpy()
    X = _design(t, [data[f].to_numpy() for f in FACTORS])
    offset = (np.log(data["exposure"].to_numpy().astype(float))
              + data["time_offset"].to_numpy().astype(float))
    if np.linalg.matrix_rank(X) < X.shape[1]:
        return row | {"warning": "the campaign indicator is confounded with accounts or post "
                                 "types (every campaign post differs from every baseline "
                                 "post in the same way); no separate effect can be estimated"}
    fit = _fit_nb(data["engagements"].to_numpy().astype(float), X, offset)
    if isinstance(fit, str):
        return row | {"warning": fit}
    beta, se = float(fit.params[1]), float(fit.bse[1])
    if effects is not None:
        se = float(np.hypot(se, _time_error(fit, X, effects[camp["network"][0]],
                                            data["day"].to_numpy())))
    if not (np.isfinite(beta) and np.isfinite(se)) or se <= 0 or se > 10:
        return row | {"warning": "the fit gave no finite standard error for the campaign "
                                 "effect (too little variation in the data)"}
    return row | effect_columns(beta, se)


def _author_level(data: pl.DataFrame, first: int, last: int) -> pl.Expr:
    """Each author's level: one for the campaign window and one for the history before it
    where the author also posted organically during the campaign, else one for both.

    With a window level the campaign posts are compared with the same author's organic
    posts of the same days, so an author who is on a rise (or was picked for one) is
    compared with himself at that moment; the history still informs the post types.
    """
    in_window = pl.col("day").is_between(first, last)
    same_days = data.filter(~pl.col("treated") & in_window)["pair"].unique().implode()
    window = pl.col("pair").is_in(same_days) & (pl.col("treated") | in_window)
    return pl.struct(pl.col("pair"), window.alias("window")).rank("dense").alias("level")


def _time_error(fit, X: np.ndarray, effects: TimeEffects, day: np.ndarray) -> float:
    """Standard error the time effects' own estimation adds to β (delta method).

    β̂ moves with the time offset D·θ (D the time design of the posts) by
    :func:`beta_gradient`; its variance is that row times Cov θ times the row.
    """
    row = beta_gradient(fit, X, effects.design(day))
    return float(np.sqrt(max(row @ effects.cov @ row, 0.0)))


def beta_gradient(fit, X: np.ndarray, D: np.ndarray) -> np.ndarray:
    """dβ̂/dθ for an offset D·θ added to the fitted model (α held fixed): implicit
    differentiation of the NB2 score X'(y − μ)/(1 + αμ), whose derivative in the linear
    predictor has the observed weights μ(1 + αy)/(1 + αμ)²."""
    mu, y = np.asarray(fit.fittedvalues), np.asarray(fit.model.endog)
    alpha = float(getattr(fit.model.family, "alpha", 0.0))
    xw = X.T * (mu * (1 + alpha * y) / (1 + alpha * mu) ** 2)
    # lstsq: a level whose posts all had 0 engagements has weights ~0 (singular matrix)
    return -np.linalg.lstsq(xw @ X, xw @ D, rcond=None)[0][1]


def _data_problem(camp: np.ndarray, base: np.ndarray, spec: UpliftSpec) -> str | None:
    """Engagement counts of the comparable campaign and baseline posts -> a reason, or None."""
    if base.size == 0:
        return ("no baseline: the campaign's authors have no organic posts with known "
                "engagement, exposure (on the same basis) and time on this network")
    if camp.size < spec.min_campaign_posts:
        return (f"too few campaign posts ({camp.size} < {spec.min_campaign_posts}) "
                "from authors with a comparable baseline")
    if base.size < spec.min_baseline_posts:
        return f"too few baseline posts ({base.size} < {spec.min_baseline_posts})"
    if camp.sum() == 0 or base.sum() == 0:
        side = "campaign" if camp.sum() == 0 else "baseline"
        return f"separation: every {side} post has zero engagements, the effect is unbounded"
    return None


def _design(treated: np.ndarray, factors: list[np.ndarray]) -> np.ndarray:
    """Intercept, campaign indicator, then treatment-coded factors (first level dropped)."""
    cols = [np.ones(treated.size), treated.astype(float)]
    for values in factors:
        levels, code = np.unique(values, return_inverse=True)
        if levels.size > 1:
            cols.append(np.eye(levels.size)[code][:, 1:])
    return np.column_stack(cols)


def _fit_nb(y: np.ndarray, X: np.ndarray, offset: np.ndarray):
    """NB2 by maximum likelihood; the results for β, or a warning string.

    Coordinate ascent: a GLM with α fixed (IRLS, statsmodels), then α maximising the NB2
    likelihood given the fitted means (a one-dimensional search), until α settles. In
    NB2, β and α are orthogonal (the cross information is zero), so the fixed-α GLM's
    standard errors are the ML ones. Three times faster than a joint BFGS fit with the
    same answer; α at its lower bound means no overdispersion: the Poisson fit.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        warnings.simplefilter("error", PerfectSeparationWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            fit = sm.GLM(y, X, family=sm.families.Poisson(), offset=offset).fit()
            log_alpha = np.log(_alpha_given_mu(y, fit.fittedvalues))
            for _ in range(50):
                if log_alpha <= _LOG_ALPHA_MIN + _AT_BOUND:
                    return fit  # Poisson: α at its boundary
                fit = sm.GLM(y, X, offset=offset, family=sm.families.NegativeBinomial(
                    alpha=float(np.exp(log_alpha)))).fit(start_params=fit.params)
                new = np.log(_alpha_given_mu(y, fit.fittedvalues))
                if abs(new - log_alpha) < 1e-3:
                    break
                log_alpha = new
            else:
                return "the model did not converge (the dispersion kept moving); no estimate"
        except (ConvergenceWarning, PerfectSeparationWarning) as w:
            return f"the model did not converge ({w}); no estimate"
        except (np.linalg.LinAlgError, ValueError) as e:
            return f"the model could not be fitted ({e}); no estimate"
    if not fit.converged:
        return "the model did not converge; no estimate"
    return fit


_LOG_ALPHA_MIN, _LOG_ALPHA_MAX = np.log(1e-6), np.log(100.0)
#: the 1-D search's tolerance in log α, and how near its lower bound counts as on it:
#: a bounded search returns a point a few tolerances inside the bound, never the bound
#: itself, and where it lands moved with SciPy 1.17 (there, an α of 1e-6 · e^0.003 went
#: back and forth by 0.002 and never settled: a Poisson fit reported as no estimate)
_XATOL = 1e-3
_AT_BOUND = 5 * _XATOL


def _alpha_given_mu(y: np.ndarray, mu: np.ndarray) -> float:
    """The NB2 dispersion α maximising the likelihood for fixed means μ."""
    def neg_loglik(log_a: float) -> float:
        a = np.exp(log_a)
        r = 1.0 / a
        return -float(np.sum(gammaln(y + r) - gammaln(r) - r * np.log1p(a * mu)
                             + y * (np.log(a * mu) - np.log1p(a * mu))))
    res = minimize_scalar(neg_loglik, bounds=(_LOG_ALPHA_MIN, _LOG_ALPHA_MAX),
                          method="bounded", options={"xatol": _XATOL})
    return float(np.exp(res.x))
