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
from reach.followers.graph import FollowerGraph, Marker

DAILY_AFTER_DAYS = 14
HOUR_US = 3_600_000_000

TIMELINE_SCHEMA = {
    "campaign_id": pl.String, "network": pl.String,
    "bucket_start": pl.Datetime("us", "UTC"), "bucket": pl.String,
    "new_reach": pl.Int64, "cumulative_reach": pl.Int64, "method": pl.String,
}


def reach_times(graph: FollowerGraph, cell: Cell, marker: Marker) -> np.ndarray:
    """Microsecond time at which each reached person was first reached."""
    order = np.argsort(cell.exposed_at, kind="stable")
    marker.mark(cell.authors)
    # Exposers in time order: whoever marks a person first reached them first.
    reached, owner = marker.mark_followers(graph, cell.exposers[order])
    times = cell.exposed_at[order][owner]
    marker.unmark(reached)
    marker.unmark(cell.authors)
    return times


def scaled_curve(cumulative: np.ndarray, estimate: float) -> np.ndarray:
    """The cumulative curve as the lists show it, scaled to end at the cell's estimated
    reach (README.md, "Partial follower lists"); as it is where nothing was estimated."""
    curve = np.asarray(cumulative, dtype=np.float64)
    if not np.isnan(estimate):
        curve = curve * (estimate / curve[-1])
    return np.round(curve).astype(np.int64)


def timeline_rows(cells: list[Cell], graphs: dict[str, FollowerGraph],
                  sampled: dict[tuple[str, str], tuple] | None = None) -> pl.DataFrame:
    frames = []
    markers = {net: Marker(g.n) for net, g in graphs.items()}
    for cell in cells:
        g = graphs.get(cell.network)
        if g is None:
            continue
        times = reach_times(g, cell, markers[cell.network])
        if times.size == 0:
            continue
        span_days = (cell.exposed_at.max() - cell.exposed_at.min()) / (24 * HOUR_US)
        width = HOUR_US * (24 if span_days > DAILY_AFTER_DAYS else 1)
        buckets, counts = np.unique(times // width * width, return_counts=True)
        cumulative, method = np.cumsum(counts), "exact"
        estimates = (sampled or {}).get((cell.campaign_id, cell.network))
        if estimates is not None:
            cumulative, method = scaled_curve(cumulative, estimates[1].estimate), "sampled"
        frames.append(pl.DataFrame({
            "campaign_id": cell.campaign_id, "network": cell.network,
            "bucket_start": pl.Series(buckets).cast(pl.Datetime("us", "UTC")),
            "bucket": "day" if width > HOUR_US else "hour",
            "new_reach": np.diff(cumulative, prepend=0),
            "cumulative_reach": cumulative, "method": method}))
    if not frames:
        return pl.DataFrame(schema=TIMELINE_SCHEMA)
    return pl.concat(frames).select(list(TIMELINE_SCHEMA)).cast(TIMELINE_SCHEMA)
