"""Engagement uplift per campaign × network: the `uplift` mart (docs/marts.md).

Model (``method = "nb_glm"``). For campaign c on network n, take c's posts there and the
organic posts (campaign_id null) of the same authors on n. Fit a negative-binomial (NB2)
GLM of engagements per post on a campaign indicator, one effect per account, one per post
type, and (when both occur) the exposure basis, with log(exposure) as offset:

    log E[y] = log(exposure) + β·campaign + account + post_type [+ basis]

``uplift = exp(β) − 1``: the relative change in engagements per unit of exposure, the same
accounts and post types held fixed. The dispersion α is estimated per cell by maximum
likelihood (see ``_fit_nb``); the interval is Wald, exp(β ± 1.96·se) − 1. (A two-step
moment estimate of α was faster but its intervals covered only 92% in simulation; ML
covers 94%.) Benjamini–Hochberg adjusts
the p-values over all cells of a method (statsmodels.stats.multitest).

A cell that cannot give an honest number gets a ``warning`` and nulls instead: too few
posts, no baseline, no engagement at all on one side (separation), a campaign indicator
confounded with accounts or post types, or a fit that did not converge.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

import numpy as np
import polars as pl
import statsmodels.api as sm
from scipy.optimize import minimize_scalar
from scipy.special import gammaln
from statsmodels.stats.multitest import multipletests
from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

from ._cellwise import cells, fit_cells
from .counterfactual import SeriesSpec, structural_ts_rows
from .engagement import Z95, post_engagement

UPLIFT_SCHEMA = {
    "campaign_id": pl.String, "network": pl.String, "n_campaign_posts": pl.Int64,
    "n_baseline_posts": pl.Int64, "posts_left_out": pl.Int64, "uplift": pl.Float64,
    "ci_low": pl.Float64, "ci_high": pl.Float64, "p_value": pl.Float64,
    "p_adjusted": pl.Float64, "log_effect": pl.Float64, "std_error": pl.Float64,
    "method": pl.String, "warning": pl.String,
}


@dataclass(frozen=True)
class UpliftSpec:
    """Minimum data for a number: fewer posts than this give a warning instead."""

    min_campaign_posts: int = 3
    min_baseline_posts: int = 10
    baseline_days: int | None = 90  # organic posts this long before the campaign; None: all
    workers: int | None = None  # processes for the fits; None: one per core


def uplift_mart(frame: pl.DataFrame, *, spec: UpliftSpec = UpliftSpec(),
                series: SeriesSpec = SeriesSpec()) -> pl.DataFrame:
    """Both methods, one row per campaign × network each, p-values adjusted per method.

    ``frame`` is :func:`reach.engagement.post_engagement` of the posts and accounts.
    """
    rows = glm_rows(frame, spec) + structural_ts_rows(frame, series, workers=spec.workers)
    return adjust(pl.DataFrame(rows, schema=UPLIFT_SCHEMA)).sort(
        "campaign_id", "network", "method")


def uplift_rows(posts: pl.LazyFrame, accounts: pl.LazyFrame, *,
                spec: UpliftSpec = UpliftSpec()) -> pl.DataFrame:
    """Only the nb_glm rows, adjusted: the mart for tables without daily history."""
    frame = post_engagement(posts, accounts)
    return adjust(pl.DataFrame(glm_rows(frame, spec), schema=UPLIFT_SCHEMA))


def glm_rows(frame: pl.DataFrame, spec: UpliftSpec) -> list[dict]:
    """The nb_glm rows, one per campaign × network (p_adjusted not yet set)."""
    todo = cells(frame, lambda camp: _in_baseline_window(camp, spec.baseline_days))
    return fit_cells(partial(glm_cell, spec=spec), todo, spec.workers)


def _in_baseline_window(camp: pl.DataFrame, days: int | None) -> pl.Expr:
    """Organic posts from ``days`` before the campaign's first post to its last one.

    A local baseline: engagement drifts over a year, and a cell's fit then touches
    only the posts near it. Posts without a time are kept (they cannot be placed).
    """
    first, last = camp["created_at"].min(), camp["created_at"].max()
    if days is None or first is None:
        return pl.lit(True)
    return (pl.col("created_at").is_null()
            | pl.col("created_at").is_between(first - timedelta(days=days), last))


def adjust(df: pl.DataFrame) -> pl.DataFrame:
    """Benjamini–Hochberg over the cells of each method that have a p-value."""
    parts = []
    for (_method,), part in df.partition_by("method", as_dict=True,
                                            maintain_order=True).items():
        p = part["p_value"].to_numpy()
        ok = ~np.isnan(p.astype(float))
        adj = np.full(p.size, np.nan)
        if ok.any():
            adj[ok] = multipletests(p[ok].astype(float), method="fdr_bh")[1]
        parts.append(part.with_columns(pl.Series("p_adjusted", adj).fill_nan(None)))
    return pl.concat(parts) if parts else df


FACTORS = ("account_id", "post_type", "exposure_basis")


def glm_cell(camp: pl.DataFrame, base: pl.DataFrame, spec: UpliftSpec) -> dict:
    """Fit one cell; returns the mart's numeric columns and a warning (or None)."""
    data = pl.concat([camp.with_columns(pl.lit(True).alias("treated")),
                      base.with_columns(pl.lit(False).alias("treated"))], how="vertical_relaxed")
    cols = {c: data[c].to_numpy() for c in ("treated", "usable", "engagements", "exposure",
                                             *FACTORS)}
    usable, treated, account = cols["usable"].astype(bool), cols["treated"], cols["account_id"]
    # Only accounts seen on both sides inform a within-account comparison.
    both = (np.isin(account, np.unique(account[usable & treated]))
            & np.isin(account, np.unique(account[usable & ~treated])))
    keep = usable & both
    y = cols["engagements"][keep].astype(float)
    t = treated[keep].astype(bool)
    row = {"n_campaign_posts": int(t.sum()), "n_baseline_posts": int((~t).sum()),
           "posts_left_out": int((~usable).sum()), "method": "nb_glm"}
    problem = _data_problem(y[t], y[~t], spec)
    if problem:
        return row | {"warning": problem}
    X = _design(t, [cols[f][keep] for f in FACTORS])
    offset = np.log(cols["exposure"][keep].astype(float))
    if np.linalg.matrix_rank(X) < X.shape[1]:
        return row | {"warning": "the campaign indicator is confounded with accounts or post "
                                 "types (every campaign post differs from every baseline "
                                 "post in the same way); no separate effect can be estimated"}
    fit = _fit_nb(y, X, offset)
    if isinstance(fit, str):
        return row | {"warning": fit}
    beta, se = float(fit.params[1]), float(fit.bse[1])
    if not (np.isfinite(beta) and np.isfinite(se)) or se <= 0 or se > 10:
        return row | {"warning": "the fit gave no finite standard error for the campaign "
                                 "effect (too little variation in the data)"}
    return row | {"log_effect": beta, "std_error": se, "uplift": float(np.expm1(beta)),
                  "ci_low": float(np.expm1(beta - Z95 * se)),
                  "ci_high": float(np.expm1(beta + Z95 * se)),
                  "p_value": float(fit.pvalues[1]), "warning": None}


def _data_problem(camp: np.ndarray, base: np.ndarray, spec: UpliftSpec) -> str | None:
    """Engagement counts of the usable campaign and baseline posts -> a reason, or None."""
    if base.size == 0:
        return ("no baseline: the campaign's authors have no organic posts with known "
                "engagement and exposure on this network")
    if camp.size < spec.min_campaign_posts:
        return (f"too few campaign posts ({camp.size} < {spec.min_campaign_posts}) "
                "from authors with a baseline")
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
        levels, code = np.unique(values.astype(str), return_inverse=True)
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
                if log_alpha <= _LOG_ALPHA_MIN + 1e-6:
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


def _alpha_given_mu(y: np.ndarray, mu: np.ndarray) -> float:
    """The NB2 dispersion α maximising the likelihood for fixed means μ."""
    def neg_loglik(log_a: float) -> float:
        a = np.exp(log_a)
        r = 1.0 / a
        return -float(np.sum(gammaln(y + r) - gammaln(r) - r * np.log1p(a * mu)
                             + y * (np.log(a * mu) - np.log1p(a * mu))))
    res = minimize_scalar(neg_loglik, bounds=(_LOG_ALPHA_MIN, _LOG_ALPHA_MAX),
                          method="bounded", options={"xatol": 1e-4})
    return float(np.exp(res.x))
