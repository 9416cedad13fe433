"""What-if latency: "if these 1,000 accounts reshare, how many more people do we reach?"

Uses the follower sketches that `reach compute` stored in the lake; prints p50/p95 over
repeated questions and the exact answer (CSR + bitmap) for comparison.

    python benchmarks/bench_whatif.py [--lake .bench/lake] [--accounts 1000]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import polars as pl

from etl.lake import Lake
from reach.engine.cells import campaign_cells
from reach.followers.graph import Marker, build_graphs
from reach.followers.sketches import SketchStore, follower_sketches, what_if


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lake", type=Path, default=Path(".bench/lake"))
    ap.add_argument("--accounts", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=20)
    a = ap.parse_args()
    lake = Lake.open(a.lake)
    graphs = build_graphs(lake.scan("follows"), lake.scan("_account_keys"))
    cells = campaign_cells(lake.scan("posts"), lake.scan("shares"))
    cell = max(cells, key=lambda c: c.exposers.size)
    g = graphs[cell.network]
    path = a.lake / "sketches" / "followers.parquet"
    t0 = time.perf_counter()
    if path.exists():
        table = pl.read_parquet(path).filter(pl.col("network") == cell.network)
    else:
        table = follower_sketches(g)
    store = SketchStore(table)
    load_s = time.perf_counter() - t0
    current = store.union(cell.exposers)
    rng = np.random.default_rng(0)
    # candidate influencers: accounts with followers, weighted towards the larger ones
    has = np.flatnonzero(g.in_degree() > 0)
    times, errors, covered = [], [], 0
    for _ in range(a.repeat):
        cands = rng.choice(has, size=min(a.accounts, has.size), replace=False)
        t = time.perf_counter()
        est = what_if(store, current, cands, cell.authors)
        times.append(time.perf_counter() - t)
        m = Marker(g.n)
        base = m.distinct_followers(g, cell.exposers, cell.authors)
        both = np.concatenate([cell.exposers, cands])
        exact = m.distinct_followers(g, both, cell.authors) - base
        errors.append((est.estimate - exact) / max(exact, 1))
        covered += est.low <= exact <= est.high
    ms = np.array(times) * 1000
    print(f"what-if on {cell.campaign_id}/{cell.network} ({cell.exposers.size:,} exposers, "
          f"{g.edges:,} edges): {a.accounts:,} candidate accounts")
    print(f"  sketch store load {load_s * 1000:.0f} ms (once per session)")
    print(f"  latency p50 {np.percentile(ms, 50):.1f} ms, p95 {np.percentile(ms, 95):.1f} ms "
          f"(target well under 100 ms)")
    print(f"  relative error vs exact: mean {np.mean(errors):+.2%}, max |e| "
          f"{np.max(np.abs(errors)):.2%}; exact value inside the ~95% bounds in "
          f"{covered} of {a.repeat}")


if __name__ == "__main__":
    main()
