"""Cumulative distinct reach over time per campaign × network: the `timeline` mart.

A person is reached at the earliest exposure time among the exposers they follow
(authors at their first campaign post, sharers at their first share). Buckets are
hours, or days when the cell's exposures span more than ``DAILY_AFTER_DAYS``; only
buckets in which someone new was reached are written (the curve is a step function).
Where some lists are partial (``method = sampled``) the curve the lists show is scaled to
end at the cell's estimated total_reach.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from reach.engine.cells import Cell
from reach.engine.parallel import per_group
from reach.followers.graph import FollowerGraph, Marker

DAILY_AFTER_DAYS = 14
HOUR_US = 3_600_000_000

TIMELINE_SCHEMA = {
    "campaign_id": pl.String, "network": pl.String,
    "bucket_start": pl.Datetime("us", "UTC"), "bucket": pl.String,
    "new_reach": pl.Int64, "cumulative_reach": pl.Int64, "method": pl.String,
}


def reach_times(graph: FollowerGraph, cell: Cell, marker: Marker) -> np.ndarray:
    """Microsecond time at which each reached person was first reached, in ascending
    order: exposers are walked in time order and each person is written when first
    marked."""
    order = np.argsort(cell.exposed_at, kind="stable")
    marker.mark(cell.authors)
    # Exposers in time order: whoever marks a person first reached them first.
    reached, owner = marker.mark_followers(graph, cell.exposers[order])
    times = cell.exposed_at[order][owner]
    marker.unmark(reached)
    marker.unmark(cell.authors)
    return times


def _runs(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of an ascending array and how many times each occurs:
    ``np.unique(values, return_counts=True)`` without its sort."""
    starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
    return values[starts], np.diff(np.r_[starts, values.size])


def scaled_curve(cumulative: np.ndarray, estimate: float) -> np.ndarray:
    """The cumulative curve as the lists show it, scaled to end at the cell's estimated
    reach (README.md, "Partial follower lists"); as it is where nothing was estimated."""
    curve = np.asarray(cumulative, dtype=np.float64)
    if not np.isnan(estimate):
        curve = curve * (estimate / curve[-1])
    return np.round(curve).astype(np.int64)


def timeline_rows(cells: list[Cell], graphs: dict[str, FollowerGraph],
                  sampled: dict[tuple[str, str], tuple] | None = None) -> pl.DataFrame:
    """The curves of every cell with a graph, counted on the worker threads (a marker per
    thread and network) and put in one frame at the end."""
    def curve(markers: dict[str, Marker], cell: Cell) -> tuple | None:
        g = graphs.get(cell.network)
        if g is None:
            return None
        times = reach_times(g, cell, markers[cell.network])
        if times.size == 0:
            return None
        span_days = (cell.exposed_at.max() - cell.exposed_at.min()) / (24 * HOUR_US)
        width = HOUR_US * (24 if span_days > DAILY_AFTER_DAYS else 1)
        buckets, counts = _runs(times // width * width)  # times ascend, so buckets do
        cumulative, method = np.cumsum(counts), "exact"
        estimates = (sampled or {}).get((cell.campaign_id, cell.network))
        if estimates is not None:
            cumulative, method = scaled_curve(cumulative, estimates[1].estimate), "sampled"
        return (cell.campaign_id, cell.network, buckets,
                "day" if width > HOUR_US else "hour", cumulative, method)

    got = [c for c in per_group(cells, curve, lambda: Marker.per_network(graphs)) if c]
    if not got:
        return pl.DataFrame(schema=TIMELINE_SCHEMA)
    sizes = np.array([c[2].size for c in got])
    of = np.repeat(np.arange(len(got)), sizes)
    cumulative = [c[4] for c in got]
    return pl.DataFrame({
        "campaign_id": pl.Series([c[0] for c in got]).gather(of),
        "network": pl.Series([c[1] for c in got]).gather(of),
        "bucket_start": pl.Series(np.concatenate([c[2] for c in got])),
        "bucket": pl.Series([c[3] for c in got]).gather(of),
        "new_reach": np.concatenate([np.diff(c, prepend=0) for c in cumulative]),
        "cumulative_reach": np.concatenate(cumulative),
        "method": pl.Series([c[5] for c in got]).gather(of),
    }).cast(TIMELINE_SCHEMA)
