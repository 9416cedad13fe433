"""Placebo checks and empirical calibration: does a method find uplift where there is none?

Each cell is fitted again on fake campaigns: windows as long as the real one, placed
back to back just before it, where the authors' own organic posts play the campaign
posts and their history before the window the baseline. No campaign ran there, so a
calibrated 95 % interval excludes zero in about 5 % of such fits. The share that did,
pooled over a method's cells on a network (a cell alone has too few), is the mart's
``placebo_rate``.

The placebo estimates then calibrate the real intervals, as negative controls do in
observational studies (Schuemie et al., "Interpreting observational studies: why
empirical calibration is needed", Stat. Med. 2014; "Empirical confidence interval
calibration", PNAS 2018): model each placebo estimate b_j with standard error s_j as
b_j ~ N(μ, τ² + s_j²) — μ the method's systematic error on that network, τ its spread
beyond the model's own standard errors — fit μ and τ by maximum likelihood, and widen
each real interval to √(se² + τ²). Where the model's intervals hold, τ ≈ 0 and nothing
moves. μ is reported (``placebo_bias``) and named in words when clearly non-zero, but
not subtracted: the fake windows lie just before the real one, where a selection of
authors on recent success puts them, so they can err more than it does (subtracting
overcorrected by −0.16 in that simulation). ``calibration`` says what was found and done.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator

import numpy as np
import polars as pl
from scipy.optimize import minimize
from scipy.stats import binomtest, norm

from reach.uplift.cellwise import effect_columns

ALPHA = 0.05
MIN_RUNS = 20  #: placebo fits a method × network needs to be judged and calibrated
ENOUGH_RUNS = 60  #: per method × network; with many cells one fake campaign each is plenty


def fake_cells(camp: pl.DataFrame, base: pl.DataFrame, runs: int
               ) -> Iterator[tuple[pl.DataFrame, pl.DataFrame]]:
    """(fake campaign posts, their baseline) for up to ``runs`` windows before the real one.

    An author who posted organically during the real campaign (so is compared on the same
    days) lends a random half of his posts in the fake window to the fake campaign and
    keeps the rest as its same-days baseline; other authors lend all of them.
    """
    first, last = camp["day"].min(), camp["day"].max()
    if first is None:
        return
    length = last - first + 1
    same_days = base.filter(pl.col("day").is_between(first, last))["account_id"].unique()
    for j in range(runs):
        fake_last = first - 1 - j * length
        fake_first = fake_last - length + 1
        inside = base.filter(pl.col("day").is_between(fake_first, fake_last))
        if inside.is_empty():
            continue
        coin = np.random.default_rng([int(first), j]).random(inside.height) < 0.5
        fake = pl.Series(coin) | ~inside["account_id"].is_in(same_days.implode())
        yield (inside.filter(fake).with_columns(pl.lit("placebo").alias("campaign_id")),
               pl.concat([base.filter(pl.col("day") < fake_first), inside.filter(~fake)]))


def placebo_runs(networks: list[str], most: int) -> dict[str, int]:
    """Fake campaigns per cell on each network: enough for ``ENOUGH_RUNS`` in all, at
    least one per cell, at most ``most`` (each is a full fit)."""
    counts = Counter(networks)
    return {net: max(1, min(most, -(-ENOUGH_RUNS // n))) if most else 0
            for net, n in counts.items()}


def with_placebos(fit: Callable[[pl.DataFrame, pl.DataFrame], dict], camp: pl.DataFrame,
                  base: pl.DataFrame, runs: dict[str, int]) -> dict:
    """``fit`` on the cell, and its placebo estimates as (log effect, standard error)."""
    fakes = [fit(fc, fb) for fc, fb in fake_cells(camp, base, runs[camp["network"][0]])]
    return fit(camp, base) | {"placebo": [(r["log_effect"], r["std_error"]) for r in fakes
                                          if r.get("log_effect") is not None]}


def calibrate(rows: list[dict]) -> list[dict]:
    """Pool the placebo estimates per method × network, then count, judge and calibrate."""
    pooled: dict[tuple[str, str], list] = {}
    for r in rows:
        pooled.setdefault((r["method"], r["network"]), []).extend(r.get("placebo", []))
    found = {k: _systematic_error(np.array(v, dtype=float).reshape(-1, 2))
             for k, v in pooled.items()}
    out = []
    for r in rows:
        est = np.array(r.pop("placebo", []), dtype=float).reshape(-1, 2)
        fit = found[(r["method"], r["network"])]
        r = r | {"placebo_runs": len(est),
                 "placebo_significant": int(np.sum(_significant(est))),
                 "placebo_rate": fit["rate"], "placebo_bias": fit["bias"],
                 "calibration_sd": fit["sd"], "calibration": fit["note"]}
        if fit["sd"] and r.get("log_effect") is not None:
            r |= effect_columns(r["log_effect"], float(np.hypot(r["std_error"], fit["sd"])))
        out.append(r)
    return out


def _significant(est: np.ndarray) -> np.ndarray:
    return np.abs(est[:, 0]) > norm.ppf(1 - ALPHA / 2) * est[:, 1]


def _systematic_error(est: np.ndarray) -> dict:
    """μ and τ of b_j ~ N(μ, τ² + s_j²) by maximum likelihood, and the words for them."""
    runs = len(est)
    sig = int(np.sum(_significant(est)))
    if runs < MIN_RUNS:
        what = (f"{sig} of {runs} fake campaigns came out significant at 5 %" if runs else
                "no fake campaign could be fitted (too little history)")
        return {"rate": sig / runs if runs else None, "bias": None, "sd": None,
                "note": f"placebo: {what}; too few to judge or calibrate (needs "
                        f"{MIN_RUNS} on the network): the interval is the model's alone"}
    b, s2 = est[:, 0], est[:, 1] ** 2

    def nll(theta: np.ndarray) -> float:
        v = s2 + np.exp(2 * theta[1])
        return float(np.sum(np.log(v) + (b - theta[0]) ** 2 / v))
    res = minimize(nll, np.array([np.median(b), np.log(0.05)]), method="Nelder-Mead",
                   options={"xatol": 1e-6, "fatol": 1e-8})
    mu, tau = float(res.x[0]), float(np.exp(res.x[1]))
    tau = tau if tau > 1e-3 else 0.0
    mu_se = float(np.sqrt(1 / np.sum(1 / (s2 + tau ** 2))))
    rate = sig / runs
    verdict = ("consistent with 5 %" if binomtest(sig, runs, ALPHA).pvalue >= 0.01 else
               "far above 5 %" if rate > ALPHA else "below 5 % (wide intervals)")
    note = (f"placebo: {sig} of {runs} fake campaigns ({rate:.0%}) came out significant at "
            f"5 %, {verdict}")
    if tau:
        note += (f"; their spread beyond their own standard errors ({tau:.3f} on the log "
                 "scale) is added to this interval")
    if abs(mu) > 3 * mu_se:
        note += (f". They err by {mu:+.3f} on average: the design misses something here "
                 "(another change for these authors? authors picked on a recent rise?); "
                 "not removed, as the real window need not err alike")
    return {"rate": rate, "bias": mu, "sd": tau, "note": note}
