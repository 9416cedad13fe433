"""Daily-batch benchmark: a small load into a large lake costs a small fraction of a full load.

In one run: load the sample into a fresh lake (the full load), then load a batch of 1 %
new rows (new follow edges between known accounts, 1 % of the posts re-sent with new
counts, i.e. upserts) into it. Delta's MERGE rewrites only the files whose key ranges the
batch touches. Target: the batch ≤ 5 % of the full load's time.

    python benchmarks/bench_daily.py [--data .bench/data] [--fraction 0.01]
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from _harness import ensure_sample, print_sides, run_side


def side_load(source: Path, lake: Path) -> dict:
    from etl.load import load
    from etl.sources import extract
    t0 = time.perf_counter()
    report = load(extract(str(source)), lake)
    return {"seconds": time.perf_counter() - t0,
            "counts": {t: vars(c) for t, c in report.counts.items()}}


def make_batch(data: Path, out: Path, fraction: float, seed: int = 5) -> dict[str, int]:
    """New follow edges among known accounts, and re-sent posts with more likes."""
    import polars as pl
    out.mkdir(parents=True, exist_ok=True)
    follows = pl.read_csv(data / "follows.csv", infer_schema=False)
    n = int(follows.height * fraction)
    new = (follows.sample(n, seed=seed)
           .with_columns(pl.col("follower_id").shuffle(seed=seed + 1).over("network"))
           .join(follows.select("network", "follower_id", "followee_id"),
                 on=["network", "follower_id", "followee_id"], how="anti")
           .filter(pl.col("follower_id") != pl.col("followee_id"))
           .unique(["network", "follower_id", "followee_id"]))
    new.write_csv(out / "follows.csv")
    posts = pl.read_csv(data / "posts.csv", infer_schema=False)
    resent = posts.sample(max(1, int(posts.height * fraction)), seed=seed).with_columns(
        (pl.col("likes").cast(pl.Int64) + 1).cast(pl.String))
    resent.write_csv(out / "posts.csv")
    shutil.copy(data / "campaigns.csv", out / "campaigns.csv")
    return {"follows": new.height, "posts": resent.height}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--side", choices=("load", "batch"))
    ap.add_argument("--source", type=Path)
    ap.add_argument("--data", type=Path, default=Path(".bench/data"))
    ap.add_argument("--lake", type=Path, default=Path(".bench/daily/lake"))
    ap.add_argument("--fraction", type=float, default=0.01)
    ap.add_argument("--scale", type=float, default=50)
    ap.add_argument("--campaigns", type=int, default=200)
    a = ap.parse_args()
    if a.side == "load":
        print(json.dumps(side_load(a.source, a.lake)))
        return
    if a.side == "batch":  # in its own process: the parent stays small, so the loads'
        print(json.dumps(make_batch(a.data, a.source, a.fraction)))  # peak RSS is theirs
        return
    ensure_sample(a.data, a.scale, a.campaigns)
    batch = a.lake.parent / "batch"
    shutil.rmtree(a.lake.parent, ignore_errors=True)
    sizes = run_side(Path(__file__), "batch", "--data", str(a.data), "--source", str(batch),
                     "--fraction", str(a.fraction))
    full = run_side(Path(__file__), "load", "--source", str(a.data), "--lake", str(a.lake))
    daily = run_side(Path(__file__), "load", "--source", str(batch), "--lake", str(a.lake))
    edges = full["counts"]["follows"]["accepted"]
    print(f"\nfull load: {edges:,} follow edges; daily batch: {sizes['follows']:,} new edges, "
          f"{sizes['posts']:,} posts re-sent ({daily['counts']['posts']['replaced']:,} "
          "replaced)")
    print_sides({"full": full, "daily": daily}, [("load seconds", "seconds", ".2f"),
                                                 ("peak memory MB", "peak_rss_mb", ".0f")])
    print(f"daily / full: {daily['seconds'] / full['seconds']:.1%} (target <= 5%)")


if __name__ == "__main__":
    main()
