"""Does the uplift mart hold its promises when time, scheduling and selection try to fool it?

For every scenario of tests/uplift_scenarios.py (a clean null, a trend, weekend
scheduling, authors picked on recent success, impressions reported unequally, an
influencer without organic history, and true effects under trend + weekly pattern),
simulate lakes, compute the mart and print per method: cells with a number, bias of
the log effect, 95 % interval coverage, share significant at 5 % (the false-positive
rate under a null) and the placebo rate the mart itself reports. Then BH over
all-null "lakes" of 20 cells: the share with at least one false discovery.

Targets (issue #14): false-positive rate ≤ 7 % under every null, coverage ≥ 90 %,
|bias| ≤ 0.05, BH lakes with a false discovery ≤ 10 %.

    python benchmarks/eval_uplift.py [--seeds 1] [--campaigns 80] [--scenario trend ...]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.uplift_scenarios import (  # noqa: E402
    NULL_SCENARIOS,
    SCENARIOS,
    TARGETS,
    bh_false_discovery_lakes,
    calibration,
    run,
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=1, help="lakes per scenario")
    ap.add_argument("--campaigns", type=int, default=80, help="campaigns per network")
    ap.add_argument("--scenario", nargs="*", default=list(SCENARIOS), choices=SCENARIOS)
    a = ap.parse_args()
    rows, nulls = [], []
    for sc in a.scenario:
        t0 = time.perf_counter()
        marts = run(sc, a.seeds, a.campaigns)
        stats = calibration(marts, {(c, n): v for c, n, v in marts.select(
            "campaign_id", "network", "true").unique().iter_rows()})
        placebo = marts.group_by("method").agg(
            (pl.col("placebo_significant").sum() / pl.col("placebo_runs").sum())
            .alias("placebo_rate"))
        rows.append(stats.join(placebo, on="method").with_columns(
            pl.lit(sc).alias("scenario"), pl.lit(time.perf_counter() - t0).alias("seconds")))
        if sc in NULL_SCENARIOS:
            nulls.append(marts)
        print(f"{sc}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    table = pl.concat(rows).select("scenario", "method", "cells", "bias", "coverage",
                                   "significant", "placebo_rate", "seconds")
    with pl.Config(tbl_rows=40, float_precision=3, tbl_hide_dataframe_shape=True):
        print(table)
    if nulls:
        lakes = bh_false_discovery_lakes(pl.concat(nulls))
        print("BH over all-null lakes of 20 cells, share with ≥ 1 false discovery: "
              + ", ".join(f"{m} {v:.1%}" for m, v in sorted(lakes.items())))
    print(f"targets: false-positive rate ≤ {TARGETS['fpr']:.0%} under every null, coverage ≥ "
          f"{TARGETS['coverage']:.0%}, |bias| ≤ {TARGETS['bias']}, BH lakes ≤ "
          f"{TARGETS['bh_lakes']:.0%}")


if __name__ == "__main__":
    main()
