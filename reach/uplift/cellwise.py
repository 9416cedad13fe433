"""Per campaign × network model fits, on every core when there are many.

Each fit sees one cell: the campaign's posts on a network and the organic posts of the
same authors there. Fits are independent, so large marts spread them over worker
processes (spawned, so no thread state is forked); small ones run inline.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from multiprocessing import get_context

import numpy as np
import polars as pl
from scipy.stats import norm

from reach.uplift.engagement import Z95

INLINE_BELOW = 300  #: cells; fewer run in this process (workers take seconds to start)

Cell = tuple[str, str, pl.DataFrame, pl.DataFrame]  # campaign_id, network, campaign, base


def cells(frame: pl.DataFrame, lookback_days: int, placebo_runs: int = 0) -> list[Cell]:
    """Campaign × network cells with their authors' organic posts on that network.

    The organic posts reach back ``lookback_days`` before the campaign's first post, and
    further by one campaign length per placebo run (:mod:`reach.uplift.placebo`); posts without
    a day are kept, for the fits to count them as left out.
    """
    organic = frame.filter(pl.col("campaign_id").is_null())
    by_net = {net: part for (net,), part in organic.partition_by("network",
                                                                  as_dict=True).items()}
    out = []
    campaign = frame.filter(pl.col("campaign_id").is_not_null())
    for (cid, net), part in sorted(campaign.partition_by(
            "campaign_id", "network", as_dict=True).items()):
        base = by_net.get(net, organic.clear())
        keep = pl.col("account_id").is_in(part["account_id"].unique().implode())
        first, last = part["day"].min(), part["day"].max()
        if first is not None:
            reach_back = lookback_days + placebo_runs * (last - first + 1)
            keep = keep & (pl.col("day").is_null()
                           | pl.col("day").is_between(first - reach_back, last))
        out.append((cid, net, part, base.filter(keep)))
    return out


#: an author on one exposure basis, as one integer: the unit every comparison is within
PAIR = pl.concat_str("account_id", pl.col("exposure_basis").fill_null(""),
                     separator="\x1f").hash(seed=0).alias("pair")


def comparable(camp: pl.DataFrame, base: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Masks of the usable campaign and baseline posts whose author has posts on the other
    side with the same exposure basis: the only ones a within-author comparison can use."""
    c_ok = camp["usable"].to_numpy() & camp["time_offset"].is_not_null().to_numpy()
    b_ok = base["usable"].to_numpy() & base["time_offset"].is_not_null().to_numpy()
    cp, bp = camp["pair"].to_numpy(), base["pair"].to_numpy()
    both = np.intersect1d(cp[c_ok], bp[b_ok])
    return c_ok & np.isin(cp, both), b_ok & np.isin(bp, both)


def effect_columns(log_effect: float, se: float) -> dict:
    """The mart's numbers for a log effect and its standard error: the interval and the
    two-sided p-value both from that one standard error."""
    return {"log_effect": log_effect, "std_error": se, "uplift": float(np.expm1(log_effect)),
            "ci_low": float(np.expm1(log_effect - Z95 * se)),
            "ci_high": float(np.expm1(log_effect + Z95 * se)),
            "p_value": float(2 * norm.sf(abs(log_effect) / se)), "warning": None}


@contextmanager
def _single_threaded_children():
    """Workers inherit these at spawn: one thread each, or BLAS and Polars pools would
    oversubscribe the cores the processes already fill."""
    keys = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
            "POLARS_MAX_THREADS")
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update(dict.fromkeys(keys, "1"))
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def fit_cells(fits: dict[str, Callable[[pl.DataFrame, pl.DataFrame], dict]],
              todo: list[Cell], workers: int | None = None) -> dict[str, list[dict]]:
    """``fit(campaign, base)`` of every named fit for every cell, in order; rows get
    campaign_id and network. Every fit's cells go to one pool: starting spawned workers
    costs ~2 s (each imports Polars and statsmodels), once per mart, not once per method."""
    workers = workers if workers is not None else (os.cpu_count() or 1)
    camps, bases = [t[2] for t in todo], [t[3] for t in todo]
    if workers <= 1 or len(todo) < INLINE_BELOW:
        results = {name: list(map(fit, camps, bases)) for name, fit in fits.items()}
    else:
        with _single_threaded_children(), ProcessPoolExecutor(
                workers, mp_context=get_context("spawn")) as pool:
            # map submits every chunk at once: the workers go on from one fit to the next
            pending = {name: pool.map(fit, camps, bases,
                                      chunksize=max(1, len(todo) // (workers * 8)))
                       for name, fit in fits.items()}
            results = {name: list(rows) for name, rows in pending.items()}
    return {name: [{"campaign_id": cid, "network": net} | r
                   for (cid, net, _, _), r in zip(todo, rows, strict=True)]
            for name, rows in results.items()}
