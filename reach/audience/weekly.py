"""Weekly reach and frequency per channel and per campaign: `reach_frequency_weekly`.

The shape media-mix models take (Meridian's ``reach`` and ``frequency`` per channel and
period): for each ISO week (Monday 00:00 UTC) the distinct people reached that week by the
campaign posts and shares made that week, their opportunities to see, the average
frequency, and the distinct people reached from the first week to this one.

* ``level = campaign``: one campaign on one network; people are F(E_w) \\ A, with E_w the
  accounts that posted or shared for the campaign in week w and A all its authors there.
  The last ``cumulative_reach`` equals the reach mart's total_reach.
* ``level = network``: every campaign on the network together (the channel), authors of
  any campaign excluded; ``campaign_id`` is ``*``.

A person reached in two weeks counts in both weeks' ``reach`` and once in
``cumulative_reach``.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import polars as pl

from reach.audience.frequency import OtsCounter, opportunities
from reach.audience.sampled import has_partial
from reach.engine.cells import CellItems
from reach.engine.parallel import rows_per_group
from reach.followers.graph import FollowerGraph, Marker

DAY_US = 86_400_000_000
WEEK_US = 7 * DAY_US
MONDAY_US = 4 * DAY_US  # 1970-01-05, the first Monday after the epoch
ALL_CAMPAIGNS = "*"

WEEKLY_SCHEMA = {
    "level": pl.String, "campaign_id": pl.String, "network": pl.String,
    "week_start": pl.Date, "iso_week": pl.String, "method": pl.String,
    "posts_and_shares": pl.Int64, "reach": pl.Int64, "opportunities": pl.Int64,
    "average_frequency": pl.Float64, "cumulative_reach": pl.Int64,
}


def week_of(at_us: np.ndarray) -> np.ndarray:
    """Start (microseconds) of the ISO week holding each time."""
    return (at_us - MONDAY_US) // WEEK_US * WEEK_US + MONDAY_US


def weekly_rows(items: dict[tuple[str, str], CellItems], graphs: dict[str, FollowerGraph],
                reported: dict[str, np.ndarray] | None = None) -> pl.DataFrame:
    """Every network's weeks across its campaigns, then every cell's, on the worker
    threads (counters per thread and network); the networks first, as they are the
    largest."""
    by_network: dict[str, list[CellItems]] = defaultdict(list)
    for (_, network), made in sorted(items.items()):
        by_network[network].append(made)
    jobs = [("network", ALL_CAMPAIGNS, network,
             CellItems(np.concatenate([m.keys for m in group]),
                       np.concatenate([m.at for m in group]),
                       np.concatenate([m.is_post for m in group])))
            for network, group in sorted(by_network.items())]
    jobs += [("campaign", campaign_id, network, made)
             for (campaign_id, network), made in sorted(items.items())]

    def weeks(tools: dict, job: tuple) -> list[dict]:
        level, campaign_id, network, made = job
        return _weeks(level, campaign_id, network, graphs.get(network), made, made.authors,
                      tools.get(network), (reported or {}).get(network))

    rows = rows_per_group(jobs, weeks, lambda: {net: (OtsCounter(g.n), Marker(g.n))
                                                for net, g in graphs.items()})
    if not rows:
        return pl.DataFrame(schema=WEEKLY_SCHEMA)
    df = pl.DataFrame(rows, schema={**WEEKLY_SCHEMA, "week_start": pl.Int64})
    df = df.with_columns(pl.col("week_start").cast(pl.Datetime("us", "UTC")).dt.date())
    return (df.with_columns(pl.col("week_start").dt.strftime("%G-W%V").alias("iso_week"))
            .select(list(WEEKLY_SCHEMA))
            .sort(pl.col("level") == "campaign", "campaign_id", "network", "week_start"))


def _weeks(level: str, campaign_id: str, network: str, g: FollowerGraph | None,
           items: CellItems, authors: np.ndarray, tools, reported: np.ndarray | None = None
           ) -> list[dict]:
    weeks = week_of(items.at)
    base = {"level": level, "campaign_id": campaign_id, "network": network}
    if g is None:
        return [base | {"week_start": int(w), "method": "no_graph",
                        "posts_and_shares": int(np.count_nonzero(weeks == w))}
                for w in np.unique(weeks)]
    counter, seen = tools
    # partial lists: the people the lists show, a lower bound, never "exact"
    method = "listed_only" if has_partial(g, items.keys, reported) else "exact"
    rows, cumulative, marked = [], 0, []
    for w in np.unique(weeks):
        mask = weeks == w
        reached, fp, fs = opportunities(g, items.subset(mask), authors, counter)
        new = reached[~seen.bits[reached]]
        seen.mark(new)
        marked.append(new)
        cumulative += new.size
        ots = int(fp.sum() + fs.sum())
        rows.append(base | {
            "week_start": int(w), "method": method,
            "posts_and_shares": int(np.count_nonzero(mask)), "reach": int(reached.size),
            "opportunities": ots,
            "average_frequency": ots / reached.size if reached.size else None,
            "cumulative_reach": cumulative})
    for keys in marked:
        seen.unmark(keys)
    return rows
